//! Helpers every resource file shares: turning backend errors into diagnostics and
//! the identifier rules of the spec.

use tfplugin::{AttributePath, Diagnostics, Validator, Value};

use crate::backends::BackendError;

/// Records a backend failure as an error diagnostic. The error text names the host,
/// port and provider block; it never carries a secret.
pub fn backend_error(
    diags: &mut Diagnostics,
    summary: impl Into<String>,
    err: impl std::fmt::Display,
) {
    diags.error(summary, err.to_string());
}

/// Records a failure that is about one attribute.
pub fn attribute_error(
    diags: &mut Diagnostics,
    attr: &str,
    summary: impl Into<String>,
    detail: impl Into<String>,
) {
    diags.error_at(AttributePath::attr(attr), summary, detail);
}

/// Runs a backend getter, recording its error; `None` means the error is recorded.
pub fn need<T>(diags: &mut Diagnostics, what: &str, r: Result<T, BackendError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            backend_error(diags, format!("Cannot reach {what}"), e);
            None
        }
    }
}

/// A PostgreSQL identifier as the spec allows it: `^[a-z_][a-z0-9_]{0,max-1}$`.
pub fn is_pg_identifier(s: &str, max: usize) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && s.len() <= max
}

/// Validator for a lower-case PostgreSQL name of at most `max` bytes, not in `reserved`.
pub fn pg_name_validator(max: usize, reserved: &'static [&'static str]) -> Validator {
    Validator::new(
        if reserved.is_empty() {
            format!("lower-case letters, digits and `_`, starting with a letter or `_`, at most {max} characters; not `pg_*`")
        } else {
            format!("lower-case letters, digits and `_`, starting with a letter or `_`, at most {max} characters; not {} or `pg_*`", reserved.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "))
        },
        move |v| {
            let s = v.as_str().unwrap_or_default();
            if s.is_empty() {
                return Err("must not be empty".into());
            }
            if !is_pg_identifier(s, usize::MAX) {
                return Err(format!("{s:?} may contain only lower-case letters a-z, digits and `_`, and must start with a letter or `_` (so it never needs quoting in an app's connection string)"));
            }
            if s.len() > max {
                return Err(format!(
                    "{s:?} is {} characters long; at most {max} are allowed",
                    s.len()
                ));
            }
            if reserved.contains(&s) || s.starts_with("pg_") {
                return Err(format!("{s:?} is reserved by PostgreSQL"));
            }
            Ok(())
        },
    )
}

/// The string attribute `name` of an object, or "" when null/unknown.
pub fn str_of<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).as_str().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_names() {
        let v = pg_name_validator(53, &["postgres", "template0", "template1"]);
        for ok in ["app", "_x", "a1_b2", &"a".repeat(53)] {
            assert!(v.check(&Value::string(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "App",
            "1app",
            "a-b",
            "a;drop",
            "a\"b",
            "postgres",
            "template1",
            "pg_app",
            &"a".repeat(54),
            "é",
        ] {
            assert!(v.check(&Value::string(bad)).is_err(), "{bad}");
        }
    }
}
