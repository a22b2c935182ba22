//! Issue 22, item 1: noisy-neighbour guardrails, from the side of the configuration
//! author (plan, apply, import on real Terraform) and of a tenant login running real SQL.
//!
//! - `dbaas_shared_postgres_database.settings`: `ALTER DATABASE ... SET` of allowlisted
//!   settings, seen by a tenant login's session, read back for drift (an out-of-band
//!   change, the tenant's own `ALTER DATABASE`), reset on removal, imported; a name outside
//!   the allowlist refused at plan with the list; a tenant's own database defaults never
//!   reach the provider's admin sessions in its database.
//! - `dbaas_vault_rotation_role.connection_limit`: every login Vault issues carries the
//!   limit (PostgreSQL `CONNECTION LIMIT`, MySQL `MAX_USER_CONNECTIONS`), which the login
//!   hits; changed in place, imported; refused where it cannot apply.

use std::process::{Child, Stdio};
use std::time::Duration;

use crate::fixture::{
    apply_clean, apply_in_place, assert_refused_at_plan, config, connection, create_login,
    each_terraform, flat, ident, issue_creds, lit, my_lit, mysql_admin, mysql_as, name_of,
    one_resource, pg_admin as admin, pg_database, pgb_port, plan_diff, points_at, resource, role,
    tagged, wait_until, Cleanup, MysqlSession, Stack, MYDB, PGDB, RNS, ROLE,
};
use crate::harness::{psql, psql_command, run_psql, stack, vault_get, version_tag, Workdir};

/// The database-level settings of `db` (`pg_db_role_setting`, no role), sorted.
fn db_settings(db: &str) -> Vec<String> {
    let out = admin(
        "postgres",
        &format!(
            "SELECT s FROM pg_db_role_setting r JOIN pg_database d ON d.oid = r.setdatabase, \
             unnest(r.setconfig) s WHERE r.setrole = 0 AND d.datname = {} ORDER BY 1",
            lit(db)
        ),
    );
    out.lines().map(str::to_string).collect()
}

/// `settings = { ... }` as an attribute line from `(name, value)` pairs.
fn settings_line(pairs: &[(&str, &str)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k} = \"{v}\""))
        .collect();
    format!("  settings = {{ {} }}\n", body.join(", "))
}

/// The database `x` of `name`, unprotected, with `extra` lines.
fn database(name: &str, extra: &str) -> String {
    resource(
        PGDB,
        "x",
        name,
        &format!("  deletion_protection = false\n{extra}"),
    )
}

