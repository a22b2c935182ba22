//! PostgreSQL and PgBouncer: statement builders and catalog queries for tenant databases.

use std::fmt::Write as _;

use super::{quote_ident, quote_literal, Batch, Unit};

/// The three roles of a tenant database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRoles {
    /// NOLOGIN owner of the database and its `public` schema.
    pub owner: String,
    /// NOLOGIN group with DML on the owner's objects.
    pub readwrite: String,
    /// NOLOGIN group with SELECT on the owner's objects.
    pub readonly: String,
}

impl TenantRoles {
    /// Roles for database `name` with `owner` (default `<name>_owner`).
    pub fn new(name: &str, owner: &str) -> Self {
        TenantRoles {
            owner: owner.to_string(),
            readwrite: format!("{name}_readwrite"),
            readonly: format!("{name}_readonly"),
        }
    }

    /// All three, owner first.
    pub fn all(&self) -> [&str; 3] {
        [&self.owner, &self.readwrite, &self.readonly]
    }
}

/// Options of `CREATE DATABASE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateDatabase {
    /// Database name.
    pub name: String,
    /// Owner role.
    pub owner: String,
    /// Template database.
    pub template: Option<String>,
    /// Encoding, e.g. `UTF8`.
    pub encoding: Option<String>,
    /// LC_COLLATE.
    pub lc_collate: Option<String>,
    /// LC_CTYPE.
    pub lc_ctype: Option<String>,
    /// Connection limit (-1 = none).
    pub connection_limit: i64,
}

/// The comment this provider writes on each role it creates for database `db`, in the
/// same transaction as the role: a create cut off halfway recognises its own roles by it
/// (and never anyone else's).
pub fn role_marker(db: &str) -> String {
    format!("terraform-provider-dbaas: role of database {db}")
}

/// The comment on a database whose create has not finished yet.
pub const DATABASE_CREATING: &str = "terraform-provider-dbaas: creating";

/// The comment on a database this provider created completely.
pub const DATABASE_MANAGED: &str = "terraform-provider-dbaas: managed";

/// Creates the roles of a tenant (those in `missing`), marks every one of `mark` as this
/// provider's, and lets the admin act for `owner`: one batch, run in one transaction, so
/// a role never exists without its marker.
pub fn create_marked_roles(db: &str, missing: &[&str], mark: &[&str], owner: &str) -> Batch {
    let mut batch: Batch = missing.iter().map(|r| create_nologin_role(r)).collect();
    let marker = quote_literal(&role_marker(db));
    batch.extend(
        mark.iter()
            .map(|r| format!("COMMENT ON ROLE {} IS {marker}", quote_ident(r))),
    );
    batch.then(grant_role_to_current_user(owner))
}

/// `COMMENT ON DATABASE "<db>" IS '<text>'`.
pub fn comment_on_database(db: &str, text: &str) -> String {
    format!(
        "COMMENT ON DATABASE {} IS {}",
        quote_ident(db),
        quote_literal(text)
    )
}

/// `ALTER DATABASE "<db>" ALLOW_CONNECTIONS true`: opens a database created closed.
pub fn open_database(db: &str) -> String {
    format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", quote_ident(db))
}

/// `ALTER DATABASE "<db>" ALLOW_CONNECTIONS false`: closes it again (see `open_database`).
pub fn close_database(db: &str) -> String {
    format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", quote_ident(db))
}

/// Catalog: the databases named in $1 (text[]) that exist, each with its `name` and
/// `backends::postgres::DatabaseFacts` (`owner`, `allow_connections`, `comment`,
/// `is_template`): one query answers every read that coalesced into it.
pub const DATABASE_FACTS: &str =
    "SELECT d.datname::text AS name, pg_catalog.pg_get_userbyid(d.datdba)::text AS owner, d.datallowconn AS allow_connections, \
     pg_catalog.shobj_description(d.oid, 'pg_database')::text AS comment, d.datistemplate AS is_template \
     FROM pg_catalog.pg_database d WHERE d.datname = ANY($1)";

