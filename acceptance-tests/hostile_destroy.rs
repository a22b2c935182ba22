//! Issue 19, items 5 and 7, from the side of the one who must not get through: a tenant
//! (its Vault-issued owner login, through PgBouncer) who grants privileges to another
//! tenant's roles so that the other tenant's destroy fails; a configuration author who
//! imports another tenant's database into a second configuration and destroys it; one who
//! writes Vault mounts with encoded separators; one who names an owner like another
//! tenant's group role.

use crate::fixture::{
    allowed_role, config, direct, each_terraform, flat, ident, issue_creds, lit, name_of,
    one_resource, pg_admin as admin, points_at, resource, tagged, tenant_group_roles,
    via_pgbouncer, Cleanup, Stack, CONN, PGDB, ROLE,
};
use crate::harness::{provider_block, vault_list, Workdir};
use crate::postgres::{db_exists, tenant_roles};

/// Object and database privileges, default privileges and policy entries that tenant A's
/// own login grants to tenant B's three roles in A's database.
fn grants_to(a: &str, b: &str) -> String {
    let [bo, brw, bro] = tenant_group_roles(b).map(|r| ident(&r));
    let aro = ident(&format!("{a}_readonly"));
    let a = ident(a);
    format!(
        "CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'kept'); \
         GRANT SELECT ON public.t TO {bo}, {bro}; \
         GRANT SELECT (v) ON public.t TO {brw}; \
         GRANT CONNECT ON DATABASE {a} TO {bro}; \
         GRANT TEMPORARY ON DATABASE {a} TO {bo}; \
         ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {brw}; \
         ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO {bo}; \
         CREATE SCHEMA side; GRANT USAGE, CREATE ON SCHEMA side TO {bo}; \
         CREATE SEQUENCE side.sq; GRANT USAGE ON SEQUENCE side.sq TO {brw}; \
         CREATE FUNCTION side.f() RETURNS int LANGUAGE sql AS 'SELECT 1'; \
         GRANT EXECUTE ON FUNCTION side.f() TO {bro}; \
         CREATE TYPE side.ty AS (x int); GRANT USAGE ON TYPE side.ty TO {bo}; \
         SELECT pg_catalog.lo_create(4242); GRANT SELECT ON LARGE OBJECT 4242 TO {bo}; \
         ALTER TABLE t ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY shared ON t TO {aro}, {bro} USING (true);"
    )
}

/// What tenant A's database holds of tenant B's roles: ACL entries on relations, columns,
/// the database, default ACLs, and policies naming them (as the admin sees it).
fn privileges_of(a: &str, b: &str) -> String {
    let roles = tenant_group_roles(b).map(|r| lit(&r)).join(", ");
    admin(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_shdepend s JOIN pg_roles r ON r.oid = s.refobjid \
             WHERE r.rolname IN ({roles}) AND s.dbid IN (0, (SELECT oid FROM pg_database WHERE datname = {}))",
            lit(a)
        ),
    )
}

