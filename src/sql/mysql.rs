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

/// What a tenant login runs to prove it works (the ephemeral credentials' `verify`).
pub const MYSQL_LOGIN_CHECK: &str = "SELECT 1";

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
