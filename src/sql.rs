//! The one place SQL text is assembled: identifier and literal quoting, and the
//! statement builders every resource uses. Nothing else may `format!` a user string
//! into SQL.

use std::fmt::Write as _;

/// A name or value that cannot be quoted: PostgreSQL and MySQL reject NUL in
/// identifiers and literals, and dropping it would act on another name than the one given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} contains a NUL byte; names and values may not hold one")]
pub struct BadIdentifier(pub String);

fn refuse_nul(s: &str) -> Result<(), BadIdentifier> {
    if s.contains('\0') {
        Err(BadIdentifier(s.to_string()))
    } else {
        Ok(())
    }
}

/// Whether a finished statement holds a NUL byte: the backends refuse to send such text
/// (it can only come from a name quoted by [`quote_ident`] or [`quote_literal`], which keep
/// NUL rather than drop it).
pub fn check_statement(statement: &str) -> Result<(), BadIdentifier> {
    match statement.find('\0') {
        // The text up to the NUL names the object (statements never carry secrets).
        Some(i) => Err(BadIdentifier(statement[..i].to_string())),
        None => Ok(()),
    }
}

/// Quotes a PostgreSQL identifier, refusing NUL: `"` doubled, wrapped in `"`.
pub fn try_quote_ident(name: &str) -> Result<String, BadIdentifier> {
    refuse_nul(name)?;
    Ok(quote_ident(name))
}

/// Quotes a PostgreSQL string literal, refusing NUL (see [`quote_literal`]).
pub fn try_quote_literal(value: &str) -> Result<String, BadIdentifier> {
    refuse_nul(value)?;
    Ok(quote_literal(value))
}

/// Quotes a PostgreSQL identifier: `"` doubled, wrapped in `"`. A NUL byte is kept, never
/// dropped, so the statement is refused before it is sent ([`check_statement`]); prefer
/// [`try_quote_ident`], which refuses it at once.
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Quotes a PostgreSQL string literal; uses the `E''` form when backslashes appear, so
/// the result means the same whatever `standard_conforming_strings` says. A NUL byte is
/// kept, as in [`quote_ident`].
pub fn quote_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 3);
    if value.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Quotes a MySQL/MariaDB identifier: backticks doubled, wrapped in backticks; NUL refused.
pub fn quote_mysql_ident(name: &str) -> Result<String, BadIdentifier> {
    refuse_nul(name)?;
    Ok(format!("`{}`", name.replace('`', "``")))
}