#[test]
fn guardrails_postgres_settings_apply_read_back_reset_and_import() {
    for tf in each_terraform() {
        let [db] = tagged(&tf, ["acc_gset"]);
        let mut guard = Cleanup::tenants(&[&db]);
        let login = format!("{db}_app");
        let first = settings_line(&[
            ("statement_timeout", "30s"),
            ("work_mem", "8MB"),
            ("temp_file_limit", "1GB"),
        ]);
        let w = Workdir::new(&tf, &config(&database(&db, &first)));
        apply_clean(&w, "creating with settings");
        assert_eq!(
            db_settings(&db),
            [
                "statement_timeout=30s",
                "temp_file_limit=1GB",
                "work_mem=8MB"
            ]
        );

        // A tenant login's session through PgBouncer runs under them.
        create_login(
            &mut guard,
            &login,
            "Guard-rails-1",
            Some(&format!("{db}_readwrite")),
        );
        let shown = psql(
            &db,
            &login,
            "Guard-rails-1",
            &pgb_port(),
            "SELECT current_setting('statement_timeout') || ' ' || current_setting('work_mem')",
        )
        .unwrap_or_else(|e| panic!("tenant login through PgBouncer: {e}"));
        assert_eq!(shown, "30s 8MB");

        // Drift: a configured value changed and an allowlisted one added out of band; a
        // setting outside the allowlist (the provider's own search_path) is not managed.
        let d = ident(&db);
        admin(
            "postgres",
            &format!("ALTER DATABASE {d} SET work_mem = '64MB'; ALTER DATABASE {d} SET lock_timeout = '5s'; ALTER DATABASE {d} SET application_name = 'kept'"),
        );
        apply_in_place(
            &w,
            &["settings", "work_mem", "lock_timeout"],
            "repairing drift",
        );
        assert_eq!(
            db_settings(&db),
            [
                "application_name=kept",
                "statement_timeout=30s",
                "temp_file_limit=1GB",
                "work_mem=8MB"
            ]
        );

        // Update: one changed, one removed (reset), one added.
        let second = settings_line(&[
            ("statement_timeout", "1min"),
            ("temp_file_limit", "1GB"),
            ("idle_in_transaction_session_timeout", "10s"),
        ]);
        w.write(&config(&database(&db, &second)));
        apply_in_place(&w, &["settings", "work_mem"], "changing the settings");
        assert_eq!(
            db_settings(&db),
            [
                "application_name=kept",
                "idle_in_transaction_session_timeout=10s",
                "statement_timeout=1min",
                "temp_file_limit=1GB"
            ]
        );

        // Import plans nothing.
        let addr = format!("{PGDB}.x");
        w.state_rm(&[&addr]).ok();
        w.import(&addr, &db).ok();
        let diff = plan_diff(&w).unwrap_or_default();
        assert!(
            !diff.contains("settings"),
            "an import reads the settings back: {diff}"
        );
        // (An import records deletion_protection's default; the configuration's `false`
        // is applied.)
        apply_clean(&w, "importing the database");

        // The attribute removed: every managed setting reset, others kept.
        w.write(&config(&database(&db, "")));
        apply_in_place(&w, &["settings"], "removing the settings");
        assert_eq!(db_settings(&db), ["application_name=kept"]);
        w.destroy().ok();
    }
}

#[test]
fn guardrails_postgres_settings_outside_the_allowlist_are_refused_at_plan() {
    for tf in each_terraform() {
        let [db] = tagged(&tf, ["acc_gsetbad"]);
        let _guard = Cleanup::tenants(&[&db]);
        for (situation, line) in [
            ("search_path", settings_line(&[("search_path", "evil")])),
            ("upper case", settings_line(&[("STATEMENT_TIMEOUT", "1s")])),
            ("role", settings_line(&[("role", "postgres")])),
        ] {
            let w = one_resource(
                &tf,
                PGDB,
                &db,
                &format!("  deletion_protection = false\n{line}"),
            );
            let all = assert_refused_at_plan(
                &w,
                "settings",
                "is not a setting this provider manages",
                situation,
            );
            assert!(
                all.contains("statement_timeout") && all.contains("temp_file_limit"),
                "{situation}: the refusal lists the allowlist:\n{all}"
            );
        }
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_database WHERE datname = {}",
                    lit(&db)
                )
            ),
            "0",
            "nothing created"
        );

        // A value only the server can judge: refused at apply, at the setting, and the
        // half-made database removed.
        let w = one_resource(
            &tf,
            PGDB,
            &db,
            &format!(
                "  deletion_protection = false\n{}",
                settings_line(&[("work_mem", "lots")])
            ),
        );
        let all = w.apply().failed().all();
        assert!(
            flat(&all).contains("invalid value for parameter \"work_mem\""),
            "{all}"
        );
        assert!(
            points_at(&all, "settings"),
            "must point at settings:\n{all}"
        );
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_database WHERE datname = {}",
                    lit(&db)
                )
            ),
            "0",
            "the failed create removed its database"
        );
    }
}

