//! `dbaas_shared_mysql_database` on real Terraform and MariaDB 10.11 (the MySQL stand-in):
//! charset and collation as created, a tenant login that reaches its database and no
//! other, empty plans, in-place ALTER, drift (dropped database, charset changed out of
//! band), import, deletion protection, destroy, bad input refused on the attribute with
//! nothing created, a name taken outside the state, backend failures naming host:port and
//! the `mysql` block, and 50 databases at `-parallelism=20`.
//!
//! Every case runs on each Terraform from `terraforms()` with names unique per case and
//! per Terraform version, and holds a [`Cleanup`] guard (the fixture's) that drops what it made with SQL,
//! whatever happens.

use crate::fixture::{
    apply_in_place, apply_planned, assert_apply_refused, assert_apply_refuses_foreign,
    assert_counted_at_parallelism_20, assert_failures_name_the_server, assert_plan_empty,
    assert_refused_at_plan, config, each_terraform, flat, mysql_admin as admin, mysql_as,
    mysql_databases, one_resource, points_at, resource, Cleanup, MYDB as TYPE,
};
use crate::harness::{stack, version_tag as tag, Terraform, Workdir};

/// `acc_my_<case>_<terraform version digits>`.
fn db_name(case: &str, tf: &Terraform) -> String {
    format!("acc_my_{case}_{}", tag(tf))
}

/// `(charset, collation)` of a database, or `None` when it does not exist.
fn schema(name: &str) -> Option<(String, String)> {
    let out = admin(&format!(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
    ));
    out.split_once('\t')
        .map(|(a, b)| (a.to_string(), b.to_string()))
}

#[test]
fn mysql_database_lifecycle_isolation_drift_import_protection() {
    for tf in each_terraform() {
        let a = db_name("life_a", &tf);
        let b = db_name("life_b", &tf);
        let login = format!("acc_my_u_{}", tag(&tf));
        let _guard = Cleanup::mysql(&[&a, &b], &[&login]);
        let body = |b_extra: &str, protection: &str| {
            config(&format!(
                "{}{}output \"a_host\" {{ value = {TYPE}.a.host }}\noutput \"a_port\" {{ value = {TYPE}.a.port }}\noutput \"a_collation\" {{ value = {TYPE}.a.collation }}\n",
                resource(TYPE, "a", &a, protection),
                resource(TYPE, "b", &b, &format!("  charset = \"latin1\"\n{b_extra}{protection}")),
            ))
        };
        let w = Workdir::new(&tf, &body("", ""));

        // Create: the right charsets, server-default collation, endpoint outputs.
        w.apply().ok();
        assert_eq!(
            schema(&a),
            Some(("utf8mb4".into(), "utf8mb4_general_ci".into())),
            "default charset utf8mb4 with the server's collation"
        );
        assert_eq!(schema(&b).map(|s| s.0), Some("latin1".into()));
        let out = w.outputs();
        assert_eq!(out["a_host"], stack("DBAAS_MYSQL_HOST"));
        assert_eq!(
            out["a_port"].as_i64(),
            stack("DBAAS_MYSQL_PORT").parse::<i64>().ok()
        );
        assert_eq!(out["a_collation"], "utf8mb4_general_ci");
        assert_plan_empty(&w, "create");

        // A login made for `a` (as Vault would make it) reaches `a` and nothing else.
        admin(&format!(
            "CREATE USER '{login}'@'%' IDENTIFIED BY 'tenant-pw'"
        ));
        admin(&format!(
            "GRANT ALL PRIVILEGES ON `{}`.* TO '{login}'@'%'",
            a.replace('_', "\\_")
        ));
        mysql_as(
            &login,
            "tenant-pw",
            Some(&a),
            "CREATE TABLE t (x INT); INSERT INTO t VALUES (1); SELECT x FROM t",
        )
        .expect("the tenant login works in its own database");
        let denied = mysql_as(&login, "tenant-pw", Some(&b), "SELECT 1")
            .expect_err("the tenant login must not reach another tenant's database");
        assert!(denied.contains("Access denied"), "{denied}");
        let denied = mysql_as(
            &login,
            "tenant-pw",
            None,
            &format!("CREATE TABLE `{b}`.t (x INT)"),
        )
        .expect_err("nor create tables in it");
        assert!(denied.contains("denied"), "{denied}");
        let visible = mysql_as(&login, "tenant-pw", None, "SHOW DATABASES").unwrap_or_default();
        assert!(visible.contains(&a) && !visible.contains(&b), "{visible}");

        // In-place update of the collation: ALTER DATABASE, not a replacement.
        w.write(&body("  collation = \"latin1_bin\"\n", ""));
        apply_in_place(&w, &[], "collation update");
        assert_eq!(schema(&b), Some(("latin1".into(), "latin1_bin".into())));

        // Drift: charset changed out of band shows a diff and apply restores it.
        admin(&format!("ALTER DATABASE `{b}` CHARACTER SET utf8mb4"));
        apply_planned(&w, &["charset", "update in-place"], "repairing the charset");
        assert_eq!(schema(&b), Some(("latin1".into(), "latin1_bin".into())));

        // Drift: database dropped out of band is planned for creation. The login granted
        // on it still reaches the new one, and the provider says so.
        admin(&format!("DROP DATABASE `{a}`"));
        let r = apply_planned(
            &w,
            &["will be created", "1 to add"],
            "re-creating the dropped database",
        );
        assert!(schema(&a).is_some());
        assert!(
            flat(&r.all()).contains("Other accounts can reach database")
                && flat(&r.all()).contains(&login),
            "stale grants must be reported: {}",
            r.all()
        );

        // Import by name, then an empty plan.
        let addr = format!("{TYPE}.b");
        w.state_rm(&[&addr]).ok();
        w.import(&addr, &b).ok();
        assert_plan_empty(&w, "import");

        // Deletion protection: destroy fails and keeps both databases.
        let r = w.destroy().failed();
        assert!(
            flat(&r.all()).contains("deletion_protection"),
            "{}",
            r.all()
        );
        assert!(schema(&a).is_some() && schema(&b).is_some());

        // Unprotected: destroy drops them.
        w.write(&body(
            "  collation = \"latin1_bin\"\n",
            "  deletion_protection = false\n",
        ));
        w.apply().ok();
        w.destroy().ok();
        assert_eq!(schema(&a), None);
        assert_eq!(schema(&b), None);
    }
}

