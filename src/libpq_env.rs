//! The libpq environment belongs to the `postgres` block. The PostgreSQL driver (sqlx)
//! reads `PGOPTIONS`, `PGSSLCERT`, `PGAPPNAME`, ... into the options of every connection
//! it makes, so they would also reach the PgBouncer admin consoles and the tenant login
//! check (PgBouncer refuses an `options` startup parameter, and a client certificate
//! meant for PostgreSQL would be offered to them). `main` moves these variables out of
//! the process environment before anything runs; the provider's settings read them from
//! here, through the fallbacks the `postgres` block's attributes document.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The variables sqlx reads into every `PgConnectOptions` (sqlx-postgres 0.8
/// `PgConnectOptions::new`).
pub const VARS: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGAPPNAME",
    "PGOPTIONS",
];

static TAKEN: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();

/// Moves [`VARS`] out of the process environment into the provider's own copy. Call it
/// first in `main`, while the process has one thread (changing the environment is only
/// sound then). A second call changes nothing.
pub fn take() {
    if TAKEN.get().is_some() {
        return;
    }
    let mut taken = BTreeMap::new();
    for &name in VARS {
        if let Some(value) = std::env::var_os(name) {
            // A value that is not UTF-8 is unset for sqlx too; it is removed all the same.
            if let Ok(value) = value.into_string() {
                taken.insert(name, value);
            }
            std::env::remove_var(name);
        }
    }
    let _ = TAKEN.set(taken);
}

/// An environment variable as the provider's settings see it: one of [`VARS`] from what
/// [`take`] moved out (from the environment when `take` never ran, as in unit tests),
/// any other from the environment. Empty counts as unset.
pub fn var(name: &str) -> Option<String> {
    lookup(TAKEN.get(), name, |n| std::env::var(n).ok())
}

/// [`var`] over an explicit copy and environment.
fn lookup(
    taken: Option<&BTreeMap<&'static str, String>>,
    name: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let value = match taken {
        Some(taken) if VARS.contains(&name) => taken.get(name).cloned(),
        _ => env(name),
    };
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_libpq_variables_come_from_the_copy_and_others_from_the_environment() {
        let env = |n: &str| Some(format!("env:{n}"));
        let taken = BTreeMap::from([
            ("PGHOST", "pg.internal".to_string()),
            ("PGUSER", String::new()),
        ]);
        assert_eq!(
            lookup(Some(&taken), "PGHOST", env).as_deref(),
            Some("pg.internal")
        );
        // Taken out: the environment is not asked again (it no longer has it).
        assert_eq!(lookup(Some(&taken), "PGOPTIONS", env), None);
        assert_eq!(lookup(Some(&taken), "PGUSER", env), None, "empty is unset");
        assert_eq!(
            lookup(Some(&taken), "VAULT_ADDR", env).as_deref(),
            Some("env:VAULT_ADDR")
        );
        // Before `take` (unit tests, docs): straight from the environment.
        assert_eq!(lookup(None, "PGHOST", env).as_deref(), Some("env:PGHOST"));
    }

    #[test]
    fn every_libpq_variable_the_provider_falls_back_to_is_taken() {
        let schema = tfplugin::Provider::schema(&crate::provider::DbaasProvider);
        let mut fallbacks = Vec::new();
        for block in &schema.block.blocks {
            for a in &block.block.attributes {
                fallbacks.extend(a.env.iter().filter(|n| n.starts_with("PG")));
            }
        }
        // PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE and the three files.
        assert!(fallbacks.len() >= 9, "{fallbacks:?}");
        for name in fallbacks {
            assert!(
                VARS.contains(name),
                "{name} is a fallback but stays in the environment"
            );
        }
    }
}