/// Quotes a MySQL/MariaDB string literal for the default sql_mode (backslash escapes
/// on): quotes doubled, backslashes escaped; NUL refused.
pub fn quote_mysql_literal(value: &str) -> Result<String, BadIdentifier> {
    refuse_nul(value)?;
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

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
/// provider's, and lets the admin act for `owner`: one string of statements, which
/// PostgreSQL runs as one implicit transaction (simple query protocol), so a role never
/// exists without its marker.
pub fn create_marked_roles(db: &str, missing: &[&str], mark: &[&str], owner: &str) -> String {
    let mut v: Vec<String> = missing.iter().map(|r| create_nologin_role(r)).collect();
    let marker = quote_literal(&role_marker(db));
    v.extend(
        mark.iter()
            .map(|r| format!("COMMENT ON ROLE {} IS {marker}", quote_ident(r))),
    );
    v.push(grant_role_to_current_user(owner));
    v.join(";\n")
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

/// Catalog: `(owner, datallowconn, comment, datistemplate)` of a database by name ($1).
pub const DATABASE_FACTS: &str =
    "SELECT pg_catalog.pg_get_userbyid(d.datdba)::text, d.datallowconn, \
     pg_catalog.shobj_description(d.oid, 'pg_database')::text, d.datistemplate \
     FROM pg_catalog.pg_database d WHERE d.datname = $1";

/// Catalog: `(name, can_login, superuser, comment)` of the roles named in $1 (text[]).
pub const ROLE_FACTS: &str = "SELECT r.rolname::text, r.rolcanlogin, r.rolsuper, \
     pg_catalog.shobj_description(r.oid, 'pg_authid')::text \
     FROM pg_catalog.pg_roles r WHERE r.rolname = ANY($1) ORDER BY 1";

/// Catalog: what the roles in $1 (text[]) own or hold privileges on outside database $2:
/// `(role, database or "" for shared objects, kind, object)`, one row per object.
/// Ownership of other databases counts; the database $2 itself does not.
pub const FOREIGN_DEPENDENCIES: &str = "WITH me AS (SELECT oid FROM pg_catalog.pg_database WHERE datname = $2) \
     SELECT r.rolname::text, coalesce(d.datname::text, ''), \
       CASE s.deptype WHEN 'o' THEN 'owns' WHEN 'a' THEN 'has privileges on' WHEN 'i' THEN 'is in the policy of' ELSE 'depends on' END, \
       CASE WHEN s.classid = 'pg_catalog.pg_database'::regclass THEN 'database ' || coalesce((SELECT datname::text FROM pg_catalog.pg_database WHERE oid = s.objid), s.objid::text) \
            ELSE s.classid::regclass::text || ' ' || s.objid::text END \
     FROM pg_catalog.pg_shdepend s \
     JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid \
     LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid \
     WHERE r.rolname = ANY($1) AND s.deptype IN ('o', 'a', 'i', 'r') \
       AND s.dbid IS DISTINCT FROM (SELECT oid FROM me) \
       AND NOT (s.dbid = 0 AND s.classid = 'pg_catalog.pg_database'::regclass AND s.objid = (SELECT oid FROM me)) \
     UNION ALL \
     SELECT r.rolname::text, '', 'owns', 'database ' || d.datname::text \
     FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid = d.datdba \
     WHERE r.rolname = ANY($1) AND d.datname <> $2 \
     ORDER BY 1, 2, 4";

/// Catalog: logins that are members (directly) of the group roles in $1 (text[]):
/// `(login, superuser)`, the admin itself excluded.
pub const GROUP_MEMBERS: &str = "SELECT DISTINCT r.rolname::text, r.rolsuper \
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

/// `DROP OWNED BY ...` (run in each database where the role holds privileges).
pub fn drop_owned(role: &str) -> String {
    format!("DROP OWNED BY {}", quote_ident(role))
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

/// Inside the tenant database: the SECURITY DEFINER lookup PgBouncer's `auth_query`
/// calls (`SELECT usename, passwd FROM pgbouncer.get_auth($1)`), callable only by
/// `auth_user`. Owned by the admin (not the tenant), with a pinned search_path, and
/// returning only unexpired roles.
pub fn pgbouncer_auth_setup(auth_user: &str, roles: &TenantRoles) -> Vec<String> {
    let a = quote_ident(auth_user);
    // Only logins of this tenant (members of its group roles), never a superuser: the
    // hash of any other role stays out of PgBouncer's reach through this database. The
    // group names are literals inside the body, which is itself a literal: quoted twice.
    let groups = roles
        .all()
        .iter()
        .map(|g| quote_literal(g))
        .collect::<Vec<_>>()
        .join(", ");
    let body = format!(
        "SELECT s.usename, s.passwd FROM pg_catalog.pg_shadow s \
         WHERE s.usename = p_usename AND NOT s.usesuper \
         AND (s.valuntil IS NULL OR s.valuntil > pg_catalog.now()) \
         AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
         WHERE m.member = s.usesysid AND g.rolname IN ({groups}))"
    );
    vec![
        "CREATE SCHEMA IF NOT EXISTS pgbouncer".to_string(),
        "REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC".to_string(),
        format!("GRANT USAGE ON SCHEMA pgbouncer TO {a}"),
        format!(
            "CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text) \
             RETURNS TABLE(usename name, passwd text) LANGUAGE sql STABLE SECURITY DEFINER \
             SET search_path = pg_catalog AS {}",
            quote_literal(&body)
        ),
        "REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC".to_string(),
        format!("GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO {a}"),
    ]
}

/// Inside the tenant database: removes the PgBouncer auth function.
pub fn pgbouncer_auth_teardown() -> Vec<String> {
    vec!["DROP SCHEMA IF EXISTS pgbouncer CASCADE".to_string()]
}

/// The schema extensions go into: owned by the admin, so a tenant (who owns `public`)
/// cannot plant objects that the superuser's extension scripts would pick up.
pub const EXTENSION_SCHEMA: &str = "extensions";

/// Inside the tenant database: the admin-owned extension schema, usable (not writable)
/// by the tenant's roles.
pub fn extension_schema_setup(roles: &TenantRoles) -> Vec<String> {
    let s = quote_ident(EXTENSION_SCHEMA);
    vec![
        format!("CREATE SCHEMA IF NOT EXISTS {s}"),
        format!("REVOKE ALL ON SCHEMA {s} FROM PUBLIC"),
        format!(
            "GRANT USAGE ON SCHEMA {s} TO {}, {}, {}",
            quote_ident(&roles.owner),
            quote_ident(&roles.readwrite),
            quote_ident(&roles.readonly)
        ),
    ]
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
/// `search_path` pinned for the statement, or in the schema its control file pins
/// (`pinned = true`; those are system schemas such as `pg_catalog`).
pub fn create_extension(ext: &str, pinned: bool) -> String {
    if pinned {
        format!(
            "SET LOCAL search_path = pg_catalog, pg_temp; CREATE EXTENSION IF NOT EXISTS {}",
            quote_ident(ext)
        )
    } else {
        format!(
            "SET LOCAL search_path = {s}, pg_catalog, pg_temp; CREATE EXTENSION IF NOT EXISTS {} SCHEMA {s}",
            quote_ident(ext),
            s = quote_ident(EXTENSION_SCHEMA)
        )
    }
}

/// `DROP EXTENSION IF EXISTS ...`.
pub fn drop_extension(ext: &str) -> String {
    format!("DROP EXTENSION IF EXISTS {}", quote_ident(ext))
}

/// PgBouncer admin console commands take a database name; the console has no quoting
/// rules of its own beyond PostgreSQL's identifier syntax, so only plain names pass.
pub fn pgbouncer_command(verb: &str, db: &str) -> Option<String> {
    let plain = !db.is_empty() && db.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then(|| format!("{verb} {db}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identifiers_and_literals() {
        assert_eq!(quote_ident("app"), "\"app\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
        assert_eq!(quote_mysql_ident("a`b").as_deref(), Ok("`a``b`"));
        assert_eq!(quote_mysql_literal("x'\\").as_deref(), Ok("'x''\\\\'"));
    }

    #[test]
    fn nul_bytes_are_refused_never_stripped() {
        for quoted in [
            try_quote_ident("a\0b"),
            try_quote_literal("a\0b"),
            quote_mysql_ident("a\0b"),
            quote_mysql_literal("a\0b"),
        ] {
            assert_eq!(quoted, Err(BadIdentifier("a\0b".into())));
        }
        assert_eq!(try_quote_ident("a\"b").as_deref(), Ok("\"a\"\"b\""));
        // The infallible PostgreSQL forms keep the NUL, so the statement is refused.
        let statement = drop_role("app\0x");
        assert!(statement.contains('\0'));
        assert_eq!(
            check_statement(&statement),
            Err(BadIdentifier("DROP ROLE IF EXISTS \"app".into()))
        );
        assert_eq!(check_statement(&drop_role("app")), Ok(()));
        assert!(mysql_create_database("a\0", "utf8mb4", None, None).is_err());
        assert!(mysql_create_database("a", "utf8mb4", Some("x\0"), None).is_err());
        assert!(mysql_create_database("a", "utf8mb4", None, Some("x\0")).is_err());
        assert!(mysql_drop_database("a\0").is_err());
        assert!(vault_postgres_statements("a\0_owner", "a_owner", Access::Owner).is_err());
        assert!(vault_postgres_statements("a_owner", "a\0", Access::Owner).is_err());
        assert!(vault_mysql_statements("a\0", Access::Owner).is_err());
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
    fn pgbouncer_commands_only_take_plain_names() {
        assert_eq!(
            pgbouncer_command("KILL", "app_1").as_deref(),
            Some("KILL app_1")
        );
        assert_eq!(pgbouncer_command("KILL", "a;SHUTDOWN"), None);
        assert_eq!(pgbouncer_command("KILL", ""), None);
    }

    /// A tiny SQL lexer for the property below: after one quoted token, the rest of
    /// the string must be empty (nothing escaped the quotes).
    fn pg_ident_token_len(s: &str) -> Option<usize> {
        let b = s.as_bytes();
        if b.first() != Some(&b'"') {
            return None;
        }
        let mut i = 1;
        while i < b.len() {
            if b[i] == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                return Some(i + 1);
            }
            i += 1;
        }
        None
    }

    fn pg_literal_token_len(s: &str) -> Option<usize> {
        let b = s.as_bytes();
        let (mut i, escapes) = match b.first() {
            Some(b'E') => (2, true),
            Some(b'\'') => (1, false),
            _ => return None,
        };
        while i < b.len() {
            match b[i] {
                b'\\' if escapes => i += 2,
                b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
                b'\'' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    proptest! {
        #[test]
        fn quoted_identifiers_are_one_token(s in ".*") {
            let q = quote_ident(&s);
            prop_assert_eq!(pg_ident_token_len(&q), Some(q.len()));
        }

        #[test]
        fn quoted_literals_are_one_token(s in ".*") {
            let q = quote_literal(&s);
            prop_assert_eq!(pg_literal_token_len(&q), Some(q.len()));
        }

        #[test]
        fn mysql_identifiers_are_one_token(s in "[^\\x00]*") {
            let q = quote_mysql_ident(&s).unwrap();
            let inner = &q[1..q.len() - 1];
            prop_assert!(!inner.replace("``", "").contains('`'));
        }
    }
}

/// Which group a Vault-issued login joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Joins `<db>_owner` and runs as it, so objects it creates outlive it.
    Owner,
    /// Joins `<db>_readwrite`.
    ReadWrite,
    /// Joins `<db>_readonly`.
    ReadOnly,
}

impl Access {
    /// Parses `owner` / `readwrite` / `readonly`.
    pub fn parse(s: &str) -> Option<Access> {
        match s {
            "owner" => Some(Access::Owner),
            "readwrite" => Some(Access::ReadWrite),
            "readonly" => Some(Access::ReadOnly),
            _ => None,
        }
    }

    /// The attribute value: `owner`, `readwrite` or `readonly`.
    pub fn name(self) -> &'static str {
        self.suffix()
    }

    fn suffix(self) -> &'static str {
        match self {
            Access::Owner => "owner",
            Access::ReadWrite => "readwrite",
            Access::ReadOnly => "readonly",
        }
    }
}

/// Vault statements for one role: creation, revocation, rotation (static roles).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VaultStatements {
    /// Run when Vault issues a login (`{{name}}`, `{{password}}`, `{{expiration}}` are Vault's).
    pub creation: Vec<String>,
    /// Run when the lease ends.
    pub revocation: Vec<String>,
    /// Run when a static role rotates.
    pub rotation: Vec<String>,
}

/// PostgreSQL statements: the login joins `<db>_<access>` (or `owner` when that is the
/// database's owner role); an `owner` login runs as the owner so what it creates is
/// owned by the stable role and survives revocation. Revocation ends its sessions first.
pub fn vault_postgres_statements(
    group: &str,
    owner_role: &str,
    access: Access,
) -> Result<VaultStatements, BadIdentifier> {
    let mut creation = vec![format!(
        "CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' VALID UNTIL '{{{{expiration}}}}' IN ROLE {};",
        try_quote_ident(group)?
    )];
    if access == Access::Owner {
        creation.push(format!(
            "ALTER ROLE \"{{{{name}}}}\" SET role = {};",
            try_quote_literal(owner_role)?
        ));
    }
    Ok(VaultStatements {
        creation,
        revocation: vec![
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = '{{name}}';".to_string(),
            "DROP ROLE IF EXISTS \"{{name}}\";".to_string(),
        ],
        rotation: vec!["ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';".to_string()],
    })
}

/// The group role a PostgreSQL login of `access` joins for database `db`.
pub fn postgres_group(db: &str, owner_role: &str, access: Access) -> String {
    match access {
        Access::Owner => owner_role.to_string(),
        other => format!("{db}_{}", other.suffix()),
    }
}

/// MySQL/MariaDB statements: a user limited to its schema (`readonly` = SELECT only).
pub fn vault_mysql_statements(db: &str, access: Access) -> Result<VaultStatements, BadIdentifier> {
    let privileges = match access {
        Access::Owner => "ALL PRIVILEGES",
        Access::ReadWrite => {
            "SELECT, INSERT, UPDATE, DELETE, EXECUTE, CREATE TEMPORARY TABLES, LOCK TABLES"
        }
        Access::ReadOnly => "SELECT",
    };
    Ok(VaultStatements {
        creation: vec![
            "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';".to_string(),
            format!(
                "GRANT {privileges} ON {}.* TO '{{{{name}}}}'@'%';",
                // In GRANT's database position `_` and `%` are wildcards: escape them.
                quote_mysql_ident(&db.replace('_', "\\_").replace('%', "\\%"))?
            ),
        ],
        revocation: vec!["DROP USER IF EXISTS '{{name}}'@'%';".to_string()],
        rotation: vec!["ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';".to_string()],
    })
}

/// Command rules every tenant login of the shared Redis gets after its own rules
/// (namespace users and Vault-issued logins alike; ACL rules apply left to right, so no
/// configured rule can undo them): server administration; commands acting on every
/// tenant's keys whatever the key patterns (`FLUSHALL`, `FLUSHDB`, `SWAPDB`, `KEYS`,
/// `MIGRATE`); and those that destroy or list every tenant's scripts and channels
/// (`FUNCTION FLUSH|DELETE|LOAD|RESTORE`, `SCRIPT FLUSH`, `PUBSUB CHANNELS|SHARDCHANNELS`).
pub const REDIS_GUARD_RULES: &[&str] = &[
    "-@admin",
    "-flushall",
    "-flushdb",
    "-swapdb",
    "-keys",
    "-migrate",
    "-function|flush",
    "-function|delete",
    "-function|load",
    "-function|restore",
    "-script|flush",
    "-pubsub|channels",
    "-pubsub|shardchannels",
];

/// Guard rules against walking the keyspace, which shows every tenant's key names
/// (`SCAN`, `RANDOMKEY`); a namespace opts out with `allow_keyspace_scan`.
pub const REDIS_KEYSPACE_GUARD_RULES: &[&str] = &["-scan", "-randomkey"];

/// The guard rules appended after a tenant login's own command rules.
pub fn redis_guard_rules(allow_keyspace_scan: bool) -> Vec<String> {
    let scan: &[&str] = if allow_keyspace_scan {
        &[]
    } else {
        REDIS_KEYSPACE_GUARD_RULES
    };
    REDIS_GUARD_RULES
        .iter()
        .chain(scan)
        .map(|r| r.to_string())
        .collect()
}

fn redis_access_rules(access: Access) -> &'static [&'static str] {
    match access {
        Access::ReadOnly => &["+@read", "+@connection", "-@admin", "-@dangerous"],
        _ => &["+@all", "-@admin", "-@dangerous"],
    }
}

/// Redis statements: one JSON list of ACL rules confining the user to the key prefix
/// and channels under it (`readonly` gets read commands only), then the guard rules.
pub fn vault_redis_statements(key_prefix: &str, access: Access) -> VaultStatements {
    vault_redis_statements_for(
        &[format!("~{key_prefix}*")],
        &[format!("&{key_prefix}*")],
        access,
        false,
    )
}

/// Redis statements from a namespace's own key and channel patterns (`~p*`, `&p*`):
/// access rules, then the guard rules (keeping `SCAN`/`RANDOMKEY` only where the
/// namespace allows them).
pub fn vault_redis_statements_for(
    keys: &[String],
    channels: &[String],
    access: Access,
    allow_keyspace_scan: bool,
) -> VaultStatements {
    let mut rules: Vec<String> = keys.iter().chain(channels).cloned().collect();
    rules.extend(redis_access_rules(access).iter().map(|c| c.to_string()));
    rules.extend(redis_guard_rules(allow_keyspace_scan));
    VaultStatements {
        creation: vec![serde_json::Value::from(rules).to_string()],
        revocation: vec![],
        rotation: vec![],
    }
}

/// A LIKE pattern matching logins Vault's default username template made for `role`
/// (`v-<display>-<role, 8 chars>-<random>-<time>`), with LIKE wildcards escaped.
pub fn vault_login_like_pattern(role: &str) -> String {
    let short: String = role.chars().take(8).collect();
    let escaped = short
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("v-%-{escaped}-%")
}

#[cfg(test)]
mod vault_statement_tests {
    use super::*;

    #[test]
    fn postgres_owner_login_runs_as_owner() {
        let s = vault_postgres_statements("app_owner", "app_owner", Access::Owner).unwrap();
        assert_eq!(s.creation[0], "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE \"app_owner\";");
        assert_eq!(
            s.creation[1],
            "ALTER ROLE \"{{name}}\" SET role = 'app_owner';"
        );
        assert!(s.revocation[0].contains("pg_terminate_backend"));
        let ro = vault_postgres_statements(
            &postgres_group("app", "app_owner", Access::ReadOnly),
            "app_owner",
            Access::ReadOnly,
        )
        .unwrap();
        assert_eq!(ro.creation.len(), 1);
        assert!(ro.creation[0].ends_with("IN ROLE \"app_readonly\";"));
    }

    #[test]
    fn mysql_readonly_is_select_only_and_quoted() {
        let s = vault_mysql_statements("shop`x", Access::ReadOnly).unwrap();
        assert_eq!(
            s.creation[1],
            "GRANT SELECT ON `shop``x`.* TO '{{name}}'@'%';"
        );
    }

    #[test]
    fn redis_rules_confine_to_prefix() {
        let s = vault_redis_statements("app:", Access::ReadOnly);
        let rules: Vec<String> = serde_json::from_str(&s.creation[0]).unwrap();
        assert_eq!(rules[..2], ["~app:*".to_string(), "&app:*".to_string()]);
        assert!(rules.contains(&"+@read".to_string()));
        assert!(!rules.contains(&"+@all".to_string()));
        assert!(rules.ends_with(&["-scan".to_string(), "-randomkey".to_string()]));
    }

    #[test]
    fn redis_guards_come_last_and_scan_is_the_only_opt_in() {
        let keys = ["~app:*".to_string()];
        let s = vault_redis_statements_for(&keys, &[], Access::Owner, true);
        let rules: Vec<String> = serde_json::from_str(&s.creation[0]).unwrap_or_default();
        let guards = redis_guard_rules(true);
        assert!(rules.ends_with(&guards), "{rules:?}");
        assert!(!rules.iter().any(|r| r == "-scan" || r == "-randomkey"));
        for r in [
            "-function|flush",
            "-script|flush",
            "-pubsub|channels",
            "-keys",
        ] {
            assert!(guards.iter().any(|g| g == r), "{r}");
        }
        assert!(
            redis_guard_rules(false).ends_with(&["-scan".to_string(), "-randomkey".to_string()])
        );
    }

    #[test]
    fn login_pattern_escapes_like_wildcards() {
        assert_eq!(
            vault_login_like_pattern("postgres-myapp-role"),
            "v-%-postgres-%"
        );
        assert_eq!(vault_login_like_pattern("a_b%c"), "v-%-a\\_b\\%c-%");
    }
}

// --- MySQL / MariaDB --------------------------------------------------------------------

/// Which server family a MySQL-protocol connection reaches; detected once per pool from
/// `SELECT VERSION()` (MariaDB says so in it), because a few catalog queries differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MysqlDialect {
    /// Oracle MySQL 8 (the platform's InnoDB Cluster).
    Mysql8,
    /// MariaDB (the test stand-in). From 10.10 on, collations such as
    /// `utf8mb4_uca1400_ai_ci` exist only as full names in
    /// `COLLATION_CHARACTER_SET_APPLICABILITY.FULL_COLLATION_NAME`.
    MariaDb {
        /// The server has `FULL_COLLATION_NAME` (10.10 and later).
        full_collation_names: bool,
        /// `CREATE/ALTER DATABASE ... COMMENT` and `SCHEMATA.SCHEMA_COMMENT` (10.5 and later).
        schema_comments: bool,
    },
}

impl MysqlDialect {
    /// The dialect of a server whose `SELECT VERSION()` said `version`.
    pub fn from_version(version: &str) -> MysqlDialect {
        if !version.to_ascii_lowercase().contains("mariadb") {
            return MysqlDialect::Mysql8;
        }
        // MariaDB 10.x/11.x: "10.11.14-MariaDB-0+deb12u2" (older replication-safe builds
        // prefix "5.5.5-", which is not the real version).
        let real = version.strip_prefix("5.5.5-").unwrap_or(version);
        let mut parts = real
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        MysqlDialect::MariaDb {
            full_collation_names: (major, minor) >= (10, 10),
            schema_comments: (major, minor) >= (10, 5),
        }
    }

    /// Whether databases carry a comment, written atomically by `CREATE DATABASE`: the
    /// create-in-progress marker. MariaDB 10.5+ only; MySQL 8 has no database comment.
    pub fn schema_comments(self) -> bool {
        matches!(
            self,
            MysqlDialect::MariaDb {
                schema_comments: true,
                ..
            }
        )
    }

    /// A query with parameters (character set, collation) returning one row when the
    /// collation exists and applies to the character set.
    pub fn collation_applies_query(self) -> &'static str {
        match self {
            MysqlDialect::MariaDb {
                full_collation_names: true,
                ..
            } => "SELECT 1 FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE CHARACTER_SET_NAME = ? AND FULL_COLLATION_NAME = ? LIMIT 1",
            _ => "SELECT 1 FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE CHARACTER_SET_NAME = ? AND COLLATION_NAME = ? LIMIT 1",
        }
    }

    /// A query with parameters (database name, database name) listing the accounts whose
    /// database-level grants would reach a database of that name: `user`, `host`, `db`
    /// pattern. Grants on `app_1` also match `appx1` (`_` and `%` are wildcards), except
    /// on MySQL 8 with `partial_revokes`, which reads them literally.
    pub fn grants_reaching_query(self) -> &'static str {
        match self {
            MysqlDialect::Mysql8 => "SELECT User, Host, Db FROM mysql.db WHERE IF(@@GLOBAL.partial_revokes, Db = ?, ? LIKE Db) ORDER BY User, Host",
            MysqlDialect::MariaDb { .. } => "SELECT User, Host, Db FROM mysql.db WHERE Db = ? OR ? LIKE Db ORDER BY User, Host",
        }
    }
}

