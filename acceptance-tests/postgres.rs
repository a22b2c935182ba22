//! `dbaas_shared_postgres_database` on real Terraform, PostgreSQL 15 and three PgBouncers:
//! what a create builds (owner, group roles, isolation, default privileges, PgBouncer
//! auth, extensions) checked through SQL and through PgBouncer as tenant logins; in-place
//! update; drift; import; deletion protection and destroy under a live pooled client;
//! bad names; a name taken outside the state; 50 databases at `-parallelism=20`; and
//! `plan -refresh=false` with PostgreSQL out of reach.
//!
//! Every case runs on each Terraform from `terraforms()`, with database names unique per
//! case and per Terraform version (cases run in parallel), destroys what it made, and
//! leaves a [`Cleanup`] guard that drops the same objects with SQL if a step panics.

use std::time::{Duration, Instant};

use crate::fixture::{
    apply_planned, assert_plan_empty, assert_plan_shows, config, create_login, each_terraform,
    ident, lit, one_resource, pg_admin as admin, pgb_port, plan_without_refresh, resource,
    tenant_group_roles, wait_until, Cleanup, PGDB,
};
use crate::harness::{
    pgbouncer_admin, pgbouncer_ports, provider_block, psql, stack, version_tag, Terraform, Workdir,
};

/// The resource type under test.
pub(crate) const TYPE: &str = PGDB;

/// `acc_<case>_<terraform version digits>`.
pub(crate) fn db_name(case: &str, tf: &Terraform) -> String {
    format!("acc_{case}_{}", version_tag(tf))
}

/// A tenant database's name, [`db_name`], with the guard that drops it.
pub(crate) fn tenant(case: &str, tf: &Terraform) -> (String, Cleanup) {
    let name = db_name(case, tf);
    let guard = Cleanup::tenants(&[&name]);
    (name, guard)
}

/// A [`tenant`] database with `extra` attribute lines, applied: its name, its guard and
/// its working directory.
pub(crate) fn applied_tenant(
    case: &str,
    tf: &Terraform,
    extra: &str,
) -> (String, Cleanup, Workdir) {
    let (name, guard) = tenant(case, tf);
    let w = one_resource(tf, TYPE, &name, extra);
    w.apply().ok();
    (name, guard, w)
}

pub(crate) fn pg_port() -> String {
    stack("PGPORT")
}

pub(crate) fn db_exists(name: &str) -> bool {
    admin(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_database WHERE datname = {}",
            lit(name)
        ),
    ) == "1"
}

/// `terraform destroy` that must succeed and leave neither the database `name` nor its
/// three roles.
pub(crate) fn destroy_leaves_nothing(w: &Workdir, name: &str) {
    w.destroy().ok();
    assert!(!db_exists(name));
    assert!(tenant_roles(name).is_empty());
}

/// The [`tenant_group_roles`] of `name` as an SQL list of literals.
fn group_role_list(name: &str) -> String {
    tenant_group_roles(name).map(|r| lit(&r)).join(", ")
}

/// Which of `<name>_owner`, `<name>_readwrite`, `<name>_readonly` exist.
pub(crate) fn tenant_roles(name: &str) -> Vec<String> {
    let out = admin(
        "postgres",
        &format!(
            "SELECT rolname FROM pg_roles WHERE rolname IN ({}) ORDER BY 1",
            group_role_list(name)
        ),
    );
    out.lines().map(str::to_string).collect()
}

pub(crate) fn owner_of(name: &str) -> String {
    admin(
        "postgres",
        &format!(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = {}",
            lit(name)
        ),
    )
}

pub(crate) fn conn_limit(name: &str) -> String {
    admin(
        "postgres",
        &format!(
            "SELECT datconnlimit FROM pg_database WHERE datname = {}",
            lit(name)
        ),
    )
}

pub(crate) fn db_oid(name: &str) -> String {
    admin(
        "postgres",
        &format!("SELECT oid FROM pg_database WHERE datname = {}", lit(name)),
    )
}

