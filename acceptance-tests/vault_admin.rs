//! Issue 22, item 3: a Vault connection that holds no superuser. A new PostgreSQL
//! `dbaas_vault_database_connection` gets a dedicated Vault admin login made by the
//! provider (`dedicated_admin`), with no role attribute, whose password Vault rotates
//! (`rotate-root`) right after the connection is written; its rotation roles' generated
//! statements call the provider's SECURITY DEFINER functions (`dbaas_vault.*`), which
//! refuse anything but a `v-...` login in a tenant group this provider made.
//!
//! Written from the side of the attacker: whoever learns the Vault admin's password (here
//! the test sets a known one, as an attacker reading it from Vault would have it) must
//! reach no superuser, no server program, no other role's password, no group but the
//! tenants'. Each case runs on every Terraform with names unique per version (`acc_vad*`,
//! connections `pgvad*`).

use std::time::Duration;

use crate::fixture::{
    assert_plan_empty, create_login, each_terraform, ident, lit, my_lit, mysql_admin, mysql_as,
    mysql_user_exists, name_of, pg_admin as admin, pg_role_exists, read_creds, resource, role,
    tagged, via_pgbouncer, wait_until, Stack, CONN, MYDB, PGDB, ROLE,
};
use crate::harness::{psql, stack, vault_get, version_tag};

