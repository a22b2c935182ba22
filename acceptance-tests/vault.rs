//! `dbaas_vault_database_connection` and `dbaas_vault_rotation_role` on real Terraform,
//! OpenBao (Vault's API, database secrets engine at `database/`), PostgreSQL 15 behind
//! three PgBouncers (auth_query), MariaDB and Redis: credentials read from `creds_path`
//! work through PgBouncer on their own tenant database only, objects they create belong to
//! `<database>_owner` and survive revocation, `readonly` reads and cannot write, static
//! roles rotate, drift and import, destroy leaves nothing in Vault or the database, the
//! MySQL and Redis engines, `examples/tenant-stack/main.tf` as shipped, and the failure
//! modes (Vault unreachable, bad token, engine not mounted, missing connection). Cases
//! marked `#[ignore = "bug: ..."]` pin provider bugs; run them with `--include-ignored`.
//!
//! Every case runs on each Terraform from `terraforms()` with names unique per case and per
//! Terraform version (cases run in parallel): tenant databases `acc_v<case>_<v>`, Vault
//! connections `<engine><case>_<v>` and roles `<connection>-<suffix>` (the default
//! `allowed_roles` pattern). Vault's username template keeps the first 8 characters of the
//! role name, so `v-%-<connection>-%` finds every login made for a case. A fixture [`Case`]
//! owns the working directory: on every exit it runs `terraform destroy`, then removes with
//! the Vault API and SQL whatever a panicking step may have left.

use std::time::Duration;

use crate::fixture::{
    allowed_role, apply_clean, apply_planned, assert_plan_empty, assert_plan_shows, config,
    connection, create_login, direct, each_terraform, flat, hcl_str, ident, leases_under, lit,
    my_lit, mysql_admin, mysql_as as mysql, mysql_user_exists, name_of, pg_admin as admin,
    pg_role_exists, pgb_port, plan, plan_diff, read_creds, redis_admin, redis_cli as redis,
    redis_user_exists, resource, revoke_lease, role, role_outputs, tagged, vault_made_logins,
    via_pgbouncer, wait_until, Case, Creds, Stack, CONN, MYDB, PGDB, RNS, ROLE,
};
use crate::harness::{
    pgbouncer_ports, provider_block, psql, stack, vault_delete, vault_get, vault_list, vault_post,
    vault_put, version_tag,
};

/// The attribute line of a read-only rotation role.
const READONLY: &str = "  access     = \"readonly\"\n";

/// Neither the connection nor any of the roles is left in Vault.
fn assert_gone_from_vault(conn: &str, roles: &[&str]) {
    let left = vault_list("database/roles");
    assert!(
        !roles.iter().any(|r| left.iter().any(|l| l == r)),
        "roles left in Vault: {left:?}"
    );
    let configs = vault_list("database/config");
    assert!(
        !configs.iter().any(|c| c == conn),
        "connection left in Vault: {configs:?}"
    );
}

/// Revoking `c`'s lease removes its login within 15 s: `exists` says whether the backend
/// still holds a login of that name, `what` names it in the panic.
fn assert_revoking_removes_the_login(c: &Creds, what: &str, exists: impl Fn(&str) -> bool) {
    revoke_lease(&c.lease_id);
    assert!(
        wait_until(Duration::from_secs(15), || !exists(&c.username)),
        "{what} {} still exists after its lease was revoked",
        c.username
    );
}

/// An expired login in `<db>_owner` named as Vault names the logins of `role`, as a failed
/// revocation leaves it (`v`: unique per Terraform); its name.
fn expired_login(role: &str, db: &str, v: &str) -> String {
    let stale = format!("v-token-{}-stale{v}-1700000000", &role[..8]);
    admin(
        "postgres",
        &format!(
            "CREATE ROLE {} LOGIN PASSWORD 'x' VALID UNTIL '2000-01-01' IN ROLE {}",
            ident(&stale),
            ident(&format!("{db}_owner"))
        ),
    );
    stale
}

/// A PostgreSQL tenant `db`, the Vault connection `pg` to it and the rotation role `app`.
fn pg_app_stack(db: &str, conn: &str, app: &str) -> Stack {
    Stack::default()
        .database("db", db)
        .connection("pg", conn, "postgres", "")
        .role("app", app, "pg", &name_of(PGDB, "db"), "")
}

/// A Redis namespace `ns` (with extra lines), the Vault connection `rd` and the rotation
/// role `app` on it; the guard knows the namespace's user and keys.
fn redis_app_stack(ns: &str, ns_extra: &str, conn: &str, app: &str) -> Stack {
    Stack::default()
        .hcl(&resource(RNS, "ns", ns, ns_extra))
        .connection("rd", conn, "redis", "")
        .role("app", app, "rd", &name_of(RNS, "ns"), "")
        .guard(|g| {
            g.redis_users.push(ns.to_string());
            g.redis_keys.push(format!("{ns}:*"));
        })
}

// ---------------------------------------------------------------------------------------
// 1. PostgreSQL dynamic role, owner access
// ---------------------------------------------------------------------------------------

