//! MySQL and MariaDB: dialects, statement builders and catalog queries.

use std::fmt::Write as _;

use super::{quote_mysql_ident, quote_mysql_literal, BadIdentifier};

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

    /// A query with parameters (database name, four times) listing the accounts whose
    /// grants would reach a database of that name, as `backends::mysql::Grantee`: `user`,
    /// `host`, and `pattern`, what the grant is on (the `db` pattern, or `db.table` /
    /// `db.routine`). Grants on `app_1` also match
    /// `appx1` (`_` and `%` are wildcards), except on MySQL 8 with `partial_revokes`,
    /// which reads them literally. Table (and column) and routine grants name the
    /// database literally and outlive a dropped database, reaching its namesake's
    /// objects of the same name.
    pub fn grants_reaching_query(self) -> &'static str {
        match self {
            MysqlDialect::Mysql8 => "SELECT User AS user, Host AS host, Db AS pattern FROM mysql.db WHERE IF(@@GLOBAL.partial_revokes, Db = ?, ? LIKE Db) \
UNION SELECT User, Host, CONCAT(Db, '.', Table_name) FROM mysql.tables_priv WHERE Db = ? \
UNION SELECT User, Host, CONCAT(Db, '.', Routine_name) FROM mysql.procs_priv WHERE Db = ? ORDER BY 1, 2, 3",
            MysqlDialect::MariaDb { .. } => "SELECT User AS user, Host AS host, Db AS pattern FROM mysql.db WHERE Db = ? OR ? LIKE Db \
UNION SELECT User, Host, CONCAT(Db, '.', Table_name) FROM mysql.tables_priv WHERE Db = ? \
UNION SELECT User, Host, CONCAT(Db, '.', Routine_name) FROM mysql.procs_priv WHERE Db = ? ORDER BY 1, 2, 3",
        }
    }
}

/// What a tenant login runs to prove it works (the ephemeral credentials' `verify`).
pub const MYSQL_LOGIN_CHECK: &str = "SELECT 1";

/// Query with parameter (database name) returning its default character set and
/// collation as `backends::mysql::SchemaInfo` (`charset`, `collation`), or no row when
/// the database does not exist.
pub const MYSQL_SCHEMA_QUERY: &str = "SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";

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

/// `name` as the database position of GRANT reads it literally: `\\`, `_` and `%`
/// escaped with a backslash (unescaped, `_` and `%` are wildcards there).
pub fn mysql_grant_db_pattern(name: &str) -> String {
    name.replace('\\', "\\\\")
        .replace('_', "\\_")
        .replace('%', "\\%")
}

/// `DROP DATABASE IF EXISTS`: a retried destroy finds it gone and succeeds.
pub fn mysql_drop_database(name: &str) -> Result<String, BadIdentifier> {
    Ok(format!(
        "DROP DATABASE IF EXISTS {}",
        quote_mysql_ident(name)?
    ))
}

// ---------------------------------------------------------------------------------------
// accounts of a database being destroyed
// ---------------------------------------------------------------------------------------

/// An account (or role) as GRANT, REVOKE and DROP USER name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct MysqlAccount {
    /// `User`.
    pub user: String,
    /// `Host` (empty for a MariaDB role).
    pub host: String,
    /// A MariaDB role (`is_role = 'Y'`, including `PUBLIC`): named without a host.
    pub mariadb_role: bool,
}

impl MysqlAccount {
    /// `` `user`@`host` ``, or `` `role` `` for a MariaDB role (`'role'@''` names no role
    /// there). Backticks read the same whatever the sql_mode.
    pub fn quoted(&self) -> Result<String, BadIdentifier> {
        // The anonymous user (and a MariaDB role's host) is empty: `''` reads the same in
        // every sql_mode, where an empty quoted identifier is not valid on every server.
        let part = |s: &str| {
            if s.is_empty() {
                Ok("''".to_string())
            } else {
                quote_mysql_ident(s)
            }
        };
        if self.mariadb_role {
            part(&self.user)
        } else {
            Ok(format!("{}@{}", part(&self.user)?, part(&self.host)?))
        }
    }

    /// How messages name it: `'user'@'host'`, or `role 'name'`.
    pub fn display(&self) -> String {
        if self.mariadb_role {
            format!("role '{}'", self.user)
        } else {
            format!("'{}'@'{}'", self.user, self.host)
        }
    }

    /// `'user'@'host'` as `information_schema` spells the `GRANTEE` (unescaped).
    pub fn grantee(&self) -> String {
        format!("'{}'@'{}'", self.user, self.host)
    }
}