/// The Vault connection's admin username, as Vault holds it.
fn vault_admin_of(conn: &str) -> String {
    let cfg = vault_get(&format!("database/config/{conn}"))
        .unwrap_or_else(|| panic!("connection {conn} written"));
    cfg["data"]["connection_details"]["username"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Runs `sql` in the maintenance database as `user` with `password`, directly on the
/// primary (where Vault's sessions run).
fn as_login(user: &str, password: &str, sql: &str) -> Result<String, String> {
    psql("postgres", user, password, &stack("PGPORT"), sql)
}

#[test]
fn vault_admin_postgres_connection_holds_no_superuser_and_issues_working_logins() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db, other, conn] = tagged(&tf, ["acc_vad", "acc_vadb", "pgvad"]);
        let app = format!("{conn}-app");
        let reader = format!("{conn}-ro");
        let stat = format!("{conn}-st");
        let login = format!("acc_vad_{v}_static");
        let roles = format!("  allowed_roles = [\"{app}\", \"{reader}\", \"{stat}\"]\n");
        let stack_hcl = Stack::default()
            .database("a", &db)
            .database("b", &other)
            .connection("pg", &conn, "postgres", &roles)
            .role("app", &app, "pg", &name_of(PGDB, "a"), "")
            .role(
                "ro",
                &reader,
                "pg",
                &name_of(PGDB, "a"),
                "  access     = \"readonly\"\n",
            )
            .guard(|g| g.vault_roles.push(stat.clone()));
        let base = stack_hcl.body().to_string();
        let mut g = stack_hcl.case(&tf);
        g.w.apply().ok();

        // Vault holds a login of its own, not the platform's superuser.
        let admin_login = vault_admin_of(&conn);
        assert_ne!(
            admin_login,
            stack("PGUSER"),
            "a new Vault connection must not hold the provider's admin login"
        );
        g.pg_roles.push(admin_login.clone());
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT rolsuper::text || rolcreaterole::text || rolcreatedb::text || rolreplication::text || rolbypassrls::text FROM pg_roles WHERE rolname = {}",
                    lit(&admin_login)
                )
            ),
            "falsefalsefalsefalsefalse",
            "the Vault admin {admin_login} holds no role attribute"
        );
        let cfg = vault_get(&format!("database/config/{conn}")).unwrap_or_default();
        assert_eq!(
            cfg["data"]["root_credentials_rotate_statements"],
            serde_json::json!(["ALTER ROLE \"{{username}}\" WITH PASSWORD '{{password}}';"]),
            "{cfg}"
        );
        // No password in state; the plan is empty.
        let state = g.w.state_text();
        let show = g.w.show_json().to_string();
        assert!(
            !show.contains("\"password\":\""),
            "no password in state: {show}"
        );
        assert!(state.contains("\"dedicated_admin\": true"), "{state}");
        assert_plan_empty(&g.w, "apply");

        // Vault rotated the password the provider set: the login's password changed
        // after the connection was written (its verifier differs from one the provider
        // could know only if rotate-root ran; checked by Vault working after the rotation).
        let c = read_creds(&format!("database/creds/{app}"));
        let who = via_pgbouncer(&c, &db, "SELECT session_user || ' ' || current_user")
            .unwrap_or_else(|e| panic!("a login issued through the Vault admin works: {e}"));
        assert_eq!(who, format!("{} {db}_owner", c.username));
        via_pgbouncer(
            &c,
            &db,
            "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)",
        )
        .unwrap_or_else(|e| panic!("owner login creates a table: {e}"));
        let r = read_creds(&format!("database/creds/{reader}"));
        assert_eq!(
            via_pgbouncer(&r, &db, "SELECT count(*) FROM kept").unwrap_or_default(),
            "1"
        );
        let err = via_pgbouncer(&r, &db, "INSERT INTO kept VALUES (2)")
            .expect_err("readonly login must not write");
        assert!(err.contains("permission denied"), "{err}");
        let err = via_pgbouncer(&c, &other, "SELECT 1")
            .expect_err("a login issued for one tenant must not reach another");
        assert!(
            err.contains("permission denied") || err.contains("no such user"),
            "{err}"
        );
        // Revocation drops the login through the Vault admin.
        crate::fixture::revoke_lease(&c.lease_id);
        assert!(
            wait_until(Duration::from_secs(15), || !pg_role_exists(&c.username)),
            "revoked login {} still exists",
            c.username
        );

        // A static role on the same connection rotates a tenant login's password.
        create_login(
            &mut g,
            &login,
            "initial-Secret-1",
            Some(&format!("{db}_readwrite")),
        );
        g.w.write(&crate::fixture::config(&format!(
            "{base}{}",
            role(
                "st",
                &stat,
                "pg",
                &name_of(PGDB, "a"),
                &format!("  mode            = \"static\"\n  username        = \"{login}\"\n  access          = \"readwrite\"\n  rotation_period = 3600\n"),
            )
        )));
        g.w.apply().ok();
        let s = read_creds(&format!("database/static-creds/{stat}"));
        assert_eq!(s.username, login);
        assert_ne!(s.password, "initial-Secret-1");
        via_pgbouncer(&s, &db, "SELECT 1")
            .unwrap_or_else(|e| panic!("the rotated static login works: {e}"));
        assert_plan_empty(&g.w, "static role");

        // An update of the connection keeps the rotated password (Vault merges it).
        g.w.write(&crate::fixture::config(&format!(
            "{}{}",
            base.replace(&roles, &format!("{}  max_open_connections = 3\n", roles)),
            role(
                "st",
                &stat,
                "pg",
                &name_of(PGDB, "a"),
                &format!("  mode            = \"static\"\n  username        = \"{login}\"\n  access          = \"readwrite\"\n  rotation_period = 3600\n"),
            )
        )));
        g.w.apply().ok();
        let cfg = vault_get(&format!("database/config/{conn}")).unwrap_or_default();
        assert_eq!(
            cfg["data"]["connection_details"]["max_open_connections"], 3,
            "{cfg}"
        );
        let c2 = read_creds(&format!("database/creds/{app}"));
        via_pgbouncer(&c2, &db, "SELECT 1")
            .unwrap_or_else(|e| panic!("issuing still works after an update: {e}"));

        // The attacker: knows the Vault admin's password.
        admin(
            "postgres",
            &format!(
                "ALTER ROLE {} PASSWORD 'attacker-Knows-1'",
                ident(&admin_login)
            ),
        );
        let try_as = |sql: &str| as_login(&admin_login, "attacker-Knows-1", sql);
        as_login(&admin_login, "attacker-Knows-1", "SELECT 1")
            .unwrap_or_else(|e| panic!("the test logs in as the Vault admin: {e}"));
        let evil = format!("v-evil-{v}");
        let unmarked = format!("acc_vad_{v}_unmarked");
        g.pg_roles.push(evil.clone());
        g.pg_roles.push(unmarked.clone());
        admin(
            "postgres",
            &format!("DROP ROLE IF EXISTS {}", ident(&unmarked)),
        );
        admin(
            "postgres",
            &format!("CREATE ROLE {} NOLOGIN", ident(&unmarked)),
        );
        let attacks = [
            ("create a superuser", format!("CREATE ROLE {} SUPERUSER LOGIN PASSWORD 'x'", ident(&evil))),
            ("create any role", format!("CREATE ROLE {} LOGIN PASSWORD 'x'", ident(&evil))),
            ("grant itself pg_execute_server_program", format!("GRANT pg_execute_server_program TO {}", ident(&admin_login))),
            ("grant itself another tenant's group", format!("GRANT {} TO {}", ident(&format!("{other}_owner")), ident(&admin_login))),
            ("become superuser", format!("ALTER ROLE {} SUPERUSER", ident(&admin_login))),
            ("take CREATEROLE", format!("ALTER ROLE {} CREATEROLE", ident(&admin_login))),
            ("set the platform admin's password", format!("ALTER ROLE {} PASSWORD 'x'", ident(&stack("PGUSER")))),
            ("a login in pg_execute_server_program", format!("SELECT dbaas_vault.create_login({}, 'x', 'infinity', 'pg_execute_server_program', '')", lit(&evil))),
            ("a login in pg_read_server_files", format!("SELECT dbaas_vault.create_login({}, 'x', 'infinity', 'pg_read_server_files', '')", lit(&evil))),
            ("a login in the platform admin's role", format!("SELECT dbaas_vault.create_login({}, 'x', 'infinity', {}, '')", lit(&evil), lit(&stack("PGUSER")))),
            ("a login in a group the provider did not make", format!("SELECT dbaas_vault.create_login({}, 'x', 'infinity', {}, '')", lit(&evil), lit(&unmarked))),
            ("a login named outside Vault's pattern", format!("SELECT dbaas_vault.create_login('acc_vad_{v}_x', 'x', 'infinity', {}, '')", lit(&format!("{db}_readonly")))),
            ("a login that runs as another role", format!("SELECT dbaas_vault.create_login({}, 'x', 'infinity', {}, {})", lit(&evil), lit(&format!("{db}_readonly")), lit(&stack("PGUSER")))),
            ("the platform admin's password through the function", format!("SELECT dbaas_vault.set_password({}, 'x')", lit(&stack("PGUSER")))),
            ("the PgBouncer auth user's password", "SELECT dbaas_vault.set_password('pgbouncer_auth', 'x')".to_string()),
            ("its own attributes through the function", format!("SELECT dbaas_vault.set_password({}, 'x')", lit(&admin_login))),
            ("drop the platform admin", format!("SELECT dbaas_vault.drop_login({})", lit(&stack("PGUSER")))),
            ("redefine a function", "CREATE OR REPLACE FUNCTION dbaas_vault.drop_login(login text) RETURNS void LANGUAGE sql AS 'SELECT'".to_string()),
            ("call the helpers", "SELECT dbaas_vault.tenant_group('x')".to_string()),
        ];
        for (what, sql) in &attacks {
            let out = try_as(sql);
            assert!(
                out.is_err(),
                "the Vault admin must not {what}: {sql} -> {out:?}"
            );
        }
        assert!(!pg_role_exists(&evil), "{evil} must not exist");
        assert_eq!(
            admin("postgres", &format!("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = {}", lit(&admin_login))),
            "0",
            "the Vault admin is a member of nothing"
        );
        // What it is for still works: a v- login in a tenant group, then dropped.
        let ok = format!("v-acc-vad-{v}");
        g.pg_roles.push(ok.clone());
        try_as(&format!(
            "SELECT dbaas_vault.create_login({}, 'x', 'infinity', {}, '')",
            lit(&ok),
            lit(&format!("{db}_readonly"))
        ))
        .unwrap_or_else(|e| panic!("the Vault admin makes a tenant login: {e}"));
        try_as(&format!("SELECT dbaas_vault.drop_login({})", lit(&ok)))
            .unwrap_or_else(|e| panic!("the Vault admin drops a tenant login: {e}"));
        assert!(!pg_role_exists(&ok));

        // Destroy drops the Vault admin login and the functions with the last of them.
        g.destroy();
        assert!(
            !pg_role_exists(&admin_login),
            "{admin_login} left after destroy"
        );
    }
}