#[test]
fn vault_postgres_dynamic_owner_creds_work_through_pgbouncer_on_their_database_only() {
    for tf in each_terraform() {
        let [db, other, conn] = tagged(&tf, ["acc_vdy", "acc_vdyb", "pgdy"]);
        let app = format!("{conn}-app");
        let mut g = Stack::default()
            .database("a", &db)
            .database("b", &other)
            .connection("pg", &conn, "postgres", &allowed_role(&app))
            .role("app", &app, "pg", &name_of(PGDB, "a"), "")
            .hcl(&role_outputs("app"))
            .case(&tf);
        g.w.apply().ok();

        // Computed attributes.
        let out = g.w.outputs();
        let creds_path = format!("database/creds/{app}");
        assert_eq!(out["app_creds_path"], creds_path.as_str(), "{out}");
        let policy = out["app_policy"].as_str().unwrap_or_default();
        assert!(
            policy.contains(&format!("path \"{creds_path}\"")) && policy.contains("\"read\""),
            "policy must grant read on {creds_path}:\n{policy}"
        );
        assert_plan_empty(&g.w, "apply");

        // What was written to Vault.
        let cfg = vault_get(&format!("database/config/{conn}")).expect("connection written");
        assert_eq!(
            cfg["data"]["plugin_name"], "postgresql-database-plugin",
            "{cfg}"
        );
        assert_eq!(
            cfg["data"]["allowed_roles"],
            serde_json::json!([app]),
            "{cfg}"
        );
        let vrole = vault_get(&format!("database/roles/{app}")).expect("role written");
        assert_eq!(vrole["data"]["db_name"], conn.as_str(), "{vrole}");
        let creation = vrole["data"]["creation_statements"].to_string();
        // Issue 22: a new connection's dedicated Vault admin makes the login through the
        // provider's function, in the owner group.
        assert!(
            creation.contains(&format!("dbaas_vault.create_login('{{{{name}}}}', '{{{{password}}}}', '{{{{expiration}}}}', '{db}_owner'")),
            "{creation}"
        );

        // Credentials from creds_path, through PgBouncer into their own database.
        let c = read_creds(&creds_path);
        assert!(!c.lease_id.is_empty(), "dynamic credentials carry a lease");
        let who = via_pgbouncer(
            &c,
            &db,
            "SELECT current_database() || ' ' || session_user || ' ' || current_user",
        )
        .unwrap_or_else(|e| panic!("dynamic login through PgBouncer into {db}: {e}"));
        assert_eq!(who, format!("{db} {} {db}_owner", c.username));
        for port in pgbouncer_ports() {
            psql(&db, &c.username, &c.password, &port, "SELECT 1").unwrap_or_else(|e| {
                panic!("dynamic login through the PgBouncer replica at {port}: {e}")
            });
        }

        // Objects it creates belong to the stable owner.
        via_pgbouncer(
            &c,
            &db,
            "CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1), (2)",
        )
        .unwrap_or_else(|e| panic!("owner login creates a table: {e}"));
        let kept_owner = || {
            admin(
                &db,
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = 'kept'",
            )
        };
        assert_eq!(kept_owner(), format!("{db}_owner"));

        // Not into another tenant's database, through PgBouncer or directly.
        // (PgBouncer refuses first: the other database's get_auth does not serve this login.)
        let err = via_pgbouncer(&c, &other, "SELECT 1")
            .expect_err("a login for one tenant must not reach another tenant's database");
        assert!(
            err.contains("permission denied") || err.contains("no such user"),
            "{err}"
        );
        let err = direct(&c, &other, "SELECT 1")
            .expect_err("a login for one tenant must not reach another tenant's database");
        assert!(err.contains("permission denied"), "{err}");

        // Revoking the lease removes the login; the table stays.
        assert_revoking_removes_the_login(&c, "PostgreSQL login", pg_role_exists);
        assert_eq!(admin(&db, "SELECT count(*) FROM kept"), "2");
        assert_eq!(kept_owner(), format!("{db}_owner"));
        via_pgbouncer(&c, &db, "SELECT 1").expect_err("a revoked login must not connect");
        assert_plan_empty(&g.w, "revoking a lease");

        g.destroy();
    }
}

// ---------------------------------------------------------------------------------------
// 2. readonly access
// ---------------------------------------------------------------------------------------

#[test]
fn vault_postgres_readonly_creds_read_and_cannot_write() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_vro", "pgro"]);
        let owner = format!("{conn}-owner");
        let reader = format!("{conn}-reader");
        let mut g = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "")
            .role("owner", &owner, "pg", &name_of(PGDB, "db"), "")
            .role("reader", &reader, "pg", &name_of(PGDB, "db"), READONLY)
            .hcl(&role_outputs("reader"))
            .case(&tf);
        g.apply_clean();
        assert_eq!(
            g.w.outputs()["reader_creds_path"],
            format!("database/creds/{reader}").as_str()
        );
        let cfg = vault_get(&format!("database/config/{conn}")).expect("connection written");
        assert_eq!(
            cfg["data"]["allowed_roles"],
            serde_json::json!([format!("{conn}-*")]),
            "default allowed_roles: {cfg}"
        );

        let o = read_creds(&format!("database/creds/{owner}"));
        via_pgbouncer(
            &o,
            &db,
            "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a'), (2, 'b')",
        )
        .unwrap_or_else(|e| panic!("owner login creates a table: {e}"));

        let r = read_creds(&format!("database/creds/{reader}"));
        assert_eq!(
            via_pgbouncer(&r, &db, "SELECT count(*) FROM items")
                .unwrap_or_else(|e| panic!("readonly login reads the owner's table: {e}")),
            "2"
        );
        assert_eq!(
            via_pgbouncer(&r, &db, "SELECT current_user").unwrap(),
            r.username,
            "a readonly login does not run as the owner"
        );
        for write in [
            "INSERT INTO items VALUES (3, 'c')",
            "UPDATE items SET name = 'x'",
            "DELETE FROM items",
        ] {
            let err = via_pgbouncer(&r, &db, write)
                .err()
                .unwrap_or_else(|| panic!("readonly credentials must not write: {write}"));
            assert!(err.contains("permission denied"), "{write}: {err}");
        }
        let err = via_pgbouncer(&r, &db, "CREATE TABLE mine (id int)")
            .expect_err("readonly credentials must not create tables");
        assert!(err.contains("permission denied"), "{err}");
        assert_eq!(admin(&db, "SELECT count(*) FROM items"), "2");

        g.destroy();
    }
}