/// The tenant (its owner login) sets its own database's defaults: a statement timeout
/// short enough to cancel anything the provider's admin runs inside it. The admin's work
/// there (installing an extension) must still go through; the tenant cannot lift a
/// superuser-only limit (`temp_file_limit`); its `ALTER DATABASE` of a managed setting
/// shows as drift and is reverted.
#[test]
fn guardrails_hostile_tenant_database_defaults_never_bind_the_admin() {
    for tf in each_terraform() {
        let [db] = tagged(&tf, ["acc_gsethost"]);
        let mut guard = Cleanup::tenants(&[&db]);
        let owner_login = format!("{db}_boss");
        let w = Workdir::new(&tf, &config(&database(&db, "")));
        apply_clean(&w, "creating");
        create_login(
            &mut guard,
            &owner_login,
            "Hostile-1",
            Some(&format!("{db}_owner")),
        );
        // The tenant's and this check's own sessions start without the 1ms limits set below
        // (start-up options win over the database's defaults, as for the provider's admin):
        // under load even a `SET` can take longer than 1ms and be cancelled.
        let tenant = |sql: &str| unbound_psql(&db, &owner_login, "Hostile-1", sql);
        let (d, owner) = (ident(&db), ident(&format!("{db}_owner")));

        // The tenant's defaults for its own database: short enough to cancel anything.
        tenant(&format!("SET ROLE {owner}; ALTER DATABASE {d} SET statement_timeout = '1ms'; ALTER DATABASE {d} SET lock_timeout = '1ms'; ALTER DATABASE {d} SET idle_in_transaction_session_timeout = '1ms'"))
            .unwrap_or_else(|e| panic!("the owner may set its database's defaults: {e}"));

        // The admin installs extensions in the tenant's database all the same.
        let ext = "  extensions = [\"pgcrypto\", \"citext\", \"hstore\"]\n";
        w.write(&config(&database(&db, ext)));
        apply_in_place(
            &w,
            &["extensions"],
            "adding extensions under the tenant's defaults",
        );
        let found = unbound_psql(
            &db,
            &stack("PGUSER"),
            &stack("PGPASSWORD"),
            "SELECT count(*) FROM pg_extension WHERE extname IN ('pgcrypto', 'citext', 'hstore')",
        )
        .unwrap_or_else(|e| panic!("counting the extensions: {e}"));
        assert_eq!(found.lines().last(), Some("3"), "{found}");

        // Managed settings: the tenant's change of one shows as drift and is reverted;
        // a superuser-only limit cannot be lifted by the tenant at all.
        let settings = settings_line(&[("statement_timeout", "30s"), ("temp_file_limit", "1GB")]);
        w.write(&config(&database(&db, &format!("{ext}{settings}"))));
        apply_in_place(&w, &["settings"], "managing settings");
        tenant(&format!(
            "SET ROLE {owner}; ALTER DATABASE {d} SET statement_timeout = '0'"
        ))
        .unwrap_or_else(|e| panic!("the owner may set its database's defaults: {e}"));
        let err = tenant(&format!(
            "SET ROLE {owner}; ALTER DATABASE {d} SET temp_file_limit = -1"
        ))
        .expect_err("a tenant must not lift temp_file_limit on its database");
        assert!(err.contains("permission denied"), "{err}");
        let err = tenant("SET temp_file_limit = -1")
            .expect_err("a tenant must not lift temp_file_limit in its session");
        assert!(err.contains("permission denied"), "{err}");
        apply_in_place(&w, &["statement_timeout"], "reverting the tenant's change");
        assert!(
            db_settings(&db).contains(&"statement_timeout=30s".to_string()),
            "{:?}",
            db_settings(&db)
        );
        w.destroy().ok();
    }
}

/// `sql` in `db` as `user`, in a session started with no statement or lock time limit
/// (`PGOPTIONS`), whatever the database's defaults say.
fn unbound_psql(db: &str, user: &str, password: &str, sql: &str) -> Result<String, String> {
    run_psql(
        psql_command(&stack("PGHOST"), &stack("PGPORT"), db, user, password)
            .env("PGOPTIONS", "-c statement_timeout=0 -c lock_timeout=0"),
        sql,
    )
}

// ---------------------------------------------------------------------------------------
// connection_limit on dbaas_vault_rotation_role
// ---------------------------------------------------------------------------------------