/// Catalog: the settings of the databases named in $1 (text[]), each with its `name` and
/// `backends::postgres::DatabaseSettings` (`owner`, `connection_limit`, `encoding`,
/// `lc_collate`, `lc_ctype`), for coalesced reads.
pub const DATABASE_SETTINGS: &str =
    "SELECT d.datname::text AS name, r.rolname::text AS owner, d.datconnlimit::int8 AS connection_limit, pg_catalog.pg_encoding_to_char(d.encoding)::text AS encoding, \
     d.datcollate::text AS lc_collate, d.datctype::text AS lc_ctype \
     FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid = d.datdba WHERE d.datname = ANY($1)";

/// Catalog: the roles named in $1 (text[]) that exist.
pub const EXISTING_ROLES: &str =
    "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY($1) ORDER BY 1";

/// Catalog: the databases role $1 owns, sorted.
pub const DATABASES_OWNED_BY: &str = "SELECT d.datname::text FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1 ORDER BY 1";

/// Catalog: expired logins named like $1 (a LIKE pattern) that are members of any of
/// the groups in $2 (text[]); at most 20.
pub const EXPIRED_GROUP_LOGINS: &str = "SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.rolcanlogin AND r.rolname LIKE $1 \
         AND r.rolvaliduntil IS NOT NULL AND r.rolvaliduntil < pg_catalog.now() \
         AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
                     WHERE m.member = r.oid AND g.rolname = ANY($2)) ORDER BY 1 LIMIT 20";

/// Catalog: the groups login $1 is a direct member of, sorted.
pub const LOGIN_GROUPS: &str = "SELECT g.rolname::text FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
         JOIN pg_catalog.pg_roles u ON u.oid = m.member WHERE u.rolname = $1 ORDER BY 1";

/// The statement a tenant login runs to prove it works.
pub const LOGIN_CHECK: &str = "SELECT 1";

/// Catalog (run inside the database): its extensions but the built-in `plpgsql`.
pub const INSTALLED_EXTENSIONS: &str =
    "SELECT e.extname::pg_catalog.text FROM pg_catalog.pg_extension e \
     WHERE e.extname OPERATOR(pg_catalog.<>) 'plpgsql'::pg_catalog.name";

/// The admin session's settings, as `backends::postgres::SessionSettings` (`search_path`,
/// `role`), to check that the pinned start-up settings took (run in every admin session,
/// tenant databases included).
pub const SESSION_SETTINGS: &str =
    "SELECT pg_catalog.current_setting('search_path') AS search_path, \
     pg_catalog.current_setting('role') AS role";

/// Catalog (run inside the database): the schemas named in $1 (text[]) that exist, as
/// `backends::postgres::SchemaFacts`: `name`, `owner`, `owner_is_admin` (a superuser or
/// the session's user), `creators` (roles other than the owner holding CREATE on it,
/// `PUBLIC` for everyone).
pub const SCHEMA_FACTS: &str = "SELECT n.nspname::pg_catalog.text AS name, o.rolname::pg_catalog.text AS owner, \
     (o.rolsuper OR o.rolname OPERATOR(pg_catalog.=) CURRENT_USER) AS owner_is_admin, \
     ARRAY(SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid THEN 'PUBLIC'::pg_catalog.text \
                  ELSE pg_catalog.pg_get_userbyid(a.grantee)::pg_catalog.text END \
           FROM pg_catalog.aclexplode(n.nspacl) a \
           WHERE a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'::pg_catalog.text \
             AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner ORDER BY 1) AS creators \
     FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) n.nspowner \
     WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.name[]) ORDER BY 1";

/// Catalog: the roles named in $1 (text[]) that exist, as `backends::postgres::RoleFacts`
/// (`name`, `can_login`, `superuser`, `comment`, `owns_objects`).
pub const ROLE_FACTS: &str = "SELECT r.rolname::text AS name, r.rolcanlogin AS can_login, r.rolsuper AS superuser, \
     pg_catalog.shobj_description(r.oid, 'pg_authid')::text AS comment, \
     EXISTS (SELECT 1 FROM pg_catalog.pg_shdepend d WHERE d.refobjid = r.oid AND d.deptype = 'o') AS owns_objects \
     FROM pg_catalog.pg_roles r WHERE r.rolname = ANY($1) ORDER BY 1";

