//! Issue 22, item 2: static rotation roles, complete. Written from the side of the
//! configuration author who must not be misled: a schedule the Vault server cannot keep
//! is refused (OpenBao 2.x has no `rotation_schedule`, `rotation_window` or
//! `skip_import_rotation`), conflicting timing is refused at plan, `create_login` makes
//! a plain tenant login (never adopts an existing one, never the platform's), and the
//! MySQL dual password is refused where the server cannot keep two passwords (MariaDB).

use crate::fixture::{
    assert_refused_at_plan, create_login, each_terraform, flat, name_of, pg_admin as admin,
    pg_role_exists, read_creds, resource, tagged, via_pgbouncer, Stack, MYDB, PGDB,
};
use crate::harness::{vault_get, vault_post};

/// A static role on `dbaas_shared_postgres_database.db` through connection `pg`.
fn static_role(name: &str, extra: &str) -> String {
    crate::fixture::role(
        "s",
        name,
        "pg",
        &name_of(PGDB, "db"),
        &format!("  mode = \"static\"\n{extra}"),
    )
}

#[test]
fn static_role_timing_conflicts_are_refused_at_plan() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_vsp", "pgsp"]);
        let name = format!("{conn}-s");
        let stack = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "");
        let base = stack.body().to_string();
        let g = stack.case(&tf);
        let cases = [
            (
                "  username = \"x\"\n  rotation_period = 3600\n  rotation_schedule = \"0 3 * * *\"\n",
                "rotation_schedule",
                "exactly one of rotation_period and rotation_schedule",
            ),
            (
                "  username = \"x\"\n  rotation_window = 7200\n",
                "rotation_window",
                "rotation_window needs rotation_schedule",
            ),
            (
                "  username = \"x\"\n  rotation_schedule = \"0 3 * *\"\n",
                "rotation_schedule",
                "five fields",
            ),
            (
                "  username = \"x\"\n  create_login = true\n  skip_import_rotation = true\n",
                "skip_import_rotation",
                "create_login makes a login without a password",
            ),
        ];
        for (extra, attr, says) in cases {
            g.w.write(&crate::fixture::config(&format!(
                "{base}{}",
                static_role(&name, extra)
            )));
            assert_refused_at_plan(&g.w, attr, says, extra);
        }
        g.w.write(&crate::fixture::config(&format!(
            "{base}{}",
            crate::fixture::role(
                "d",
                &name,
                "pg",
                &name_of(PGDB, "db"),
                "  create_login = true\n"
            )
        )));
        assert_refused_at_plan(
            &g.w,
            "create_login",
            "create_login does not apply to dynamic roles",
            "dynamic create_login",
        );
    }
}

#[test]
fn static_role_schedule_is_refused_where_vault_cannot_keep_it() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_vss", "pgss"]);
        let name = format!("{conn}-s");
        let login = format!("acc_vss_{}_app", crate::harness::version_tag(&tf));
        let stack = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "")
            .guard(|g| g.vault_roles.push(name.clone()));
        let base = stack.body().to_string();
        let mut g = stack.case(&tf);
        g.w.apply().ok();
        create_login(
            &mut g,
            &login,
            "hand-Secret-1",
            Some(&format!("{db}_readwrite")),
        );
        for extra in [
            format!("  username = \"{login}\"\n  rotation_schedule = \"0 3 * * *\"\n"),
            format!("  username = \"{login}\"\n  skip_import_rotation = true\n"),
        ] {
            g.w.write(&crate::fixture::config(&format!(
                "{base}{}",
                static_role(&name, &extra)
            )));
            let all = flat(&g.w.apply().failed().all());
            assert!(all.contains("does not support"), "{extra}: {all}");
            assert!(all.contains("Nothing was written to Vault"), "{all}");
            assert!(
                vault_get(&format!("database/static-roles/{name}")).is_none(),
                "nothing written to Vault for {extra}"
            );
        }
    }
}