// ---------------------------------------------------------------------------------------
// 3. static role
// ---------------------------------------------------------------------------------------

#[test]
fn vault_postgres_static_role_rotation_changes_the_password() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db, conn] = tagged(&tf, ["acc_vst", "pgst"]);
        let name = format!("{conn}-static");
        let login = format!("acc_vst_{v}_login");
        let stack = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "")
            .guard(|g| g.vault_roles.push(name.clone()));
        let base = stack.body().to_string();
        let mut g = stack.case(&tf);
        g.w.apply().ok();

        // The existing login, made by hand with a known password.
        let initial = Creds {
            username: login.clone(),
            password: format!("initial-{v}-Secret"),
            lease_id: String::new(),
        };
        create_login(
            &mut g,
            &login,
            &initial.password,
            Some(&format!("{db}_readwrite")),
        );
        via_pgbouncer(&initial, &db, "SELECT 1")
            .unwrap_or_else(|e| panic!("the hand-made login works before Vault manages it: {e}"));

        g.w.write(&config(&format!(
            "{base}{}{}",
            role(
                "s",
                &name,
                "pg",
                &format!("{PGDB}.db.name"),
                &format!("  mode            = \"static\"\n  username        = \"{login}\"\n  access          = \"readwrite\"\n  rotation_period = 3600\n")
            ),
            role_outputs("s"),
        )));
        g.w.apply().ok();
        let creds_path = format!("database/static-creds/{name}");
        let out = g.w.outputs();
        assert_eq!(out["s_creds_path"], creds_path.as_str(), "{out}");
        assert!(
            out["s_policy"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("path \"{creds_path}\"")),
            "{out}"
        );
        assert_plan_empty(&g.w, "apply of a static role");
        let vrole = vault_get(&format!("database/static-roles/{name}")).expect("static role");
        assert_eq!(vrole["data"]["username"], login.as_str(), "{vrole}");
        assert_eq!(vrole["data"]["db_name"], conn.as_str(), "{vrole}");

        let first = read_creds(&creds_path);
        assert_eq!(first.username, login);
        via_pgbouncer(&first, &db, "SELECT 1")
            .unwrap_or_else(|e| panic!("static credentials through PgBouncer: {e}"));
        if via_pgbouncer(&initial, &db, "SELECT 1").is_ok() {
            eprintln!("note: the hand-set password still works after the static role was created (Vault did not rotate on import)");
        }

        // rotate-role: the new password works, the old one does not.
        vault_post(
            &format!("database/rotate-role/{name}"),
            &serde_json::json!({}),
        );
        let second = read_creds(&creds_path);
        assert_eq!(second.username, login);
        assert_ne!(
            second.password, first.password,
            "rotate-role must change the password"
        );
        assert_eq!(
            via_pgbouncer(&second, &db, "SELECT current_user")
                .unwrap_or_else(|e| panic!("rotated password through PgBouncer: {e}")),
            login
        );
        let err = via_pgbouncer(&first, &db, "SELECT 1")
            .expect_err("the password before rotation must stop working through PgBouncer");
        assert!(err.contains("authentication failed"), "{err}");
        direct(&first, &db, "SELECT 1")
            .expect_err("the password before rotation must stop working on the primary");
        via_pgbouncer(&initial, &db, "SELECT 1")
            .expect_err("the hand-set password must not work after a rotation");
        assert_plan_empty(&g.w, "a rotation");

        g.destroy();
        assert!(
            vault_get(&format!("database/static-roles/{name}")).is_none(),
            "destroy removes the static role"
        );
        assert!(
            pg_role_exists(&login),
            "a static role's login was made outside Vault: destroy must keep it"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4. drift and import
// ---------------------------------------------------------------------------------------

#[test]
fn vault_drift_is_repaired_and_import_plans_nothing() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db, conn] = tagged(&tf, ["acc_vdr", "pgdr"]);
        let app = format!("{conn}-app");
        let mut g = pg_app_stack(&db, &conn, &app).case(&tf);
        g.apply_clean();
        let role_path = format!("database/roles/{app}");
        let config_path = format!("database/config/{conn}");

        // Role deleted in Vault out of band: planned for creation, restored.
        vault_delete(&role_path).unwrap();
        apply_planned(
            &g.w,
            &[
                &format!("# {ROLE}.app will be created"),
                "1 to add, 0 to change, 0 to destroy",
            ],
            "restoring the role",
        );
        assert!(vault_get(&role_path).is_some(), "apply restores the role");

        // Connection deleted in Vault out of band: planned for creation, restored.
        vault_delete(&config_path).unwrap();
        apply_planned(
            &g.w,
            &[&format!("# {CONN}.pg will be created")],
            "restoring the connection",
        );
        assert!(
            vault_get(&config_path).is_some(),
            "apply restores the connection"
        );
        let c = read_creds(&format!("database/creds/{app}"));
        via_pgbouncer(&c, &db, "SELECT 1")
            .unwrap_or_else(|e| panic!("credentials after the repair: {e}"));
        revoke_lease(&c.lease_id);

        // An expired login made for this role and never dropped: plan warns, naming it.
        let stale = expired_login(&app, &db, &v);
        g.pg_roles.push(stale.clone());
        let r = plan(&g.w);
        assert_eq!(r.code, 0, "a warning is not a change:\n{}", r.all());
        assert!(
            r.all().contains(&stale) && r.all().contains("Warning"),
            "plan must warn about the expired login {stale}:\n{}",
            r.all()
        );
        admin("postgres", &format!("DROP ROLE {}", ident(&stale)));

        // Import both after dropping them from state.
        let role_addr = format!("{ROLE}.app");
        let conn_addr = format!("{CONN}.pg");
        g.w.state_rm(&[&role_addr, &conn_addr]).ok();
        assert!(
            vault_get(&role_path).is_some(),
            "state rm must not touch Vault"
        );
        g.w.import(&role_addr, &format!("database/{app}")).ok();
        g.w.import(&conn_addr, &format!("database/{conn}")).ok();
        assert_plan_empty(&g.w, "importing the connection and the role");

        g.destroy();
    }
}