/// Item 5. Tenant A, with the login Vault issued for its database, grants tenant B's
/// roles privileges in A's database (objects, columns, schema, sequence, function, type,
/// large object, the database itself, default privileges, a policy). B's destroy still
/// succeeds, revokes them with a warning naming database A, and leaves nothing of B;
/// A's objects stay. A role of B that OWNS something in A (only an admin or B's own login
/// can arrange that) still stops B's destroy before anything is dropped.
#[test]
fn hostile_destroy_grants_from_another_tenant_do_not_block_destroy() {
    for tf in each_terraform() {
        let [a, b, conn] = tagged(&tf, ["h19d_a", "h19d_b", "h19dc"]);
        let app = format!("{conn}-app");
        let _sweep = Cleanup::tenants(&[&a, &b]);
        // B's guard goes after A's: B's roles can be dropped only once A's grants are gone.
        let mut gb = Stack::default().database("b", &b).case(&tf);
        let mut ga = Stack::default()
            .database("a", &a)
            .connection("pg", &conn, "postgres", &allowed_role(&app))
            .role("app", &app, "pg", &name_of(PGDB, "a"), "")
            .case(&tf);
        ga.w.apply().ok();
        gb.w.apply().ok();

        let login = issue_creds(&app);
        via_pgbouncer(&login, &a, &grants_to(&a, &b))
            .unwrap_or_else(|e| panic!("tenant A's own login grants to B's roles: {e}"));

        // B's role owning an object in A still stops B's destroy, before anything goes.
        let bo = format!("{b}_owner");
        admin(
            &a,
            &format!(
                "CREATE TABLE b_stray (v int); ALTER TABLE b_stray OWNER TO {}",
                ident(&bo)
            ),
        );
        let held = privileges_of(&a, &b);
        assert!(
            held.parse::<u32>().unwrap_or(0) >= 10,
            "A's database holds B's privileges: {held}"
        );
        let r = gb.w.destroy().failed();
        let all = flat(&r.all());
        assert!(
            all.contains("owns") && all.contains(&a) && all.contains(&bo),
            "the refusal names the owner, the object and the database: {all}"
        );
        assert!(db_exists(&b), "nothing of B was dropped");
        assert_eq!(tenant_roles(&b).len(), 3, "B's roles kept");
        assert_eq!(privileges_of(&a, &b), held, "nothing revoked on refusal");
        admin(&a, "DROP TABLE b_stray");

        // Then A closes its database to every connection, the admin's included, from the
        // maintenance database its login can reach (PUBLIC's CONNECT there): no one could
        // get in to revoke anything.
        direct(
            &login,
            "postgres",
            &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", ident(&a)),
        )
        .unwrap_or_else(|e| panic!("tenant A's login closes its database: {e}"));
        let allows = || {
            admin(
                "postgres",
                &format!(
                    "SELECT datallowconn FROM pg_database WHERE datname = {}",
                    lit(&a)
                ),
            )
        };
        assert_eq!(allows(), "f");

        // Privileges only: B's destroy revokes them and goes on.
        let r = gb.destroy();
        eprintln!("B's destroy said:\n{}", r.stdout);
        let all = flat(&r.all());
        assert!(
            all.contains("Revoked") && all.contains(&a),
            "the warning names what was revoked where: {all}"
        );
        assert!(!db_exists(&b), "B's database is gone");
        assert!(tenant_roles(&b).is_empty(), "none of B's roles is left");
        assert_eq!(
            privileges_of(&a, &b),
            "0",
            "no privilege of B's roles left in A"
        );

        assert_eq!(allows(), "f", "A's database is closed again, as A left it");
        admin(
            "postgres",
            &format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", ident(&a)),
        );

        // A's objects are intact, and A's login still works.
        assert_eq!(admin(&a, "SELECT v FROM t"), "kept");
        assert_eq!(
            admin(
                &a,
                "SELECT count(*) FROM pg_namespace n WHERE n.nspname = 'side' \
                 AND EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'f' AND pronamespace = n.oid) \
                 AND EXISTS (SELECT 1 FROM pg_class WHERE relname = 'sq' AND relnamespace = n.oid)"
            ),
            "1",
            "schema, sequence and function of A kept"
        );
        assert_eq!(
            admin(&a, "SELECT count(*) FROM pg_largeobject_metadata"),
            "1",
            "A's large object kept"
        );
        assert_eq!(
            admin(
                &a,
                "SELECT array_to_string(polroles::regrole[], ',') FROM pg_policy WHERE polname = 'shared'"
            ),
            format!("{a}_readonly"),
            "A's policy kept, without B's role"
        );
        assert_eq!(
            via_pgbouncer(&login, &a, "SELECT count(*) FROM t")
                .unwrap_or_else(|e| panic!("A's login after B's destroy: {e}")),
            "1"
        );
        ga.destroy();
    }
}

