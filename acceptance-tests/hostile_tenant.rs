//! Issue 19, items 1 and 3, from the side of a hostile tenant: a login Vault issued for
//! its own database (acting as `<db>_owner`, which owns the database and `public`), writing
//! real SQL through PgBouncer (or directly, where PgBouncer's auth is switched off).
//!
//! [`HostileTenant`] is the reusable fixture: it plants, in `public`, a shadowing operator
//! or function for every operator and function the provider's SQL uses inside a tenant
//! database, and puts `public` first in the database's `search_path`. Each planted object
//! leaves a trace when it ever runs as a superuser (a `nextval` on a tenant sequence, which
//! survives a rollback, and `ALTER ROLE <witness> SUPERUSER` on a role outside the
//! database, which survives its destroy); [`HostileTenant::assert_no_trace`] fails on any.
//!
//! Item 3: the tenant creates the schema the admin later installs into (`extensions`,
//! `pgbouncer`) before the configuration asks for it; the apply must refuse, naming schema
//! and owner, and nothing may go into the tenant's schema.

use crate::fixture::{
    each_terraform, ident, issue_creds, lit, name_of, pg_admin as admin, tagged, via_pgbouncer,
    Case, Creds, Stack, PGDB,
};
use crate::harness::Terraform;

/// The shadows: `(operator, left type, right type, the pg_catalog function it wraps)`.
/// Every operator the provider's SQL applies inside a tenant database (catalog queries,
/// the PgBouncer auth function body, the schema checks), on every pair of argument types
/// it could be resolved with.
const PLANTED_OPERATORS: &[(&str, &str, &str, &str)] = &[
    ("<>", "name", "name", "namene"),
    ("<>", "name", "text", "namenetext"),
    ("<>", "text", "name", "textnename"),
    ("<>", "text", "text", "textne"),
    ("=", "name", "name", "nameeq"),
    ("=", "name", "text", "nameeqtext"),
    ("=", "text", "name", "texteqname"),
    ("=", "text", "text", "texteq"),
    ("=", "oid", "oid", "oideq"),
    ("<>", "oid", "oid", "oidne"),
    (">", "timestamptz", "timestamptz", "timestamptz_gt"),
    ("=", "\"char\"", "\"char\"", "chareq"),
];

/// The shadows: `(function, argument types, return type)`, each wrapping the
/// `pg_catalog` function of the same name and signature.
const PLANTED_FUNCTIONS: &[(&str, &str, &str)] = &[
    ("now", "", "timestamptz"),
    ("pg_get_userbyid", "oid", "name"),
    ("shobj_description", "oid, name", "text"),
    ("obj_description", "oid, name", "text"),
    ("has_schema_privilege", "name, oid, text", "boolean"),
    ("has_schema_privilege", "oid, oid, text", "boolean"),
    ("has_schema_privilege", "name, text, text", "boolean"),
    ("has_schema_privilege", "oid, text", "boolean"),
    ("has_schema_privilege", "text, text", "boolean"),
    ("pg_has_role", "oid, oid, text", "boolean"),
    ("pg_has_role", "name, name, text", "boolean"),
    ("pg_encoding_to_char", "integer", "name"),
];

/// A tenant that has planted shadows in its own database, and the witness role that
/// turns superuser when one of them ever runs as a superuser.
pub struct HostileTenant {
    /// The tenant database.
    pub db: String,
    /// The Vault-issued login that planted everything.
    pub login: Creds,
    /// A plain role outside the tenant (dropped by the guard).
    pub witness: String,
}