/// Catalog: what the roles in $1 (text[]) own or hold privileges on outside database $2,
/// as `backends::postgres::ForeignDependency`: `role`, `database` ("" for shared
/// objects), `kind`, `object`, `owned`, one row per object;
/// `owned` is true for ownership (`pg_shdepend.deptype = 'o'`), false for privileges,
/// default privileges and policy entries (`a`, `r`, `i`), which `DROP OWNED` revokes.
/// Ownership of other databases counts; the database $2 itself does not. Every operator
/// and function is qualified (`pg_catalog`), whatever the session's search_path.
pub const FOREIGN_DEPENDENCIES: &str = "WITH me AS (SELECT oid FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) $2) \
     SELECT r.rolname::pg_catalog.text AS role, COALESCE(d.datname::pg_catalog.text, '') AS database, \
       CASE WHEN s.deptype OPERATOR(pg_catalog.=) 'o' THEN 'owns' \
            WHEN s.deptype OPERATOR(pg_catalog.=) 'a' THEN 'has privileges on' \
            WHEN s.deptype OPERATOR(pg_catalog.=) 'r' THEN 'is named in a policy on' \
            ELSE 'has initial privileges on' END AS kind, \
       CASE WHEN s.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_database'::pg_catalog.regclass \
            THEN 'database ' OPERATOR(pg_catalog.||) COALESCE((SELECT x.datname::pg_catalog.text FROM pg_catalog.pg_database x WHERE x.oid OPERATOR(pg_catalog.=) s.objid), s.objid::pg_catalog.text) \
            ELSE s.classid::pg_catalog.regclass::pg_catalog.text OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) s.objid::pg_catalog.text END AS object, \
       s.deptype OPERATOR(pg_catalog.=) 'o' AS owned \
     FROM pg_catalog.pg_shdepend s \
     JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) s.refobjid \
     LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) s.dbid \
     WHERE r.rolname OPERATOR(pg_catalog.=) ANY($1) \
       AND s.deptype OPERATOR(pg_catalog.=) ANY(ARRAY['o', 'a', 'r', 'i']::pg_catalog.\"char\"[]) \
       AND NOT EXISTS (SELECT 1 FROM me WHERE me.oid OPERATOR(pg_catalog.=) s.dbid) \
       AND NOT (s.dbid OPERATOR(pg_catalog.=) 0::pg_catalog.oid \
                AND s.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_database'::pg_catalog.regclass \
                AND EXISTS (SELECT 1 FROM me WHERE me.oid OPERATOR(pg_catalog.=) s.objid)) \
     UNION ALL \
     SELECT r.rolname::pg_catalog.text, '', 'owns', 'database ' OPERATOR(pg_catalog.||) d.datname::pg_catalog.text, true \
     FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) d.datdba \
     WHERE r.rolname OPERATOR(pg_catalog.=) ANY($1) AND d.datname OPERATOR(pg_catalog.<>) $2 \
     ORDER BY 1, 2, 4";

/// Catalog: logins that are members (directly) of the group roles in $1 (text[]), as
/// `backends::postgres::GroupMember` (`login`, `superuser`), the admin itself excluded.
pub const GROUP_MEMBERS: &str =
    "SELECT DISTINCT r.rolname::text AS login, r.rolsuper AS superuser \
     FROM pg_catalog.pg_auth_members m \
     JOIN pg_catalog.pg_roles r ON r.oid = m.member \
     JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
     WHERE g.rolname = ANY($1) AND r.rolcanlogin AND r.rolname <> current_user ORDER BY 1";

/// Ends every session of database $1 but the caller's.
pub const TERMINATE_DATABASE_SESSIONS: &str =
    "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
     WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()";

/// Ends every session of login $1.
pub const TERMINATE_USER_SESSIONS: &str =
    "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
     WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()";

/// `CREATE ROLE "<r>" NOLOGIN`.
pub fn create_nologin_role(role: &str) -> String {
    format!("CREATE ROLE {} NOLOGIN", quote_ident(role))
}