/// Item 5, logins: tenant A grants privileges in its database to the login Vault issued
/// for tenant B. B's destroy still drops that login (a login never outlives its tenant)
/// after revoking A's grants, and names them.
#[test]
fn hostile_destroy_grants_to_another_tenants_vault_login_do_not_keep_it_alive() {
    for tf in each_terraform() {
        let [a, b, conn] = tagged(&tf, ["h19d_la", "h19d_lb", "h19dl"]);
        let (ra, rb) = (format!("{conn}-a"), format!("{conn}-b"));
        let _sweep = Cleanup::tenants(&[&a, &b]);
        let mut g = Stack::default()
            .database("a", &a)
            .database("b", &b)
            .connection(
                "pg",
                &conn,
                "postgres",
                &format!("  allowed_roles = [\"{ra}\", \"{rb}\"]\n"),
            )
            .role("a", &ra, "pg", &name_of(PGDB, "a"), "")
            .role("b", &rb, "pg", &name_of(PGDB, "b"), "")
            .case(&tf);
        g.w.apply().ok();
        let la = issue_creds(&ra);
        let lb = issue_creds(&rb);
        let login = ident(&lb.username);
        via_pgbouncer(
            &la,
            &a,
            &format!(
                "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept'); \
                 GRANT SELECT ON t TO {login}; GRANT CONNECT ON DATABASE {} TO {login}",
                ident(&a)
            ),
        )
        .unwrap_or_else(|e| panic!("tenant A grants to B's login: {e}"));

        let r =
            g.w.run(&[
                "destroy",
                "-auto-approve",
                "-no-color",
                "-input=false",
                &format!("-target={PGDB}.b"),
            ])
            .ok();
        let all = flat(&r.all());
        assert!(
            all.contains("Revoked") && all.contains(&lb.username),
            "the warning names the login's revoked privileges: {all}"
        );
        assert!(!db_exists(&b));
        assert!(
            !crate::fixture::pg_role_exists(&lb.username),
            "B's Vault login {} is dropped with B: {all}",
            lb.username
        );
        assert_eq!(admin(&a, "SELECT v FROM t"), "kept");
        g.destroy();
    }
}

/// Item 7a. A second configuration imports tenant A's database (made by the first
/// configuration) and destroys it: the database it took over goes, A's roles stay, with a
/// warning, as the resource page says.
#[test]
fn hostile_destroy_import_into_a_second_configuration_leaves_the_tenants_roles() {
    for tf in each_terraform() {
        let [a] = tagged(&tf, ["h19d_imp"]);
        let _sweep = Cleanup::tenants(&[&a]);
        let first = one_resource(&tf, PGDB, &a, "  deletion_protection = true");
        first.apply().ok();
        assert_eq!(tenant_roles(&a).len(), 3);

        let second = one_resource(&tf, PGDB, &a, "  deletion_protection = false");
        second.import(&format!("{PGDB}.x"), &a).ok();
        second.apply().ok();
        let r = second.destroy().ok();
        let all = flat(&r.all());
        assert!(
            all.contains("left in place") && all.contains(&format!("{a}_owner")),
            "destroy warns that the imported database's roles stay: {all}"
        );
        assert!(!db_exists(&a), "the imported database itself is destroyed");
        assert_eq!(
            tenant_roles(&a).len(),
            3,
            "roles the second configuration did not create are never dropped"
        );

        // The same when `terraform taint` makes Terraform replace the imported instance:
        // it hands that destroy no private state, and the roles still stay (same oids).
        let _ = first.destroy();
        admin(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {}", ident(&a)),
        );
        first.apply().ok();
        let second = one_resource(&tf, PGDB, &a, "  deletion_protection = false");
        second.import(&format!("{PGDB}.x"), &a).ok();
        second.apply().ok();
        let oids = || {
            admin(
                "postgres",
                &format!(
                    "SELECT string_agg(oid::text, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE {}",
                    lit(&format!("{a}\\_%"))
                ),
            )
        };
        let before = oids();
        second.run(&["taint", &format!("{PGDB}.x")]).ok();
        let r = second.apply().ok();
        assert_eq!(
            oids(),
            before,
            "replacing a tainted import never drops the roles (the new database reuses them): {}",
            r.all()
        );
        // The replacement is a database this configuration created (reusing the marked
        // roles left by the one it replaced, as a create does): its destroy drops them.
        second.destroy().ok();
        assert!(!db_exists(&a));
    }
}