impl HostileTenant {
    /// As `login` (through PgBouncer) in `db`: the trace sequence, the witness-raising
    /// trap, every shadow, and `ALTER DATABASE ... SET search_path = public, pg_catalog`.
    pub fn plant(case: &mut Case, db: &str, login: Creds, owner: &str) -> HostileTenant {
        let witness = format!("{db}_witness");
        case.pg_roles.push(witness.clone());
        admin(
            "postgres",
            &format!(
                "DROP ROLE IF EXISTS {w}; CREATE ROLE {w} NOLOGIN",
                w = ident(&witness)
            ),
        );
        let mut sql = format!(
            "CREATE SEQUENCE public.h1_trace;\n\
             GRANT USAGE, SELECT, UPDATE ON SEQUENCE public.h1_trace TO PUBLIC;\n\
             CREATE FUNCTION public.h1_hit() RETURNS void LANGUAGE plpgsql AS $f$\n\
             BEGIN\n\
               IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN\n\
                 PERFORM pg_catalog.nextval('public.h1_trace'::pg_catalog.regclass);\n\
                 EXECUTE 'ALTER ROLE {w} SUPERUSER';\n\
                 BEGIN EXECUTE 'ALTER ROLE {o} SUPERUSER'; EXCEPTION WHEN OTHERS THEN NULL; END;\n\
               END IF;\n\
             END $f$;\n\
             GRANT EXECUTE ON FUNCTION public.h1_hit() TO PUBLIC;\n",
            w = ident(&witness),
            o = ident(owner),
        );
        for (i, (op, left, right, wrapped)) in PLANTED_OPERATORS.iter().enumerate() {
            sql.push_str(&format!(
                "CREATE FUNCTION public.h1_op{i}({left}, {right}) RETURNS boolean LANGUAGE plpgsql AS $f$\n\
                 BEGIN PERFORM public.h1_hit(); RETURN pg_catalog.{wrapped}($1, $2); END $f$;\n\
                 CREATE OPERATOR public.{op} (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = public.h1_op{i});\n"
            ));
        }
        for (name, args, ret) in PLANTED_FUNCTIONS {
            let params: Vec<String> =
                (1..=args.split(',').filter(|a| !a.trim().is_empty()).count())
                    .map(|n| format!("${n}"))
                    .collect();
            sql.push_str(&format!(
                "CREATE FUNCTION public.{name}({args}) RETURNS {ret} LANGUAGE plpgsql AS $f$\n\
                 BEGIN PERFORM public.h1_hit(); RETURN pg_catalog.{name}({}); END $f$;\n",
                params.join(", ")
            ));
        }
        sql.push_str(&format!(
            "ALTER DATABASE {} SET search_path = public, pg_catalog;\n",
            ident(db)
        ));
        via_pgbouncer(&login, db, &sql)
            .unwrap_or_else(|e| panic!("the tenant plants its shadows in {db}: {e}"));
        let t = HostileTenant {
            db: db.to_string(),
            login,
            witness,
        };
        // The tenant's own (non-superuser) statements leave no trace.
        t.assert_no_trace("planting");
        t
    }

    /// How many planted shadows ran as a superuser, read without touching them (the
    /// session pins its own search_path first); `None` once the database is gone.
    fn trace_count(&self) -> Option<i64> {
        let exists = admin(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_database WHERE datname = {}",
                lit(&self.db)
            ),
        );
        if exists != "1" {
            return None;
        }
        let out = pinned(
            &self.db,
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.h1_trace",
        );
        Some(out.trim().parse().expect("trace count"))
    }

    /// Roles the planted trap made superuser.
    fn raised(&self) -> Vec<String> {
        admin(
            "postgres",
            &format!(
                "SELECT rolname FROM pg_roles WHERE rolsuper AND (rolname = {} OR rolname LIKE {} OR rolname = {})",
                lit(&self.witness),
                lit(&format!("{}\\_%", self.db.replace('_', "\\_"))),
                lit(&self.login.username),
            ),
        )
        .lines()
        .map(str::to_string)
        .collect()
    }

    /// No planted shadow ever ran as a superuser (`after` names the step).
    pub fn assert_no_trace(&self, after: &str) {
        let raised = self.raised();
        let count = self.trace_count();
        assert!(
            raised.is_empty() && count.unwrap_or(0) == 0,
            "after {after}: a tenant's planted operator or function ran as a superuser \
             (trace count {count:?}; roles made superuser: {raised:?})"
        );
    }

    /// Proves the trap fires: a superuser session in the tenant's database that takes
    /// the tenant's search_path runs the planted `<>` (then the trace is reset).
    pub fn assert_trap_fires(&self) {
        let out = admin(
            &self.db,
            "SELECT count(*) FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql'",
        );
        assert!(!out.is_empty());
        let fired = self.trace_count().unwrap_or(0) > 0 && !self.raised().is_empty();
        // Undo the trap's effects so the case goes on measuring the provider alone.
        admin(
            "postgres",
            &format!("ALTER ROLE {} NOSUPERUSER", ident(&self.witness)),
        );
        for r in self.raised() {
            admin("postgres", &format!("ALTER ROLE {} NOSUPERUSER", ident(&r)));
        }
        pinned(
            &self.db,
            "SELECT pg_catalog.setval('public.h1_trace', 1, false)",
        );
        assert!(
            fired,
            "the fixture's trap must fire for a superuser that takes the tenant's search_path"
        );
        self.assert_no_trace("resetting the trap");
    }
}

