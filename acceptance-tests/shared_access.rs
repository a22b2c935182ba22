//! `dbaas_shared_postgres_access` (issue 22, item 4) on real Terraform, PostgreSQL 15 and
//! PgBouncer, written from the side of the tenants it must hold apart: a grantee's login
//! reads (or writes, with `readwrite`) the shared database through PgBouncer and nothing
//! more (not with `readonly`, not the owner's other schemas, not a third tenant), and
//! nothing after destroy; drift and import; grants that would chain to a third tenant, a
//! login as grantee and a database's own group refused.

use crate::fixture::{
    apply_clean, assert_plan_empty, assert_refused_at_plan, config, create_login, each_terraform,
    flat, ident, lit, pg_admin as admin, pg_database, pgb_port, plan_diff, tagged, Stack, PGDB,
};
use crate::harness::psql;

/// `dbaas_shared_postgres_access`.
const ACCESS: &str = "dbaas_shared_postgres_access";

/// `dbaas_shared_postgres_access.<label>` sharing `<db_label>` with `grantee` (HCL).
fn access(label: &str, db_label: &str, grantee: &str, extra: &str) -> String {
    format!("resource \"{ACCESS}\" \"{label}\" {{\n  database = {PGDB}.{db_label}.name\n  grantee  = {grantee}\n{extra}}}\n")
}

/// The grantee expression `<db_label>`'s group `<group>`.
fn group_of(db_label: &str, group: &str) -> String {
    format!("\"${{{PGDB}.{db_label}.name}}_{group}\"")
}

/// A table and a private schema in `db`, made as its owner.
fn seed(db: &str) {
    admin(
        db,
        &format!(
            "SET ROLE {}; CREATE TABLE t(id serial PRIMARY KEY, v text); INSERT INTO t(v) VALUES ('one'); \
             CREATE SCHEMA secret; CREATE TABLE secret.s(v text); INSERT INTO secret.s VALUES ('hidden')",
            ident(&format!("{db}_owner"))
        ),
    );
}

/// Boundary (B2, issue 22): a grantee's logins get exactly what the shared database's
/// group has, through PgBouncer, and lose it on destroy; a third tenant stays closed.
#[test]
fn shared_access_reaches_exactly_the_granted_group_and_ends_on_destroy() {
    for tf in each_terraform() {
        let [a, b, c] = tagged(&tf, ["acc_sha_a", "acc_sha_b", "acc_sha_c"]);
        let mut case = Stack::default()
            .database("a", &a)
            .database("b", &b)
            .database("c", &c)
            .hcl(&access("ro", "a", &group_of("b", "readonly"), ""))
            .hcl(&access(
                "rw",
                "a",
                &group_of("c", "readwrite"),
                "  access = \"readwrite\"\n",
            ))
            .case(&tf);
        apply_clean(&case.w, "creating two grants");
        seed(&a);
        seed(&c);
        let (b_login, c_login) = (format!("{b}_reader"), format!("{c}_writer"));
        create_login(
            &mut case,
            &b_login,
            "b-pass-1",
            Some(&format!("{b}_readonly")),
        );
        create_login(
            &mut case,
            &c_login,
            "c-pass-1",
            Some(&format!("{c}_readwrite")),
        );
        let bouncer = pgb_port();
        let as_b = |db: &str, sql: &str| psql(db, &b_login, "b-pass-1", &bouncer, sql);
        let as_c = |db: &str, sql: &str| psql(db, &c_login, "c-pass-1", &bouncer, sql);

        assert_eq!(
            as_b(&a, "SELECT v FROM t"),
            Ok("one".into()),
            "the readonly grantee's login reads the shared table through PgBouncer"
        );
        let e = as_b(&a, "INSERT INTO t(v) VALUES ('two')").expect_err("readonly must not write");
        assert!(e.contains("permission denied"), "{e}");
        let e = as_b(&a, "SELECT v FROM secret.s")
            .expect_err("the owner's other schema is not granted");
        assert!(e.contains("permission denied"), "{e}");
        as_c(&a, "INSERT INTO t(v) VALUES ('two')").expect("the readwrite grantee's login writes");
        assert_eq!(admin(&a, "SELECT count(*) FROM t"), "2");
        let e = as_c(&a, "CREATE TABLE mine(x int)").expect_err("readwrite is not the owner");
        assert!(e.contains("permission denied"), "{e}");
        // A grantee cannot pass its access on.
        let e = as_b(
            &a,
            &format!(
                "GRANT {} TO {}",
                ident(&format!("{a}_readonly")),
                ident(&c_login)
            ),
        )
        .expect_err("a grantee's login must not grant the shared group on");
        assert!(
            e.contains("permission denied") || e.contains("must have admin option"),
            "{e}"
        );
        // Nobody reaches a third tenant through a grant.
        as_b(&c, "SELECT 1").expect_err("b's login must not reach c");
        as_c(&b, "SELECT 1").expect_err("c's login must not reach b");
        assert_eq!(
            admin(
                &c,
                &format!("SELECT count(*) FROM pgbouncer.get_auth({})", lit(&b_login))
            ),
            "0",
            "c's auth function never serves b's login"
        );
        let e = as_b(&a, &format!("SET ROLE {}", ident(&format!("{a}_owner"))))
            .expect_err("a grantee cannot become the owner");
        assert!(e.contains("permission denied"), "{e}");

        // Drift: the grant revoked out of band is planned again.
        admin(
            "postgres",
            &format!(
                "REVOKE {} FROM {}",
                ident(&format!("{a}_readonly")),
                ident(&format!("{b}_readonly"))
            ),
        );
        let diff = plan_diff(&case.w).expect("a revoked grant must show in the plan");
        assert!(
            diff.contains(&format!("{ACCESS}.ro will be created")),
            "{diff}"
        );
        apply_clean(&case.w, "restoring a revoked grant");
        assert_eq!(as_b(&a, "SELECT v FROM t WHERE id = 1"), Ok("one".into()));

        // Import by `<database>/<grantee>`.
        case.w.state_rm(&[&format!("{ACCESS}.rw")]).ok();
        case.w
            .import(&format!("{ACCESS}.rw"), &format!("{a}/{c}_readwrite"))
            .ok();
        assert_plan_empty(&case.w, "importing the readwrite grant");

        // Destroy of one grant: its logins are out, even with a session open before.
        case.w.write(&config(&format!(
            "{}{}",
            base_body(&a, &b, &c),
            access(
                "rw",
                "a",
                &group_of("c", "readwrite"),
                "  access = \"readwrite\"\n"
            )
        )));
        apply_clean(&case.w, "removing the readonly grant");
        let e = as_b(&a, "SELECT v FROM t").expect_err("a destroyed grant must not keep access");
        assert!(
            e.contains("permission denied")
                || e.contains("password authentication failed")
                || e.contains("no such user"),
            "{e}"
        );
        assert_eq!(
            as_c(&a, "SELECT count(*) FROM t"),
            Ok("2".into()),
            "the other grant stays"
        );
        case.destroy();
        assert_eq!(
            admin(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_roles WHERE rolname LIKE {}",
                    lit(&format!("{a}%"))
                )
            ),
            "0"
        );
    }
}