#[test]
fn vault_admin_choice_is_kept_by_existing_connections_and_refused_where_it_cannot_hold() {
    for tf in each_terraform() {
        let [conn, rconn] = tagged(&tf, ["pgvadk", "rdvadk"]);
        // Asking for the provider's admin keeps today's behaviour.
        let keep =
            Stack::default().connection("pg", &conn, "postgres", "  dedicated_admin = false\n");
        let mut g = keep.case(&tf);
        g.w.apply().ok();
        assert_eq!(vault_admin_of(&conn), stack("PGUSER"));
        assert_plan_empty(&g.w, "apply with the provider's admin");

        // Switching to a dedicated admin in place: Vault gets its own login.
        g.w.write(&crate::fixture::config(&crate::fixture::connection(
            "pg",
            &conn,
            "postgres",
            "  dedicated_admin = true\n",
        )));
        g.w.apply().ok();
        let dedicated = vault_admin_of(&conn);
        assert_ne!(dedicated, stack("PGUSER"));
        g.pg_roles.push(dedicated.clone());
        assert!(pg_role_exists(&dedicated));
        assert_plan_empty(&g.w, "switch to a dedicated admin");

        // Drift: the login dropped out of band shows in the plan and is made again.
        admin(
            "postgres",
            &format!("DROP OWNED BY {0}; DROP ROLE {0}", ident(&dedicated)),
        );
        crate::fixture::assert_plan_shows(&g.w, &["username"]);
        g.w.apply().ok();
        assert!(pg_role_exists(&dedicated), "{dedicated} made again");
        assert_eq!(vault_admin_of(&conn), dedicated);
        assert_plan_empty(&g.w, "the dropped login made again");

        // And back: the dedicated login goes.
        g.w.write(&crate::fixture::config(&crate::fixture::connection(
            "pg",
            &conn,
            "postgres",
            "  dedicated_admin = false\n",
        )));
        g.w.apply().ok();
        assert_eq!(vault_admin_of(&conn), stack("PGUSER"));
        assert!(
            !pg_role_exists(&dedicated),
            "{dedicated} left after switching back"
        );
        g.destroy();

        // Refused at plan: a dedicated admin with given credentials, or on Redis (MySQL
        // is no longer refused: see the MySQL case below).
        let both = Stack::default().connection(
            "pg",
            &conn,
            "postgres",
            "  dedicated_admin = true\n  password = \"someone-Secret-1\"\n",
        );
        let g = both.case(&tf);
        let out = crate::fixture::plan(&g.w).failed().all();
        assert!(
            crate::fixture::flat(&out).contains("dedicated_admin"),
            "refused at dedicated_admin: {out}"
        );
        let redis =
            Stack::default().connection("rd", &rconn, "redis", "  dedicated_admin = true\n");
        g.w.write(&crate::fixture::config(redis.body()));
        let out = crate::fixture::plan(&g.w).failed().all();
        assert!(
            crate::fixture::flat(&out).contains("ACL SETUSER"),
            "a Redis dedicated admin is refused, saying why: {out}"
        );
    }
}