/// A `psql` session of `user` held open on the primary for a few seconds.
fn hold_session(db: &str, user: &str, password: &str) -> Child {
    psql_command(&stack("PGHOST"), &stack("PGPORT"), db, user, password)
        .arg("-c")
        .arg("SELECT pg_sleep(20)")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn psql")
}

fn sessions_of(user: &str) -> String {
    admin(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = {}",
            lit(user)
        ),
    )
}

#[test]
fn guardrails_vault_postgres_logins_carry_the_connection_limit() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_glim", "pglim"]);
        let app = format!("{conn}-app");
        let mut g = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "")
            .role(
                "app",
                &app,
                "pg",
                &name_of(PGDB, "db"),
                "  connection_limit = 1\n",
            )
            .case(&tf);
        g.apply_clean();
        let vrole = vault_get(&format!("database/roles/{app}")).expect("role written");
        let creation = vrole["data"]["creation_statements"].to_string();
        // The provider admin's CREATE ROLE, or (a dedicated Vault admin, the default for
        // new connections) the limit as create_login's last argument.
        assert!(
            creation.contains("CONNECTION LIMIT 1") || creation.contains("', 1);"),
            "{creation}"
        );

        // The issued login holds one session; a second one is refused.
        let c = issue_creds(&app);
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT rolconnlimit FROM pg_roles WHERE rolname = {}",
                    lit(&c.username)
                )
            ),
            "1"
        );
        let mut held = hold_session(&db, &c.username, &c.password);
        assert!(
            wait_until(Duration::from_secs(10), || sessions_of(&c.username) == "1"),
            "the first session of the login did not start"
        );
        let err = psql(&db, &c.username, &c.password, &stack("PGPORT"), "SELECT 1")
            .expect_err("a second session must exceed CONNECTION LIMIT 1");
        assert!(err.contains("too many connections for role"), "{err}");
        let _ = held.kill();
        let _ = held.wait();
        // The login cannot lift its own limit (nor can the owner role it acts as). (The
        // held backend sleeps on after its client is gone: ended here.)
        admin(
            "postgres",
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = {}",
                lit(&c.username)
            ),
        );
        assert!(
            wait_until(Duration::from_secs(10), || sessions_of(&c.username) == "0"),
            "the held session did not end"
        );
        let err = psql(
            &db,
            &c.username,
            &c.password,
            &stack("PGPORT"),
            &format!("ALTER ROLE {} CONNECTION LIMIT -1", ident(&c.username)),
        )
        .expect_err("a login must not lift its own CONNECTION LIMIT");
        assert!(err.contains("permission denied"), "{err}");

        // Changed in place; a new login carries the new limit.
        // (Plain HCL: a second Stack's guard would drop everything when it goes.)
        g.w.write(&config(&format!(
            "{}{}{}",
            pg_database("db", &db),
            connection("pg", &conn, "postgres", ""),
            role(
                "app",
                &app,
                "pg",
                &name_of(PGDB, "db"),
                "  connection_limit = 3\n"
            ),
        )));
        apply_in_place(
            &g.w,
            &["creation_statements", "connection_limit"],
            "raising the limit",
        );
        let c = issue_creds(&app);
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT rolconnlimit FROM pg_roles WHERE rolname = {}",
                    lit(&c.username)
                )
            ),
            "3"
        );

        // Import plans nothing.
        let addr = format!("{ROLE}.app");
        g.w.state_rm(&[&addr]).ok();
        g.w.import(&addr, &format!("database/{app}")).ok();
        if let Some(d) = plan_diff(&g.w) {
            panic!("import must plan nothing on {}:\n{d}", tf.version);
        }
        g.destroy();
    }
}