/// The level of one grant row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MysqlGrantLevel {
    /// `mysql.db`: `` `pattern`.* `` (`_` and `%` are wildcards unless escaped).
    Database,
    /// `mysql.tables_priv`: a table, with its column privileges (`Column_priv`).
    Table,
    /// `mysql.procs_priv`: a routine of this kind.
    Routine(RoutineKind),
}

/// The kinds of routine `mysql.procs_priv.Routine_type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoutineKind {
    /// `PROCEDURE`.
    Procedure,
    /// `FUNCTION`.
    Function,
    /// MariaDB's `PACKAGE`.
    Package,
    /// MariaDB's `PACKAGE BODY`.
    PackageBody,
}

impl RoutineKind {
    /// The kind a `Routine_type` value names; `None` for anything else.
    pub fn parse(s: &str) -> Option<RoutineKind> {
        match s.to_ascii_uppercase().as_str() {
            "PROCEDURE" => Some(RoutineKind::Procedure),
            "FUNCTION" => Some(RoutineKind::Function),
            "PACKAGE" => Some(RoutineKind::Package),
            "PACKAGE BODY" => Some(RoutineKind::PackageBody),
            _ => None,
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            RoutineKind::Procedure => "PROCEDURE",
            RoutineKind::Function => "FUNCTION",
            RoutineKind::Package => "PACKAGE",
            RoutineKind::PackageBody => "PACKAGE BODY",
        }
    }
}

/// One grant row: where it is, and whether it carries GRANT OPTION.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MysqlGrant {
    /// Database, table or routine level.
    pub level: MysqlGrantLevel,
    /// `Db`: the stored pattern (database level) or database name (other levels).
    pub db: String,
    /// Table or routine name; empty at database level.
    pub object: String,
    /// `WITH GRANT OPTION` on this row.
    pub grant_option: bool,
}

impl MysqlGrant {
    /// The `ON` part of GRANT/REVOKE for this row, exactly as stored.
    fn target(&self) -> Result<String, BadIdentifier> {
        let db = quote_mysql_ident(&self.db)?;
        Ok(match self.level {
            MysqlGrantLevel::Database => format!("{db}.*"),
            MysqlGrantLevel::Table => format!("{db}.{}", quote_mysql_ident(&self.object)?),
            MysqlGrantLevel::Routine(kind) => {
                format!(
                    "{} {db}.{}",
                    kind.keyword(),
                    quote_mysql_ident(&self.object)?
                )
            }
        })
    }

    /// How messages name it: `` `db`.* ``, `` `db`.`t` ``, `` PROCEDURE `db`.`p` ``.
    pub fn display(&self) -> String {
        self.target()
            .unwrap_or_else(|_| format!("{}.{}", self.db, self.object))
    }
}

/// REVOKE statements removing one grant row: `ALL PRIVILEGES` (which at a database,
/// table or routine level takes everything but GRANT OPTION, column privileges of the
/// table included), then `GRANT OPTION` when the row has it (REVOKE of a grant that is
/// not there is an error, so only then). `ALL PRIVILEGES, GRANT OPTION` is only valid
/// for the global form.
pub fn mysql_revoke_grant(
    account: &MysqlAccount,
    grant: &MysqlGrant,
) -> Result<Vec<String>, BadIdentifier> {
    let (on, from) = (grant.target()?, account.quoted()?);
    let mut out = vec![format!("REVOKE ALL PRIVILEGES ON {on} FROM {from}")];
    if grant.grant_option {
        out.push(format!("REVOKE GRANT OPTION ON {on} FROM {from}"));
    }
    Ok(out)
}

/// `REVOKE PROXY ON <login> FROM <proxy>`: nobody may go on proxying as a dropped login
/// (DROP USER leaves those `proxies_priv` rows behind).
pub fn mysql_revoke_proxy(
    login: &MysqlAccount,
    proxy: &MysqlAccount,
) -> Result<String, BadIdentifier> {
    Ok(format!(
        "REVOKE PROXY ON {} FROM {}",
        login.quoted()?,
        proxy.quoted()?
    ))
}

/// `ALTER USER ... ACCOUNT LOCK`: no new session, while the database still exists.
pub fn mysql_lock_account(account: &MysqlAccount) -> Result<String, BadIdentifier> {
    Ok(format!(
        "ALTER USER IF EXISTS {} ACCOUNT LOCK",
        account.quoted()?
    ))
}

