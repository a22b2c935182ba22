//! Issue 22: the connection limit every login Vault issues carries, written into the
//! statement that creates it (PostgreSQL `CONNECTION LIMIT n`, MySQL/MariaDB
//! `WITH MAX_USER_CONNECTIONS n`), so no login ever exists without it; and its read-back
//! from a role's creation statements (import).

use super::vault_admin::CREATE_LOGIN_CALL;
use super::VaultStatements;

/// Which dialect's limit clause a role's statements take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitDialect {
    /// `CREATE ROLE ... CONNECTION LIMIT n IN ROLE ...`.
    Postgres,
    /// `CREATE USER ... IDENTIFIED BY ... WITH MAX_USER_CONNECTIONS n`.
    Mysql,
}

/// `statements` whose login-creating statement carries the limit `n`. When no statement
/// has the generated shape, a separate statement right after the first one sets it
/// (PostgreSQL runs Vault's creation statements in one transaction).
pub fn with_connection_limit(
    dialect: LimitDialect,
    mut statements: VaultStatements,
    n: u32,
) -> VaultStatements {
    let creation = &mut statements.creation;
    let placed = creation.iter_mut().any(|s| match dialect {
        LimitDialect::Postgres if s.starts_with("CREATE ROLE ") => match s.find(" IN ROLE ") {
            Some(at) => {
                s.insert_str(at, &format!(" CONNECTION LIMIT {n}"));
                true
            }
            None => false,
        },
        // A dedicated Vault admin's call (`sql::vault_admin`): the limit is its last argument.
        LimitDialect::Postgres if s.starts_with(CREATE_LOGIN_CALL) && s.ends_with(");") => {
            s.truncate(s.len() - 2);
            s.push_str(&format!(", {n});"));
            true
        }
        // A dedicated MySQL Vault admin's call: the limit replaces its last argument.
        LimitDialect::Mysql
            if s.starts_with(super::MYSQL_CREATE_LOGIN_CALL) && s.ends_with(");") =>
        {
            match s[..s.len() - 2].rfind(", ") {
                Some(at) => {
                    s.truncate(at);
                    s.push_str(&format!(", {n});"));
                    true
                }
                None => false,
            }
        }
        LimitDialect::Mysql if s.starts_with("CREATE USER ") => {
            let body = s.trim_end().trim_end_matches(';').to_string();
            *s = format!("{body} WITH MAX_USER_CONNECTIONS {n};");
            true
        }
        _ => false,
    });
    if !placed {
        let alter = match dialect {
            LimitDialect::Postgres => {
                format!("ALTER ROLE \"{{{{name}}}}\" WITH CONNECTION LIMIT {n};")
            }
            LimitDialect::Mysql => {
                format!("ALTER USER '{{{{name}}}}'@'%' WITH MAX_USER_CONNECTIONS {n};")
            }
        };
        let at = creation.len().min(1);
        creation.insert(at, alter);
    }
    statements
}

/// The limit a role's creation statements give each login (`CONNECTION LIMIT n` or
/// `MAX_USER_CONNECTIONS n`), if any.
pub fn connection_limit_of(creation: &[&str]) -> Option<u32> {
    let called = creation.iter().find_map(|s| limit_argument(s));
    called.or_else(|| {
        creation.iter().find_map(|s| {
            ["CONNECTION LIMIT ", "MAX_USER_CONNECTIONS "]
                .iter()
                .find_map(|k| s.find(k).map(|i| &s[i + k.len()..]))
                .and_then(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                })
        })
    })
}