/// Issue 22 `create_login`: a static role's login, made in one transaction with its
/// marker: LOGIN without a password (nobody can log in until Vault rotates it), in
/// `group`, running as `run_as` when given (an `owner` login), and no other attribute.
pub fn create_static_login(login: &str, group: &str, run_as: Option<&str>, marker: &str) -> Batch {
    let role = quote_ident(login);
    let mut batch = Batch::new().then(format!(
        "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD NULL IN ROLE {}",
        quote_ident(group)
    ));
    if let Some(owner) = run_as {
        batch.push(format!(
            "ALTER ROLE {role} SET role = {}",
            quote_literal(owner)
        ));
    }
    batch.then(format!(
        "COMMENT ON ROLE {role} IS {}",
        quote_literal(marker)
    ))
}

/// `GRANT "<role>" TO CURRENT_USER`: lets a non-superuser admin act for the owner.
pub fn grant_role_to_current_user(role: &str) -> String {
    format!("GRANT {} TO CURRENT_USER", quote_ident(role))
}

/// `CREATE DATABASE ...` (cannot run inside a transaction).
pub fn create_database(c: &CreateDatabase) -> String {
    let mut s = format!(
        "CREATE DATABASE {} OWNER {}",
        quote_ident(&c.name),
        quote_ident(&c.owner)
    );
    if let Some(t) = &c.template {
        let _ = write!(s, " TEMPLATE {}", quote_ident(t));
    }
    if let Some(e) = &c.encoding {
        let _ = write!(s, " ENCODING {}", quote_literal(e));
    }
    if let Some(l) = &c.lc_collate {
        let _ = write!(s, " LC_COLLATE {}", quote_literal(l));
    }
    if let Some(l) = &c.lc_ctype {
        let _ = write!(s, " LC_CTYPE {}", quote_literal(l));
    }
    let _ = write!(s, " CONNECTION LIMIT {}", c.connection_limit);
    // Closed until PUBLIC's CONNECT is revoked: no other tenant's login gets in between.
    s.push_str(" ALLOW_CONNECTIONS false");
    s
}

/// Database-level isolation and the grants the tenant's groups and PgBouncer's auth
/// user need, run from the maintenance database.
pub fn database_grants(db: &str, roles: &TenantRoles, auth_user: Option<&str>) -> Vec<String> {
    let d = quote_ident(db);
    let mut v = vec![
        format!("REVOKE CONNECT, TEMPORARY ON DATABASE {d} FROM PUBLIC"),
        format!(
            "GRANT CONNECT ON DATABASE {d} TO {}, {}",
            quote_ident(&roles.readwrite),
            quote_ident(&roles.readonly)
        ),
        format!(
            "GRANT TEMPORARY ON DATABASE {d} TO {}",
            quote_ident(&roles.readwrite)
        ),
    ];
    if let Some(a) = auth_user {
        v.push(format!(
            "GRANT CONNECT ON DATABASE {d} TO {}",
            quote_ident(a)
        ));
    }
    v
}

/// `ALTER DATABASE ... CONNECTION LIMIT n`.
pub fn alter_connection_limit(db: &str, limit: i64) -> String {
    format!(
        "ALTER DATABASE {} CONNECTION LIMIT {limit}",
        quote_ident(db)
    )
}

/// `ALTER ROLE old RENAME TO new`: an owner rename keeps every object it owns.
pub fn rename_role(old: &str, new: &str) -> String {
    format!(
        "ALTER ROLE {} RENAME TO {}",
        quote_ident(old),
        quote_ident(new)
    )
}

/// `ALTER DATABASE ... OWNER TO ...`.
pub fn alter_database_owner(db: &str, owner: &str) -> String {
    format!(
        "ALTER DATABASE {} OWNER TO {}",
        quote_ident(db),
        quote_ident(owner)
    )
}

/// `DROP DATABASE IF EXISTS ... WITH (FORCE)`.
pub fn drop_database(db: &str) -> String {
    format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(db))
}

/// `DROP ROLE IF EXISTS ...`.
pub fn drop_role(role: &str) -> String {
    format!("DROP ROLE IF EXISTS {}", quote_ident(role))
}