/// Out-of-band edits of what the provider generated or defaulted: the role's creation
/// statements (here: logins made SUPERUSER) and the connection's URL.
#[test]
fn vault_out_of_band_edits_of_statements_and_connection_url_are_repaired() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_vob", "pgob"]);
        let app = format!("{conn}-app");
        let mut g = pg_app_stack(&db, &conn, &app).case(&tf);
        g.apply_clean();
        let role_path = format!("database/roles/{app}");
        let config_path = format!("database/config/{conn}");
        let original = vault_get(&role_path).expect("role")["data"].clone();

        let mut edited = original.clone();
        edited["creation_statements"] = serde_json::json!([
            "CREATE ROLE \"{{name}}\" WITH LOGIN SUPERUSER PASSWORD '{{password}}';"
        ]);
        vault_post(&role_path, &edited);
        assert_plan_shows(&g.w, &["creation_statements"]);
        g.w.apply().ok();
        assert_eq!(
            vault_get(&role_path).expect("role")["data"]["creation_statements"],
            original["creation_statements"],
            "apply must restore the generated statements"
        );

        let cfg = vault_get(&config_path).expect("connection")["data"].clone();
        let url = cfg["connection_details"]["connection_url"]
            .as_str()
            .unwrap()
            .to_string();
        vault_post(
            &config_path,
            &serde_json::json!({
                "plugin_name": cfg["plugin_name"],
                "connection_url": url.replace("/postgres?", "/template1?"),
                "username": stack("PGUSER"),
                "password": stack("PGPASSWORD"),
                "allowed_roles": cfg["allowed_roles"],
                "verify_connection": false,
            }),
        );
        assert_plan_shows(&g.w, &["connection_url"]);
        g.w.apply().ok();
        assert_eq!(
            vault_get(&config_path).expect("connection")["data"]["connection_details"]
                ["connection_url"],
            url.as_str(),
            "apply must restore the default connection_url"
        );
        g.destroy();
    }
}

/// Vault keeps only the first 8 characters of a role's name in its logins, so with the
/// usual `postgres-<app>-role` names every tenant's logins look alike: the warning about
/// expired logins must name only those of this role's database.
#[test]
fn vault_expired_login_warning_names_only_this_roles_logins() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db_a, db_b, conn] = tagged(&tf, ["acc_vsw", "acc_vswb", "pgsw"]);
        let role_a = format!("{conn}-a");
        let role_b = format!("{conn}-b");
        let mut g = Stack::default()
            .database("a", &db_a)
            .database("b", &db_b)
            .connection("pg", &conn, "postgres", "")
            .role("a", &role_a, "pg", &name_of(PGDB, "a"), "")
            .role("b", &role_b, "pg", &name_of(PGDB, "b"), "")
            .case(&tf);
        g.w.apply().ok();

        // An expired login of tenant a, as a failed revocation leaves it.
        let stale = expired_login(&role_a, &db_a, &v);
        g.pg_roles.push(stale.clone());
        let r = plan(&g.w);
        let all = flat(&r.all());
        assert!(
            all.contains(&format!("Vault role \"{role_a}\"")) && all.contains(&stale),
            "the warning names role a's expired login: {all}"
        );
        assert!(
            !all.contains(&format!("Vault role \"{role_b}\"")),
            "role b (database {db_b}) is warned about tenant a's login {stale}: {all}"
        );
        g.destroy();
    }
}

#[test]
#[ignore = "known gap: Vault keeps no database/access for a static role; import recovers them only when the login belongs to a tenant group, and this test's login does not"]
fn vault_import_of_readonly_static_and_mysql_roles_plans_nothing() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db, conn] = tagged(&tf, ["acc_vim", "pgim"]);
        let reader = format!("{conn}-reader");
        let stat = format!("{conn}-static");
        let login = format!("acc_vim_{v}_login");
        let myconn = format!("myim_{v}");
        let myrole = format!("{myconn}-app");
        let mut g = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "")
            .role("reader", &reader, "pg", &name_of(PGDB, "db"), READONLY)
            .role(
                "s",
                &stat,
                "pg",
                &name_of(PGDB, "db"),
                &format!("  mode       = \"static\"\n  access     = \"readwrite\"\n  username   = \"{login}\"\n"),
            )
            .connection("my", &myconn, "mysql", "")
            .role("my", &myrole, "my", &format!("\"acc_vim_{v}\""), "")
            .case(&tf);
        create_login(&mut g, &login, "import-Secret-1", None);
        g.apply_clean();

        let mut diffs = Vec::new();
        for (addr, id) in [
            (format!("{ROLE}.reader"), format!("database/{reader}")),
            (format!("{ROLE}.s"), format!("database/{stat}")),
            (format!("{CONN}.my"), format!("database/{myconn}")),
            (format!("{ROLE}.my"), format!("database/{myrole}")),
        ] {
            g.w.state_rm(&[&addr]).ok();
            g.w.import(&addr, &id).ok();
            if let Some(d) = plan_diff(&g.w) {
                diffs.push(format!("after importing {addr}:\n{d}"));
                // Put the resource back as the provider wrote it, for the next one.
                g.w.apply().ok();
            }
        }
        assert!(
            diffs.is_empty(),
            "import must plan nothing on {}:\n{}",
            tf.version,
            diffs.join("\n")
        );
        g.destroy();
    }
}