/// Query with parameter (database name) returning its default character set and
/// collation, or no row when the database does not exist.
pub const MYSQL_SCHEMA_QUERY: &str = "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";

/// Query with parameter (database name) returning its comment (MariaDB 10.5+ only).
pub const MARIADB_SCHEMA_COMMENT_QUERY: &str =
    "SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";

/// The comment `CREATE DATABASE` writes on MariaDB, in the same statement, and a
/// completed create clears: a database bearing it was made by this provider in a create
/// that never finished, and the next create resumes it instead of refusing it.
pub const MYSQL_CREATE_PENDING_MARKER: &str = "terraform-provider-dbaas: create in progress";

/// Query with parameter (character set) returning one row when the server knows it.
pub const MYSQL_CHARSET_QUERY: &str =
    "SELECT 1 FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = ? LIMIT 1";

fn mysql_charset_clause(charset: &str, collation: Option<&str>) -> Result<String, BadIdentifier> {
    // Character set and collation names are identifiers to the parser; backticks keep
    // them safe whatever the sql_mode (string literals depend on NO_BACKSLASH_ESCAPES).
    let mut s = format!(" CHARACTER SET {}", quote_mysql_ident(charset)?);
    if let Some(c) = collation {
        let _ = write!(s, " COLLATE {}", quote_mysql_ident(c)?);
    }
    Ok(s)
}