/// `DROP OWNED BY r1, r2, ...`: run in a database where the roles own nothing, it only
/// revokes their privileges there (and on shared objects such as databases), their
/// default-privilege entries, and removes them from policies.
pub fn drop_owned(roles: &[String]) -> String {
    let list: Vec<String> = roles.iter().map(|r| quote_ident(r)).collect();
    format!("DROP OWNED BY {}", list.join(", "))
}

/// `REVOKE CONNECT ON DATABASE ... FROM <auth user>`.
pub fn revoke_connect(db: &str, role: &str) -> String {
    format!(
        "REVOKE CONNECT ON DATABASE {} FROM {}",
        quote_ident(db),
        quote_ident(role)
    )
}

/// Inside the tenant database: the owner owns `public`, PUBLIC may not create in it,
/// and the groups get usage plus privileges on whatever the owner creates, now and later.
pub fn schema_setup(roles: &TenantRoles) -> Vec<String> {
    let o = quote_ident(&roles.owner);
    let rw = quote_ident(&roles.readwrite);
    let ro = quote_ident(&roles.readonly);
    vec![
        format!("ALTER SCHEMA public OWNER TO {o}"),
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
        format!("GRANT USAGE ON SCHEMA public TO {rw}, {ro}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO {rw}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {rw}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT ON TABLES TO {ro}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT ON SEQUENCES TO {ro}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {rw}"),
        format!("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {rw}"),
        format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ro}"),
        format!("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {ro}"),
    ]
}

/// The schema PgBouncer's auth function lives in.
pub const PGBOUNCER_SCHEMA: &str = "pgbouncer";

/// `CREATE SCHEMA "<schema>"`, without `IF NOT EXISTS`: run only when the schema was
/// checked absent, so a same-named schema a tenant created in between makes it fail
/// instead of being used.
pub fn create_schema(schema: &str) -> String {
    format!("CREATE SCHEMA {}", quote_ident(schema))
}

/// The body of `pgbouncer.get_auth(p_usename)`: this tenant's unexpired, non-superuser
/// logins whose name is `p_usename`, and (issue 22) the logins of another tenant's group
/// that `dbaas_shared_postgres_access` made a member of this tenant's `_readonly` or
/// `_readwrite` group: exactly one level deeper, through a group that cannot log in.
pub fn pgbouncer_auth_body(roles: &TenantRoles) -> String {
    // Only logins of this tenant (members of its group roles), never a superuser: the
    // hash of any other role stays out of PgBouncer's reach through this database. The
    // group names are literals inside the body, which is itself a literal: quoted twice.
    let groups = roles
        .all()
        .iter()
        .map(|g| quote_literal(g))
        .collect::<Vec<_>>()
        .join(", ");
    // Shared access (issue 22) reaches only through the groups that can be granted.
    let shared = [&roles.readwrite, &roles.readonly]
        .iter()
        .map(|g| quote_literal(g))
        .collect::<Vec<_>>()
        .join(", ");
    // Every operator and function qualified: the body runs as the admin (SECURITY
    // DEFINER), and its search_path is pinned as well.
    format!(
        "SELECT s.usename, s.passwd FROM pg_catalog.pg_shadow s \
         WHERE s.usename OPERATOR(pg_catalog.=) p_usename AND NOT s.usesuper \
         AND (s.valuntil IS NULL OR s.valuntil OPERATOR(pg_catalog.>) pg_catalog.now()) \
         AND (EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) m.roleid \
         WHERE m.member OPERATOR(pg_catalog.=) s.usesysid \
         AND g.rolname OPERATOR(pg_catalog.=) ANY (ARRAY[{groups}]::pg_catalog.name[])) \
         OR EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid OPERATOR(pg_catalog.=) m.roleid \
         JOIN pg_catalog.pg_auth_members t ON t.member OPERATOR(pg_catalog.=) g.oid \
         JOIN pg_catalog.pg_roles h ON h.oid OPERATOR(pg_catalog.=) t.roleid \
         WHERE m.member OPERATOR(pg_catalog.=) s.usesysid AND NOT g.rolcanlogin AND NOT g.rolsuper \
         AND h.rolname OPERATOR(pg_catalog.=) ANY (ARRAY[{shared}]::pg_catalog.name[])))"
    )
}

