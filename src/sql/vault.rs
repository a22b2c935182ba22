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
/// configured rule can undo them). Each closes a command or subcommand that reaches past
/// the tenant's key prefix and channels, whatever its key patterns say; the resource page
/// of `dbaas_shared_redis_namespace` lists them with the reason, and what stays open.
pub const REDIS_GUARD_RULES: &[&str] = &[
    // Server administration (CONFIG, CLIENT LIST|KILL|PAUSE|NO-EVICT, MONITOR, DEBUG,
    // SLOWLOG, LATENCY, ACL, ...).
    "-@admin",
    // Every tenant's keys at once, or the server.
    "-flushall",
    "-flushdb",
    "-keys",
    "-migrate",
    // Other logical databases: keys moved or copied there escape the prefix's owner
    // (destroy's key deletion looks in database 0 only, and a later namespace of the same
    // name would find them). `SELECT 0` stays, as clients send it on connect.
    "-select",
    "+select|0",
    "-move",
    "-copy",
    "-swapdb",
    // Scripts and functions are shared by every tenant: no flushing, deleting, loading,
    // listing, dumping or killing them, no view of what runs, no (blocking) debugger.
    "-function|flush",
    "-function|delete",
    "-function|load",
    "-function|restore",
    "-function|list",
    "-function|dump",
    "-function|stats",
    "-function|kill",
    "-script|flush",
    "-script|kill",
    "-script|debug",
    // Other tenants' channels: listed, or probed by name or pattern count.
    "-pubsub|channels",
    "-pubsub|shardchannels",
    "-pubsub|numsub",
    "-pubsub|shardnumsub",
    "-pubsub|numpat",
    // Client-side caching: BCAST without a prefix delivers an invalidation for every key
    // any tenant writes, and REDIRECT sends them to another client.
    "-client|tracking",
    // Whole-instance counters that show everyone's activity (INFO keyspace, clients,
    // commandstats; in `@dangerous`, which a configured `+@all` would re-allow).
    "-info",
    "-dbsize",
    "-memory|stats",
    "-memory|doctor",
    "-memory|malloc-stats",
    "-memory|purge",
    // Key names and counts by hash slot (cluster deployments).
    "-cluster|getkeysinslot",
    "-cluster|countkeysinslot",
];

/// Guard rules against walking the keyspace, which shows every tenant's key names
/// (`SCAN`, `RANDOMKEY`); a namespace opts out with `allow_keyspace_scan`.
pub const REDIS_KEYSPACE_GUARD_RULES: &[&str] = &["-scan", "-randomkey"];

/// The guard rule removing Lua scripts and functions (`EVAL*`, `EVALSHA*`, `FCALL*`,
/// `SCRIPT`, `FUNCTION`) for a namespace with `allow_scripting = false`: one script
/// without an end freezes the shared server for every tenant.
pub const REDIS_SCRIPTING_GUARD_RULE: &str = "-@scripting";

/// What a namespace opts into beyond the guard rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedisOptIns {
    /// `SCAN` and `RANDOMKEY` (every tenant's key names).
    pub keyspace_scan: bool,
    /// Lua scripts and functions.
    pub scripting: bool,
}

impl Default for RedisOptIns {
    /// The namespace defaults: no keyspace scan, scripting on.
    fn default() -> Self {
        RedisOptIns {
            keyspace_scan: false,
            scripting: true,
        }
    }
}

/// The guard rules appended after a tenant login's own command rules.
pub fn redis_guard_rules(opt_ins: RedisOptIns) -> Vec<String> {
    let scan: &[&str] = if opt_ins.keyspace_scan {
        &[]
    } else {
        REDIS_KEYSPACE_GUARD_RULES
    };
    let scripting: &[&str] = if opt_ins.scripting {
        &[]
    } else {
        &[REDIS_SCRIPTING_GUARD_RULE]
    };
    REDIS_GUARD_RULES
        .iter()
        .chain(scan)
        .chain(scripting)
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
        RedisOptIns::default(),
    )
}

/// Redis statements from a namespace's own key and channel patterns (`~p*`, `&p*`):
/// access rules, then the guard rules for `opt_ins`.
pub fn vault_redis_statements_for(
    keys: &[String],
    channels: &[String],
    access: Access,
    opt_ins: RedisOptIns,
) -> VaultStatements {
    let mut rules: Vec<String> = keys.iter().chain(channels).cloned().collect();
    rules.extend(redis_access_rules(access).iter().map(|c| c.to_string()));
    rules.extend(redis_guard_rules(opt_ins));
    VaultStatements {
        creation: vec![serde_json::Value::from(rules).to_string()],
        revocation: vec![],
        rotation: vec![],
    }
}

/// Catalog: what a static role's login is, by name ($1), as
/// `backends::postgres::PgLoginFacts`: `can_login`, `superuser`, `createrole`,
/// `createdb`, `replication`, `bypassrls`, `is_admin` (it is the current user),
/// `member_of` (every role it is a member of, directly or not).
pub const POSTGRES_LOGIN_FACTS: &str =
    "SELECT r.rolcanlogin AS can_login, r.rolsuper AS superuser, r.rolcreaterole AS createrole, \
     r.rolcreatedb AS createdb, r.rolreplication AS replication, \
     r.rolbypassrls AS bypassrls, r.rolname OPERATOR(pg_catalog.=) CURRENT_USER AS is_admin, \
     ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_roles g \
           WHERE g.oid OPERATOR(pg_catalog.<>) r.oid \
           AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER') ORDER BY 1) AS member_of \
     FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) $1";

/// MySQL: how many accounts (any host) have user name `?`.
pub const MYSQL_USER_EXISTS: &str = "SELECT COUNT(*) FROM mysql.user WHERE User = ?";