pub(crate) fn extensions_in(db: &str) -> Vec<String> {
    admin(
        db,
        "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

// ---------------------------------------------------------------------------------------
// 1. create
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_create_builds_an_isolated_tenant_database() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let a = format!("acc_create_a_{v}");
        let b = format!("acc_create_b_{v}");
        let mut guard = Cleanup::tenants(&[&a, &b]);
        let w = Workdir::new(
            &tf,
            &config(&format!(
                "{}{}output \"host\" {{ value = {TYPE}.a.host }}\noutput \"port\" {{ value = {TYPE}.a.port }}\noutput \"owner\" {{ value = {TYPE}.a.owner }}\n",
                resource(TYPE, "a",
                    &a,
                    "  extensions = [\"pgcrypto\"]\n  deletion_protection = false"
                ),
                resource(TYPE, "b", &b, "  deletion_protection = false"),
            )),
        );
        w.apply().ok();

        // Computed attributes: apps go through PgBouncer.
        let out = w.outputs();
        assert_eq!(out["host"], stack("DBAAS_PGBOUNCER_HOST"), "{out}");
        assert_eq!(
            out["port"].as_i64(),
            pgb_port().parse::<i64>().ok(),
            "{out}"
        );
        assert_eq!(out["owner"], format!("{a}_owner"), "{out}");

        // Owner and group roles, all NOLOGIN.
        assert_eq!(owner_of(&a), format!("{a}_owner"));
        let roles = admin(
            "postgres",
            &format!(
                "SELECT rolname || ':' || rolcanlogin FROM pg_roles WHERE rolname IN ({}) ORDER BY 1",
                group_role_list(&a)
            ),
        );
        assert_eq!(
            roles,
            format!("{a}_owner:false\n{a}_readonly:false\n{a}_readwrite:false"),
            "owner and group roles, NOLOGIN"
        );

        // PUBLIC has neither CONNECT nor TEMP, and may not create in `public`.
        let acl = admin(
            "postgres",
            &format!(
                "SELECT coalesce(datacl::text, 'NULL') FROM pg_database WHERE datname = {}",
                lit(&a)
            ),
        );
        assert_ne!(
            acl, "NULL",
            "a NULL datacl means PUBLIC keeps CONNECT and TEMP"
        );
        for item in acl.trim_matches(|c| c == '{' || c == '}').split(',') {
            if let Some(privs) = item.strip_prefix('=') {
                let privs = privs.split('/').next().unwrap_or_default();
                assert!(
                    !privs.contains('c') && !privs.contains('T'),
                    "PUBLIC still has {privs} on {a}: {acl}"
                );
            }
        }
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT has_database_privilege('public', {0}, 'CONNECT')::text || has_database_privilege('public', {0}, 'TEMP')::text",
                    lit(&a)
                )
            ),
            "falsefalse",
            "PUBLIC privileges on {a}: {acl}"
        );
        assert_eq!(
            admin(
                &a,
                "SELECT has_schema_privilege('public', 'public', 'CREATE')"
            ),
            "f",
            "PUBLIC must not create in schema public"
        );

        // Extension.
        assert_eq!(extensions_in(&a), vec!["pgcrypto".to_string()]);
        assert!(extensions_in(&b).is_empty(), "b manages no extensions");

        // A table the owner creates; tenant logins through PgBouncer.
        admin(
            &a,
            &format!(
                "SET ROLE {}; CREATE TABLE t(id serial PRIMARY KEY, v text); INSERT INTO t(v) VALUES ('one')",
                ident(&format!("{a}_owner"))
            ),
        );
        let (ro, rw, nobody, b_app) = (
            format!("{a}_ro_login"),
            format!("{a}_rw_login"),
            format!("{a}_nobody"),
            format!("{b}_app"),
        );
        create_login(&mut guard, &ro, "ro-pass-1", Some(&format!("{a}_readonly")));
        create_login(
            &mut guard,
            &rw,
            "rw-pass-1",
            Some(&format!("{a}_readwrite")),
        );
        create_login(&mut guard, &nobody, "nobody-pass-1", None);
        create_login(
            &mut guard,
            &b_app,
            "b-pass-1",
            Some(&format!("{b}_readwrite")),
        );
        let bouncer = pgb_port();

        // The owner owns `public` too.
        assert_eq!(
            admin(
                &a,
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'"
            ),
            format!("{a}_owner")
        );
        // Through every PgBouncer replica.
        for port in pgbouncer_ports() {
            assert_eq!(
                psql(&a, &ro, "ro-pass-1", &port, "SELECT v FROM t WHERE id = 1"),
                Ok("one".into()),
                "a _readonly member reads the owner's table through PgBouncer {port}"
            );
        }
        let e = psql(
            &a,
            &ro,
            "ro-pass-1",
            &bouncer,
            "INSERT INTO t VALUES (2, 'two')",
        )
        .expect_err("a _readonly member must not insert");
        assert!(e.contains("permission denied"), "{e}");

        psql(
            &a,
            &rw,
            "rw-pass-1",
            &bouncer,
            "INSERT INTO t(v) VALUES ('two'); UPDATE t SET v = 'uno' WHERE id = 1; DELETE FROM t WHERE id = 2",
        )
        .expect("a _readwrite member writes the owner's table (and uses its sequence) through PgBouncer");
        assert_eq!(
            admin(&a, "SELECT string_agg(v, ',' ORDER BY id) FROM t"),
            "uno"
        );
        let e = psql(&a, &rw, "rw-pass-1", &bouncer, "CREATE TABLE mine(x int)")
            .expect_err("CREATE on schema public is the owner's only");
        assert!(e.contains("permission denied"), "{e}");
        assert_eq!(
            psql(
                &a,
                &rw,
                "rw-pass-1",
                &bouncer,
                "SELECT length(digest('x', 'sha256'))"
            ),
            Ok("32".into()),
            "pgcrypto usable by the tenant"
        );

        // Isolation: a login of another tenant, or of none, cannot connect. Through
        // PgBouncer the refusal comes earlier: get_auth serves only this tenant's logins,
        // so PgBouncer answers "no such user" before PostgreSQL's "permission denied".
        let refused = |e: &str| e.contains("permission denied") || e.contains("no such user");
        for port in [pg_port(), bouncer.clone()] {
            let e = psql(&a, &b_app, "b-pass-1", &port, "SELECT 1")
                .expect_err("tenant b's login must not reach tenant a's database");
            assert!(refused(&e), "port {port}: {e}");
            let e = psql(&b, &rw, "rw-pass-1", &port, "SELECT 1")
                .expect_err("tenant a's login must not reach tenant b's database");
            assert!(refused(&e), "port {port}: {e}");
            let e = psql(&a, &nobody, "nobody-pass-1", &port, "SELECT 1")
                .expect_err("PUBLIC must not connect");
            assert!(refused(&e), "port {port}: {e}");
        }
        assert_eq!(
            psql(
                &b,
                &b_app,
                "b-pass-1",
                &bouncer,
                "SELECT current_database()"
            ),
            Ok(b.clone()),
            "tenant b's own login works through PgBouncer"
        );

        // PgBouncer's auth function, as its auth user, in the tenant database.
        let auth_user = stack("DBAAS_PGBOUNCER_AUTH_USER");
        let got = psql(
            &a,
            &auth_user,
            "pgbouncer-auth-dev",
            &pg_port(),
            &format!(
                "SELECT usename || ':' || left(passwd, 13) FROM pgbouncer.get_auth({})",
                lit(&rw)
            ),
        )
        .expect("pgbouncer.get_auth as the auth user");
        assert_eq!(got, format!("{rw}:SCRAM-SHA-256"));
        let e = psql(
            &a,
            &rw,
            "rw-pass-1",
            &pg_port(),
            &format!("SELECT * FROM pgbouncer.get_auth({})", lit(&rw)),
        )
        .expect_err("only the auth user may call pgbouncer.get_auth");
        assert!(e.contains("permission denied"), "{e}");

        assert_plan_empty(&w, "create");

        w.destroy().ok();
        for db in [&a, &b] {
            assert!(!db_exists(db), "{db} must be gone after destroy");
            assert!(
                tenant_roles(db).is_empty(),
                "roles of {db} left behind: {:?}",
                tenant_roles(db)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. update in place
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_update_in_place_connection_limit_and_extensions() {
    for tf in each_terraform() {
        let (name, _guard, w) = applied_tenant(
            "update",
            &tf,
            "  extensions = [\"pgcrypto\", \"citext\"]\n  deletion_protection = false",
        );
        assert_eq!(conn_limit(&name), "-1");
        assert_eq!(extensions_in(&name), ["citext", "pgcrypto"]);
        let oid = db_oid(&name);

        // Limit changed, pgcrypto removed, hstore added.
        w.write(&config(&resource(TYPE, "x",
            &name,
            "  extensions = [\"citext\", \"hstore\"]\n  connection_limit = 7\n  deletion_protection = false",
        )));
        let r = apply_planned(
            &w,
            &["0 to add, 1 to change, 0 to destroy", "connection_limit"],
            "the update",
        );
        assert!(
            r.stdout.contains("0 added, 1 changed, 0 destroyed"),
            "{}",
            r.stdout
        );
        assert_eq!(conn_limit(&name), "7");
        assert_eq!(extensions_in(&name), ["citext", "hstore"]);
        assert_eq!(db_oid(&name), oid, "same database, not recreated");

        // All extensions removed, limit back to unlimited.
        w.write(&config(&resource(
            TYPE,
            "x",
            &name,
            "  extensions = []\n  deletion_protection = false",
        )));
        apply_planned(
            &w,
            &["0 to add, 1 to change, 0 to destroy"],
            "removing every extension",
        );
        assert_eq!(conn_limit(&name), "-1");
        assert!(
            extensions_in(&name).is_empty(),
            "{:?}",
            extensions_in(&name)
        );
        assert_eq!(db_oid(&name), oid, "same database, not recreated");

        destroy_leaves_nothing(&w, &name);
    }
}

// ---------------------------------------------------------------------------------------
// 3. drift
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_drift_is_detected_and_repaired() {
    for tf in each_terraform() {
        let (name, _guard, w) = applied_tenant(
            "drift",
            &tf,
            "  extensions = [\"pgcrypto\"]\n  deletion_protection = false",
        );
        let owner = format!("{name}_owner");

        // Connection limit changed out of band.
        admin(
            "postgres",
            &format!("ALTER DATABASE {} CONNECTION LIMIT 3", ident(&name)),
        );
        apply_planned(
            &w,
            &["connection_limit", "0 to add, 1 to change, 0 to destroy"],
            "repairing the limit",
        );
        assert_eq!(conn_limit(&name), "-1");

        // Owner changed out of band.
        admin(
            "postgres",
            &format!("ALTER DATABASE {} OWNER TO postgres", ident(&name)),
        );
        apply_planned(
            &w,
            &["owner", "0 to add, 1 to change, 0 to destroy"],
            "repairing the owner",
        );
        assert_eq!(owner_of(&name), owner);

        // Extensions changed out of band: a managed one dropped, an unmanaged one added.
        admin(&name, "DROP EXTENSION pgcrypto; CREATE EXTENSION hstore");
        apply_planned(
            &w,
            &["extensions", "0 to add, 1 to change, 0 to destroy"],
            "repairing the extensions",
        );
        assert_eq!(extensions_in(&name), ["pgcrypto"]);

        // Database (and its roles) dropped out of band.
        admin(
            "postgres",
            &format!("DROP DATABASE {} WITH (FORCE)", ident(&name)),
        );
        for r in tenant_group_roles(&name) {
            admin("postgres", &format!("DROP ROLE {}", ident(&r)));
        }
        apply_planned(
            &w,
            &["will be created", "1 to add, 0 to change, 0 to destroy"],
            "recreating the dropped database",
        );
        assert!(db_exists(&name));
        assert_eq!(owner_of(&name), owner);
        assert_eq!(extensions_in(&name), ["pgcrypto"]);

        destroy_leaves_nothing(&w, &name);
    }
}

// ---------------------------------------------------------------------------------------
// 4. import
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_import_by_name_then_empty_plan() {
    for tf in each_terraform() {
        let (name, _guard) = tenant("import", &tf);
        let addr = format!("{TYPE}.x");
        // The migration case: a protected database with a limit and an extension.
        let body = |protect: bool| {
            config(&resource(TYPE, "x",
                &name,
                &format!(
                    "  connection_limit = 10\n  extensions = [\"pgcrypto\"]\n  deletion_protection = {protect}"
                ),
            ))
        };
        let w = Workdir::new(&tf, &body(true));
        w.apply().ok();
        let oid = db_oid(&name);
        w.state_rm(&[&addr]).ok();
        assert!(db_exists(&name), "state rm must not touch the database");
        let r = w.import(&addr, &name).ok();
        assert!(r.stdout.contains("Import successful"), "{}", r.stdout);
        assert_plan_empty(&w, "import");
        assert_eq!(db_oid(&name), oid);

        w.write(&body(false));
        w.apply().ok();
        assert_eq!(db_oid(&name), oid, "never replaced");
        // An imported database's roles were not created by this state (issue 19, 7a:
        // another configuration may have made them): destroy leaves them, with a warning.
        let r = w.destroy().ok();
        assert!(r.all().contains("left in place"), "{}", r.all());
        assert!(!db_exists(&name));
        assert_eq!(tenant_roles(&name).len(), 3, "the adopted roles stay");
    }
}

#[test]
pub(crate) fn postgres_import_of_a_missing_or_invalid_name_fails() {
    for tf in each_terraform() {
        let missing = db_name("import_missing", &tf);
        let _guard = Cleanup::tenants(&[&missing]);
        let addr = format!("{TYPE}.x");
        let w = one_resource(&tf, TYPE, &missing, "  deletion_protection = false");
        let r = w.import(&addr, &missing).failed();
        assert!(
            r.all().contains("non-existent") || r.all().contains("does not exist"),
            "{}",
            r.all()
        );
        assert!(!db_exists(&missing), "import must not create anything");
        assert!(tenant_roles(&missing).is_empty());
        assert!(
            !w.state_text().contains(&missing),
            "nothing recorded: {}",
            w.state_text()
        );
        // An id that is not a database name at all.
        let r = w.import(&addr, "Not;A-Name").failed();
        assert!(r.all().contains("Invalid import id"), "{}", r.all());
    }
}

// ---------------------------------------------------------------------------------------
// 5. deletion protection, and destroy under a live pooled client
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_deletion_protection_then_destroy_with_a_live_pgbouncer_client() {
    for tf in each_terraform() {
        let (name, mut guard, w) = applied_tenant("protect", &tf, "");
        admin(
            &name,
            &format!(
                "SET ROLE {}; CREATE TABLE keep(v text); INSERT INTO keep VALUES ('precious')",
                ident(&format!("{name}_owner"))
            ),
        );

        let r = w.destroy().failed();
        assert!(r.all().contains("deletion_protection"), "{}", r.all());
        assert!(db_exists(&name));
        assert_eq!(admin(&name, "SELECT v FROM keep"), "precious");
        assert_eq!(tenant_roles(&name).len(), 3);
        assert_plan_empty(&w, "a refused destroy");

        w.write(&config(&resource(
            TYPE,
            "x",
            &name,
            "  deletion_protection = false",
        )));
        assert_plan_shows(&w, &["0 to add, 1 to change, 0 to destroy"]);
        w.apply().ok();
        assert_eq!(admin(&name, "SELECT v FROM keep"), "precious");

        // A client in the middle of a transaction through PgBouncer.
        let login = format!("{name}_app");
        create_login(
            &mut guard,
            &login,
            "app-pass-1",
            Some(&format!("{name}_readwrite")),
        );
        guard.pgbouncer_session(&name, &login, "app-pass-1", "SELECT pg_sleep(30)");
        let active = wait_until(Duration::from_secs(15), || {
            admin(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = {} AND usename = {} AND query LIKE '%pg_sleep%' AND state = 'active'",
                    lit(&name),
                    lit(&login)
                ),
            ) == "1"
        });
        assert!(active, "the pooled client never reached the server");

        let start = Instant::now();
        let r = w.destroy();
        let took = start.elapsed();
        eprintln!(
            "terraform {}: destroy with a live PgBouncer client took {took:?}",
            tf.version
        );
        r.ok();
        assert!(
            took < Duration::from_secs(25),
            "destroy waited for the client's 30 s query instead of draining it: {took:?}"
        );
        assert!(!db_exists(&name));
        assert!(tenant_roles(&name).is_empty());
        let child = guard.children.last_mut().expect("child");
        let exited = wait_until(Duration::from_secs(10), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        assert!(exited, "the PgBouncer client was not disconnected");
        // Nothing left paused on any replica: a database of that name can be reached again.
        for port in pgbouncer_ports() {
            let rows = pgbouncer_admin(&port, "SHOW DATABASES").expect("SHOW DATABASES");
            for row in rows.iter().filter(|r| r.get("name") == Some(&name)) {
                assert_eq!(
                    row.get("paused").map(String::as_str),
                    Some("0"),
                    "{name} left paused on PgBouncer {port}: {row:?}"
                );
                assert_eq!(
                    row.get("disabled").map(String::as_str),
                    Some("0"),
                    "{name} left disabled on PgBouncer {port}: {row:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 6. bad input
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_bad_names_are_rejected_before_anything_is_sent() {
    let long = "a".repeat(64);
    let cases: [(&str, &str); 6] = [
        ("App", "lower-case"),
        ("a\"b;drop", "lower-case"),
        ("postgres", "reserved"),
        ("template1", "reserved"),
        (&long, "at most"),
        ("", "empty"),
    ];
    for tf in each_terraform() {
        for (bad, says) in cases {
            // What PostgreSQL would have stored (identifiers are cut at 63 bytes), counted
            // by name so that the other cases running in parallel do not disturb the count.
            let count = |what: &str| {
                admin(
                    "postgres",
                    &format!(
                        "SELECT (SELECT count(*) FROM pg_database WHERE datname = left({0}, 63)) || '/' || \
                         (SELECT count(*) FROM pg_roles WHERE rolname IN (left({0} || '_owner', 63), left({0} || '_readwrite', 63), left({0} || '_readonly', 63)))",
                        lit(what)
                    ),
                )
            };
            let before = count(bad);
            let w = one_resource(&tf, TYPE, bad, "  deletion_protection = false");
            for args in [
                &["plan", "-no-color", "-input=false"][..],
                &["apply", "-auto-approve", "-no-color", "-input=false"][..],
            ] {
                let r = w.run(args).failed();
                let all = r.all();
                assert!(all.contains("Error"), "{bad:?}: {all}");
                assert!(
                    all.contains(says),
                    "{bad:?} on {}: expected {says:?} in\n{all}",
                    args[0]
                );
                // Terraform quotes the offending line when the diagnostic carries the attribute path.
                let points_at_name = all.lines().any(|l| {
                    let l = l.trim_start_matches(['│', ' ']);
                    l.split_once(':').is_some_and(|(n, rest)| {
                        n.trim().parse::<u32>().is_ok() && rest.trim_start().starts_with("name =")
                    })
                });
                assert!(
                    points_at_name,
                    "{bad:?}: the diagnostic must point at `name`:\n{all}"
                );
                assert!(!all.contains("Apply complete"), "{all}");
            }
            assert!(w.state_text().is_empty() || !w.state_text().contains(TYPE));
            assert_eq!(
                count(bad),
                before,
                "{bad:?}: a database or role was created (databases/roles of that name)"
            );
            if bad != "postgres" && bad != "template1" {
                assert_eq!(before, "0/0", "{bad:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 7. a name taken by a database (or role) this state does not own
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_foreign_database_or_role_is_never_adopted() {
    for tf in each_terraform() {
        let name = db_name("taken", &tf);
        let role_taken = db_name("taken_role", &tf);
        let mut guard = Cleanup::tenants(&[&name, &role_taken]);

        // A database made by hand, with data.
        admin("postgres", &format!("CREATE DATABASE {}", ident(&name)));
        admin(
            &name,
            "CREATE TABLE legacy(v text); INSERT INTO legacy VALUES ('theirs')",
        );
        let oid = db_oid(&name);
        let acl_before = admin(
            "postgres",
            &format!(
                "SELECT coalesce(datacl::text, 'NULL') FROM pg_database WHERE datname = {}",
                lit(&name)
            ),
        );
        let w = one_resource(&tf, TYPE, &name, "  deletion_protection = false");
        let r = w.apply().failed();
        let all = r.all();
        assert!(all.contains("already exists"), "{all}");
        assert!(
            all.contains("terraform import"),
            "the error should suggest import: {all}"
        );
        assert_eq!(db_oid(&name), oid);
        assert_eq!(owner_of(&name), "postgres", "owner untouched");
        assert_eq!(admin(&name, "SELECT v FROM legacy"), "theirs");
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT coalesce(datacl::text, 'NULL') FROM pg_database WHERE datname = {}",
                    lit(&name)
                ),
            ),
            acl_before,
            "privileges untouched"
        );
        assert!(tenant_roles(&name).is_empty(), "{:?}", tenant_roles(&name));
        assert_eq!(
            w.run(&["state", "list", "-no-color"]).stdout.trim(),
            "",
            "nothing in state"
        );

        // An owner role that already exists (another tenant's, or a leftover).
        let stale = format!("{role_taken}_owner");
        guard.pg_roles.push(stale.clone());
        admin(
            "postgres",
            &format!("DROP ROLE IF EXISTS {}", ident(&stale)),
        );
        admin(
            "postgres",
            &format!("CREATE ROLE {} NOLOGIN", ident(&stale)),
        );
        let w2 = one_resource(&tf, TYPE, &role_taken, "  deletion_protection = false");
        let r = w2.apply().failed();
        assert!(r.all().contains("Role already exists"), "{}", r.all());
        assert!(!db_exists(&role_taken), "nothing half created");
        assert_eq!(
            tenant_roles(&role_taken),
            vec![stale.clone()],
            "only the pre-existing role"
        );

        admin(
            "postgres",
            &format!("DROP DATABASE {} WITH (FORCE)", ident(&name)),
        );
        admin("postgres", &format!("DROP ROLE {}", ident(&stale)));
    }
}

// ---------------------------------------------------------------------------------------
// 8. 50 databases at -parallelism=20
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_fifty_databases_at_parallelism_20() {
    const N: usize = 50;
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let prefix = format!("acc_par_{v}_");
        let names: Vec<String> = (0..N).map(|i| format!("{prefix}{i}")).collect();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let _guard = Cleanup::tenants(&name_refs);
        let like = lit(&format!("{}%", prefix.replace('_', "\\_")));
        let count_dbs = || {
            admin(
                "postgres",
                &format!("SELECT count(*) FROM pg_database WHERE datname LIKE {like}"),
            )
        };
        let count_roles = || {
            admin(
                "postgres",
                &format!("SELECT count(*) FROM pg_roles WHERE rolname LIKE {like}"),
            )
        };
        let w = Workdir::new(
            &tf,
            &config(&format!(
                "resource \"{TYPE}\" \"par\" {{\n  count = {N}\n  name = \"{prefix}${{count.index}}\"\n  deletion_protection = false\n}}\n"
            )),
        );

        let start = Instant::now();
        let r = w.apply_parallel(20);
        let apply_time = start.elapsed();
        eprintln!(
            "terraform {}: apply of {N} databases at -parallelism=20: {apply_time:?}",
            tf.version
        );
        let r = r.ok();
        assert!(
            r.stdout
                .contains(&format!("{N} added, 0 changed, 0 destroyed")),
            "{}",
            r.stdout
        );
        assert_eq!(count_dbs(), N.to_string());
        assert_eq!(count_roles(), (3 * N).to_string());

        let start = Instant::now();
        let empty = w.plan_is_empty();
        eprintln!(
            "terraform {}: no-change plan of {N} databases: {:?}",
            tf.version,
            start.elapsed()
        );
        assert!(empty, "plan after creating {N} databases must be empty");

        let start = Instant::now();
        let r = w.destroy_parallel(20);
        eprintln!(
            "terraform {}: destroy of {N} databases at -parallelism=20: {:?}",
            tf.version,
            start.elapsed()
        );
        let r = r.ok();
        assert!(r.stdout.contains(&format!("{N} destroyed")), "{}", r.stdout);
        assert_eq!(count_dbs(), "0", "databases left behind");
        assert_eq!(count_roles(), "0", "roles left behind");
    }
}

// ---------------------------------------------------------------------------------------
// 9. plan -refresh=false opens no connection
// ---------------------------------------------------------------------------------------

#[test]
pub(crate) fn postgres_plan_without_refresh_needs_no_connection() {
    for tf in each_terraform() {
        let (name, _guard) = tenant("norefresh", &tf);
        let body = resource(
            TYPE,
            "x",
            &name,
            "  extensions = [\"pgcrypto\"]\n  deletion_protection = false",
        );
        let w = Workdir::new(&tf, &config(&body));
        w.apply().ok();

        let live = format!("port     = {}", pg_port());
        let provider = provider_block();
        assert!(
            provider.contains(&live),
            "provider block layout changed: {provider}"
        );
        let closed = provider.replacen(&live, "port     = 1", 1);
        w.write(&format!("{closed}\n{body}"));

        let r = plan_without_refresh(&w);
        assert_eq!(
            r.code, 0,
            "plan -refresh=false of an unchanged resource must succeed with no changes and no connection\n--- stdout\n{}\n--- stderr\n{}",
            r.stdout, r.stderr
        );
        w.run(&["validate", "-no-color"]).ok();
        // Control: a refreshing plan does need PostgreSQL, and says where it looked.
        let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
        let all = r.all();
        assert!(all.contains("127.0.0.1:1"), "{all}");
        assert!(all.contains("postgres"), "{all}");

        w.write(&config(&body));
        destroy_leaves_nothing(&w, &name);
    }
}