/// Inside the tenant database: the SECURITY DEFINER lookup PgBouncer's `auth_query`
/// calls (`SELECT usename, passwd FROM pgbouncer.get_auth($1)`), callable only by
/// `auth_user`. Owned by the admin (not the tenant), with a pinned search_path, and
/// returning only unexpired roles. `create_schema`: the schema was checked absent (else
/// it was checked admin-owned and closed to tenants: see `resources::postgres_schemas`).
pub fn pgbouncer_auth_setup(
    auth_user: &str,
    roles: &TenantRoles,
    create_schema: bool,
) -> Vec<String> {
    let a = quote_ident(auth_user);
    let body = pgbouncer_auth_body(roles);
    let mut v = Vec::new();
    if create_schema {
        v.push(self::create_schema(PGBOUNCER_SCHEMA));
    }
    v.extend([
        "REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC".to_string(),
        format!("GRANT USAGE ON SCHEMA pgbouncer TO {a}"),
        format!(
            "CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename pg_catalog.text) \
             RETURNS TABLE(usename pg_catalog.name, passwd pg_catalog.text) LANGUAGE sql STABLE SECURITY DEFINER \
             SET search_path TO pg_catalog, pg_temp AS {}",
            quote_literal(&body)
        ),
        "REVOKE ALL ON FUNCTION pgbouncer.get_auth(pg_catalog.text) FROM PUBLIC".to_string(),
        format!("GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(pg_catalog.text) TO {a}"),
    ]);
    v
}

/// Inside the tenant database: removes the PgBouncer auth function and then its schema,
/// without CASCADE: anything else found there (nothing the admin put) stops it rather than
/// being dropped by a superuser.
pub fn pgbouncer_auth_teardown() -> Vec<String> {
    vec![
        "DROP FUNCTION IF EXISTS pgbouncer.get_auth(pg_catalog.text)".to_string(),
        "DROP SCHEMA IF EXISTS pgbouncer".to_string(),
    ]
}

/// The schema extensions go into: owned by the admin, so a tenant (who owns `public`)
/// cannot plant objects that the superuser's extension scripts would pick up.
pub const EXTENSION_SCHEMA: &str = "extensions";

/// Inside the tenant database: the admin-owned extension schema, usable (not writable)
/// by the tenant's roles. `create_schema` as in [`pgbouncer_auth_setup`].
pub fn extension_schema_setup(roles: &TenantRoles, create_schema: bool) -> Vec<String> {
    let s = quote_ident(EXTENSION_SCHEMA);
    let mut v = Vec::new();
    if create_schema {
        v.push(self::create_schema(EXTENSION_SCHEMA));
    }
    v.extend([
        format!("REVOKE ALL ON SCHEMA {s} FROM PUBLIC"),
        format!(
            "GRANT USAGE ON SCHEMA {s} TO {}, {}, {}",
            quote_ident(&roles.owner),
            quote_ident(&roles.readwrite),
            quote_ident(&roles.readonly)
        ),
    ]);
    v
}

/// `ALTER DATABASE ... SET search_path`: apps find extension objects unqualified.
pub fn database_search_path(db: &str) -> String {
    format!(
        "ALTER DATABASE {} SET search_path = \"$user\", public, {}",
        quote_ident(db),
        quote_ident(EXTENSION_SCHEMA)
    )
}

/// Catalog: the schema extension $1's control file pins it to (NULL when relocatable).
pub const EXTENSION_PINNED_SCHEMA: &str = "SELECT v.schema::text FROM pg_catalog.pg_available_extension_versions v \
     JOIN pg_catalog.pg_available_extensions a ON a.name = v.name AND a.default_version = v.version \
     WHERE v.name = $1";

