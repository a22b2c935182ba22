//! Safety of `dbaas_shared_postgres_database` (issue 10), each case written from the side
//! of the one who must not cross the boundary: an imported database's destroy never drops
//! or renames a role it did not create and never touches another database; a role it
//! created that still holds objects elsewhere stops the destroy before anything is
//! dropped; a template must be a template (no cloning another tenant); a new database is
//! never open to PUBLIC, even for a moment; PgBouncer's auth function hands out only this
//! tenant's logins; logins Vault issued do not outlive their database even when their
//! Vault role was deleted out of band; a refused PostgreSQL port fails at once.

use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::fixture::{
    config, create_login, each_terraform, hcl_str as lit_hcl, ident, issue_creds, lit, name_of,
    one_resource, pg_admin as admin, pg_role_exists as role_exists, resource, tagged, Cleanup,
    Creds, Stack, PGDB as TYPE,
};
use crate::harness::{psql_command, stack, vault_delete, Workdir};
use crate::postgres::{
    applied_tenant, db_exists, db_name, destroy_leaves_nothing, owner_of, tenant, tenant_roles,
};

// ---------------------------------------------------------------------------------------
// item 1: never drop, rename or DROP OWNED what it did not create
// ---------------------------------------------------------------------------------------

/// Boundary: configuration may manage the database it imported, never the role
/// `legacy_app` that also owns `billing`, nor `billing` itself.
#[test]
fn postgres_destroy_after_import_keeps_the_adopted_owner_and_other_databases() {
    for tf in each_terraform() {
        let shop = db_name("imp_shop", &tf);
        let billing = db_name("imp_billing", &tf);
        let legacy = db_name("imp_legacy", &tf);
        let mut guard = Cleanup::tenants(&[&shop, &billing]);
        create_login(&mut guard, &legacy, "legacy-pw", None);
        for db in [&shop, &billing] {
            admin(
                "postgres",
                &format!("CREATE DATABASE {} OWNER {}", ident(db), ident(&legacy)),
            );
            admin(
                db,
                &format!(
                    "SET ROLE {}; CREATE TABLE invoices(v text); INSERT INTO invoices VALUES ('kept')",
                    ident(&legacy)
                ),
            );
        }
        // The configuration names the adopted owner, as the migration guide says.
        let body = resource(
            TYPE,
            "shop",
            &shop,
            &format!(
                "  owner = {}\n  deletion_protection = false",
                lit_hcl(&legacy)
            ),
        );
        let w = Workdir::new(&tf, &config(&body));
        w.import(&format!("{TYPE}.shop"), &shop).ok();
        w.apply().ok();
        let r = w.destroy().ok();
        assert!(
            r.all().contains("left in place"),
            "destroy warns that the adopted role stays: {}",
            r.all()
        );
        assert!(
            !db_exists(&shop),
            "the imported database itself is destroyed"
        );
        assert!(
            role_exists(&legacy),
            "the adopted owner role is never dropped"
        );
        assert_eq!(
            admin(&billing, "SELECT v FROM invoices"),
            "kept",
            "another database's tables are never touched"
        );
        assert_eq!(owner_of(&billing), legacy);

        // With the default owner in configuration, an import does not rename legacy_app.
        admin(
            "postgres",
            &format!("CREATE DATABASE {} OWNER {}", ident(&shop), ident(&legacy)),
        );
        let w = Workdir::new(
            &tf,
            &config(&resource(
                TYPE,
                "shop",
                &shop,
                "  deletion_protection = false",
            )),
        );
        w.import(&format!("{TYPE}.shop"), &shop).ok();
        let _ = w.apply();
        assert!(
            role_exists(&legacy),
            "legacy_app is never renamed to {shop}_owner"
        );
        assert_eq!(owner_of(&billing), legacy);
        let _ = w.destroy();
        assert!(role_exists(&legacy));
        assert_eq!(admin(&billing, "SELECT v FROM invoices"), "kept");
    }
}