/// `DROP USER IF EXISTS`: a retried destroy finds it gone and succeeds.
pub fn mysql_drop_user(account: &MysqlAccount) -> Result<String, BadIdentifier> {
    Ok(format!("DROP USER IF EXISTS {}", account.quoted()?))
}

/// `KILL CONNECTION <id>` (ids come from the server's process list).
pub fn mysql_kill_connection(id: u64) -> String {
    format!("KILL CONNECTION {id}")
}

/// The server error of KILL for a session that has already ended.
pub const MYSQL_UNKNOWN_THREAD: u16 = 1094;

/// Query with parameters (name, name, name escaped for GRANT, name, name) listing every
/// grant row that may reach database `name`, as `backends::mysql::GrantRow`: `level`
/// (`database`, `table`, or the routine type), `user`, `host`, `db`, `object`,
/// `grant_option`. Database-level rows are
/// those whose pattern matches the name as a wildcard, or equals it literally or
/// escaped (MySQL 8 with `partial_revokes` reads patterns literally); the caller tells
/// which are exact. Table (with their column privileges) and routine rows name the
/// database literally; DROP DATABASE leaves all of them behind, and they reach a later
/// database of the same name.
pub const MYSQL_GRANTS_ON_DATABASE_QUERY: &str = "SELECT CAST('database' AS CHAR) AS level, User AS user, Host AS host, Db AS db, CAST('' AS CHAR) AS object, Grant_priv = 'Y' AS grant_option FROM mysql.db WHERE ? LIKE Db OR Db = ? OR Db = ? \
UNION ALL SELECT CAST('table' AS CHAR), User, Host, Db, Table_name, FIND_IN_SET('Grant', Table_priv) > 0 FROM mysql.tables_priv WHERE Db = ? \
UNION ALL SELECT CAST(Routine_type AS CHAR), User, Host, Db, Routine_name, FIND_IN_SET('Grant', Proc_priv) > 0 FROM mysql.procs_priv WHERE Db = ?";

/// Query with parameters (user, host) returning every database-level pattern the
/// account holds a grant on.
pub const MYSQL_ACCOUNT_DB_PATTERNS_QUERY: &str =
    "SELECT Db FROM mysql.db WHERE User = ? AND Host = ?";

/// Query with parameters (user, host) returning the accounts that may proxy as it, as
/// `backends::mysql::AccountRow` (`user`, `host`).
pub const MYSQL_PROXIES_OF_QUERY: &str =
    "SELECT User AS user, Host AS host FROM mysql.proxies_priv WHERE Proxied_user = ? AND Proxied_host = ?";

/// Query listing the sessions other than this one that a destroy may end, as
/// `backends::mysql::Session`: `id`, `user`, `db` (empty when none). Server threads (replication appliers, the event
/// scheduler's daemon, binlog dumps) are left out.
pub const MYSQL_SESSIONS_QUERY: &str = "SELECT ID AS id, USER AS user, COALESCE(DB, '') AS db FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER <> 'system user' AND COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID')";

