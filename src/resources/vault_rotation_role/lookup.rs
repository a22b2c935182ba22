//! Catalog lookups of a rotation role that never refuse anything: the database's owner,
//! the databases a role owns, expired logins, and the tenant a login or a role's
//! statements belong to (import, refresh, and the ephemeral credentials).

use tfplugin::{Error, OrDiag};

use super::decide::{engine_of_connection, via_vault_admin};
use crate::enums::Engine;
use crate::resources::common::Ctx;
use crate::resources::vault_role_rules::recover_from_statements;
use crate::sql::{self, Access};

/// Finds the connection's engine in Vault.
pub(super) async fn engine_of(
    ctx: &Ctx<'_>,
    mount: &str,
    connection: &str,
) -> Result<Engine, Error> {
    connection_of(ctx, mount, connection).await.map(|(e, _)| e)
}

/// Finds the connection's engine in Vault, and whether its admin is a dedicated Vault
/// admin login (issue 22: the generated statements then call its functions).
pub(super) async fn connection_of(
    ctx: &Ctx<'_>,
    mount: &str,
    connection: &str,
) -> Result<(Engine, bool), Error> {
    let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
    // Issue 23: shared with the other roles of this process checking the same connection.
    let body = vault
        .read_shared(&format!("{mount}/config/{connection}"))
        .await
        .or_diag("Cannot read the Vault connection")?;
    let engine = engine_of_connection(mount, connection, body.as_ref())?;
    Ok((engine, via_vault_admin(engine, body.as_ref())))
}

/// The owner role of PostgreSQL database `database` from the catalog (`pg_database.datdba`):
/// `Ok(None)` when the provider has no `postgres` block or the database does not exist.
pub(super) async fn catalog_owner(ctx: &Ctx<'_>, database: &str) -> Result<Option<String>, String> {
    if ctx.client.settings.postgres.is_none() {
        return Ok(None);
    }
    let pg = ctx.client.postgres().await.map_err(|e| e.to_string())?;
    pg.database_facts(database)
        .await
        .map(|facts| facts.map(|f| f.owner))
        .map_err(|e| e.to_string())
}

/// The databases PostgreSQL role `owner` owns, from the catalog (empty when unknown).
pub async fn databases_owned_by(ctx: &Ctx<'_>, owner: &str) -> Vec<String> {
    let Ok(pg) = ctx.client.postgres().await else {
        return Vec::new();
    };
    pg.databases_owned_by(owner).await.unwrap_or_default()
}

/// Expired logins Vault made for this role that still exist in PostgreSQL: they are
/// what makes a later issue fail with `user already exists`.
pub(super) async fn stale_logins(
    ctx: &Ctx<'_>,
    role: &str,
    database: &str,
    owner: &str,
) -> Vec<String> {
    // Only logins in this database's groups: role names share Vault's 8-character prefix.
    let groups: Vec<String> = vec![
        owner.to_string(),
        format!("{database}_readwrite"),
        format!("{database}_readonly"),
    ];
    let Ok(pg) = ctx.client.postgres().await else {
        return Vec::new();
    };
    pg.expired_group_logins(&sql::vault_login_like_pattern(role), &groups)
        .await
        .unwrap_or_default()
}

/// The tenant database a static PostgreSQL login is for: the database of its tenant
/// group (`<db>_<access>`), or the one database its group owns (a custom `owner`).
pub async fn static_login_database(ctx: &Ctx<'_>, username: &str) -> Option<String> {
    if let Some((database, _)) = static_login_group(ctx, username).await {
        return Some(database);
    }
    let pg = ctx.client.postgres().await.ok()?;
    let groups = pg.login_groups(username).await.ok()?;
    for group in groups {
        if let [only] = databases_owned_by(ctx, &group).await.as_slice() {
            return Some(only.clone());
        }
    }
    None
}

/// The tenant group a PostgreSQL login belongs to, as `(database, access)`.
pub(super) async fn static_login_group(ctx: &Ctx<'_>, username: &str) -> Option<(String, Access)> {
    let pg = ctx.client.postgres().await.ok()?;
    let groups = pg.login_groups(username).await.ok()?;
    groups.iter().find_map(|g| {
        [
            ("_owner", Access::Owner),
            ("_readwrite", Access::ReadWrite),
            ("_readonly", Access::ReadOnly),
        ]
        .iter()
        .find_map(|(suffix, access)| g.strip_suffix(suffix).map(|db| (db.to_string(), *access)))
    })
}

/// The database a dynamic role's generated statements are for. An `owner` login joins
/// the database's owner role, which may be a custom name (no `_owner` suffix): the
/// catalog says which database that role owns.
pub async fn database_of_statements(ctx: &Ctx<'_>, v: &serde_json::Value) -> (String, Access) {
    let (database, access) = recover_from_statements(v);
    if access != Access::Owner || ctx.client.settings.postgres.is_none() {
        return (database, access);
    }
    let group = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str())
        .find_map(sql::postgres_group_of_statement);
    if let Some(group) = group {
        if let [only] = databases_owned_by(ctx, &group).await.as_slice() {
            return (only.clone(), access);
        }
    }
    (database, access)
}