/// `CREATE DATABASE`: same text for MySQL 8 and MariaDB; without a collation the server
/// picks its default for the character set (`utf8mb4_0900_ai_ci` on MySQL 8,
/// `utf8mb4_general_ci` on MariaDB 10.11).
pub fn mysql_create_database(
    name: &str,
    charset: &str,
    collation: Option<&str>,
    comment: Option<&str>,
) -> Result<String, BadIdentifier> {
    let mut s = format!(
        "CREATE DATABASE {}{}",
        quote_mysql_ident(name)?,
        mysql_charset_clause(charset, collation)?
    );
    if let Some(c) = comment {
        let _ = write!(s, " COMMENT {}", quote_mysql_literal(c)?);
    }
    Ok(s)
}

/// `ALTER DATABASE ... COMMENT '...'` (MariaDB 10.5+): clears the create-in-progress marker.
pub fn mysql_set_database_comment(name: &str, comment: &str) -> Result<String, BadIdentifier> {
    Ok(format!(
        "ALTER DATABASE {} COMMENT {}",
        quote_mysql_ident(name)?,
        quote_mysql_literal(comment)?
    ))
}

/// `ALTER DATABASE ... CHARACTER SET ... [COLLATE ...]`: changes the defaults for new
/// tables; existing tables keep theirs.
pub fn mysql_alter_database(
    name: &str,
    charset: &str,
    collation: Option<&str>,
) -> Result<String, BadIdentifier> {
    Ok(format!(
        "ALTER DATABASE {}{}",
        quote_mysql_ident(name)?,
        mysql_charset_clause(charset, collation)?
    ))
}