#[test]
fn static_role_create_login_makes_a_plain_login_and_removes_it() {
    for tf in each_terraform() {
        let v = crate::harness::version_tag(&tf);
        let [db, conn] = tagged(&tf, ["acc_vcl", "pgcl"]);
        let name = format!("{conn}-s");
        let login = format!("acc_vcl_{v}_app");
        let stack = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "")
            .hcl(&static_role(
                &name,
                &format!("  username = \"{login}\"\n  access = \"owner\"\n  create_login = true\n"),
            ))
            .guard(|g| {
                g.vault_roles.push(name.clone());
                g.pg_roles.push(login.clone());
            });
        let mut g = stack.case(&tf);
        admin("postgres", &format!("DROP ROLE IF EXISTS \"{login}\""));
        g.apply_clean();
        assert!(pg_role_exists(&login), "create_login makes the login");
        let facts = admin(
            "postgres",
            &format!("SELECT r.rolcanlogin::text || ' ' || r.rolsuper::text || ' ' || r.rolcreaterole::text || ' ' || pg_catalog.pg_has_role(r.oid, '{db}_owner', 'MEMBER')::text FROM pg_catalog.pg_roles r WHERE r.rolname = '{login}'"),
        );
        assert_eq!(facts, "true false false true", "a plain login in the group");
        let marker = admin("postgres", &format!("SELECT pg_catalog.shobj_description(oid, 'pg_authid') FROM pg_catalog.pg_roles WHERE rolname = '{login}'"));
        assert!(
            marker.contains(&format!("static login of Vault role database/{name}")),
            "{marker}"
        );
        let creds = read_creds(&format!("database/static-creds/{name}"));
        assert_eq!(creds.username, login);
        via_pgbouncer(
            &creds,
            &db,
            "CREATE TABLE t (id int); INSERT INTO t VALUES (1)",
        )
        .unwrap_or_else(|e| {
            panic!("the created login works through PgBouncer once Vault rotated it: {e}")
        });
        let table_owner = admin(
            &db,
            "SELECT tableowner FROM pg_catalog.pg_tables WHERE tablename = 't'",
        );
        assert_eq!(
            table_owner,
            format!("{db}_owner"),
            "an owner login creates as the owner role"
        );
        vault_post(
            &format!("database/rotate-role/{name}"),
            &serde_json::json!({}),
        );
        let second = read_creds(&format!("database/static-creds/{name}"));
        via_pgbouncer(&second, &db, "SELECT 1").unwrap_or_else(|e| panic!("after rotation: {e}"));

        // Import recovers create_login from the login's marker: nothing to plan.
        g.w.state_rm(&["dbaas_vault_rotation_role.s"]).ok();
        g.w.import(
            "dbaas_vault_rotation_role.s",
            &format!("database/static-roles/{name}"),
        )
        .ok();
        crate::fixture::assert_plan_empty(&g.w, "import of a static role with create_login");

        // Drift: the login dropped out of band is made again (with the Vault role).
        admin(
            "postgres",
            &format!("DROP OWNED BY \"{login}\"; DROP ROLE \"{login}\""),
        );
        crate::fixture::assert_plan_shows(&g.w, &["dbaas_vault_rotation_role.s"]);
        g.apply_clean();
        assert!(pg_role_exists(&login), "the dropped login is made again");
        let third = read_creds(&format!("database/static-creds/{name}"));
        via_pgbouncer(&third, &db, "SELECT 1").unwrap_or_else(|e| panic!("after re-creation: {e}"));

        g.destroy();
        assert!(
            !pg_role_exists(&login),
            "destroy drops the login create_login made"
        );
        assert!(vault_get(&format!("database/static-roles/{name}")).is_none());
    }
}

#[test]
fn hostile_create_login_never_adopts_an_existing_or_platform_login() {
    for tf in each_terraform() {
        let v = crate::harness::version_tag(&tf);
        let [db, other, conn] = tagged(&tf, ["acc_vch", "acc_vcho", "pgch"]);
        let name = format!("{conn}-s");
        let theirs = format!("acc_vch_{v}_theirs");
        let stack = Stack::default()
            .database("db", &db)
            .database("other", &other)
            .connection("pg", &conn, "postgres", "")
            .guard(|g| g.vault_roles.push(name.clone()));
        let base = stack.body().to_string();
        let mut g = stack.case(&tf);
        g.w.apply().ok();
        // Another tenant's login, with a password its app knows.
        create_login(
            &mut g,
            &theirs,
            "their-Secret-1",
            Some(&format!("{other}_readwrite")),
        );
        for (user, says) in [
            (theirs.as_str(), "already exists"),
            ("postgres", "already exists"),
            ("pgbouncer_auth", "already exists"),
        ] {
            g.w.write(&crate::fixture::config(&format!(
                "{base}{}",
                static_role(
                    &name,
                    &format!("  username = \"{user}\"\n  create_login = true\n")
                )
            )));
            let all = flat(&g.w.apply().failed().all());
            assert!(all.contains(says), "{user}: {all}");
            assert!(
                vault_get(&format!("database/static-roles/{name}")).is_none(),
                "{user}"
            );
        }
        let still = crate::fixture::Creds {
            username: theirs.clone(),
            password: "their-Secret-1".into(),
            lease_id: String::new(),
        };
        via_pgbouncer(&still, &other, "SELECT 1")
            .unwrap_or_else(|e| panic!("the other tenant's login is untouched: {e}"));
        let groups = admin(
            "postgres",
            &format!("SELECT pg_catalog.pg_has_role('{theirs}', '{db}_owner', 'MEMBER')::text"),
        );
        assert_eq!(
            groups, "false",
            "the other tenant's login joined no group of {db}"
        );
    }
}

