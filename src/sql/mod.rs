//! The one place SQL text is assembled: identifier and literal quoting here, and the
//! statement builders and catalog queries by engine in [`postgres`], [`mysql`] and
//! [`vault`] (Vault's statement templates). Nothing else may `format!` a user string
//! into SQL.
//!
//! Catalog queries name every column they return (`AS name`); the row each decodes into
//! is a named struct in the backend that runs it (`backends::postgres::catalog`,
//! `backends::mysql::rows`), with one field per alias, so no column order lives
//! anywhere. Statements that must take effect together are a [`Batch`] (one
//! transaction), never two statements joined with `;` ([`batch`]).

pub mod batch;
pub mod database_config;
pub mod mysql;
pub mod postgres;
pub mod postgres_access;
pub mod qualified;
pub mod vault;
pub mod vault_admin;
pub mod vault_admin_mysql;
pub mod vault_limits;

pub use batch::{Batch, Script, Unit};
pub use database_config::*;
pub use mysql::*;
pub use postgres::*;
pub use postgres_access::*;
pub use vault::*;
pub use vault_admin::*;
pub use vault_admin_mysql::*;
pub use vault_limits::*;

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
    let prefix = if value.contains('\\') { "E" } else { "" };
    format!("{prefix}{}", escaped_literal(value))
}

/// `'value'` with quotes doubled and backslashes escaped: the literal both PostgreSQL's
/// `E''` form and MySQL's default sql_mode read back as `value`.
fn escaped_literal(value: &str) -> String {
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
    Ok(escaped_literal(value))
}

/// The column aliases (`AS name`) of a query's outer select list, in order: what the
/// backends' row structs decode by. Skips literals, quoted names, parenthesised
/// expressions and a leading `WITH x AS (...)`; stops at the outer `FROM`.
#[cfg(test)]
pub(crate) fn select_aliases(query: &str) -> Vec<String> {
    let b = query.as_bytes();
    let upper = query.to_ascii_uppercase();
    let (mut depth, mut i, mut out) = (0i32, 0usize, Vec::new());
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'(' => depth += 1,
            b')' => depth -= 1,
            _ if depth == 0 && upper[i..].starts_with(" FROM ") => break,
            _ if depth == 0 && upper[i..].starts_with(" AS ") => {
                let rest = &query[i + 4..];
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if end > 0 {
                    out.push(rest[..end].to_string());
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn select_aliases_reads_the_outer_select_list_only() {
        assert_eq!(
            select_aliases(
                "WITH me AS (SELECT 1 AS x) SELECT CAST(a AS text) AS a, 'b AS c' AS b FROM t AS u"
            ),
            ["a", "b"]
        );
        assert_eq!(
            select_aliases("SELECT (SELECT 1 AS x) AS y, (1) AS z"),
            ["y", "z"]
        );
    }

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