/// `DROP DATABASE IF EXISTS`: a retried destroy finds it gone and succeeds.
pub fn mysql_drop_database(name: &str) -> Result<String, BadIdentifier> {
    Ok(format!(
        "DROP DATABASE IF EXISTS {}",
        quote_mysql_ident(name)?
    ))
}

#[cfg(test)]
mod mysql_tests {
    use super::*;

    const MYSQL8: MysqlDialect = MysqlDialect::Mysql8;

    #[test]
    fn dialect_detection() {
        assert_eq!(MysqlDialect::from_version("8.0.36"), MYSQL8);
        assert_eq!(MysqlDialect::from_version("8.4.0-commercial"), MYSQL8);
        assert_eq!(
            MysqlDialect::from_version("10.11.14-MariaDB-0+deb12u2"),
            MysqlDialect::MariaDb {
                full_collation_names: true,
                schema_comments: true
            }
        );
        assert_eq!(
            MysqlDialect::from_version("5.5.5-10.6.18-MariaDB-log"),
            MysqlDialect::MariaDb {
                full_collation_names: false,
                schema_comments: true
            }
        );
        assert_eq!(
            MysqlDialect::from_version("11.4.2-MariaDB"),
            MysqlDialect::MariaDb {
                full_collation_names: true,
                schema_comments: true
            }
        );
    }

