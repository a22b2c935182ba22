//! The rotation role's create, read, update, delete and import: each observes (backend
//! reads), asks `decide.rs` or the guard what to do, and executes it.

use tfplugin::{Applied, Error, Known, OrDiag, Value};

use super::decide::{
    chosen_statements, configured, import_mode, leases_to_revoke, owner_or_default, owner_source,
    redis_rules, refreshed, role_body, stale_logins_warning, written, OwnerSource, ReadChecks,
    RedisRules, VaultRole,
};
use super::lookup::{
    catalog_owner, connection_of, database_of_statements, engine_of, stale_logins,
    static_login_group,
};
use super::redis::{check_static_redis_login, read_namespace, record_namespace};
use super::{guard, Imported, Model, PlanView, VaultRotationRole};
use crate::backends::Backends;
use crate::enums::{Engine, RoleMode};
use crate::resources::common::OrReach;
use crate::resources::common::{merge, need, parse_role_import_id, refuse_import_id, Ctx};
use crate::resources::role_guard::verdict::{Guarded, Phase};
use crate::resources::vault_role_rules::{generated_statements_for, role_path};
use crate::sql::{Access, VaultStatements};

#[async_trait::async_trait]
impl tfplugin::TypedResource<Backends> for VaultRotationRole {
    type Model = Model;

    async fn create(&self, ctx: &mut Ctx<'_>, planned: Model, config: &Value) -> Applied<Model> {
        write_role(ctx, planned, config).await
    }

    async fn read(&self, ctx: &mut Ctx<'_>, state: Model) -> Result<Option<Model>, Error> {
        let mount = mount_of(ctx, &state);
        let path = role_path(&mount, &state.name, state.is_static());
        let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
        let body = vault
            .read(&path)
            .await
            .or_diag(format!("Cannot read Vault role {path}"))?;
        let Some(body) = body else {
            return Ok(None);
        };
        let mut s = refreshed(state, &mount, VaultRole::from_data(&body["data"]));
        if s.engine.is_null() {
            // Imported: the engine is the connection's.
            let connection = s.connection.clone().unwrap_or_default();
            s.engine = Known::Value(engine_of(ctx, &mount, &connection).await?);
        }
        let checks = ReadChecks::for_role(s.engine.as_option().copied(), s.is_static());
        read_beyond_vault(ctx, &mut s, &mount, checks).await;
        Ok(Some(s))
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_>,
        _prior: Model,
        planned: Model,
        config: &Value,
    ) -> Applied<Model> {
        write_role(ctx, planned, config).await
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let mount = mount_of(ctx, &prior);
        let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
        if let Some(prefix) = leases_to_revoke(&mount, &prior.name, prior.is_static()) {
            // End every outstanding lease so the logins leave the database with the role.
            let revoke = format!("sys/leases/revoke-prefix/{prefix}");
            if let Err(e) = vault.write(&revoke, &serde_json::json!({})).await {
                ctx.diags.warning(
                    format!("Cannot revoke the leases of {prefix}"),
                    format!("{e}. Logins issued by this role may remain until their TTL ends."),
                );
            }
        }
        let path = role_path(&mount, &prior.name, prior.is_static());
        vault
            .delete(&path)
            .await
            .or_diag(format!("Cannot delete Vault role {path}"))
    }
}

/// The role's mount: its own, else the provider's default.
fn mount_of(ctx: &Ctx<'_>, m: &Model) -> String {
    ctx.client
        .vault_mount(m.mount.as_option().map(String::as_str))
}

/// Create and update: the rules checked against the catalog now, then the statements
/// (planned, else generated from the engine, the database's owner or the Redis
/// namespace) written to Vault.
async fn write_role(ctx: &mut Ctx<'_>, planned: Model, config: &Value) -> Applied<Model> {
    let mount = mount_of(ctx, &planned);
    let connection = planned.connection.clone().unwrap_or_default();
    let database = planned.database.clone().unwrap_or_default();
    let (engine, via_admin) = connection_of(ctx, &mount, &connection).await?;
    // Issue 19: nothing is written to Vault unless the rules hold, read from the catalog now.
    let view = config.to_model::<PlanView>();
    let custom = view
        .map(|v| configured(&v))
        .or_diag("Cannot read the configuration")?;
    let username = planned
        .is_static()
        .then(|| planned.username.clone().unwrap_or_default());
    let g = Guarded {
        mount: mount.clone(),
        connection: Some(connection.clone()),
        database: Some(database.clone()),
        username: username.clone(),
        custom,
        engine: Some(engine),
    };
    guard::check(ctx.client, &g, Phase::Apply).await?;
    if let (Engine::Redis, Some(user)) = (engine, &username) {
        let redis = ctx.client.redis().await.or_reach("Redis")?;
        check_static_redis_login(redis, &database, user)
            .await
            .map_err(|(summary, detail)| Error::at_attr("username", summary, detail))?;
    }
    let owner = database_owner(ctx, engine, &planned, &database).await?;
    let generated = generated_statements_for(
        engine,
        &database,
        owner.as_deref(),
        planned.access,
        via_admin,
    )
    .map_err(|e| {
        Error::at_attr(
            "database",
            "Invalid database name",
            format!("{e}. Nothing was written to Vault."),
        )
    })?;
    let step = redis_rules(
        engine,
        planned.is_static(),
        planned.creation_statements.is_unknown(),
    );
    let generated = namespace_rules(ctx, step, &database, planned.access, generated).await?;
    let statements = chosen_statements(&planned, generated);
    let body = role_body(&planned, &connection, engine, &statements);
    let path = role_path(&mount, &planned.name, planned.is_static());
    let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
    vault
        .write(&path, &body)
        .await
        .or_diag(format!("Cannot write Vault role {path}"))?;
    Ok(written(planned, mount, engine, statements, owner))
}