/// Runs `sql` on MySQL as `user` with `password` (no default database).
fn my_as(user: &str, password: &str, sql: &str) -> Result<String, String> {
    mysql_as(user, password, None, sql)
}

#[test]
fn vault_admin_mysql_connection_holds_no_create_user_and_issues_working_logins() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db, other, conn] = tagged(&tf, ["acc_myvad", "acc_myvadb", "myvad"]);
        let app = format!("{conn}-app");
        let reader = format!("{conn}-ro");
        let stat = format!("{conn}-st");
        let login = format!("acc_myvad_{v}_st");
        let roles = format!("  allowed_roles = [\"{app}\", \"{reader}\", \"{stat}\"]\n");
        let stack_hcl = Stack::default()
            .hcl(&resource(MYDB, "a", &db, "  deletion_protection = false"))
            .hcl(&resource(
                MYDB,
                "b",
                &other,
                "  deletion_protection = false",
            ))
            .connection("my", &conn, "mysql", &roles)
            .role("app", &app, "my", &name_of(MYDB, "a"), "")
            .role(
                "ro",
                &reader,
                "my",
                &name_of(MYDB, "a"),
                "  access     = \"readonly\"\n  connection_limit = 2\n",
            )
            .guard(|g| {
                g.vault_roles.push(stat.clone());
                g.mysql_dbs = vec![db.clone(), other.clone()];
                g.mysql_users.push(login.clone());
            });
        let base = stack_hcl.body().to_string();
        let mut g = stack_hcl.case(&tf);
        g.w.apply().ok();

        // Vault holds an account of its own, not the platform's root.
        let admin_login = vault_admin_of(&conn);
        assert_ne!(
            admin_login,
            stack("DBAAS_MYSQL_USER"),
            "a new MySQL Vault connection must not hold the provider's admin account"
        );
        assert!(admin_login.starts_with("dbaas_vault_"), "{admin_login}");
        g.mysql_users.push(admin_login.clone());
        let grants = mysql_admin(&format!("SHOW GRANTS FOR {}@'%'", my_lit(&admin_login)));
        for line in grants.lines() {
            assert!(
                line.starts_with("GRANT USAGE ON *.*")
                    || line.starts_with("GRANT EXECUTE ON PROCEDURE `dbaas_vault`."),
                "the Vault admin holds only EXECUTE on the procedures: {grants}"
            );
        }
        assert!(!grants.contains("GRANT OPTION"), "{grants}");
        let cfg = vault_get(&format!("database/config/{conn}")).unwrap_or_default();
        assert_eq!(
            cfg["data"]["root_credentials_rotate_statements"],
            serde_json::json!(["CALL dbaas_vault.set_own_password('{{password}}');"]),
            "{cfg}"
        );
        let state = g.w.state_text();
        assert!(state.contains("\"dedicated_admin\": true"), "{state}");
        assert!(
            !g.w.show_json().to_string().contains("\"password\":\""),
            "no password in state"
        );
        assert_plan_empty(&g.w, "apply");

        // Issued logins work on their tenant database only.
        let c = read_creds(&format!("database/creds/{app}"));
        g.mysql_users.push(c.username.clone());
        mysql_as(
            &c.username,
            &c.password,
            Some(&db),
            "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)",
        )
        .unwrap_or_else(|e| panic!("an owner login issued through the Vault admin works: {e}"));
        let r = read_creds(&format!("database/creds/{reader}"));
        g.mysql_users.push(r.username.clone());
        assert_eq!(
            mysql_as(
                &r.username,
                &r.password,
                Some(&db),
                "SELECT count(*) FROM kept"
            )
            .unwrap_or_default(),
            "1"
        );
        assert!(
            mysql_as(
                &r.username,
                &r.password,
                Some(&db),
                "INSERT INTO kept VALUES (2)"
            )
            .is_err(),
            "a readonly login must not write"
        );
        assert_eq!(
            mysql_admin(&format!(
                "SELECT max_user_connections FROM mysql.user WHERE user = {}",
                my_lit(&r.username)
            )),
            "2",
            "connection_limit reaches logins made through the procedures"
        );
        assert!(
            mysql_as(&c.username, &c.password, Some(&other), "SELECT 1").is_err(),
            "a login issued for one tenant must not reach another"
        );
        // Revocation drops the login through the Vault admin.
        crate::fixture::revoke_lease(&c.lease_id);
        assert!(
            wait_until(Duration::from_secs(15), || !mysql_user_exists(&c.username)),
            "revoked login {} still exists",
            c.username
        );

        // A static role rotates a tenant login's password through set_password.
        mysql_admin(&format!(
            "DROP USER IF EXISTS {u}@'%'; CREATE USER {u}@'%' IDENTIFIED BY 'initial-Secret-1'; GRANT SELECT ON `{}`.* TO {u}@'%'",
            db.replace('_', "\\_"),
            u = my_lit(&login)
        ));
        g.w.write(&crate::fixture::config(&format!(
            "{base}{}",
            role(
                "st",
                &stat,
                "my",
                &name_of(MYDB, "a"),
                &format!("  mode            = \"static\"\n  username        = \"{login}\"\n  access          = \"readonly\"\n  rotation_period = 3600\n"),
            )
        )));
        g.w.apply().ok();
        let s = read_creds(&format!("database/static-creds/{stat}"));
        assert_eq!(s.username, login);
        assert_ne!(s.password, "initial-Secret-1");
        mysql_as(&s.username, &s.password, Some(&db), "SELECT 1")
            .unwrap_or_else(|e| panic!("the rotated static login works: {e}"));
        assert_plan_empty(&g.w, "static role");

        // Import reads both back: the connection as dedicated, a role's CALL statements
        // (database, access and connection limit).
        for (addr, id) in [
            (format!("{CONN}.my"), format!("database/{conn}")),
            (format!("{ROLE}.ro"), format!("database/{reader}")),
        ] {
            g.w.state_rm(&[&addr]).ok();
            g.w.import(&addr, &id).ok();
        }
        assert_plan_empty(&g.w, "import of the MySQL connection and role");
        // Drift: the account dropped out of band shows in the plan and is made again.
        mysql_admin(&format!("DROP USER {}@'%'", my_lit(&admin_login)));
        crate::fixture::assert_plan_shows(&g.w, &["username"]);
        g.w.apply().ok();
        assert!(mysql_user_exists(&admin_login), "{admin_login} made again");
        assert_plan_empty(&g.w, "the dropped account made again");
        let c3 = read_creds(&format!("database/creds/{app}"));
        g.mysql_users.push(c3.username.clone());
        mysql_as(&c3.username, &c3.password, Some(&db), "SELECT 1")
            .unwrap_or_else(|e| panic!("issuing works after the account is made again: {e}"));

        // Procedures of an older version are redefined by the next apply that touches the
        // connection, and the admin keeps EXECUTE (a redefinition revokes routine grants).
        mysql_admin("ALTER PROCEDURE dbaas_vault.create_login COMMENT 'terraform-provider-dbaas procedures old'");
        g.w.write(&crate::fixture::config(&format!(
            "{}{}",
            base.replace(&roles, &format!("{roles}  max_open_connections = 3\n")),
            role(
                "st",
                &stat,
                "my",
                &name_of(MYDB, "a"),
                &format!("  mode            = \"static\"\n  username        = \"{login}\"\n  access          = \"readonly\"\n  rotation_period = 3600\n"),
            )
        )));
        g.w.apply().ok();
        assert_ne!(
            mysql_admin("SELECT ROUTINE_COMMENT FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'dbaas_vault' AND ROUTINE_NAME = 'create_login'"),
            "terraform-provider-dbaas procedures old"
        );
        let c4 = read_creds(&format!("database/creds/{app}"));
        g.mysql_users.push(c4.username.clone());
        mysql_as(&c4.username, &c4.password, Some(&db), "SELECT 1")
            .unwrap_or_else(|e| panic!("issuing works after the procedures are redefined: {e}"));

        // The attacker: knows the Vault admin's password.
        mysql_admin(&format!(
            "ALTER USER {}@'%' IDENTIFIED BY 'attacker-Knows-1'",
            my_lit(&admin_login)
        ));
        let try_as = |sql: &str| my_as(&admin_login, "attacker-Knows-1", sql);
        try_as("SELECT 1").unwrap_or_else(|e| panic!("the test logs in as the Vault admin: {e}"));
        let evil = format!("v-evil-{v}");
        let root = my_lit(&stack("DBAAS_MYSQL_USER"));
        g.mysql_users.push(evil.clone());
        let attacks = [
            ("create a user", format!("CREATE USER {}@'%' IDENTIFIED BY 'x'", my_lit(&evil))),
            ("grant itself everything", format!("GRANT ALL ON *.* TO {}@'%'", my_lit(&admin_login))),
            ("grant a tenant schema to itself", format!("GRANT ALL ON `{other}`.* TO {}@'%'", my_lit(&admin_login))),
            ("change root's password", format!("ALTER USER {root}@'%' IDENTIFIED BY 'x'")),
            ("set root's password", format!("SET PASSWORD FOR {root}@'%' = PASSWORD('x')")),
            ("drop root", format!("DROP USER {root}@'%'")),
            ("rename root", format!("RENAME USER {root}@'%' TO 'gone'@'%'")),
            ("read another tenant's data", format!("SELECT * FROM `{db}`.kept")),
            ("read the account table", "SELECT * FROM mysql.user".to_string()),
            ("a login named outside Vault's pattern", format!("CALL dbaas_vault.create_login('acc_myvad_{v}_x', 'x', {}, 'owner', 0)", my_lit(&db))),
            ("a login named root", format!("CALL dbaas_vault.create_login({root}, 'x', {}, 'owner', 0)", my_lit(&db))),
            ("a name with a quote", format!("CALL dbaas_vault.create_login('v-x''@''%'' IDENTIFIED BY ''y''; --', 'x', {}, 'owner', 0)", my_lit(&db))),
            ("a login on the mysql schema", format!("CALL dbaas_vault.create_login({}, 'x', 'mysql', 'owner', 0)", my_lit(&evil))),
            ("a login on the procedures' schema", format!("CALL dbaas_vault.create_login({}, 'x', 'dbaas_vault', 'owner', 0)", my_lit(&evil))),
            ("a login on every schema", format!("CALL dbaas_vault.create_login({}, 'x', '%', 'owner', 0)", my_lit(&evil))),
            ("a login on a schema with a backtick", format!("CALL dbaas_vault.create_login({}, 'x', 'a`.* TO x; --', 'owner', 0)", my_lit(&evil))),
            ("a login on a database that does not exist", format!("CALL dbaas_vault.create_login({}, 'x', 'acc_none_{v}', 'owner', 0)", my_lit(&evil))),
            ("another access level", format!("CALL dbaas_vault.create_login({}, 'x', {}, 'ALL PRIVILEGES ON *.* --', 0)", my_lit(&evil), my_lit(&db))),
            ("root's password through the procedure", format!("CALL dbaas_vault.set_password({root}, 'x')")),
            ("its own account through set_password", format!("CALL dbaas_vault.set_password({}, 'x')", my_lit(&admin_login))),
            ("drop root through the procedure", format!("CALL dbaas_vault.drop_login({root})")),
            ("drop itself through the procedure", format!("CALL dbaas_vault.drop_login({})", my_lit(&admin_login))),
            ("redefine a procedure", "CREATE OR REPLACE PROCEDURE dbaas_vault.drop_login(login VARCHAR(80)) SELECT 1".to_string()),
            ("call the helpers", format!("CALL dbaas_vault.check_tenant_login({root}, FALSE)")),
        ];
        for (what, sql) in &attacks {
            let out = try_as(sql);
            assert!(
                out.is_err(),
                "the Vault admin must not {what}: {sql} -> {out:?}"
            );
        }
        assert!(!mysql_user_exists(&evil), "{evil} must not exist");
        assert!(!mysql_user_exists("gone"), "root must not be renamed");
        // The platform's admin still logs in with its password.
        mysql_admin("SELECT 1");
        // What it is for still works: a v- login on a tenant database, then dropped.
        let ok = format!("v-acc-myvad-{v}");
        g.mysql_users.push(ok.clone());
        try_as(&format!(
            "CALL dbaas_vault.create_login({}, 'x', {}, 'readonly', 0)",
            my_lit(&ok),
            my_lit(&db)
        ))
        .unwrap_or_else(|e| panic!("the Vault admin makes a tenant login: {e}"));
        try_as(&format!("CALL dbaas_vault.drop_login({})", my_lit(&ok)))
            .unwrap_or_else(|e| panic!("the Vault admin drops a tenant login: {e}"));
        assert!(!mysql_user_exists(&ok));
        // And changes its own password (what rotate-root runs), nobody else's.
        try_as("CALL dbaas_vault.set_own_password('attacker-Knows-2')")
            .unwrap_or_else(|e| panic!("the Vault admin changes its own password: {e}"));
        my_as(&admin_login, "attacker-Knows-2", "SELECT 1")
            .unwrap_or_else(|e| panic!("its own new password works: {e}"));

        // Destroy drops the Vault admin account (and the schema with the last of them).
        g.destroy();
        assert!(
            !mysql_user_exists(&admin_login),
            "{admin_login} left after destroy"
        );
    }
}