    #[test]
    fn mysql8_statements() {
        assert_eq!(
            mysql_create_database("app_1", "utf8mb4", None, None).as_deref(),
            Ok("CREATE DATABASE `app_1` CHARACTER SET `utf8mb4`")
        );
        assert_eq!(
            mysql_create_database("app_1", "utf8mb4", Some("utf8mb4_0900_ai_ci"), None).as_deref(),
            Ok("CREATE DATABASE `app_1` CHARACTER SET `utf8mb4` COLLATE `utf8mb4_0900_ai_ci`")
        );
        assert_eq!(
            mysql_alter_database("app_1", "latin1", Some("latin1_bin")).as_deref(),
            Ok("ALTER DATABASE `app_1` CHARACTER SET `latin1` COLLATE `latin1_bin`")
        );
        assert_eq!(
            mysql_drop_database("app_1").as_deref(),
            Ok("DROP DATABASE IF EXISTS `app_1`")
        );
        assert!(MYSQL8
            .collation_applies_query()
            .contains("COLLATION_NAME = ?"));
        assert!(!MYSQL8
            .collation_applies_query()
            .contains("FULL_COLLATION_NAME"));
        assert!(MYSQL8
            .grants_reaching_query()
            .contains("@@GLOBAL.partial_revokes"));
    }