/// PostgreSQL `owner` logins join the database's actual owner: the planned one when the
/// plan knew it (so apply matches the plan), else the catalog's.
async fn database_owner(
    ctx: &Ctx<'_>,
    engine: Engine,
    planned: &Model,
    database: &str,
) -> Result<Option<String>, Error> {
    match owner_source(engine, &planned.database_owner) {
        OwnerSource::None => Ok(None),
        OwnerSource::Planned(owner) => Ok(Some(owner)),
        OwnerSource::Catalog => {
            let owner = catalog_owner(ctx, database)
                .await
                .or_diag(format!("Cannot read the owner of database {database:?}"))?;
            Ok(Some(owner_or_default(database, owner)))
        }
    }
}

/// Executes [`RedisRules`]: confines logins to the namespace's actual key and channel
/// patterns (a custom `key_prefix` included), read from its ACL user and recorded in
/// private state; never guessed.
async fn namespace_rules(
    ctx: &mut Ctx<'_>,
    step: RedisRules,
    database: &str,
    access: Access,
    generated: VaultStatements,
) -> Result<VaultStatements, Error> {
    match step {
        RedisRules::NotRedis => Ok(generated),
        RedisRules::FromNamespace => {
            let redis = ctx.client.redis().await.or_reach("Redis")?;
            let ns = read_namespace(redis, database)
                .await
                .map_err(|(summary, detail)| Error::at_attr("database", summary, detail))?;
            ctx.private = record_namespace(&ns);
            Ok(ns.statements(access))
        }
        RedisRules::RecordOnly => {
            // Planned from the namespace recorded at the last read: keep that record
            // current. (Configured statements are the user's own; the record matters
            // only when unset.)
            if let Ok(redis) = ctx.client.redis().await {
                if let Ok(ns) = read_namespace(redis, database).await {
                    ctx.private = record_namespace(&ns);
                }
            }
            Ok(generated)
        }
    }
}

/// Executes [`ReadChecks`]; each is best effort (an unreachable backend keeps the prior
/// value).
async fn read_beyond_vault(ctx: &mut Ctx<'_>, s: &mut Model, mount: &str, checks: ReadChecks) {
    let database = s.database.clone().unwrap_or_default();
    if checks.namespace {
        // The namespace now: the plan regenerates the rules from it, so an edit of the
        // role in Vault shows as a change. Unreadable: the last record stands.
        if let Ok(redis) = ctx.client.redis().await {
            if let Ok(ns) = read_namespace(redis, &database).await {
                ctx.private = record_namespace(&ns);
            }
        }
    }
    if checks.owner {
        if let Ok(Some(owner)) = catalog_owner(ctx, &database).await {
            s.database_owner = Known::Value(owner);
        }
    }
    if checks.stale_logins {
        let owner = owner_or_default(&database, s.database_owner.as_option().cloned());
        let stale = stale_logins(ctx, &s.name, &database, &owner).await;
        if let Some((summary, detail)) = stale_logins_warning(&s.name, mount, &stale) {
            ctx.diags.warning(summary, detail);
        }
    }
}

/// Import: the id names the mode (`<mount>/roles/<name>`, `<mount>/static-roles/<name>`)
/// or, as `<mount>/<name>`, the mode is whichever role exists (both: refused). The
/// database and access are recovered from the role's statements (dynamic) or its login's
/// tenant group (static). Read does the rest.
pub(super) async fn import(ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
    const TYPE: &str = "dbaas_vault_rotation_role";
    let parsed = match parse_role_import_id(id) {
        Ok(parsed) => parsed,
        Err(why) => {
            refuse_import_id(
                &mut ctx.diags,
                TYPE,
                &why,
                "database/roles/postgres-myapp-role",
            );
            return;
        }
    };
    let (mount, name) = (parsed.mount, parsed.name);
    let mut imported = Imported {
        mount,
        name,
        mode: if parsed.static_role == Some(true) {
            RoleMode::Static
        } else {
            RoleMode::Dynamic
        },
        database: None,
        access: None,
    };
    let Some(vault) = need(&mut ctx.diags, "Vault", ctx.client.vault().await) else {
        merge(&mut ctx.diags, state, &imported);
        return;
    };
    // Read only the paths the id leaves open: a role the id did not name stays unread.
    let read = |stat: bool| {
        let wanted = parsed.static_role.is_none_or(|s| s == stat);
        let path = role_path(mount, name, stat);
        async move {
            if wanted {
                vault.read(&path).await.ok().flatten()
            } else {
                None
            }
        }
    };
    let static_body = read(true).await;
    let dynamic_body = read(false).await;
    let mode = match import_mode(
        mount,
        name,
        parsed.static_role,
        dynamic_body.is_some(),
        static_body.is_some(),
    ) {
        Ok(mode) => mode,
        Err(why) => {
            refuse_import_id(&mut ctx.diags, TYPE, &why, &role_path(mount, name, false));
            return;
        }
    };
    imported.mode = mode;
    match (mode, static_body, dynamic_body) {
        (RoleMode::Static, Some(body), _) => {
            // Vault keeps no database or access for a static role: recover them from
            // the login's membership in a tenant group (`<db>_<access>`) in PostgreSQL.
            let username = body["data"]["username"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if let Some((db, access)) = static_login_group(ctx, &username).await {
                imported.database = Some(db);
                imported.access = Some(access);
            }
        }
        (RoleMode::Dynamic, _, Some(body)) => {
            let (database, access) =
                database_of_statements(ctx, &body["data"]["creation_statements"]).await;
            imported.database = Some(database);
            imported.access = Some(access);
        }
        _ => {}
    }
    merge(&mut ctx.diags, state, &imported);
}