/// Admin SQL in `db` with the session's search_path pinned first (so the tenant's
/// shadows never run for the test's own checks); the output without the `SET` line.
fn pinned(db: &str, sql: &str) -> String {
    let out = admin(db, &format!("SET search_path = pg_catalog, pg_temp; {sql}"));
    out.strip_prefix("SET").unwrap_or(&out).trim().to_string()
}

/// Names for one Terraform: database, connection, role.
fn names(tf: &Terraform, case: &str) -> (String, String, String) {
    let [db, conn] = tagged(tf, [&format!("hpin{case}"), &format!("hpin{case}c")]);
    let role = format!("{conn}-app");
    (db, conn, role)
}

/// The stack: the tenant database with `extra` attribute lines, a Vault connection, and
/// an owner-access rotation role for it.
fn hostile_stack(db: &str, conn: &str, role: &str, extra: &str) -> String {
    // Plain HCL (a `Stack` would sweep what it names when dropped).
    [
        database_hcl(db, extra),
        crate::fixture::connection("c", conn, "postgres", ""),
        crate::fixture::role("r", role, "c", &name_of(PGDB, "db"), ""),
    ]
    .concat()
}

fn database_hcl(db: &str, extra: &str) -> String {
    format!(
        "resource \"{PGDB}\" \"db\" {{\n  name                = \"{db}\"\n  deletion_protection = false\n{extra}\n}}\n"
    )
}

fn case_for(tf: &Terraform, db: &str, conn: &str, role: &str, extra: &str) -> Case {
    Stack::default()
        .hcl(&hostile_stack(db, conn, role, extra))
        .guard(|g| g.track(&[db], &[conn], &[role]))
        .guard(|g| g.name_prefixes.push(db.to_string()))
        .case(tf)
}

/// Item 1: with every operator and function the provider uses shadowed in `public` and
/// `public` first in the database's search_path, nothing the provider does in the tenant's
/// database (refresh, every update path, import, destroy) ever runs the tenant's code as
/// a superuser.
#[test]
fn hostile_tenant_planted_operators_never_run_as_the_admin() {
    for tf in each_terraform() {
        let (db, conn, role) = names(&tf, "op");
        let owner = format!("{db}_owner");
        let ext = |list: &str, more: &str| format!("  extensions = [{list}]\n{more}");
        let mut case = case_for(&tf, &db, &conn, &role, &ext("\"pg_trgm\"", ""));
        case.w.apply().ok();
        let login = issue_creds(&role);
        case.pg_roles.push(login.username.clone());
        let t = HostileTenant::plant(&mut case, &db, login, &owner);
        t.assert_trap_fires();

        // Refresh: `terraform plan` reads the database and its extensions.
        let r = case.w.run(&["plan", "-no-color", "-input=false"]);
        t.assert_no_trace(&format!("terraform plan (refresh)\n{}", r.all()));

        // Every update path, one apply each.
        let steps: Vec<(&str, String)> = vec![
            (
                "connection_limit",
                ext("\"pg_trgm\"", "  connection_limit = 7"),
            ),
            (
                "extension added",
                ext("\"pg_trgm\", \"citext\"", "  connection_limit = 7"),
            ),
            (
                "extension removed",
                ext("\"citext\"", "  connection_limit = 7"),
            ),
            (
                "pgbouncer_auth off",
                ext(
                    "\"citext\"",
                    "  connection_limit = 7\n  pgbouncer_auth = false",
                ),
            ),
            (
                "pgbouncer_auth on",
                ext(
                    "\"citext\"",
                    "  connection_limit = 7\n  pgbouncer_auth = true",
                ),
            ),
            (
                "owner changed",
                ext(
                    "\"citext\"",
                    &format!("  connection_limit = 7\n  owner = \"{db}_boss\""),
                ),
            ),
        ];
        for (what, extra) in steps {
            case.w.write(&crate::fixture::config(&hostile_stack(
                &db, &conn, &role, &extra,
            )));
            let r = case.w.apply();
            t.assert_no_trace(&format!("apply ({what})\n{}", r.all()));
            assert_eq!(r.code, 0, "apply ({what}) failed:\n{}", r.all());
        }

        // Import: forget the database and read it back by name, then apply (the
        // configuration's deletion_protection = false reaches the state).
        case.w.state_rm(&[&format!("{PGDB}.db")]).ok();
        let r = case.w.import(&format!("{PGDB}.db"), &db);
        t.assert_no_trace(&format!("terraform import\n{}", r.all()));
        assert_eq!(r.code, 0, "import failed:\n{}", r.all());
        let r = case.w.apply();
        t.assert_no_trace(&format!("apply after import\n{}", r.all()));
        assert_eq!(r.code, 0, "apply after import failed:\n{}", r.all());

        // Destroy (deletion_protection = false).
        let r = case.w.destroy();
        case.destroyed = true;
        t.assert_no_trace(&format!("terraform destroy\n{}", r.all()));
        assert_eq!(r.code, 0, "destroy failed:\n{}", r.all());
    }
}