/// `CREATE EXTENSION IF NOT EXISTS ...` in the admin-owned extension schema, with
/// `search_path` pinned for the statement (`SET LOCAL`: one batch, one transaction), or
/// in the schema its control file pins (`pinned = true`; those are system schemas such as
/// `pg_catalog`).
pub fn create_extension(ext: &str, pinned: bool) -> Batch {
    if pinned {
        Batch::new()
            .then("SET LOCAL search_path TO pg_catalog, pg_temp")
            .then(format!(
                "CREATE EXTENSION IF NOT EXISTS {}",
                quote_ident(ext)
            ))
    } else {
        let s = quote_ident(EXTENSION_SCHEMA);
        Batch::new()
            .then(format!("SET LOCAL search_path TO {s}, pg_catalog, pg_temp"))
            .then(format!(
                "CREATE EXTENSION IF NOT EXISTS {} SCHEMA {s}",
                quote_ident(ext)
            ))
    }
}

/// `DROP EXTENSION IF EXISTS ...`.
pub fn drop_extension(ext: &str) -> String {
    format!("DROP EXTENSION IF EXISTS {}", quote_ident(ext))
}

/// PgBouncer admin console commands take a database name; the console has no quoting
/// rules of its own beyond PostgreSQL's identifier syntax, so only plain names pass.
pub fn pgbouncer_command(verb: crate::enums::PgBouncerVerb, db: &str) -> Option<String> {
    let plain = !db.is_empty() && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then(|| format!("{verb} {db}"))
}

