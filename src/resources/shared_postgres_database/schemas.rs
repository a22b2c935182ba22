//! `schemas = [...]` (issue 22, item 4): extra schemas in the tenant database, owned by
//! its owner, with the same privileges and default privileges for `_readwrite` and
//! `_readonly` as `public` (so a `dbaas_shared_postgres_access` grant covers them too).
//! Unset: not managed. A schema removed from the list is dropped without CASCADE, so
//! PostgreSQL refuses while it holds objects and nothing of the tenant's is lost. The
//! rules are pure (`change`, `read`), table-tested in `tests/schemas.rs`.

use std::collections::BTreeSet;

use tfplugin::Error;

use crate::backends::postgres::{PgError, Postgres, SchemaFacts};
use crate::sql::{self, TenantRoles};

/// Schemas the list may not name: the tenant's own `public`, the admin's, the system's.
pub(super) const RESERVED: &[&str] = &["public", "extensions", "pgbouncer", "information_schema"];

/// Whether `s` may be listed: a plain lower-case name of at most 63 bytes, not reserved
/// and not `pg_*`.
pub(super) fn check_name(s: &str) -> Result<(), String> {
    if !crate::resources::common::is_pg_identifier(s, 63) {
        return Err(format!("{s:?} is not a schema name: lower-case letters, digits and `_`, starting with a letter or `_`, at most 63 characters"));
    }
    if RESERVED.contains(&s) || s.starts_with("pg_") {
        return Err(format!("{s:?} is reserved: `public` is always there, `extensions` and `pgbouncer` are the provider's, `pg_*` and `information_schema` PostgreSQL's"));
    }
    Ok(())
}

/// What an apply does to the schemas.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Change {
    /// Schemas to set up, with whether to create them (absent) first.
    pub setup: Vec<(String, bool)>,
    /// Schemas to drop (present, removed from the list).
    pub drop: Vec<String>,
}

/// The change from `prior` to `planned` (each `None` when unset), given the facts of
/// the schemas `found` and the database's `owner`; a schema of the list that exists
/// owned by someone else is refused (it is not the tenant's to take over).
pub(super) fn change(
    prior: Option<&[String]>,
    planned: Option<&[String]>,
    found: &[SchemaFacts],
    owner: &str,
) -> Result<Change, String> {
    let before: BTreeSet<&String> = prior.into_iter().flatten().collect();
    let after: BTreeSet<&String> = planned.into_iter().flatten().collect();
    let fact = |s: &str| found.iter().find(|f| f.name == s);
    let mut c = Change::default();
    for s in &after {
        match fact(s) {
            None => c.setup.push((s.to_string(), true)),
            Some(f) if f.owner != owner => {
                return Err(format!("Schema {s:?} exists in the database, owned by {:?}, not by the database's owner {owner:?}: it is not taken over. Rename it, or give it to {owner:?} (ALTER SCHEMA {s} OWNER TO {owner}), then apply again.", f.owner))
            }
            Some(_) if !before.contains(s) => c.setup.push((s.to_string(), false)),
            Some(_) => {}
        }
    }
    // Unset (`None`) means no longer managed: nothing is dropped.
    if planned.is_some() {
        c.drop = before
            .difference(&after)
            .filter(|s| fact(s).is_some())
            .map(|s| s.to_string())
            .collect();
    }
    Ok(c)
}

/// The schemas of the state that still exist, owned by `owner` (`None` when unset).
pub(super) fn read(
    state: Option<&[String]>,
    found: &[SchemaFacts],
    owner: &str,
) -> Option<Vec<String>> {
    let kept = state?
        .iter()
        .filter(|s| found.iter().any(|f| &f.name == *s && f.owner == owner))
        .cloned()
        .collect();
    Some(kept)
}

/// The facts of the schemas among `names` in database `db` (no session when empty).
async fn facts(pg: &Postgres, db: &str, names: &[&String]) -> Result<Vec<SchemaFacts>, PgError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    pg.schema_facts(db, &names).await
}

/// Applies the change from `prior` to `planned` in database `db`: refusals and a
/// refused drop at `schemas`, server errors under `cannot`.
pub(super) async fn apply(
    pg: &Postgres,
    db: &str,
    roles: &TenantRoles,
    prior: Option<&[String]>,
    planned: Option<&[String]>,
    cannot: &str,
) -> Result<(), Error> {
    let names: Vec<&String> = prior
        .into_iter()
        .flatten()
        .chain(planned.into_iter().flatten())
        .collect();
    let found = facts(pg, db, &names)
        .await
        .map_err(|e| Error::new(cannot, e.to_string()))?;
    let c = change(prior, planned, &found, &roles.owner)
        .map_err(|why| Error::at_attr("schemas", "Schema not the tenant's", why))?;
    let setup: Vec<String> = c
        .setup
        .iter()
        .flat_map(|(s, create)| sql::tenant_schema_setup(roles, s, *create))
        .collect();
    pg.exec_in(db, &setup)
        .await
        .map_err(|e| Error::new(cannot, e.to_string()))?;
    for s in &c.drop {
        if let Err(e) = pg.exec_in(db, &[sql::tenant_schema_drop(roles, s)]).await {
            return Err(Error::at_attr(
                "schemas",
                format!("Cannot remove schema {s:?}"),
                format!("{e}. A schema is dropped only while it is empty (never with CASCADE), so nothing in it was lost. Move or drop its objects (as the owner), or keep it in the list, then apply again."),
            ));
        }
    }
    Ok(())
}

/// What read reports for `schemas` (see [`read`]).
pub(super) async fn observe(
    pg: &Postgres,
    db: &str,
    owner: &str,
    state: Option<&[String]>,
) -> Result<Option<Vec<String>>, PgError> {
    let names: Vec<&String> = state.into_iter().flatten().collect();
    let found = facts(pg, db, &names).await?;
    Ok(read(state, &found, owner))
}