/// A MySQL role whose statements someone rewrote by hand (a REVOKE ahead of the GRANT, both
/// naming ` ON `) is imported without crashing the provider: database and access come
/// from the GRANT.
#[test]
fn vault_import_of_a_hand_written_mysql_role_reads_its_grant() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let myconn = format!("myhw_{v}");
        let myrole = format!("{myconn}-app");
        let db = format!("acc_vhw_{v}");
        // A rotation role is for an existing tenant database (issue 19).
        let mut g = Stack::default()
            .hcl(&resource(MYDB, "db", &db, "  deletion_protection = false"))
            .connection("my", &myconn, "mysql", "")
            .role("my", &myrole, "my", &name_of(MYDB, "db"), READONLY)
            .guard(|g| g.mysql_dbs.push(db.clone()))
            .case(&tf);
        g.apply_clean();
        let path = format!("database/roles/{myrole}");
        let mut edited = vault_get(&path).expect("role")["data"].clone();
        edited["creation_statements"] = serde_json::json!([format!(
            "REVOKE ALL ON `{db}`.* FROM '{{{{name}}}}'@'%'; GRANT SELECT ON `{db}`.* TO '{{{{name}}}}'@'%';"
        )]);
        vault_post(&path, &edited);
        let addr = format!("{ROLE}.my");
        g.w.state_rm(&[&addr]).ok();
        let r = g.w.import(&addr, &format!("database/{myrole}"));
        assert_eq!(
            r.code,
            0,
            "import of the hand-written role works:\n{}",
            r.all()
        );
        let state = g.w.state_text();
        assert!(
            state.contains(&format!("\"database\": \"{db}\""))
                && state.contains("\"access\": \"readonly\""),
            "database and access read from the GRANT:\n{state}"
        );
        g.destroy();
    }
}

// ---------------------------------------------------------------------------------------
// 5. destroy
// ---------------------------------------------------------------------------------------

#[test]
fn vault_destroy_leaves_no_role_connection_or_login() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_vds", "pgds"]);
        let app = format!("{conn}-app");
        let reader = format!("{conn}-ro");
        let mut g = pg_app_stack(&db, &conn, &app)
            .role(
                "ro",
                &reader,
                "pg",
                &name_of(PGDB, "db"),
                &format!("{READONLY}  default_ttl = 600\n  max_ttl     = 3600\n"),
            )
            .case(&tf);
        g.apply_clean();

        // Outstanding leases, one of them with a live session through PgBouncer.
        let issued = [
            read_creds(&format!("database/creds/{app}")),
            read_creds(&format!("database/creds/{app}")),
            read_creds(&format!("database/creds/{reader}")),
        ];
        assert_eq!(
            vault_made_logins(&conn).len(),
            3,
            "three logins issued: {:?}",
            vault_made_logins(&conn)
        );
        let live = &issued[0];
        g.pgbouncer_session(&db, &live.username, &live.password, "SELECT pg_sleep(120)");
        assert!(
            wait_until(Duration::from_secs(10), || admin(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = {}",
                    lit(&live.username)
                )
            ) != "0"),
            "the live session never reached the primary"
        );

        g.destroy();

        assert_gone_from_vault(&conn, &[&app, &reader]);
        for r in [&app, &reader] {
            let left = leases_under(&format!("database/creds/{r}"));
            assert!(left.is_empty(), "leases of {r} left in Vault: {left:?}");
        }
        for c in &issued {
            assert!(
                !pg_role_exists(&c.username),
                "login {} left in PostgreSQL",
                c.username
            );
        }
        let left = vault_made_logins(&conn);
        assert!(left.is_empty(), "v-% logins left in PostgreSQL: {left:?}");
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_database WHERE datname = {}",
                    lit(&db)
                )
            ),
            "0"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 6. MySQL
// ---------------------------------------------------------------------------------------