/// The sixth argument of a `dbaas_vault.create_login(...)` call, when it is a number (the
/// fifth is always a quoted literal).
fn limit_argument(statement: &str) -> Option<u32> {
    if let Some(args) = statement
        .strip_prefix(super::MYSQL_CREATE_LOGIN_CALL)
        .and_then(|a| a.strip_suffix(");"))
    {
        // MySQL's procedure always takes the limit: 0 is none.
        let last = args.rsplit(", ").next()?;
        return last.parse().ok().filter(|n| *n > 0);
    }
    let args = statement
        .strip_prefix(CREATE_LOGIN_CALL)?
        .strip_suffix(");")?;
    let last = args.rsplit(", ").next()?;
    if last.is_empty() || !last.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    last.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_the_last_argument_of_a_dedicated_admins_call() {
        let via = crate::sql::vault_postgres_statements_via_admin(
            "shop_readonly",
            "shop_owner",
            Access::ReadOnly,
        )
        .expect("names");
        let limited = with_connection_limit(LimitDialect::Postgres, via.clone(), 7);
        assert_eq!(
            limited.creation.len(),
            via.creation.len(),
            "no ALTER ROLE added"
        );
        assert!(
            limited.creation[0].ends_with(", 7);"),
            "{:?}",
            limited.creation
        );
        let texts: Vec<&str> = limited.creation.iter().map(String::as_str).collect();
        assert_eq!(connection_limit_of(&texts), Some(7));
        let plain: Vec<&str> = via.creation.iter().map(String::as_str).collect();
        assert_eq!(connection_limit_of(&plain), None, "no limit without one");
        let owner = crate::sql::vault_postgres_statements_via_admin(
            "shop_owner",
            "shop_owner",
            Access::Owner,
        )
        .expect("names");
        let texts: Vec<String> = owner.creation.clone();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        assert_eq!(
            connection_limit_of(&texts),
            None,
            "the owner's run_as is not a limit"
        );
    }
    use crate::sql::{vault_mysql_statements, vault_postgres_statements, Access};

    #[test]
    fn the_limit_goes_into_the_statement_that_creates_the_login() {
        let pg = vault_postgres_statements("shop_readonly", "shop_owner", Access::ReadOnly)
            .expect("names");
        let limited = with_connection_limit(LimitDialect::Postgres, pg.clone(), 5);
        assert_eq!(
            limited.creation[0],
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' CONNECTION LIMIT 5 IN ROLE \"shop_readonly\";"
        );
        assert_eq!(limited.creation.len(), pg.creation.len());
        assert_eq!(limited.revocation, pg.revocation);

        let my = vault_mysql_statements("shop", Access::Owner).expect("names");
        let limited = with_connection_limit(LimitDialect::Mysql, my.clone(), 2);
        assert_eq!(
            limited.creation[0],
            "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}' WITH MAX_USER_CONNECTIONS 2;"
        );
        assert_eq!(limited.creation[1..], my.creation[1..]);
    }

    #[test]
    fn statements_of_another_shape_get_a_separate_statement() {
        let other = VaultStatements {
            creation: vec!["SELECT make_login('{{name}}', '{{password}}');".into()],
            ..VaultStatements::default()
        };
        for (dialect, want) in [
            (
                LimitDialect::Postgres,
                "ALTER ROLE \"{{name}}\" WITH CONNECTION LIMIT 3;",
            ),
            (
                LimitDialect::Mysql,
                "ALTER USER '{{name}}'@'%' WITH MAX_USER_CONNECTIONS 3;",
            ),
        ] {
            let got = with_connection_limit(dialect, other.clone(), 3);
            assert_eq!(got.creation.len(), 2);
            assert_eq!(got.creation[1], want, "{dialect:?}");
        }
    }

    #[test]
    fn the_limit_reads_back_from_the_statements() {
        for (situation, creation, want) in [
            (
                "postgres",
                vec!["CREATE ROLE \"{{name}}\" WITH LOGIN CONNECTION LIMIT 12 IN ROLE \"g\";"],
                Some(12),
            ),
            (
                "mysql",
                vec!["CREATE USER 'x' IDENTIFIED BY 'y' WITH MAX_USER_CONNECTIONS 4;"],
                Some(4),
            ),
            (
                "none",
                vec!["CREATE ROLE \"{{name}}\" WITH LOGIN IN ROLE \"g\";"],
                None,
            ),
            ("no digits", vec!["-- CONNECTION LIMIT x"], None),
            ("empty", vec![], None),
            (
                "mysql_dedicated_admin_call",
                vec!["CALL dbaas_vault.create_login('{{name}}', '{{password}}', 'd', 'owner', 7);"],
                Some(7),
            ),
            (
                "mysql_dedicated_admin_call_without_limit",
                vec!["CALL dbaas_vault.create_login('{{name}}', '{{password}}', 'd', 'owner', 0);"],
                None,
            ),
        ] {
            assert_eq!(connection_limit_of(&creation), want, "{situation}");
        }
    }

    #[test]
    fn the_limit_replaces_the_last_argument_of_a_dedicated_mysql_admins_call() {
        let s =
            crate::sql::vault_mysql_statements_via_admin("shop_1", super::super::Access::ReadOnly)
                .unwrap_or_default();
        let limited = with_connection_limit(LimitDialect::Mysql, s, 3);
        assert_eq!(
            limited.creation,
            ["CALL dbaas_vault.create_login('{{name}}', '{{password}}', 'shop_1', 'readonly', 3);"]
        );
        let refs: Vec<&str> = limited.creation.iter().map(String::as_str).collect();
        assert_eq!(connection_limit_of(&refs), Some(3));
    }
}