impl MysqlDialect {
    /// A query with named parameters `:u` (user), `:h` (host), `:g` (grantee as
    /// [`MysqlAccount::grantee`]) and `:d` (database name), each bound where it is used (a
    /// bound value gives way to the catalog column's collation), returning one row of
    /// counts about the account, as `backends::mysql::AccountFootprint`:
    /// `global_privileges` (or a global GRANT OPTION), `other_objects` (table and routine
    /// grants on other databases), `proxies` (proxy grants it holds), `roles_held` (roles
    /// granted to it), and `is_role` (MariaDB's `is_role`; on MySQL 8 a role is an
    /// account granted to others).
    pub fn account_footprint_query(self) -> &'static str {
        match self {
            MysqlDialect::Mysql8 => "SELECT \
(SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES p WHERE p.GRANTEE = :g AND (p.PRIVILEGE_TYPE <> 'USAGE' OR p.IS_GRANTABLE = 'YES')) + (SELECT COUNT(*) FROM mysql.global_grants gg WHERE gg.USER = :u AND gg.HOST = :h) AS global_privileges, \
(SELECT COUNT(*) FROM mysql.tables_priv t WHERE t.User = :u AND t.Host = :h AND t.Db <> :d) + (SELECT COUNT(*) FROM mysql.procs_priv r WHERE r.User = :u AND r.Host = :h AND r.Db <> :d) AS other_objects, \
(SELECT COUNT(*) FROM mysql.proxies_priv x WHERE x.User = :u AND x.Host = :h) AS proxies, \
(SELECT COUNT(*) FROM mysql.role_edges e WHERE e.TO_USER = :u AND e.TO_HOST = :h) AS roles_held, \
(SELECT COUNT(*) FROM mysql.role_edges e WHERE e.FROM_USER = :u AND e.FROM_HOST = :h) AS is_role",
            MysqlDialect::MariaDb { .. } => "SELECT \
(SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES p WHERE p.GRANTEE = :g AND (p.PRIVILEGE_TYPE <> 'USAGE' OR p.IS_GRANTABLE = 'YES')) AS global_privileges, \
(SELECT COUNT(*) FROM mysql.tables_priv t WHERE t.User = :u AND t.Host = :h AND t.Db <> :d) + (SELECT COUNT(*) FROM mysql.procs_priv r WHERE r.User = :u AND r.Host = :h AND r.Db <> :d) AS other_objects, \
(SELECT COUNT(*) FROM mysql.proxies_priv x WHERE x.User = :u AND x.Host = :h) AS proxies, \
(SELECT COUNT(*) FROM mysql.roles_mapping m WHERE m.User = :u AND m.Host = :h) AS roles_held, \
(SELECT COUNT(*) FROM mysql.user r WHERE r.User = :u AND r.Host = :h AND r.is_role = 'Y') AS is_role",
        }
    }

    /// A query without parameters returning 1 when database-level grant patterns are
    /// read literally (MySQL 8's `partial_revokes`), else 0.
    pub fn literal_grant_patterns_query(self) -> &'static str {
        match self {
            MysqlDialect::Mysql8 => "SELECT CAST(@@GLOBAL.partial_revokes AS SIGNED)",
            MysqlDialect::MariaDb { .. } => "SELECT 0",
        }
    }
}

/// Issue 22 `create_login` on MySQL: the static user with a throwaway password nobody
/// is told (Vault rotates it as soon as the role is written) and exactly the privileges
/// a Vault-issued login of `access` gets on `db` (the same generated GRANT).
pub fn create_static_user(
    user: &str,
    db: &str,
    access: super::vault::Access,
    throwaway: &str,
) -> Result<Vec<String>, BadIdentifier> {
    let account = format!("{}@'%'", quote_mysql_literal(user)?);
    let password = quote_mysql_literal(throwaway)?;
    Ok(super::vault::vault_mysql_statements(db, access)?
        .creation
        .into_iter()
        // The password (alphanumeric) first: a quoted user name may contain anything.
        .map(|s| {
            s.replace("'{{password}}'", &password)
                .replace("'{{name}}'@'%'", &account)
        })
        .collect())
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
        // The same parameters (name four times) bind in every dialect.
        for d in [MYSQL8, maria, old] {
            assert_eq!(d.grants_reaching_query().matches('?').count(), 4);
            assert_eq!(d.collation_applies_query().matches('?').count(), 2);
        }
    }

    #[test]
    fn account_queries_bind_the_same_parameters_in_every_dialect() {
        let maria = MysqlDialect::from_version("10.11.14-MariaDB");
        for d in [MYSQL8, maria] {
            let q = d.account_footprint_query();
            assert!(!q.contains('?'), "{q}");
            for p in [":u", ":h", ":g", ":d"] {
                assert!(q.contains(p), "{p} in {q}");
            }
        }
        assert!(MYSQL8.account_footprint_query().contains("role_edges"));
        assert!(maria.account_footprint_query().contains("is_role"));
        assert!(MYSQL8
            .literal_grant_patterns_query()
            .contains("partial_revokes"));
        assert_eq!(MYSQL_GRANTS_ON_DATABASE_QUERY.matches('?').count(), 5);
        assert_eq!(mysql_grant_db_pattern("m_b%\\"), "m\\_b\\%\\\\");
        assert_eq!(mysql_kill_connection(42), "KILL CONNECTION 42");
        let login = MysqlAccount {
            user: "v-a-b".into(),
            host: "%".into(),
            mariadb_role: false,
        };
        assert_eq!(
            mysql_drop_user(&login).as_deref(),
            Ok("DROP USER IF EXISTS `v-a-b`@`%`")
        );
        assert_eq!(login.display(), "'v-a-b'@'%'");
        let anonymous = MysqlAccount {
            user: String::new(),
            host: "10.%".into(),
            mariadb_role: false,
        };
        assert_eq!(
            mysql_drop_user(&anonymous).as_deref(),
            Ok("DROP USER IF EXISTS ''@`10.%`")
        );
        assert_eq!(login.grantee(), "'v-a-b'@'%'");
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