#[test]
fn vault_mysql_dynamic_creds_are_confined_to_their_schema() {
    for tf in each_terraform() {
        let [db, other, conn] = tagged(&tf, ["acc_vmy", "acc_vmyb", "mymy"]);
        let app = format!("{conn}-app");
        let reader = format!("{conn}-ro");
        // The tenant schema from dbaas_shared_mysql_database; another tenant's by SQL.
        mysql_admin(&format!(
            "DROP DATABASE IF EXISTS `{other}`; CREATE DATABASE `{other}`; CREATE TABLE `{other}`.secret (id int); INSERT INTO `{other}`.secret VALUES (42)"
        ));
        let mut g = Stack::default()
            .hcl(&resource(MYDB, "db", &db, "  deletion_protection = false"))
            .connection("my", &conn, "mysql", "")
            .role("app", &app, "my", &name_of(MYDB, "db"), "")
            .role("ro", &reader, "my", &name_of(MYDB, "db"), READONLY)
            .hcl(&role_outputs("app"))
            .guard(|g| g.mysql_dbs = vec![db.clone(), other.clone()])
            .case(&tf);
        g.apply_clean();

        let cfg = vault_get(&format!("database/config/{conn}")).expect("connection written");
        assert_eq!(cfg["data"]["plugin_name"], "mysql-database-plugin", "{cfg}");
        let url = cfg["data"]["connection_details"]["connection_url"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            url.contains(&format!(
                "tcp({}:{})",
                stack("DBAAS_MYSQL_HOST"),
                stack("DBAAS_MYSQL_PORT")
            )),
            "connection_url defaults from the provider's mysql block: {url}"
        );
        // Issue 22 (item 3): a new MySQL connection's Vault admin is a dedicated account,
        // no longer the provider's admin.
        let vault_admin = cfg["data"]["connection_details"]["username"]
            .as_str()
            .unwrap_or_default();
        assert!(
            vault_admin.starts_with("dbaas_vault_") && vault_admin != stack("DBAAS_MYSQL_USER"),
            "{cfg}"
        );
        let out = g.w.outputs();
        assert_eq!(
            out["app_creds_path"],
            format!("database/creds/{app}").as_str()
        );

        // Owner: everything in its schema, nothing in another one.
        let o = read_creds(&format!("database/creds/{app}"));
        g.mysql_users.push(o.username.clone());
        mysql(
            &o.username,
            &o.password,
            Some(&db),
            "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2)",
        )
        .unwrap_or_else(|e| panic!("owner creds create a table in {db}: {e}"));
        let err = mysql(&o.username, &o.password, Some(&other), "SELECT 1")
            .expect_err("owner creds must not open another schema");
        assert!(err.contains("Access denied"), "{err}");
        let err = mysql(
            &o.username,
            &o.password,
            None,
            &format!("SELECT * FROM `{other}`.secret"),
        )
        .expect_err("owner creds must not read another schema");
        assert!(err.contains("denied"), "{err}");

        // Readonly: SELECT only.
        let r = read_creds(&format!("database/creds/{reader}"));
        g.mysql_users.push(r.username.clone());
        assert_eq!(
            mysql(
                &r.username,
                &r.password,
                Some(&db),
                "SELECT count(*) FROM items"
            )
            .unwrap_or_else(|e| panic!("readonly creds read {db}.items: {e}")),
            "2"
        );
        for write in [
            "INSERT INTO items VALUES (3)",
            "DELETE FROM items",
            "CREATE TABLE mine (id int)",
        ] {
            let err = mysql(&r.username, &r.password, Some(&db), write)
                .err()
                .unwrap_or_else(|| panic!("readonly creds must not write: {write}"));
            assert!(err.contains("denied"), "{write}: {err}");
        }
        mysql(
            &r.username,
            &r.password,
            None,
            &format!("SELECT * FROM `{other}`.secret"),
        )
        .expect_err("readonly creds must not read another schema");

        // Revocation drops the user.
        assert!(mysql_user_exists(&o.username));
        assert_revoking_removes_the_login(&o, "MySQL user", mysql_user_exists);
        mysql(&o.username, &o.password, Some(&db), "SELECT 1")
            .expect_err("a revoked user must not connect");
        assert_eq!(
            mysql_admin(&format!("SELECT count(*) FROM `{db}`.items")),
            "2"
        );
        assert_plan_empty(&g.w, "revoking a lease");

        let d = g.destroy();
        assert_eq!(
            mysql_admin(&format!(
                "SELECT count(*) FROM information_schema.schemata WHERE schema_name = {}",
                my_lit(&db)
            )),
            "0",
            "destroy drops the tenant schema"
        );
        assert!(
            !mysql_user_exists(&r.username),
            "destroy revokes the readonly user's lease; user {} remains after:\n{}",
            r.username,
            d.all()
        );
        assert_gone_from_vault(&conn, &[&app, &reader]);
    }
}

// ---------------------------------------------------------------------------------------
// 6b. Redis
// ---------------------------------------------------------------------------------------

#[test]
fn vault_redis_dynamic_creds_are_confined_to_the_namespace() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [ns, conn] = tagged(&tf, ["acc_vrd", "rdrd"]);
        let app = format!("{conn}-app");
        let reader = format!("{conn}-ro");
        let foreign_key = format!("acc_vrdx_{v}:k");
        let mut g = redis_app_stack(&ns, "  delete_keys_on_destroy = true", &conn, &app)
            .role("ro", &reader, "rd", &name_of(RNS, "ns"), READONLY)
            .guard(|g| g.redis_keys.push(foreign_key.clone()))
            .case(&tf);
        g.apply_clean();
        let cfg = vault_get(&format!("database/config/{conn}")).expect("connection written");
        assert_eq!(cfg["data"]["plugin_name"], "redis-database-plugin", "{cfg}");
        redis_admin(&["SET", &foreign_key, "theirs"]);

        let a = read_creds(&format!("database/creds/{app}"));
        g.redis_users.push(a.username.clone());
        let key = format!("{ns}:greeting");
        assert_eq!(
            redis(&a.username, &a.password, &["SET", &key, "hello"])
                .unwrap_or_else(|e| panic!("app creds write under the namespace prefix: {e}")),
            "OK"
        );
        let err = redis(&a.username, &a.password, &["GET", &foreign_key])
            .expect_err("app creds must not read another namespace's keys");
        assert!(err.contains("NOPERM"), "{err}");
        redis(
            &a.username,
            &a.password,
            &["SET", "acc_vrd_unprefixed", "x"],
        )
        .expect_err("app creds must not write outside the prefix");

        let r = read_creds(&format!("database/creds/{reader}"));
        g.redis_users.push(r.username.clone());
        assert_eq!(
            redis(&r.username, &r.password, &["GET", &key])
                .unwrap_or_else(|e| panic!("readonly creds read the namespace: {e}")),
            "hello"
        );
        let err = redis(&r.username, &r.password, &["SET", &key, "changed"])
            .expect_err("readonly creds must not write");
        assert!(err.contains("NOPERM"), "{err}");
        redis(&r.username, &r.password, &["GET", &foreign_key])
            .expect_err("readonly creds must not read another namespace's keys");

        // Revocation removes the ACL user; the data stays.
        assert_revoking_removes_the_login(&a, "Redis user", redis_user_exists);
        assert_eq!(redis_admin(&["GET", &key]), "hello");
        assert_plan_empty(&g.w, "revoking a lease");

        g.destroy();
        assert!(
            !redis_user_exists(&r.username),
            "destroy revokes the readonly user's lease"
        );
        assert_gone_from_vault(&conn, &[&app, &reader]);
    }
}