#[test]
fn static_role_mysql_dual_password_is_refused_on_mariadb() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_vmd", "mymd"]);
        let name = format!("{conn}-s");
        let user = format!("acc_vmd_{}_app", crate::harness::version_tag(&tf));
        let stack = Stack::default()
            .hcl(&resource(MYDB, "db", &db, "  deletion_protection = false"))
            .connection("my", &conn, "mysql", "")
            .guard(|g| {
                g.vault_roles.push(name.clone());
                g.mysql_dbs.push(db.clone());
                g.mysql_users.push(user.clone());
            });
        let base = stack.body().to_string();
        let g = stack.case(&tf);
        g.w.apply().ok();
        crate::fixture::mysql_admin(&format!(
            "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'hand-Secret-1'; GRANT SELECT ON `{}`.* TO '{user}'@'%'", db.replace('_', "\\_")
        ));
        g.w.write(&crate::fixture::config(&format!(
            "{base}{}",
            crate::fixture::role(
                "s",
                &name,
                "my",
                &name_of(MYDB, "db"),
                &format!("  mode = \"static\"\n  username = \"{user}\"\n  access = \"readonly\"\n  retain_previous_password = true\n")
            )
        )));
        let all = flat(&g.w.apply().failed().all());
        assert!(all.contains("RETAIN CURRENT PASSWORD"), "{all}");
        assert!(all.contains("MariaDB"), "{all}");
        assert!(vault_get(&format!("database/static-roles/{name}")).is_none());
    }
}

#[test]
fn static_role_create_login_on_mysql_makes_a_confined_user() {
    for tf in each_terraform() {
        let v = crate::harness::version_tag(&tf);
        let [db, conn] = tagged(&tf, ["acc_vcm", "mycm"]);
        let name = format!("{conn}-s");
        let user = format!("acc_vcm_{v}_app");
        let taken = format!("acc_vcm_{v}_taken");
        let role_hcl = |u: &str| {
            crate::fixture::role(
                "s",
                &name,
                "my",
                &name_of(MYDB, "db"),
                &format!("  mode = \"static\"\n  username = \"{u}\"\n  access = \"readwrite\"\n  create_login = true\n"),
            )
        };
        let stack = Stack::default()
            .hcl(&resource(MYDB, "db", &db, "  deletion_protection = false"))
            .connection("my", &conn, "mysql", "")
            .guard(|g| {
                g.vault_roles.push(name.clone());
                g.mysql_dbs.push(db.clone());
                g.mysql_users.push(user.clone());
                g.mysql_users.push(taken.clone());
            });
        let base = stack.body().to_string();
        let mut g = stack.case(&tf);
        crate::fixture::mysql_admin(&format!(
            "DROP USER IF EXISTS '{user}'@'%'; DROP USER IF EXISTS '{taken}'@'%'; CREATE USER '{taken}'@'%' IDENTIFIED BY 'taken-Secret-1'"
        ));
        // An existing user is never adopted.
        g.w.write(&crate::fixture::config(&format!(
            "{base}{}",
            role_hcl(&taken)
        )));
        let all = flat(&g.w.apply().failed().all());
        assert!(all.contains("already exists"), "{all}");
        crate::fixture::mysql_as(&taken, "taken-Secret-1", None, "SELECT 1")
            .unwrap_or_else(|e| panic!("the existing user keeps its password: {e}"));

        g.w.write(&crate::fixture::config(&format!(
            "{base}{}",
            role_hcl(&user)
        )));
        g.apply_clean();
        assert!(
            crate::fixture::mysql_user_exists(&user),
            "create_login makes the user"
        );
        let creds = read_creds(&format!("database/static-creds/{name}"));
        assert_eq!(creds.username, user);
        crate::fixture::mysql_as(
            &user,
            &creds.password,
            Some(&db),
            "CREATE TEMPORARY TABLE t (id int); SELECT 1",
        )
        .unwrap_or_else(|e| panic!("the created user works with Vault's password: {e}"));
        crate::fixture::mysql_as(&user, &creds.password, Some("mysql"), "SELECT 1")
            .expect_err("the created user reaches its own database only");

        // Drift: the user dropped out of band is made again.
        crate::fixture::mysql_admin(&format!("DROP USER '{user}'@'%'"));
        crate::fixture::assert_plan_shows(&g.w, &["dbaas_vault_rotation_role.s"]);
        g.apply_clean();
        let again = read_creds(&format!("database/static-creds/{name}"));
        crate::fixture::mysql_as(&user, &again.password, Some(&db), "SELECT 1")
            .unwrap_or_else(|e| panic!("after re-creation: {e}"));

        g.destroy();
        assert!(
            !crate::fixture::mysql_user_exists(&user),
            "destroy drops the user create_login made"
        );
        assert!(
            crate::fixture::mysql_user_exists(&taken),
            "the other user stays"
        );
    }
}