/// The three databases of the case, unprotected (HCL only: a `Stack` here would drop
/// them when its guard goes).
fn base_body(a: &str, b: &str, c: &str) -> String {
    [("a", a), ("b", b), ("c", c)]
        .iter()
        .map(|(label, name)| pg_database(label, name))
        .collect()
}

/// Boundary (B1, issue 22): a configuration cannot chain grants into a third tenant,
/// give access to a login, or share a database with its own group.
#[test]
fn shared_access_refuses_chains_logins_and_own_groups() {
    for tf in each_terraform() {
        let [a, b, c] = tagged(&tf, ["acc_shr_a", "acc_shr_b", "acc_shr_c"]);
        let body = base_body(&a, &b, &c);
        let first = access("ab", "a", &group_of("b", "readonly"), "");
        let mut case = Stack::default()
            .database("a", &a)
            .database("b", &b)
            .database("c", &c)
            .hcl(&first)
            .case(&tf);
        apply_clean(&case.w, "the first grant");

        // b_readonly holds a's data: giving c b's readonly would pass a on to c.
        let chain = access("bc", "b", &group_of("c", "readonly"), "");
        case.w.write(&config(&format!("{body}{first}{chain}")));
        let all = flat(&case.w.apply().failed().all());
        assert!(
            all.contains("already has access elsewhere") && all.contains("Nothing was granted"),
            "{all}"
        );
        assert_eq!(
            admin("postgres", &format!("SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = {} AND u.rolname = {}", lit(&format!("{b}_readonly")), lit(&format!("{c}_readonly")))),
            "0",
            "the chained grant must not exist"
        );
        // Fan-out is no chain: b's readonly may read c as well as a.
        let member = access("cb", "c", &group_of("b", "readonly"), "");
        case.w.write(&config(&format!("{body}{first}{member}")));
        apply_clean(&case.w, "a fan-out grant (b reads a and c) is no chain");

        // A login is not a group.
        let login = format!("{c}_app");
        create_login(
            &mut case,
            &login,
            "x-pass-1",
            Some(&format!("{c}_readonly")),
        );
        let to_login = access("al", "a", &format!("\"{login}\""), "");
        case.w
            .write(&config(&format!("{body}{first}{member}{to_login}")));
        let all = flat(&case.w.apply().failed().all());
        assert!(
            all.contains("is not a tenant group of this provider") && all.contains("can log in"),
            "{all}"
        );

        // A database's own group, refused at plan.
        let own = access("aa", "a", &group_of("a", "readonly"), "");
        case.w
            .write(&config(&format!("{body}{first}{member}{own}")));
        assert_refused_at_plan(
            &case.w,
            "grantee",
            "is a group of database",
            "a database's own group",
        );

        case.w.write(&config(&format!("{body}{first}{member}")));
        case.destroy();
    }
}

/// Whether `member` is a direct member of `group`.
fn is_member(member: &str, group: &str) -> bool {
    admin(
        "postgres",
        &format!(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = {} AND u.rolname = {}",
            lit(group),
            lit(member)
        ),
    ) == "1"
}