#[test]
fn vault_redis_creds_follow_a_custom_key_prefix() {
    for tf in each_terraform() {
        let [ns, conn] = tagged(&tf, ["acc_vrp", "rdrp"]);
        let prefix = format!("tenant-{}/", version_tag(&tf));
        let app = format!("{conn}-app");
        let mut g = redis_app_stack(
            &ns,
            &format!("  key_prefix = {}", hcl_str(&prefix)),
            &conn,
            &app,
        )
        .guard(|g| g.redis_keys.push(format!("{prefix}*")))
        .case(&tf);
        g.w.apply().ok();
        let a = read_creds(&format!("database/creds/{app}"));
        g.redis_users.push(a.username.clone());
        redis(
            &a.username,
            &a.password,
            &["SET", &format!("{prefix}k"), "v"],
        )
        .unwrap_or_else(|e| {
            panic!("creds for namespace {ns} must write under its key_prefix {prefix:?}: {e}")
        });
        redis(&a.username, &a.password, &["SET", &format!("{ns}:k"), "v"])
            .expect_err("creds must not write outside the namespace's key_prefix");
        g.destroy();
    }
}

/// Issue 10, items 2 and 7 (Redis): logins Vault issues for a namespace carry the same
/// guard rules as the namespace (no SCAN, RANDOMKEY, FUNCTION FLUSH, SCRIPT FLUSH, PUBSUB
/// CHANNELS, DBSIZE since issue 19); the role's generated rules are planned, so an out-of-band edit
/// in Vault shows in the plan and is reverted; a role for a namespace that cannot be read
/// fails with an error naming it instead of falling back to `~<database>:*`.
#[test]
fn vault_redis_logins_carry_the_guard_rules_and_edited_rules_are_reverted() {
    for tf in each_terraform() {
        let [ns, ghost, conn] = tagged(&tf, ["acc_rsafe_vg", "acc_rsafe_vghost", "rdsg"]);
        let app = format!("{conn}-app");
        let lost = format!("{conn}-lost");
        let stack =
            redis_app_stack(&ns, "", &conn, &app).guard(|g| g.vault_roles.push(lost.clone()));
        let base = stack.body().to_string();
        let mut g = stack.case(&tf);
        g.apply_clean();

        let a = read_creds(&format!("database/creds/{app}"));
        g.redis_users.push(a.username.clone());
        let login = |args: &[&str]| redis(&a.username, &a.password, args);
        assert_eq!(
            login(&["SET", &format!("{ns}:k"), "v"]).unwrap_or_else(|e| panic!("{e}")),
            "OK"
        );
        for cmd in [
            &["SCAN", "0", "COUNT", "1000"][..],
            &["RANDOMKEY"],
            &["FUNCTION", "FLUSH"],
            &["FUNCTION", "DELETE", "acc_rsafe_lib"],
            &["SCRIPT", "FLUSH"],
            &["PUBSUB", "CHANNELS"],
            &["PUBSUB", "SHARDCHANNELS"],
        ] {
            let out = login(cmd);
            assert!(
                matches!(&out, Err(e) if e.contains("NOPERM"))
                    || matches!(&out, Ok(o) if o.contains("NOPERM")),
                "{cmd:?} must be refused to a Vault-issued login, got {out:?}"
            );
        }
        let dbsize = login(&["DBSIZE"]);
        assert!(
            matches!(&dbsize, Err(e) if e.contains("NOPERM"))
                || matches!(&dbsize, Ok(o) if o.contains("NOPERM")),
            "DBSIZE is refused to a Vault-issued login, got {dbsize:?}"
        );

        // Rules edited in Vault behind Terraform's back: planned back and reverted.
        vault_post(
            &format!("database/roles/{app}"),
            &serde_json::json!({
                "db_name": conn,
                "creation_statements": ["[\"~*\",\"+@all\"]"],
                "default_ttl": 86400,
                "max_ttl": 86400,
            }),
        );
        apply_planned(&g.w, &["creation_statements"], "reverting the edited rules");
        let body = vault_get(&format!("database/roles/{app}")).expect("role");
        let rules = body["data"]["creation_statements"].to_string();
        assert!(
            rules.contains(&format!("~{ns}:*"))
                && rules.contains("-scan")
                && !rules.contains("~*\\\""),
            "{rules}"
        );

        // A namespace that cannot be read: an error naming it, and no role written.
        g.w.write(&config(&format!(
            "{base}{}",
            role("lost", &lost, "rd", &format!("\"{ghost}\""), "")
        )));
        let r = g.w.apply().failed();
        assert!(flat(&r.all()).contains(&ghost), "{}", r.all());
        assert!(
            vault_get(&format!("database/roles/{lost}")).is_none(),
            "no role may be written for an unreadable namespace"
        );
        g.w.write(&config(&base));
        g.destroy();
    }
}

// ---------------------------------------------------------------------------------------
// examples/tenant-stack
// ---------------------------------------------------------------------------------------