#[test]
fn mysql_bad_input_is_refused_on_the_attribute_and_nothing_is_created() {
    let long = "a".repeat(65);
    let names = [
        ("bad-name", "may contain only"),
        ("a;drop", "may contain only"),
        ("a`b", "may contain only"),
        ("mysql", "system schema"),
        ("INFORMATION_SCHEMA", "system schema"),
        (long.as_str(), "at most 64"),
    ];
    for tf in each_terraform() {
        for (bad, says) in names {
            let w = one_resource(&tf, TYPE, bad, "  deletion_protection = false");
            assert_refused_at_plan(&w, "name", says, &format!("{bad:?}"));
            assert_apply_refused(&w);
        }
        // Character set and collation are checked before anything is sent, too.
        let ok = db_name("bad_cs", &tf);
        let _guard = Cleanup::mysql(&[&ok], &[]);
        for (extra, attr, says) in [
            ("  charset = \"utf8\"", "charset", "alias"),
            ("  charset = \"UTF8MB4\"", "charset", "lower-case"),
            (
                "  charset = \"latin1\"\n  collation = \"utf8mb4_bin\"",
                "collation",
                "must start with",
            ),
            (
                "  collation = \"utf8mb4_bin; DROP DATABASE x\"",
                "collation",
                "not a collation name",
            ),
        ] {
            let w = one_resource(&tf, TYPE, &ok, extra);
            assert_refused_at_plan(&w, attr, says, extra);
        }
        // An unknown (well-formed) character set is refused at apply, on the attribute,
        // before CREATE DATABASE.
        let w = one_resource(
            &tf,
            TYPE,
            &ok,
            "  charset = \"klingon9\"\n  deletion_protection = false",
        );
        let r = w.apply().failed();
        assert!(
            flat(&r.all()).contains("Unknown character set"),
            "{}",
            r.all()
        );
        assert!(points_at(&r.all(), "charset"), "{}", r.all());
        assert_eq!(schema(&ok), None);
        // Other cases create databases concurrently: look for these names only.
        let odd = admin(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ('bad-name', 'a;drop', 'a`b', '{long}')"
        ));
        assert_eq!(odd, "0", "nothing may be created");
    }
}

#[test]
fn mysql_foreign_database_is_never_adopted_and_failures_name_the_server() {
    for tf in each_terraform() {
        let name = db_name("foreign", &tf);
        let _guard = Cleanup::mysql(&[&name], &[]);
        admin(&format!("CREATE DATABASE `{name}` CHARACTER SET latin1"));
        let w = one_resource(&tf, TYPE, &name, "  deletion_protection = false");
        assert_apply_refuses_foreign(&w);
        assert_eq!(
            schema(&name).map(|s| s.0),
            Some("latin1".into()),
            "left untouched"
        );

        // Unreachable server and wrong password: errors name host:port and the block.
        let x = resource(TYPE, "x", &db_name("unreach", &tf), "");
        assert_failures_name_the_server(&tf, "mysql", "MySQL", Some("root"), &x);
    }
}

#[test]
fn mysql_fifty_databases_at_parallelism_20() {
    for tf in each_terraform() {
        let prefix = format!("acc_my_many_{}_", tag(&tf));
        let charsets =
            "  charset = count.index % 2 == 0 ? \"utf8mb4\" : \"latin1\"\n  deletion_protection = false";
        assert_counted_at_parallelism_20(
            &tf,
            (TYPE, &prefix, 50, charsets),
            |dbs| Cleanup::mysql(dbs, &[]),
            |_| mysql_databases(&prefix).len(),
        );
    }
}
