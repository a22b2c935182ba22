//! Vault's statement templates: what a Vault-issued login runs on each engine.

use super::{quote_mysql_ident, try_quote_ident, try_quote_literal, BadIdentifier};

pub use crate::enums::Access;

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
        other => format!("{db}_{}", other.as_str()),
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

/// Catalog: what a static role's login is, by name ($1): `(rolcanlogin, rolsuper,
/// rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, is the current user, every
/// role it is a member of, directly or not)`.
pub const POSTGRES_LOGIN_FACTS: &str =
    "SELECT r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, \
     r.rolbypassrls, r.rolname OPERATOR(pg_catalog.=) CURRENT_USER, \
     ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_roles g \
           WHERE g.oid OPERATOR(pg_catalog.<>) r.oid \
           AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER') ORDER BY 1) \
     FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) $1";

/// MySQL: how many accounts (any host) have user name `?`.
pub const MYSQL_USER_EXISTS: &str = "SELECT COUNT(*) FROM mysql.user WHERE User = ?";

/// MySQL: every global privilege, as `(grantee, privilege)`; the grantee is `'user'@'host'`.
pub const MYSQL_GLOBAL_PRIVILEGES: &str =
    "SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES";

/// MySQL: every database-level grant as `(grantee, database pattern as granted)`.
pub const MYSQL_SCHEMA_PRIVILEGES: &str =
    "SELECT DISTINCT GRANTEE, TABLE_SCHEMA FROM information_schema.SCHEMA_PRIVILEGES";

/// MySQL: every table- and column-level grant as `(grantee, database)`.
pub const MYSQL_TABLE_PRIVILEGES: &str =
    "SELECT DISTINCT GRANTEE, TABLE_SCHEMA FROM information_schema.TABLE_PRIVILEGES \
     UNION SELECT DISTINCT GRANTEE, TABLE_SCHEMA FROM information_schema.COLUMN_PRIVILEGES";

/// The user part of a MySQL grantee `'user'@'host'` (as `information_schema` writes it).
pub fn mysql_grantee_user(grantee: &str) -> Option<String> {
    let rest = grantee.strip_prefix('\'')?;
    let (user, _) = rest.rsplit_once("'@'")?;
    Some(user.replace("''", "'"))
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
    fn grantee_user_part() {
        assert_eq!(mysql_grantee_user("'app'@'%'").as_deref(), Some("app"));
        assert_eq!(
            mysql_grantee_user("'a''b'@'10.0.0.1'").as_deref(),
            Some("a'b")
        );
        assert_eq!(mysql_grantee_user("app"), None);
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
