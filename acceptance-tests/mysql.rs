//! `dbaas_shared_mysql_database` on real Terraform and MariaDB 10.11 (the MySQL stand-in):
//! charset and collation as created, a tenant login that reaches its database and no
//! other, empty plans, in-place ALTER, drift (dropped database, charset changed out of
//! band), import, deletion protection, destroy, bad input refused on the attribute with
//! nothing created, a name taken outside the state, backend failures naming host:port and
//! the `mysql` block, and 50 databases at `-parallelism=20`.
//!
//! Every case runs on each Terraform from `terraforms()` with names unique per case and
//! per Terraform version, and holds a [`Cleanup`] guard that drops what it made with SQL,
//! whatever happens.

use std::process::Command;

use crate::harness::{provider_block, stack, terraforms, Run, Terraform, Workdir};

/// The resource type under test.
const TYPE: &str = "dbaas_shared_mysql_database";

/// The digits of the Terraform version (`v1.0.3` → `103`).
fn tag(tf: &Terraform) -> String {
    tf.version.chars().filter(char::is_ascii_digit).collect()
}

/// `acc_my_<case>_<terraform version digits>`.
fn db_name(case: &str, tf: &Terraform) -> String {
    format!("acc_my_{case}_{}", tag(tf))
}

/// Runs `sql` with the `mariadb` client as `user`; tab-separated rows on success.
fn mariadb_as(user: &str, password: &str, db: Option<&str>, sql: &str) -> Result<String, String> {
    let mut cmd = Command::new("mariadb");
    cmd.args(["--protocol=TCP", "-h"])
        .arg(stack("DBAAS_MYSQL_HOST"))
        .arg("-P")
        .arg(stack("DBAAS_MYSQL_PORT"))
        .arg("-u")
        .arg(user)
        .args(["-N", "-B", "--connect-timeout=10"])
        .env("MYSQL_PWD", password);
    if let Some(db) = db {
        cmd.arg("-D").arg(db);
    }
    let out = cmd
        .arg("-e")
        .arg(sql)
        .output()
        .map_err(|e| format!("cannot run mariadb: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Admin SQL that must succeed.
fn admin(sql: &str) -> String {
    mariadb_as(
        &stack("DBAAS_MYSQL_USER"),
        &stack("DBAAS_MYSQL_PASSWORD"),
        None,
        sql,
    )
    .unwrap_or_else(|e| panic!("admin SQL failed: {sql}\n{e}"))
}

/// `(charset, collation)` of a database, or `None` when it does not exist.
fn schema(name: &str) -> Option<(String, String)> {
    let out = admin(&format!(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
    ));
    out.split_once('\t')
        .map(|(a, b)| (a.to_string(), b.to_string()))
}

/// The provider block plus `body`.
fn config(body: &str) -> String {
    format!("{}\n{body}", provider_block())
}

/// One `dbaas_shared_mysql_database.<label>` with `name` and extra attribute lines.
fn resource(label: &str, name: &str, extra: &str) -> String {
    format!(
        "resource \"{TYPE}\" \"{label}\" {{\n  name = \"{}\"\n{extra}\n}}\n",
        name.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// `terraform plan -detailed-exitcode`.
fn plan(w: &Workdir) -> Run {
    w.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"])
}

/// A plan that must propose changes; returns its text.
fn plan_with_changes(w: &Workdir) -> String {
    let r = plan(w);
    assert_eq!(
        r.code, 2,
        "expected a plan with changes on {}\n--- stdout\n{}\n--- stderr\n{}",
        w.tf.version, r.stdout, r.stderr
    );
    r.stdout
}

fn assert_plan_empty(w: &Workdir, when: &str) {
    assert!(
        w.plan_is_empty(),
        "plan after {when} must be empty on {}",
        w.tf.version
    );
}

/// `out` with Terraform's line wrapping undone (diagnostic details are wrapped at ~78
/// columns), for assertions on message text.
fn flat(out: &str) -> String {
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether some diagnostic in `out` quotes the configuration line of `attr` (Terraform
/// does so when the diagnostic carries the attribute path).
fn points_at(out: &str, attr: &str) -> bool {
    out.lines().any(|l| {
        let l = l.trim_start_matches(['│', ' ']);
        l.split_once(':').is_some_and(|(n, rest)| {
            n.trim().parse::<u32>().is_ok() && rest.trim_start().starts_with(&format!("{attr} "))
        })
    })
}

/// Drops, with SQL, the databases and users a case may have left behind; also on entry,
/// for leftovers of an earlier run that could not clean up.
struct Cleanup {
    dbs: Vec<String>,
    users: Vec<String>,
}

impl Cleanup {
    fn new(dbs: &[&str], users: &[&str]) -> Cleanup {
        let c = Cleanup {
            dbs: dbs.iter().map(|s| s.to_string()).collect(),
            users: users.iter().map(|s| s.to_string()).collect(),
        };
        c.sweep();
        c
    }

    fn sweep(&self) {
        let user = stack("DBAAS_MYSQL_USER");
        let password = stack("DBAAS_MYSQL_PASSWORD");
        for db in &self.dbs {
            if let Err(e) = mariadb_as(
                &user,
                &password,
                None,
                &format!("DROP DATABASE IF EXISTS `{db}`"),
            ) {
                eprintln!("cleanup: {e}");
            }
        }
        for u in &self.users {
            if let Err(e) = mariadb_as(
                &user,
                &password,
                None,
                &format!("DROP USER IF EXISTS '{u}'@'%'"),
            ) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.sweep();
    }
}

#[test]
fn mysql_database_lifecycle_isolation_drift_import_protection() {
    for tf in terraforms() {
        eprintln!("running on terraform {}", tf.version);
        let a = db_name("life_a", &tf);
        let b = db_name("life_b", &tf);
        let login = format!("acc_my_u_{}", tag(&tf));
        let _guard = Cleanup::new(&[&a, &b], &[&login]);
        let body = |b_extra: &str, protection: &str| {
            config(&format!(
                "{}{}output \"a_host\" {{ value = {TYPE}.a.host }}\noutput \"a_port\" {{ value = {TYPE}.a.port }}\noutput \"a_collation\" {{ value = {TYPE}.a.collation }}\n",
                resource("a", &a, protection),
                resource("b", &b, &format!("  charset = \"latin1\"\n{b_extra}{protection}")),
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
        mariadb_as(
            &login,
            "tenant-pw",
            Some(&a),
            "CREATE TABLE t (x INT); INSERT INTO t VALUES (1); SELECT x FROM t",
        )
        .expect("the tenant login works in its own database");
        let denied = mariadb_as(&login, "tenant-pw", Some(&b), "SELECT 1")
            .expect_err("the tenant login must not reach another tenant's database");
        assert!(denied.contains("Access denied"), "{denied}");
        let denied = mariadb_as(
            &login,
            "tenant-pw",
            None,
            &format!("CREATE TABLE `{b}`.t (x INT)"),
        )
        .expect_err("nor create tables in it");
        assert!(denied.contains("denied"), "{denied}");
        let visible = mariadb_as(&login, "tenant-pw", None, "SHOW DATABASES").unwrap_or_default();
        assert!(visible.contains(&a) && !visible.contains(&b), "{visible}");

        // In-place update of the collation: ALTER DATABASE, not a replacement.
        w.write(&body("  collation = \"latin1_bin\"\n", ""));
        let p = plan_with_changes(&w);
        assert!(
            p.contains("update in-place") && !p.contains("must be replaced"),
            "{p}"
        );
        w.apply().ok();
        assert_eq!(schema(&b), Some(("latin1".into(), "latin1_bin".into())));
        assert_plan_empty(&w, "collation update");

        // Drift: charset changed out of band shows a diff and apply restores it.
        admin(&format!("ALTER DATABASE `{b}` CHARACTER SET utf8mb4"));
        let p = plan_with_changes(&w);
        assert!(
            p.contains("charset") && p.contains("update in-place"),
            "{p}"
        );
        w.apply().ok();
        assert_eq!(schema(&b), Some(("latin1".into(), "latin1_bin".into())));
        assert_plan_empty(&w, "repairing the charset");

        // Drift: database dropped out of band is planned for creation. The login granted
        // on it still reaches the new one, and the provider says so.
        admin(&format!("DROP DATABASE `{a}`"));
        let p = plan_with_changes(&w);
        assert!(
            p.contains("will be created") && p.contains("1 to add"),
            "{p}"
        );
        let r = w.apply().ok();
        assert!(schema(&a).is_some());
        assert!(
            flat(&r.all()).contains("Other accounts can reach database")
                && flat(&r.all()).contains(&login),
            "stale grants must be reported: {}",
            r.all()
        );
        assert_plan_empty(&w, "re-creating the dropped database");

        // Import by name, then an empty plan.
        w.run(&["state", "rm", &format!("{TYPE}.b")]).ok();
        w.run(&[
            "import",
            "-no-color",
            "-input=false",
            &format!("{TYPE}.b"),
            &b,
        ])
        .ok();
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
    let names: [(&str, &str); 6] = [
        ("bad-name", "may contain only"),
        ("a;drop", "may contain only"),
        ("a`b", "may contain only"),
        ("mysql", "system schema"),
        ("INFORMATION_SCHEMA", "system schema"),
        (&long, "at most 64"),
    ];
    for tf in terraforms() {
        eprintln!("running on terraform {}", tf.version);
        for (bad, says) in names {
            let w = Workdir::new(
                &tf,
                &config(&resource("x", bad, "  deletion_protection = false")),
            );
            let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
            let all = r.all();
            assert!(
                flat(&all).contains(says),
                "{bad:?}: expected {says:?} in\n{all}"
            );
            assert!(
                points_at(&all, "name"),
                "{bad:?}: must point at `name`:\n{all}"
            );
            let r = w.apply().failed();
            assert!(!flat(&r.all()).contains("Apply complete"), "{}", r.all());
        }
        // Character set and collation are checked before anything is sent, too.
        let ok = db_name("bad_cs", &tf);
        let _guard = Cleanup::new(&[&ok], &[]);
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
            let w = Workdir::new(&tf, &config(&resource("x", &ok, extra)));
            let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
            assert!(flat(&r.all()).contains(says), "{extra}: {}", r.all());
            assert!(
                points_at(&r.all(), attr),
                "{extra}: must point at `{attr}`:\n{}",
                r.all()
            );
        }
        // An unknown (well-formed) character set is refused at apply, on the attribute,
        // before CREATE DATABASE.
        let w = Workdir::new(
            &tf,
            &config(&resource(
                "x",
                &ok,
                "  charset = \"klingon9\"\n  deletion_protection = false",
            )),
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
    for tf in terraforms() {
        eprintln!("running on terraform {}", tf.version);
        let name = db_name("foreign", &tf);
        let _guard = Cleanup::new(&[&name], &[]);
        admin(&format!("CREATE DATABASE `{name}` CHARACTER SET latin1"));
        let w = Workdir::new(
            &tf,
            &config(&resource("x", &name, "  deletion_protection = false")),
        );
        let r = w.apply().failed();
        assert!(
            flat(&r.all()).contains("already exists")
                && flat(&r.all()).contains("terraform import"),
            "{}",
            r.all()
        );
        assert_eq!(
            schema(&name).map(|s| s.0),
            Some("latin1".into()),
            "left untouched"
        );

        // Unreachable server and wrong password: errors name host:port and the block.
        let host = stack("DBAAS_MYSQL_HOST");
        let port = stack("DBAAS_MYSQL_PORT");
        for (block, says) in [
            (
                format!("mysql {{\n    host = \"{host}\"\n    port = 1\n    username = \"root\"\n    password = \"x\"\n  }}"),
                format!("MySQL at {host}:1 (provider block `mysql`)"),
            ),
            (
                format!("mysql {{\n    host = \"{host}\"\n    port = {port}\n    username = \"root\"\n    password = \"wrong-password\"\n  }}"),
                format!("MySQL at {host}:{port} (provider block `mysql`): authentication failed"),
            ),
        ] {
            let w = Workdir::new(
                &tf,
                &format!(
                    "provider \"dbaas\" {{\n  {block}\n}}\n{}",
                    resource("x", &db_name("unreach", &tf), "")
                ),
            );
            let r = w.apply().failed();
            assert!(flat(&r.all()).contains(&says), "expected {says:?} in\n{}", r.all());
            assert!(!flat(&r.all()).contains("wrong-password"), "secret in output");
        }
    }
}

#[test]
fn mysql_fifty_databases_at_parallelism_20() {
    for tf in terraforms() {
        eprintln!("running on terraform {}", tf.version);
        let prefix = format!("acc_my_many_{}_", tag(&tf));
        let names: Vec<String> = (0..50).map(|i| format!("{prefix}{i:02}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let _guard = Cleanup::new(&refs, &[]);
        let w = Workdir::new(
            &tf,
            &config(&format!(
                "resource \"{TYPE}\" \"many\" {{\n  count = 50\n  name = format(\"{prefix}%02d\", count.index)\n  charset = count.index % 2 == 0 ? \"utf8mb4\" : \"latin1\"\n  deletion_protection = false\n}}\n"
            )),
        );
        w.run(&[
            "apply",
            "-auto-approve",
            "-no-color",
            "-input=false",
            "-parallelism=20",
        ])
        .ok();
        let made = admin(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}%'",
            prefix.replace('_', "\\_")
        ));
        assert_eq!(made, "50");
        assert_plan_empty(&w, "creating 50 databases");
        w.run(&[
            "destroy",
            "-auto-approve",
            "-no-color",
            "-input=false",
            "-parallelism=20",
        ])
        .ok();
        let left = admin(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}%'",
            prefix.replace('_', "\\_")
        ));
        assert_eq!(left, "0");
    }
}
