//! The rows MySQL catalog queries return, each a named struct decoded by column name:
//! every query in `sql/` names its columns (`AS field`), and [`named_row!`] derives the
//! decoder from the struct's field list (mysql_async's `FromRow`), so no column order is
//! kept anywhere. Single-value queries (`SELECT 1`, counts) stay scalars.

use mysql_async::{FromRowError, Row, Value};

/// A row decoded by column name.
pub trait NamedRow: Sized {
    /// The column names it reads (the query's aliases), in field order.
    const COLUMNS: &'static [&'static str];

    /// Decodes from `column(name)`; `None` when a column is absent or does not convert.
    fn decode(column: impl Fn(&str) -> Option<Value>) -> Option<Self>;
}

/// Implements [`NamedRow`] and mysql_async's `FromRow` for a struct whose fields are the
/// query's column aliases: `named_row!(Session { id, user, db })`.
macro_rules! named_row {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl NamedRow for $ty {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn decode(column: impl Fn(&str) -> Option<Value>) -> Option<Self> {
                Some($ty {
                    $($field: mysql_async::from_value_opt(column(stringify!($field))?).ok()?,)+
                })
            }
        }

        impl mysql_async::prelude::FromRow for $ty {
            fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
                match Self::decode(|name| row.get_opt::<Value, _>(name)?.ok()) {
                    Some(decoded) => Ok(decoded),
                    None => Err(FromRowError(row)),
                }
            }
        }
    };
}

/// The default character set and collation of one database (`sql::MYSQL_SCHEMA_QUERY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaInfo {
    /// `DEFAULT_CHARACTER_SET_NAME`.
    pub charset: String,
    /// `DEFAULT_COLLATION_NAME`.
    pub collation: String,
}
named_row!(SchemaInfo { charset, collation });

/// An account whose grant (database, table or routine level) reaches a database name
/// (`MysqlDialect::grants_reaching_query`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grantee {
    /// `User` (empty for the anonymous account).
    pub user: String,
    /// `Host`.
    pub host: String,
    /// What the grant is on: the `Db` pattern, or `db.table` / `db.routine`.
    pub pattern: String,
}
named_row!(Grantee {
    user,
    host,
    pattern
});

/// One session in the server's process list (`sql::MYSQL_SESSIONS_QUERY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `ID`, for KILL.
    pub id: u64,
    /// `USER`.
    pub user: String,
    /// `DB`: its current database (empty when none).
    pub db: String,
}
named_row!(Session { id, user, db });

/// One grant row that may reach a database (`sql::MYSQL_GRANTS_ON_DATABASE_QUERY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// `database`, `table`, or the routine type (`PROCEDURE`, `FUNCTION`, ...).
    pub level: String,
    /// `User`.
    pub user: String,
    /// `Host`.
    pub host: String,
    /// `Db`: the stored pattern (database level) or database name.
    pub db: String,
    /// Table or routine name; empty at database level.
    pub object: String,
    /// Non-zero when the row carries GRANT OPTION.
    pub grant_option: i64,
}
named_row!(GrantRow {
    level,
    user,
    host,
    db,
    object,
    grant_option
});

/// What else an account holds, as counts (`MysqlDialect::account_footprint_query`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFootprint {
    /// Global privileges (or a global GRANT OPTION).
    pub global_privileges: i64,
    /// Table and routine grants on other databases.
    pub other_objects: i64,
    /// Proxy grants it holds.
    pub proxies: i64,
    /// Roles granted to it.
    pub roles_held: i64,
    /// Non-zero when it is a role.
    pub is_role: i64,
}
named_row!(AccountFootprint {
    global_privileges,
    other_objects,
    proxies,
    roles_held,
    is_role
});

/// An account by user and host (`sql::MYSQL_PROXIES_OF_QUERY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// `User`.
    pub user: String,
    /// `Host`.
    pub host: String,
}
named_row!(AccountRow { user, host });

/// A global privilege of a grantee (`sql::MYSQL_GLOBAL_PRIVILEGES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranteePrivilege {
    /// `'user'@'host'`, as `information_schema` writes it.
    pub grantee: String,
    /// `PRIVILEGE_TYPE`, e.g. `SELECT` or `USAGE`.
    pub privilege: String,
}
named_row!(GranteePrivilege { grantee, privilege });