/// Item 7b. Vault `mount` values that smuggle separators or a traversal through encoding,
/// or hold characters Vault or its policies read specially, are refused at plan on the
/// attribute (connection, rotation role, provider block, auth login), and nothing
/// reaches Vault.
#[test]
fn hostile_destroy_vault_mounts_with_encoded_separators_are_refused_at_plan() {
    for tf in each_terraform() {
        let [conn] = tagged(&tf, ["h19dm"]);
        let _guard = Cleanup::vault(&[], &[&conn], &[&format!("{conn}-app")]);
        let in_vault = || {
            vault_list("database/config")
                .iter()
                .chain(vault_list("database/roles").iter())
                .any(|n| n.starts_with(&conn))
        };
        let bad = [
            "database%2F..%2Fsys",
            "database%2fsys",
            "%2e%2e/sys",
            "data base",
            "database?x=1",
            "database#frag",
            "data\\\\base",
            "database/*",
            "database/+",
            "..",
            "a/./b",
            "data\\u007fbase",
        ];
        for mount in bad {
            let conn_hcl = format!(
                "resource \"{CONN}\" \"c\" {{\n  name   = \"{conn}\"\n  engine = \"postgres\"\n  mount  = \"{mount}\"\n}}\n"
            );
            let role_hcl = format!(
                "resource \"{CONN}\" \"c\" {{\n  name   = \"{conn}\"\n  engine = \"postgres\"\n}}\n\
                 resource \"{ROLE}\" \"r\" {{\n  name       = \"{conn}-app\"\n  connection = \"{conn}\"\n  database   = \"h19d_nodb\"\n  mount      = \"{mount}\"\n}}\n"
            );
            for body in [conn_hcl, role_hcl] {
                let w = Workdir::new(&tf, &config(&body));
                assert_refused(&w, "mount", &format!("{mount} in\n{body}"));
            }
            // The provider's own vault.mount and an auth login's mount.
            let provider = provider_block().replace(
                "    token   = ",
                &format!("    mount   = \"{mount}\"\n    token   = "),
            );
            assert!(provider.contains(mount), "{provider}");
            let w = Workdir::new(
                &tf,
                &format!("{provider}\nresource \"{CONN}\" \"c\" {{\n  name   = \"{conn}\"\n  engine = \"postgres\"\n}}\n"),
            );
            assert_refused(&w, "mount", &format!("provider vault.mount {mount}"));
            assert!(!in_vault(), "nothing reached Vault for mount {mount}");
        }
    }
}

/// A plan and a validate that must fail with a diagnostic pointing at `attr`.
fn assert_refused(w: &Workdir, attr: &str, what: &str) {
    let r = w.run(&["validate", "-no-color"]).failed();
    assert!(
        points_at(&r.all(), attr),
        "{what}: validate must point at `{attr}`:\n{}",
        r.all()
    );
    let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
    assert!(
        points_at(&r.all(), attr),
        "{what}: plan must point at `{attr}`:\n{}",
        r.all()
    );
}

/// Item 7c. An `owner` named like a group role (`<x>_readwrite`, `<x>_readonly`) would
/// squat the name a later tenant `x` needs: refused at validate on `owner`, before any
/// role exists.
#[test]
fn hostile_destroy_owner_named_like_a_group_role_is_refused_at_validate() {
    for tf in each_terraform() {
        let [name, victim] = tagged(&tf, ["h19d_sq", "h19d_victim"]);
        let _sweep = Cleanup::tenants(&[&name, &victim]);
        for owner in [format!("{victim}_readwrite"), format!("{victim}_readonly")] {
            let w = Workdir::new(
                &tf,
                &config(&resource(
                    PGDB,
                    "x",
                    &name,
                    &format!("  owner = \"{owner}\"\n  deletion_protection = false"),
                )),
            );
            assert_refused(&w, "owner", &owner);
            let r = w.apply().failed();
            assert!(
                flat(&r.all()).contains("_readwrite") || flat(&r.all()).contains("_readonly"),
                "{}",
                r.all()
            );
            assert!(!db_exists(&name), "nothing was created");
            assert!(
                !crate::fixture::pg_role_exists(&owner),
                "the squatting role {owner} was never created"
            );
        }
    }
}