/// `examples/tenant-stack/main.tf` exactly as shipped, with the dev stack's provider block
/// in place of its `provider.tf`, against a shared connection made by a "platform" stack.
#[test]
fn vault_tenant_stack_example_applies_against_the_dev_stack() {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/tenant-stack/main.tf"
    ))
    .expect("examples/tenant-stack/main.tf");
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [app, conn] = tagged(&tf, ["acc_vts", "pgts"]);
        let role_name = format!("{conn}-{app}-role");

        // The platform's shared connection, made once and reused by tenant stacks.
        let mut platform = Case::new(&tf, &config(&connection("pg", &conn, "postgres", "")));
        platform.vault_connections = vec![conn.clone()];
        platform.w.apply().ok();

        // The tenant stack: declared after the platform, so it is dropped (destroyed) first.
        let mut g = Case::new(&tf, "");
        g.tenants = vec![app.clone()];
        g.vault_roles = vec![role_name.clone()];
        let dir = g.w.path().to_path_buf();
        std::fs::write(dir.join("main.tf"), &example).unwrap();
        std::fs::write(dir.join("provider.tf"), provider_block()).unwrap();
        std::fs::write(
            dir.join("terraform.tfvars"),
            format!("app              = \"{app}\"\nvault_connection = \"{conn}\"\n"),
        )
        .unwrap();
        apply_clean(&g.w, "applying the tenant stack");

        let out = g.w.outputs();
        assert_eq!(
            out["postgres"]["host"],
            stack("DBAAS_PGBOUNCER_HOST").as_str()
        );
        assert_eq!(
            out["postgres"]["port"].as_i64(),
            pgb_port().parse::<i64>().ok()
        );
        assert_eq!(out["postgres"]["database"], app.as_str());
        let creds_path = format!("database/creds/{role_name}");
        assert_eq!(out["vault_creds_path"], creds_path.as_str());
        let policy = out["vault_policy"].as_str().unwrap_or_default();
        assert!(
            policy.contains(&format!("path \"{creds_path}\"")) && policy.contains("\"read\""),
            "{policy}"
        );
        // The policy is valid Vault policy HCL: Vault accepts it as written.
        let policy_name = format!("acc-vts-{v}");
        vault_put(
            &format!("sys/policies/acl/{policy_name}"),
            &serde_json::json!({ "policy": policy }),
        );
        vault_delete(&format!("sys/policies/acl/{policy_name}")).unwrap();

        let c = read_creds(&creds_path);
        let port = out["postgres"]["port"].as_i64().unwrap().to_string();
        let who = psql(&app, &c.username, &c.password, &port, "SELECT current_user")
            .unwrap_or_else(|e| panic!("the tenant stack's credentials through PgBouncer: {e}"));
        assert_eq!(who, format!("{app}_owner"));

        // deletion_protection (true in the example) guards destroy; lift it with an
        // override file, leaving main.tf as shipped.
        let r = g.w.destroy().failed();
        assert!(r.all().contains("deletion_protection"), "{}", r.all());
        std::fs::write(
            dir.join("main_override.tf"),
            format!("resource \"{PGDB}\" \"app\" {{\n  deletion_protection = false\n}}\n"),
        )
        .unwrap();
        g.w.apply().ok();
        g.destroy();
        assert!(!pg_role_exists(&c.username), "destroy revokes the login");
        assert!(vault_get(&format!("database/roles/{role_name}")).is_none());
    }
}

// ---------------------------------------------------------------------------------------
// 7. failure modes
// ---------------------------------------------------------------------------------------

#[test]
fn vault_failures_name_the_address_the_permission_and_the_missing_connection() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [conn, missing] = tagged(&tf, ["pgfx", "pgfx_missing"]);
        let orphan = format!("{missing}-app");
        let vault_lines = format!(
            "    address = \"{}\"\n    token   = \"{}\"\n",
            stack("VAULT_ADDR"),
            stack("VAULT_TOKEN")
        );
        let provider = provider_block();
        assert!(provider.contains(&vault_lines), "{provider}");
        let with_vault = |address: &str, token: &str| {
            provider.replace(
                &vault_lines,
                &format!("    address = \"{address}\"\n    token   = \"{token}\"\n"),
            )
        };
        let mut g = Case::new(&tf, "");
        g.track(&[], &[&conn, &missing], &[&orphan]);
        let pg_conn = |extra: &str| connection("pg", &conn, "postgres", extra);
        let config_path = format!("database/config/{conn}");

        // Each failure: its configuration, what the error must say and must never say,
        // and the Vault path nothing may have been written to.
        for (hcl, says, never, not_written) in [
            // Vault unreachable: the error names the address and the `vault` block.
            (
                format!("{}\n{}", with_vault("http://127.0.0.1:1", "root"), pg_conn("")),
                vec![
                    "http://127.0.0.1:1 ".to_string(),
                    "provider block `vault`".into(),
                    "unreachable".into(),
                ],
                vec!["panic"],
                &config_path,
            ),
            // A token Vault refuses: permission denied (403), and the token is never shown.
            (
                format!(
                    "{}\n{}",
                    with_vault(&stack("VAULT_ADDR"), "acc-not-a-token"),
                    pg_conn("")
                ),
                vec![
                    "permission denied (403)".into(),
                    "provider block `vault`".into(),
                ],
                vec!["acc-not-a-token"],
                &config_path,
            ),
            // Engine not mounted at the given mount: names the path, says what is wrong.
            (
                config(&pg_conn("  mount  = \"acc-not-mounted\"\n")),
                vec![
                    format!("acc-not-mounted/config/{conn}"),
                    "is the secrets engine mounted".into(),
                ],
                vec![],
                &config_path,
            ),
            // A role on a connection that does not exist: the diagnostic points at
            // `connection` and says to create it first.
            (
                config(&format!(
                    "resource \"{ROLE}\" \"orphan\" {{\n  name       = \"{orphan}\"\n  connection = \"{missing}\"\n  database   = \"acc_vfx_{v}\"\n}}\n"
                )),
                vec![
                    "Create it first".into(),
                    format!("database/config/{missing} does not exist"),
                    format!("connection = \"{missing}\""),
                ],
                vec![],
                &format!("database/roles/{orphan}"),
            ),
        ] {
            g.w.write(&hcl);
            let all = flat(&g.w.apply().failed().all());
            for s in &says {
                assert!(all.contains(s.as_str()), "expected {s:?} in: {all}");
            }
            for s in never {
                assert!(!all.contains(s), "{s:?} must not appear in errors: {all}");
            }
            assert!(
                vault_get(not_written).is_none(),
                "a failed apply wrote {not_written}"
            );
        }
        assert_eq!(
            g.w.show_json()["values"]["root_module"]["resources"]
                .as_array()
                .map_or(0, Vec::len),
            0,
            "failed creates leave nothing in state"
        );
    }
}