#[test]
fn guardrails_vault_mysql_logins_carry_max_user_connections() {
    for tf in each_terraform() {
        let [db, conn] = tagged(&tf, ["acc_gmylim", "mylim"]);
        let app = format!("{conn}-app");
        let mut g = Stack::default()
            .hcl(&resource(MYDB, "db", &db, "  deletion_protection = false"))
            .connection("my", &conn, "mysql", "")
            .role(
                "app",
                &app,
                "my",
                &name_of(MYDB, "db"),
                "  connection_limit = 1\n",
            )
            .guard(|g| g.mysql_dbs = vec![db.clone()])
            .case(&tf);
        g.apply_clean();
        let vrole = vault_get(&format!("database/roles/{app}")).expect("role written");
        let creation = vrole["data"]["creation_statements"].to_string();
        // Issue 22 (item 3): through a dedicated Vault admin the limit is the last
        // argument of `dbaas_vault.create_login`.
        assert!(
            creation.contains("MAX_USER_CONNECTIONS 1") || creation.contains("'owner', 1);"),
            "{creation}"
        );

        let c = issue_creds(&app);
        g.mysql_users.push(c.username.clone());
        assert_eq!(
            mysql_admin(&format!(
                "SELECT max_user_connections FROM mysql.user WHERE user = {}",
                my_lit(&c.username)
            )),
            "1"
        );
        let _held = MysqlSession::open(&c.username, &c.password, &db);
        let err = mysql_as(&c.username, &c.password, Some(&db), "SELECT 1")
            .expect_err("a second session must exceed MAX_USER_CONNECTIONS 1");
        assert!(err.contains("max_user_connections"), "{err}");
        drop(_held);
        // The login cannot lift its own limit.
        let lift = format!(
            "ALTER USER {}@'%' WITH MAX_USER_CONNECTIONS 0",
            my_lit(&c.username)
        );
        let mut lifted = Err(String::new());
        assert!(
            wait_until(Duration::from_secs(10), || {
                lifted = mysql_as(&c.username, &c.password, Some(&db), &lift);
                !lifted
                    .as_ref()
                    .is_err_and(|e| e.contains("max_user_connections"))
            }),
            "the held session did not end"
        );
        let err = lifted.expect_err("a login must not lift its own MAX_USER_CONNECTIONS");
        assert!(err.contains("denied") || err.contains("privilege"), "{err}");

        let addr = format!("{ROLE}.app");
        g.w.state_rm(&[&addr]).ok();
        g.w.import(&addr, &format!("database/{app}")).ok();
        if let Some(d) = plan_diff(&g.w) {
            panic!("import must plan nothing on {}:\n{d}", tf.version);
        }
        g.destroy();
    }
}

#[test]
fn guardrails_connection_limit_is_refused_where_it_cannot_apply() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let [db, conn, ns, rconn] =
            tagged(&tf, ["acc_glimbad", "pglimbad", "acc_glimns", "rdlimbad"]);
        // A static login keeps its own limit; custom statements carry their own.
        for (situation, extra) in [
            (
                "static role",
                format!("  mode = \"static\"\n  username = \"acc_glimbad_{v}_login\"\n  connection_limit = 2\n"),
            ),
            (
                "custom creation statements",
                "  creation_statements = [\"CREATE ROLE \\\"{{name}}\\\" LOGIN\"]\n  connection_limit = 2\n".to_string(),
            ),
        ] {
            let g = Stack::default()
                .database("db", &db)
                .connection("pg", &conn, "postgres", "")
                .role("app", &format!("{conn}-app"), "pg", &name_of(PGDB, "db"), &extra)
                .case(&tf);
            assert_refused_at_plan(&g.w, "connection_limit", "connection_limit", situation);
        }
        // Redis has no per-user connection limit: refused before anything is written.
        let mut g = Stack::default()
            .hcl(&resource(RNS, "ns", &ns, ""))
            .connection("rd", &rconn, "redis", "")
            .role(
                "app",
                &format!("{rconn}-app"),
                "rd",
                &name_of(RNS, "ns"),
                "  connection_limit = 2\n",
            )
            .guard(|g| g.redis_users.push(ns.clone()))
            .case(&tf);
        let all = g.w.apply().failed().all();
        assert!(
            all.contains("Redis has no per-user connection limit"),
            "redis: {all}"
        );
        assert!(
            vault_get(&format!("database/roles/{rconn}-app")).is_none(),
            "nothing written to Vault"
        );
        g.destroy();
    }
}
