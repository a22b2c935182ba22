//! PostgreSQL statements and catalog queries of `dbaas_shared_postgres_access`: one
//! tenant's group made a member of another tenant's `_readonly` or `_readwrite` group,
//! the links that keep such grants from chaining, and ending the sessions a revoked
//! grant leaves open. All run from the maintenance database (roles are cluster-wide).

use super::quote_ident;

/// `GRANT "<group>" TO "<grantee>"`: the grantee's members inherit the group's privileges
/// (CONNECT on its database, USAGE on its schemas, the owner's default privileges).
pub fn grant_membership(group: &str, grantee: &str) -> String {
    format!("GRANT {} TO {}", quote_ident(group), quote_ident(grantee))
}

/// `REVOKE "<group>" FROM "<grantee>"`.
pub fn revoke_membership(group: &str, grantee: &str) -> String {
    format!(
        "REVOKE {} FROM {}",
        quote_ident(group),
        quote_ident(grantee)
    )
}

/// Catalog: for each role named in $1 (text[]) that exists, as
/// `backends::postgres::RoleLinks`: `name`, `member_of` (the roles it is a direct member
/// of) and `group_members` (its direct members that cannot log in, i.e. other groups).
pub const ROLE_LINKS: &str = "SELECT r.rolname::text AS name, \
     ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
           WHERE m.member = r.oid ORDER BY 1) AS member_of, \
     ARRAY(SELECT u.rolname::text FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles u ON u.oid = m.member \
           WHERE m.roleid = r.oid AND NOT u.rolcanlogin ORDER BY 1) AS group_members \
     FROM pg_catalog.pg_roles r WHERE r.rolname = ANY($1) ORDER BY 1";

/// Ends the sessions in database $1 of the non-superuser logins that are direct members
/// of role $2 (not the admin's own): what a revoked grant leaves connected.
pub const TERMINATE_MEMBER_SESSIONS: &str =
    "SELECT pg_catalog.pg_terminate_backend(a.pid) FROM pg_catalog.pg_stat_activity a \
     JOIN pg_catalog.pg_roles u ON u.oid = a.usesysid \
     WHERE a.datname = $1 AND NOT u.rolsuper AND u.rolname <> current_user \
     AND a.pid <> pg_catalog.pg_backend_pid() \
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
                 WHERE m.member = u.oid AND g.rolname = $2)";

/// Inside the tenant database: an extra schema (`schemas = [...]` of
/// `dbaas_shared_postgres_database`, issue 22) owned by the database's owner, with the
/// same privileges and default privileges for the two groups as `public`.
/// `create`: the schema was checked absent (plain `CREATE SCHEMA`, which fails if
/// someone made it in between).
pub fn tenant_schema_setup(roles: &super::TenantRoles, schema: &str, create: bool) -> Vec<String> {
    let s = quote_ident(schema);
    let o = quote_ident(&roles.owner);
    let rw = quote_ident(&roles.readwrite);
    let ro = quote_ident(&roles.readonly);
    let mut v = Vec::new();
    if create {
        v.push(format!("CREATE SCHEMA {s} AUTHORIZATION {o}"));
    }
    v.extend([
        format!("REVOKE ALL ON SCHEMA {s} FROM PUBLIC"),
        format!("GRANT USAGE ON SCHEMA {s} TO {rw}, {ro}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO {rw}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {rw}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT ON TABLES TO {ro}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} GRANT SELECT ON SEQUENCES TO {ro}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {s} TO {rw}"),
        format!("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} TO {rw}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {ro}"),
        format!("GRANT SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {ro}"),
    ]);
    v
}

/// Inside the tenant database: removes an extra schema, without CASCADE, after its
/// default privileges (which would otherwise keep it): PostgreSQL refuses while it holds
/// objects, and nothing of the tenant's is dropped.
pub fn tenant_schema_drop(roles: &super::TenantRoles, schema: &str) -> super::Batch {
    let s = quote_ident(schema);
    let o = quote_ident(&roles.owner);
    let rw = quote_ident(&roles.readwrite);
    let ro = quote_ident(&roles.readonly);
    super::Batch::new()
        .then(format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} REVOKE ALL ON TABLES FROM {rw}, {ro}"))
        .then(format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} REVOKE ALL ON SEQUENCES FROM {rw}, {ro}"))
        .then(format!("DROP SCHEMA {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_statements_quote_both_roles() {
        assert_eq!(
            grant_membership("shop_readonly", "we\"ird"),
            "GRANT \"shop_readonly\" TO \"we\"\"ird\""
        );
        assert_eq!(
            revoke_membership("shop_readwrite", "bi_readonly"),
            "REVOKE \"shop_readwrite\" FROM \"bi_readonly\""
        );
    }

    #[test]
    fn get_auth_reaches_grantees_one_level_deep_through_the_grantable_groups_only() {
        let body =
            crate::sql::pgbouncer_auth_body(&crate::sql::TenantRoles::new("shop", "shop_owner"));
        let (direct, shared) = body
            .split_once(" OR EXISTS ")
            .expect("a second branch for grantees");
        assert!(
            direct.contains("'shop_owner', 'shop_readwrite', 'shop_readonly'"),
            "{direct}"
        );
        // Grantees come through `_readwrite`/`_readonly` (never the owner), via a group that
        // cannot log in and is no superuser; superusers and expired logins stay out.
        assert!(
            shared.contains("ARRAY['shop_readwrite', 'shop_readonly']"),
            "{shared}"
        );
        assert!(!shared.contains("shop_owner"), "{shared}");
        assert!(
            shared.contains("NOT g.rolcanlogin AND NOT g.rolsuper"),
            "{shared}"
        );
        assert!(body.contains("AND NOT s.usesuper"), "{body}");
        assert!(
            crate::sql::qualified::unqualified(&body).is_empty(),
            "{body}"
        );
    }

    #[test]
    fn no_statement_joins_two_with_a_semicolon() {
        for s in [
            ROLE_LINKS.to_string(),
            TERMINATE_MEMBER_SESSIONS.to_string(),
            grant_membership("a;b", "c"),
        ] {
            assert!(!crate::sql::batch::joins_statements(&s), "{s}");
        }
    }
}