/// Boundary: a destroy reaches only the database being dropped; a role it created that
/// owns a table elsewhere stops it before anything is dropped, naming what and where.
#[test]
fn postgres_destroy_stops_when_its_role_owns_objects_in_another_database() {
    for tf in each_terraform() {
        let name = db_name("elsewhere", &tf);
        let other = db_name("elsewhere_other", &tf);
        let _guard = Cleanup::tenants(&[&name, &other]);
        admin("postgres", &format!("CREATE DATABASE {}", ident(&other)));
        let w = one_resource(&tf, TYPE, &name, "  deletion_protection = false");
        w.apply().ok();
        admin(
            &other,
            &format!(
                "CREATE TABLE stray(v text); INSERT INTO stray VALUES ('x'); ALTER TABLE stray OWNER TO {}",
                ident(&format!("{name}_owner"))
            ),
        );
        let r = w.destroy().failed();
        let all = r.all();
        assert!(all.contains(&other), "the error names the database: {all}");
        assert!(all.contains("owns"), "and what the role holds there: {all}");
        assert!(db_exists(&name), "nothing was dropped");
        assert_eq!(tenant_roles(&name).len(), 3, "roles kept");
        assert_eq!(
            admin(&other, "SELECT v FROM stray"),
            "x",
            "stray table kept"
        );
        admin(&other, "DROP TABLE stray");
        destroy_leaves_nothing(&w, &name);
    }
}

// ---------------------------------------------------------------------------------------
// item 3: templates
// ---------------------------------------------------------------------------------------

/// Boundary: one tenant's configuration cannot copy another tenant's data.
#[test]
fn postgres_template_must_be_a_template_not_another_tenant() {
    for tf in each_terraform() {
        let victim = db_name("tpl_victim", &tf);
        let thief = db_name("tpl_thief", &tf);
        let _guard = Cleanup::tenants(&[&victim, &thief]);
        admin("postgres", &format!("CREATE DATABASE {}", ident(&victim)));
        admin(
            &victim,
            "CREATE TABLE secrets(v text); INSERT INTO secrets VALUES ('s')",
        );
        let template = format!(
            "  template = {}\n  deletion_protection = false",
            lit_hcl(&victim)
        );
        let w = one_resource(&tf, TYPE, &thief, &template);
        let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
        let all = r.all();
        assert!(
            all.contains("Template refused"),
            "refused at plan time: {all}"
        );
        let r = w.apply().failed();
        let all = r.all();
        assert!(all.contains("template"), "{all}");
        assert!(
            all.contains("template0"),
            "the rule is in the message: {all}"
        );
        assert!(!db_exists(&thief), "no clone was made");
        assert!(
            tenant_roles(&thief).is_empty(),
            "{:?}",
            tenant_roles(&thief)
        );
        // A database an administrator marked as a template is accepted.
        admin(
            "postgres",
            &format!("ALTER DATABASE {} IS_TEMPLATE true", ident(&victim)),
        );
        w.apply().ok();
        assert!(db_exists(&thief));
        w.destroy().ok();
        admin(
            "postgres",
            &format!("ALTER DATABASE {} IS_TEMPLATE false", ident(&victim)),
        );
    }
}

// ---------------------------------------------------------------------------------------
// item 6: never open to PUBLIC
// ---------------------------------------------------------------------------------------