/// Every statement text the provider runs inside a tenant database (where the tenant
/// owns `public` and may set the database's defaults), built for sample roles: what the
/// qualification audit (`sql::qualified::unqualified`) checks. A new statement or query
/// that runs in a tenant database belongs here.
pub fn tenant_database_statements() -> Vec<String> {
    let roles = TenantRoles::new("app", "app_owner");
    let mut v = vec![
        INSTALLED_EXTENSIONS.to_string(),
        SESSION_SETTINGS.to_string(),
        SCHEMA_FACTS.to_string(),
        pgbouncer_auth_body(&roles),
        drop_extension("pg_trgm"),
        // Destroy revokes what others granted to a tenant's roles inside their databases.
        drop_owned(&[roles.owner.clone(), roles.readonly.clone()]),
    ];
    for (ext, pinned) in [("pg_trgm", false), ("plpgsql", true)] {
        v.extend(create_extension(ext, pinned).statements().iter().cloned());
    }
    v.extend(schema_setup(&roles));
    for create in [true, false] {
        v.extend(super::tenant_schema_setup(&roles, "reports", create));
    }
    v.extend(
        super::tenant_schema_drop(&roles, "reports")
            .statements()
            .iter()
            .cloned(),
    );
    for create in [true, false] {
        v.extend(pgbouncer_auth_setup("pgbouncer_auth", &roles, create));
        v.extend(extension_schema_setup(&roles, create));
    }
    v.extend(pgbouncer_auth_teardown());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_database_statements_qualify_every_operator_and_function() {
        for s in tenant_database_statements() {
            let found = crate::sql::qualified::unqualified(&s);
            assert!(
                found.is_empty(),
                "unqualified {found:?} in a statement run inside a tenant database:\n{s}"
            );
        }
    }

    #[test]
    fn no_statement_joins_two_with_a_semicolon() {
        let roles = TenantRoles::new("app", "app_owner");
        let mut all = tenant_database_statements();
        all.extend(
            create_marked_roles("app", &roles.all(), &roles.all(), "app_owner")
                .statements()
                .iter()
                .cloned(),
        );
        all.extend(database_grants("app", &roles, Some("pgbouncer_auth")));
        all.extend(
            [
                DATABASE_FACTS,
                DATABASE_SETTINGS,
                EXISTING_ROLES,
                DATABASES_OWNED_BY,
                EXPIRED_GROUP_LOGINS,
                LOGIN_GROUPS,
                ROLE_FACTS,
                FOREIGN_DEPENDENCIES,
                GROUP_MEMBERS,
                TERMINATE_DATABASE_SESSIONS,
                TERMINATE_USER_SESSIONS,
                EXTENSION_PINNED_SCHEMA,
            ]
            .map(String::from),
        );
        for s in all {
            assert!(!crate::sql::batch::joins_statements(&s), "{s}");
        }
    }

    #[test]
    fn a_role_is_created_and_marked_in_one_batch() {
        let b = create_marked_roles(
            "app",
            &["app_owner", "app_readonly"],
            &["app_owner", "app_readonly"],
            "app_owner",
        );
        let marker = "'terraform-provider-dbaas: role of database app'";
        assert_eq!(
            b.statements(),
            [
                "CREATE ROLE \"app_owner\" NOLOGIN".to_string(),
                "CREATE ROLE \"app_readonly\" NOLOGIN".to_string(),
                format!("COMMENT ON ROLE \"app_owner\" IS {marker}"),
                format!("COMMENT ON ROLE \"app_readonly\" IS {marker}"),
                "GRANT \"app_owner\" TO CURRENT_USER".to_string(),
            ]
        );
    }

    #[test]
    fn an_extension_is_created_with_its_search_path_in_one_batch() {
        assert_eq!(
            create_extension("pg_trgm", false).statements(),
            [
                "SET LOCAL search_path TO \"extensions\", pg_catalog, pg_temp",
                "CREATE EXTENSION IF NOT EXISTS \"pg_trgm\" SCHEMA \"extensions\"",
            ]
        );
        assert_eq!(
            create_extension("plpgsql", true).statements(),
            [
                "SET LOCAL search_path TO pg_catalog, pg_temp",
                "CREATE EXTENSION IF NOT EXISTS \"plpgsql\"",
            ]
        );
    }

    #[test]
    fn admin_schemas_are_created_only_when_checked_absent() {
        let roles = TenantRoles::new("app", "app_owner");
        for create in [true, false] {
            for v in [
                extension_schema_setup(&roles, create),
                pgbouncer_auth_setup("pgbouncer_auth", &roles, create),
            ] {
                assert!(v.iter().all(|s| !s.contains("IF NOT EXISTS")), "{v:?}");
                assert_eq!(
                    v.iter().any(|s| s.starts_with("CREATE SCHEMA")),
                    create,
                    "{v:?}"
                );
            }
        }
        assert!(pgbouncer_auth_teardown()
            .iter()
            .all(|s| !s.contains("CASCADE")));
    }

    #[test]
    fn create_database_statement() {
        let s = create_database(&CreateDatabase {
            name: "app".into(),
            owner: "app_owner".into(),
            template: Some("template0".into()),
            encoding: Some("UTF8".into()),
            lc_collate: Some("C".into()),
            lc_ctype: None,
            connection_limit: 20,
        });
        assert_eq!(s, "CREATE DATABASE \"app\" OWNER \"app_owner\" TEMPLATE \"template0\" ENCODING 'UTF8' LC_COLLATE 'C' CONNECTION LIMIT 20 ALLOW_CONNECTIONS false");
    }

    #[test]
    fn grants_isolate_and_include_auth_user() {
        let roles = TenantRoles::new("app", "app_owner");
        let g = database_grants("app", &roles, Some("pgbouncer_auth"));
        assert_eq!(
            g[0],
            "REVOKE CONNECT, TEMPORARY ON DATABASE \"app\" FROM PUBLIC"
        );
        assert!(g
            .iter()
            .any(|s| s == "GRANT CONNECT ON DATABASE \"app\" TO \"pgbouncer_auth\""));
        assert!(schema_setup(&roles)
            .iter()
            .any(|s| s.contains("FOR ROLE \"app_owner\"") && s.contains("TO \"app_readonly\"")));
    }

    #[test]
    fn drop_owned_quotes_every_role() {
        assert_eq!(
            drop_owned(&["b_owner".into(), "we\"ird".into()]),
            "DROP OWNED BY \"b_owner\", \"we\"\"ird\""
        );
    }

    #[test]
    fn pgbouncer_commands_only_take_plain_names() {
        assert_eq!(
            pgbouncer_command(crate::enums::PgBouncerVerb::Kill, "app_1").as_deref(),
            Some("KILL app_1")
        );
        assert_eq!(
            pgbouncer_command(crate::enums::PgBouncerVerb::Kill, "a;SHUTDOWN"),
            None
        );
        assert_eq!(
            pgbouncer_command(crate::enums::PgBouncerVerb::Kill, ""),
            None
        );
    }
}