/// A database a grantee holds privileges in (`sql::MYSQL_SCHEMA_PRIVILEGES`,
/// `sql::MYSQL_TABLE_PRIVILEGES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GranteeSchema {
    /// `'user'@'host'`, as `information_schema` writes it.
    pub grantee: String,
    /// The database (a pattern as granted, for database-level grants).
    pub schema_name: String,
}
named_row!(GranteeSchema {
    grantee,
    schema_name
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{self, MysqlDialect};

    /// A row as the server would send it: `(column, value)` pairs, looked up by name.
    fn row<'a>(columns: &'a [(&'a str, Value)]) -> impl Fn(&str) -> Option<Value> + 'a {
        move |name| {
            columns
                .iter()
                .find(|(c, _)| *c == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn text(s: &str) -> Value {
        Value::Bytes(s.as_bytes().to_vec())
    }

    #[test]
    fn a_session_row_decodes_by_name_whatever_the_column_order() {
        let cols = [
            ("db", text("shop")),
            ("user", text("app")),
            ("id", Value::UInt(42)),
        ];
        assert_eq!(
            Session::decode(row(&cols)),
            Some(Session {
                id: 42,
                user: "app".into(),
                db: "shop".into()
            })
        );
    }

    #[test]
    fn a_row_missing_a_column_does_not_decode() {
        let cols = [("user", text("app")), ("id", Value::UInt(42))];
        assert_eq!(Session::decode(row(&cols)), None);
    }

    #[test]
    fn a_null_where_text_is_expected_does_not_decode() {
        let cols = [("charset", text("utf8mb4")), ("collation", Value::NULL)];
        assert_eq!(SchemaInfo::decode(row(&cols)), None);
    }

    #[test]
    fn a_grant_row_reads_its_grant_option_as_a_number() {
        let cols = [
            ("level", text("PROCEDURE")),
            ("user", text("app")),
            ("host", text("%")),
            ("db", text("shop")),
            ("object", text("p")),
            ("grant_option", Value::Int(1)),
        ];
        let g = GrantRow::decode(row(&cols));
        assert_eq!(
            g.map(|g| (g.level, g.grant_option)),
            Some(("PROCEDURE".into(), 1))
        );
    }

    #[test]
    fn account_footprint_counts_decode_from_text_or_integers() {
        // The text protocol sends numbers as text; the binary one as integers.
        let cols = [
            ("global_privileges", text("2")),
            ("other_objects", Value::Int(0)),
            ("proxies", Value::Int(1)),
            ("roles_held", text("0")),
            ("is_role", Value::Int(0)),
        ];
        assert_eq!(
            AccountFootprint::decode(row(&cols)),
            Some(AccountFootprint {
                global_privileges: 2,
                proxies: 1,
                ..AccountFootprint::default()
            })
        );
    }

    #[test]
    fn every_row_query_names_exactly_the_columns_its_struct_reads() {
        let maria = MysqlDialect::from_version("10.11.14-MariaDB");
        let mut cases: Vec<(&str, &[&str])> = vec![
            (sql::MYSQL_SCHEMA_QUERY, SchemaInfo::COLUMNS),
            (sql::MYSQL_SESSIONS_QUERY, Session::COLUMNS),
            (
                sql::mysql::MYSQL_GRANTS_ON_DATABASE_QUERY,
                GrantRow::COLUMNS,
            ),
            (sql::mysql::MYSQL_PROXIES_OF_QUERY, AccountRow::COLUMNS),
            (sql::MYSQL_GLOBAL_PRIVILEGES, GranteePrivilege::COLUMNS),
            (sql::MYSQL_SCHEMA_PRIVILEGES, GranteeSchema::COLUMNS),
            (sql::MYSQL_TABLE_PRIVILEGES, GranteeSchema::COLUMNS),
        ];
        for d in [MysqlDialect::Mysql8, maria] {
            cases.push((d.grants_reaching_query(), Grantee::COLUMNS));
            cases.push((d.account_footprint_query(), AccountFootprint::COLUMNS));
        }
        for (query, columns) in cases {
            assert_eq!(sql::select_aliases(query), columns.to_vec(), "{query}");
        }
    }
}