    #[test]
    fn mariadb_statements_differ_only_where_the_catalog_does() {
        let maria = MysqlDialect::MariaDb {
            full_collation_names: true,
            schema_comments: true,
        };
        assert!(maria
            .collation_applies_query()
            .contains("FULL_COLLATION_NAME = ?"));
        assert!(!maria.grants_reaching_query().contains("partial_revokes"));
        let old = MysqlDialect::MariaDb {
            full_collation_names: false,
            schema_comments: false,
        };
        assert_eq!(
            old.collation_applies_query(),
            MYSQL8.collation_applies_query()
        );
        // The same parameters (name, name) bind in every dialect.
        for d in [MYSQL8, maria, old] {
            assert_eq!(d.grants_reaching_query().matches('?').count(), 2);
            assert_eq!(d.collation_applies_query().matches('?').count(), 2);
        }
    }

    #[test]
    fn create_pending_marker_is_written_by_create_and_cleared_by_alter() {
        assert!(!MYSQL8.schema_comments());
        assert!(MysqlDialect::from_version("10.5.2-MariaDB").schema_comments());
        assert!(!MysqlDialect::from_version("10.4.30-MariaDB").schema_comments());
        assert_eq!(
            mysql_create_database("app", "utf8mb4", None, Some(MYSQL_CREATE_PENDING_MARKER))
                .as_deref(),
            Ok("CREATE DATABASE `app` CHARACTER SET `utf8mb4` COMMENT 'terraform-provider-dbaas: create in progress'")
        );
        assert_eq!(
            mysql_set_database_comment("app", "").as_deref(),
            Ok("ALTER DATABASE `app` COMMENT ''")
        );
    }

    #[test]
    fn hostile_names_stay_inside_their_quotes() {
        assert_eq!(
            mysql_create_database("a`; DROP DATABASE b; --", "x`y", Some("c`d"), None).as_deref(),
            Ok("CREATE DATABASE `a``; DROP DATABASE b; --` CHARACTER SET `x``y` COLLATE `c``d`")
        );
    }
}