/// The schema `schema` in `db`: its owner, or `None` when absent.
fn schema_owner(db: &str, schema: &str) -> Option<String> {
    let out = pinned(
        db,
        &format!(
            "SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = {}",
            lit(schema)
        ),
    );
    (!out.is_empty()).then_some(out)
}

/// Objects in schema `schema` of `db` owned by anyone but `owner`: functions, relations.
fn objects_not_owned_by(db: &str, schema: &str, owner: &str) -> String {
    pinned(
        db,
        &format!(
            "SELECT string_agg(x, ', ') FROM ( \
               SELECT p.proname::text AS x FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE n.nspname = {s} AND pg_get_userbyid(p.proowner) <> {o} \
               UNION ALL SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = {s} AND pg_get_userbyid(c.relowner) <> {o}) q",
            s = lit(schema),
            o = lit(owner)
        ),
    )
}

fn installed(db: &str, ext: &str) -> bool {
    pinned(
        db,
        &format!(
            "SELECT count(*) FROM pg_extension WHERE extname = {}",
            lit(ext)
        ),
    ) == "1"
}

/// Item 3: the tenant creates `extensions` before any extension is configured, and
/// `pgbouncer` while PgBouncer auth is off; the apply that would install into them is
/// refused, naming schema and owner, and nothing goes into the tenant's schema. A schema
/// the admin owns but where a tenant role was given CREATE is refused too.
#[test]
fn hostile_tenant_squatted_schemas_are_refused() {
    for tf in each_terraform() {
        let (db, conn, role) = names(&tf, "sq");
        let owner = format!("{db}_owner");
        let mut case = case_for(&tf, &db, &conn, &role, "");
        case.w.apply().ok();
        let login = issue_creds(&role);
        case.pg_roles.push(login.username.clone());
        via_pgbouncer(
            &login,
            &db,
            "CREATE SCHEMA extensions; \
             CREATE FUNCTION extensions.h1_planted() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        )
        .expect("the tenant squats `extensions`");
        assert_eq!(
            schema_owner(&db, "extensions").as_deref(),
            Some(owner.as_str())
        );

        let write = |case: &Case, extra: &str| {
            case.w.write(&crate::fixture::config(&hostile_stack(
                &db, &conn, &role, extra,
            )));
        };
        let refused = |case: &Case, schema: &str, who: &str| {
            let r = case.w.apply();
            let all = crate::fixture::flat(&r.all());
            assert_ne!(
                r.code, 0,
                "the apply into a squatted {schema:?} must fail:\n{all}"
            );
            assert!(
                all.contains(&format!("\"{schema}\"")) && all.contains(who),
                "the error names schema {schema:?} and {who:?}:\n{all}"
            );
        };

        // extensions = ["pg_trgm"] into the tenant's `extensions`.
        write(&case, "  extensions = [\"pg_trgm\"]");
        refused(&case, "extensions", &owner);
        assert!(!installed(&db, "pg_trgm"), "nothing was installed");
        assert_eq!(
            objects_not_owned_by(&db, "extensions", &owner),
            "",
            "nothing of the admin's went into the tenant's schema"
        );
        assert_eq!(
            schema_owner(&db, "extensions").as_deref(),
            Some(owner.as_str())
        );

        // An admin-owned `extensions` where the tenant was given CREATE: refused too.
        via_pgbouncer(&login, &db, "DROP SCHEMA extensions CASCADE").expect("drop own schema");
        pinned(
            &db,
            &format!(
                "CREATE SCHEMA extensions; GRANT CREATE ON SCHEMA extensions TO {}",
                ident(&owner)
            ),
        );
        write(&case, "  extensions = [\"pg_trgm\"]");
        refused(&case, "extensions", &owner);
        assert!(!installed(&db, "pg_trgm"), "nothing was installed");
        pinned(
            &db,
            &format!("REVOKE CREATE ON SCHEMA extensions FROM {}", ident(&owner)),
        );
        // Once the admin's schema is clean, the same configuration applies.
        write(&case, "  extensions = [\"pg_trgm\"]");
        case.w.apply().ok();
        assert!(installed(&db, "pg_trgm"));

        // PgBouncer auth off (drops the admin's `pgbouncer`), the tenant squats it
        // (directly: PgBouncer cannot log it in without the auth function), then on.
        write(
            &case,
            "  extensions = [\"pg_trgm\"]\n  pgbouncer_auth = false",
        );
        case.w.apply().ok();
        assert_eq!(schema_owner(&db, "pgbouncer"), None);
        crate::fixture::direct(
            &login,
            &db,
            "CREATE SCHEMA pgbouncer; \
             CREATE FUNCTION pgbouncer.get_auth(p_usename text) RETURNS TABLE(usename name, passwd text) \
             LANGUAGE sql SECURITY DEFINER AS 'SELECT NULL::name, NULL::text'",
        )
        .expect("the tenant squats `pgbouncer`");
        write(
            &case,
            "  extensions = [\"pg_trgm\"]\n  pgbouncer_auth = true",
        );
        refused(&case, "pgbouncer", &owner);
        assert_eq!(
            objects_not_owned_by(&db, "pgbouncer", &owner),
            "",
            "the admin replaced nothing in the tenant's `pgbouncer`"
        );
        let auth_user = crate::harness::stack("DBAAS_PGBOUNCER_AUTH_USER");
        let granted = pinned(
            &db,
            &format!(
                "SELECT has_schema_privilege({}, 'pgbouncer', 'USAGE')",
                lit(&auth_user)
            ),
        );
        assert_eq!(
            granted, "f",
            "the admin granted PgBouncer's auth user nothing in the tenant's `pgbouncer`"
        );

        // Back to a clean state so the guard's destroy works.
        crate::fixture::direct(&login, &db, "DROP SCHEMA pgbouncer CASCADE").expect("unsquat");
        case.w.apply().ok();
    }
}

/// Beyond the issue's list: the tenant, owning its database, sets the database's defaults
/// against the admin: `role` = its owner role, so that an admin session without a pinned
/// `role` acts as the tenant (what it creates would be the tenant's); a missing
/// `local_preload_libraries` entry (every new session refused) and
/// `default_transaction_read_only`. The admin's extension, schemas and PgBouncer auth
/// function are made all the same, owned by a superuser.
#[test]
fn hostile_tenant_database_role_setting_never_becomes_the_admins_role() {
    for tf in each_terraform() {
        let (db, conn, role) = names(&tf, "ro");
        let owner = format!("{db}_owner");
        let mut case = case_for(&tf, &db, &conn, &role, "  pgbouncer_auth = false");
        case.w.apply().ok();
        let login = issue_creds(&role);
        case.pg_roles.push(login.username.clone());
        crate::fixture::direct(
            &login,
            &db,
            &format!(
                "ALTER DATABASE {d} SET role = {}; \
                 ALTER DATABASE {d} SET local_preload_libraries = 'hpin_missing'; \
                 ALTER DATABASE {d} SET default_transaction_read_only = on",
                lit(&owner),
                d = ident(&db)
            ),
        )
        .expect("the tenant sets its database's defaults");
        case.w.write(&crate::fixture::config(&hostile_stack(
            &db,
            &conn,
            &role,
            "  pgbouncer_auth = true\n  extensions = [\"citext\"]",
        )));
        case.w.apply().ok();
        // The library setting refuses every session but the provider's (the test's psql
        // too): put it back.
        admin(
            "postgres",
            &format!(
                "ALTER DATABASE {d} RESET local_preload_libraries; ALTER DATABASE {d} RESET default_transaction_read_only",
                d = ident(&db)
            ),
        );
        let owners = pinned(
            &db,
            "SELECT string_agg(x, ', ' ORDER BY x) FROM ( \
               SELECT 'extension ' || e.extname || ' ' || r.rolname AS x FROM pg_extension e JOIN pg_roles r ON r.oid = e.extowner \
                 WHERE e.extname = 'citext' AND NOT r.rolsuper \
               UNION ALL SELECT 'schema ' || n.nspname || ' ' || r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner \
                 WHERE n.nspname IN ('extensions', 'pgbouncer') AND NOT r.rolsuper \
               UNION ALL SELECT 'function ' || p.proname || ' ' || r.rolname FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner \
                 WHERE p.proname = 'get_auth' AND NOT r.rolsuper) q",
        );
        assert_eq!(
            owners, "",
            "what the admin made is owned by the tenant: {owners}"
        );
        // The tenant's own sessions still act as its owner (its setting stays its own).
        assert_eq!(
            crate::fixture::via_pgbouncer(&login, &db, "SELECT current_user").as_deref(),
            Ok(owner.as_str())
        );
    }
}