/// Boundary (B1, issue 22): two grants applied at once that together would chain a's data
/// to c (b's readonly into a's, c's readonly into b's) never both stand: at least one is
/// refused (checked again after granting), and the catalog holds no chain.
#[test]
fn shared_access_grants_made_at_once_never_chain() {
    for tf in each_terraform() {
        let [a, b, c] = tagged(&tf, ["acc_shc_a", "acc_shc_b", "acc_shc_c"]);
        let mut case = Stack::default()
            .database("a", &a)
            .database("b", &b)
            .database("c", &c)
            .case(&tf);
        apply_clean(&case.w, "three databases");
        let both = format!(
            "{}{}{}",
            base_body(&a, &b, &c),
            access("ab", "a", &group_of("b", "readonly"), ""),
            access("bc", "b", &group_of("c", "readonly"), ""),
        );
        case.w.write(&config(&both));
        let all = flat(&case.w.apply().failed().all());
        assert!(all.contains("Nothing was granted"), "{all}");
        let (a_ro, b_ro, c_ro) = (
            format!("{a}_readonly"),
            format!("{b}_readonly"),
            format!("{c}_readonly"),
        );
        assert!(
            !(is_member(&b_ro, &a_ro) && is_member(&c_ro, &b_ro)),
            "a chain from {a} to {c} must never stand"
        );
        case.w.write(&config(&base_body(&a, &b, &c)));
        case.destroy();
    }
}

/// `schemas = [...]` on `dbaas_shared_postgres_database` (issue 22, item 4): an extra
/// schema gets `public`'s privileges for the groups (and so for a grantee), is recreated
/// after drift, and is never dropped while it holds objects.
#[test]
fn shared_schemas_get_publics_privileges_and_are_kept_while_they_hold_objects() {
    for tf in each_terraform() {
        let [a, b] = tagged(&tf, ["acc_shs_a", "acc_shs_b"]);
        let with_schemas = |list: &str| {
            format!(
                "resource \"{PGDB}\" \"a\" {{\n  name                = \"{a}\"\n  deletion_protection = false\n  schemas             = [{list}]\n}}\n{}{}",
                pg_database("b", &b),
                access("ro", "a", &group_of("b", "readonly"), "")
            )
        };
        let mut case = Stack::default()
            .hcl(&with_schemas("\"reports\", \"staging\""))
            .guard(|g| g.tenants.extend([a.clone(), b.clone()]))
            .case(&tf);
        apply_clean(&case.w, "a database with two extra schemas");
        assert_eq!(
            admin(&a, "SELECT string_agg(pg_get_userbyid(nspowner), ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('reports', 'staging')"),
            format!("{a}_owner,{a}_owner")
        );
        admin(
            &a,
            &format!(
                "SET ROLE {}; CREATE TABLE reports.r(v text); INSERT INTO reports.r VALUES ('sum'); CREATE TABLE staging.s(v text)",
                ident(&format!("{a}_owner"))
            ),
        );
        let (ro, other) = (format!("{a}_ro_login"), format!("{b}_reader"));
        create_login(&mut case, &ro, "ro-pass-1", Some(&format!("{a}_readonly")));
        create_login(
            &mut case,
            &other,
            "b-pass-1",
            Some(&format!("{b}_readonly")),
        );
        let bouncer = pgb_port();
        assert_eq!(
            psql(&a, &ro, "ro-pass-1", &bouncer, "SELECT v FROM reports.r"),
            Ok("sum".into()),
            "the readonly group reads the owner's table in an extra schema"
        );
        assert_eq!(
            psql(&a, &other, "b-pass-1", &bouncer, "SELECT v FROM reports.r"),
            Ok("sum".into()),
            "a grantee reads it too"
        );
        let e = psql(
            &a,
            &ro,
            "ro-pass-1",
            &bouncer,
            "CREATE TABLE reports.x(v int)",
        )
        .expect_err("only the owner creates in an extra schema");
        assert!(e.contains("permission denied"), "{e}");

        // Drift: dropped out of band, planned again.
        admin(&a, "DROP TABLE staging.s; DROP SCHEMA staging");
        let diff = plan_diff(&case.w).expect("a dropped schema must show in the plan");
        assert!(diff.contains("staging"), "{diff}");
        apply_clean(&case.w, "restoring a dropped schema");
        admin(
            &a,
            &format!(
                "SET ROLE {}; CREATE TABLE staging.s(v text)",
                ident(&format!("{a}_owner"))
            ),
        );

        // Removal while it holds a table: refused, naming it; the table stays.
        case.w.write(&config(&with_schemas("\"reports\"")));
        let all = flat(&case.w.apply().failed().all());
        assert!(all.contains("Cannot remove schema \"staging\""), "{all}");
        assert_eq!(admin(&a, "SELECT count(*) FROM staging.s"), "0");
        admin(&a, "DROP TABLE staging.s");
        apply_clean(&case.w, "removing an emptied schema");
        assert_eq!(
            admin(
                &a,
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'staging'"
            ),
            "0"
        );
        case.destroy();
    }
}