/// MySQL: every global privilege, as `backends::mysql::GranteePrivilege` (`grantee`,
/// `privilege`); the grantee is `'user'@'host'`.
pub const MYSQL_GLOBAL_PRIVILEGES: &str =
    "SELECT GRANTEE AS grantee, PRIVILEGE_TYPE AS privilege FROM information_schema.USER_PRIVILEGES";

/// MySQL: every database-level grant as `backends::mysql::GranteeSchema` (`grantee`,
/// `schema_name`: the database pattern as granted).
pub const MYSQL_SCHEMA_PRIVILEGES: &str =
    "SELECT DISTINCT GRANTEE AS grantee, TABLE_SCHEMA AS schema_name FROM information_schema.SCHEMA_PRIVILEGES";

/// MySQL: every table- and column-level grant as `backends::mysql::GranteeSchema`
/// (`grantee`, `schema_name`: the database).
pub const MYSQL_TABLE_PRIVILEGES: &str =
    "SELECT DISTINCT GRANTEE AS grantee, TABLE_SCHEMA AS schema_name FROM information_schema.TABLE_PRIVILEGES \
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
    fn redis_guards_come_last_and_opt_ins_remove_only_their_own() {
        let keys = ["~app:*".to_string()];
        let scan = RedisOptIns {
            keyspace_scan: true,
            scripting: true,
        };
        let s = vault_redis_statements_for(&keys, &[], Access::Owner, scan);
        let rules: Vec<String> = serde_json::from_str(&s.creation[0]).unwrap_or_default();
        let guards = redis_guard_rules(scan);
        assert!(rules.ends_with(&guards), "{rules:?}");
        assert!(!rules.iter().any(|r| r == "-scan" || r == "-randomkey"));
        let defaults = redis_guard_rules(RedisOptIns::default());
        assert!(defaults.ends_with(&["-scan".to_string(), "-randomkey".to_string()]));
        assert!(!defaults.iter().any(|r| r == "-@scripting"));
        let no_scripting = redis_guard_rules(RedisOptIns {
            scripting: false,
            ..RedisOptIns::default()
        });
        assert_eq!(no_scripting.last().map(String::as_str), Some("-@scripting"));
    }

    /// Issue 19: every command or subcommand that reaches past the tenant's prefix, with
    /// the rule that closes it in every tenant login, whatever the opt-ins.
    #[test]
    fn redis_guards_close_every_cross_tenant_command() {
        let closed = [
            // (attack, rule)
            (
                "CLIENT TRACKING ON BCAST: every tenant's key names",
                "-client|tracking",
            ),
            (
                "SCRIPT KILL: another tenant's running script",
                "-script|kill",
            ),
            (
                "FUNCTION KILL: another tenant's running function",
                "-function|kill",
            ),
            ("SCRIPT DEBUG SYNC: blocks the server", "-script|debug"),
            ("SELECT n: keys out of destroy's reach", "-select"),
            ("MOVE key n", "-move"),
            ("COPY src dst DB n", "-copy"),
            ("SWAPDB", "-swapdb"),
            ("PUBSUB NUMSUB: probes channel names", "-pubsub|numsub"),
            ("PUBSUB SHARDNUMSUB", "-pubsub|shardnumsub"),
            (
                "PUBSUB NUMPAT: others' pattern subscriptions",
                "-pubsub|numpat",
            ),
            ("PUBSUB CHANNELS", "-pubsub|channels"),
            ("PUBSUB SHARDCHANNELS", "-pubsub|shardchannels"),
            ("FUNCTION LIST: the platform's libraries", "-function|list"),
            ("FUNCTION DUMP", "-function|dump"),
            ("FUNCTION STATS: what runs now", "-function|stats"),
            ("FUNCTION FLUSH", "-function|flush"),
            ("FUNCTION DELETE", "-function|delete"),
            ("FUNCTION LOAD", "-function|load"),
            ("FUNCTION RESTORE", "-function|restore"),
            ("SCRIPT FLUSH", "-script|flush"),
            ("DBSIZE: everyone's key count", "-dbsize"),
            ("INFO keyspace|clients|commandstats", "-info"),
            ("MEMORY STATS: keys.count and more", "-memory|stats"),
            ("MEMORY DOCTOR", "-memory|doctor"),
            ("MEMORY MALLOC-STATS", "-memory|malloc-stats"),
            ("MEMORY PURGE", "-memory|purge"),
            ("CLUSTER GETKEYSINSLOT: key names", "-cluster|getkeysinslot"),
            ("CLUSTER COUNTKEYSINSLOT", "-cluster|countkeysinslot"),
            ("FLUSHALL", "-flushall"),
            ("FLUSHDB", "-flushdb"),
            ("KEYS", "-keys"),
            ("MIGRATE", "-migrate"),
            ("CLIENT LIST|KILL|PAUSE|NO-EVICT, MONITOR, ...", "-@admin"),
        ];
        for opt_ins in [
            RedisOptIns::default(),
            RedisOptIns {
                keyspace_scan: true,
                scripting: true,
            },
            RedisOptIns {
                keyspace_scan: true,
                scripting: false,
            },
        ] {
            let guards = redis_guard_rules(opt_ins);
            for (attack, rule) in closed {
                assert!(guards.iter().any(|g| g == rule), "{attack}: {rule} missing");
            }
            // The one allowing rule re-opens only `SELECT 0`, right after `-select`.
            let allows: Vec<&String> = guards.iter().filter(|g| g.starts_with('+')).collect();
            assert_eq!(allows, ["+select|0"]);
            let at = guards.iter().position(|g| g == "-select");
            assert_eq!(
                at.and_then(|i| guards.get(i + 1)).map(String::as_str),
                Some("+select|0")
            );
        }
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