/// Boundary: another tenant's login can never connect to a new database, not even in the
/// moment between `CREATE DATABASE` and the revoke. A watcher polls the catalog in a tight
/// loop while ten databases are created, and reports any that it saw accepting
/// connections with PUBLIC's default CONNECT privilege.
#[test]
fn postgres_new_database_is_never_open_to_public() {
    for tf in each_terraform() {
        let prefix = db_name("open", &tf);
        let names: Vec<String> = (0..10).map(|i| format!("{prefix}_{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let _guard = Cleanup::tenants(&refs);
        let like = format!("{prefix}\\_%");
        let watch = format!(
            "DO $$ DECLARE t0 timestamptz := clock_timestamp(); hit text; n int; BEGIN \
             LOOP \
               SELECT string_agg(datname, ',') INTO hit FROM pg_database WHERE datname LIKE {like} \
                 AND datallowconn AND (datacl IS NULL OR aclcontains(datacl, makeaclitem(0, datdba, 'CONNECT', false))); \
               IF hit IS NOT NULL THEN RAISE NOTICE 'OPEN:%', hit; END IF; \
               SELECT count(*) INTO n FROM pg_database WHERE datname LIKE {like} AND datallowconn \
                 AND datacl IS NOT NULL; \
               EXIT WHEN n >= 10 OR clock_timestamp() > t0 + interval '120 s'; \
             END LOOP; END $$",
            like = lit(&like)
        );
        let mut watcher = psql_command(
            &stack("PGHOST"),
            &stack("PGPORT"),
            "postgres",
            &stack("PGUSER"),
            &stack("PGPASSWORD"),
        )
        .arg("-c")
        .arg(&watch)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watcher starts");
        std::thread::sleep(Duration::from_millis(300));
        let body: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| resource(TYPE, &format!("d{i}"), n, "  deletion_protection = false"))
            .collect();
        let w = Workdir::new(&tf, &config(&body));
        w.apply_parallel(10).ok();
        let start = Instant::now();
        while watcher.try_wait().ok().flatten().is_none()
            && start.elapsed() < Duration::from_secs(130)
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = watcher.kill();
        let mut err = String::new();
        if let Some(mut e) = watcher.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        w.destroy().ok();
        assert!(
            !err.contains("OPEN:"),
            "a new database accepted connections while PUBLIC could still connect:\n{err}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// item 7: PgBouncer's auth function
// ---------------------------------------------------------------------------------------

/// Boundary: PgBouncer's `auth_user`, through a tenant database's `get_auth`, learns the
/// password hash of that tenant's logins only: not a superuser's, not another login's.
#[test]
fn postgres_auth_function_returns_only_this_tenants_logins() {
    for tf in each_terraform() {
        let (name, mut guard, w) = applied_tenant("getauth", &tf, "  deletion_protection = false");
        let member = format!("{name}_member");
        let outsider = format!("{name}_outsider");
        create_login(&mut guard, &member, "m", Some(&format!("{name}_readwrite")));
        create_login(&mut guard, &outsider, "o", None);
        let count = |who: &str| {
            admin(
                &name,
                &format!("SELECT count(*) FROM pgbouncer.get_auth({})", lit(who)),
            )
        };
        assert_eq!(count(&member), "1", "the tenant's own login is served");
        assert_eq!(count(&stack("PGUSER")), "0", "never a superuser's hash");
        assert_eq!(count(&outsider), "0", "never another login's hash");
        w.destroy().ok();
    }
}

// ---------------------------------------------------------------------------------------
// item 5: logins do not outlive their tenant
// ---------------------------------------------------------------------------------------

/// Boundary: a login Vault issued for a tenant cannot log in anywhere once the tenant's
/// database is destroyed, even when its Vault role was deleted out of band first.
#[test]
fn postgres_destroy_drops_vault_logins_whose_role_was_deleted_out_of_band() {
    for tf in each_terraform() {
        let [conn] = tagged(&tf, ["pgout"]);
        let name = db_name("outlive", &tf);
        let role = format!("{conn}-app");
        let mut g = Stack::default()
            .database("x", &name)
            .connection("c", &conn, "postgres", "")
            .role("r", &role, "c", &name_of(TYPE, "x"), "")
            .case(&tf);
        g.w.apply().ok();
        let Creds {
            username: login,
            password,
            ..
        } = issue_creds(&role);
        assert!(role_exists(&login), "Vault made {login}");
        vault_delete(&format!("database/roles/{role}")).expect("delete role out of band");
        g.destroy();
        assert!(
            !role_exists(&login),
            "the Vault-issued login {login} was dropped with its database"
        );
        let r = crate::harness::psql("postgres", &login, &password, &stack("PGPORT"), "SELECT 1");
        assert!(r.is_err(), "the login can no longer connect anywhere");
    }
}

// ---------------------------------------------------------------------------------------
// item 7: a refused port fails at once
// ---------------------------------------------------------------------------------------

/// A closed PostgreSQL port is an error naming host:port well before the pool's 30 s.
#[test]
fn postgres_refused_port_fails_at_once_naming_host_and_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    for tf in each_terraform() {
        let name = db_name("refused", &tf);
        let body = format!(
            "provider \"dbaas\" {{\n  postgres {{\n    host = \"127.0.0.1\"\n    port = {port}\n    username = \"x\"\n    password = \"y\"\n    sslmode = \"disable\"\n  }}\n}}\n{}",
            resource(TYPE, "x", &name, "  deletion_protection = false")
        );
        let w = Workdir::new(&tf, &body);
        let start = Instant::now();
        let r = w.apply().failed();
        let took = start.elapsed();
        assert!(
            r.all().contains(&format!("127.0.0.1:{port}")),
            "the error names host:port: {}",
            r.all()
        );
        assert!(
            took < Duration::from_secs(15),
            "a refused connection fails at once, not after the pool's 30 s (took {took:?})"
        );
    }
}

// ---------------------------------------------------------------------------------------
// item 7: extensions are installed where the tenant cannot plant objects
// ---------------------------------------------------------------------------------------

/// Boundary: the tenant owns `public`; the superuser's `CREATE EXTENSION` scripts must
/// never run where the tenant could have planted a function or operator. Extensions go
/// into the admin-owned `extensions` schema (at create and when added later), which the
/// tenant can use but not write, and apps still call them unqualified.
#[test]
fn postgres_extensions_go_into_a_schema_the_tenant_cannot_write() {
    for tf in each_terraform() {
        let (name, mut guard) = tenant("extsafe", &tf);
        let login = format!("{name}_app");
        let body = |exts: &str| {
            config(&resource(
                TYPE,
                "x",
                &name,
                &format!("  extensions = [{exts}]\n  deletion_protection = false"),
            ))
        };
        let w = Workdir::new(&tf, &body("\"pgcrypto\""));
        w.apply().ok();
        create_login(&mut guard, &login, "app-pw", Some(&format!("{name}_owner")));
        // Added later, once the tenant has had its chance to plant objects in public.
        w.write(&body("\"pgcrypto\", \"hstore\""));
        w.apply().ok();
        assert!(w.plan_is_empty(), "plan after adding an extension is empty");
        let schema_of = |ext: &str| {
            admin(
                &name,
                &format!(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = {}",
                    lit(ext)
                ),
            )
        };
        assert_eq!(schema_of("pgcrypto"), "extensions");
        assert_eq!(schema_of("hstore"), "extensions");
        assert_eq!(
            admin(
                &name,
                "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'extensions'"
            ),
            stack("PGUSER"),
            "the extension schema belongs to the admin, not the tenant"
        );
        let as_tenant = |sql: &str| {
            crate::harness::psql(
                &name,
                &login,
                "app-pw",
                &stack("DBAAS_PGBOUNCER_PORT"),
                &format!("SET ROLE {}; {sql}", ident(&format!("{name}_owner"))),
            )
        };
        let e = as_tenant(
            "CREATE FUNCTION extensions.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        )
        .expect_err("the tenant cannot write the extension schema");
        assert!(e.contains("permission denied"), "{e}");
        assert_eq!(
            as_tenant("SELECT length(digest('x', 'sha256'))")
                .expect("unqualified use works")
                .lines()
                .last()
                .unwrap_or_default()
                .to_string(),
            "32"
        );
        w.destroy().ok();
    }
}
