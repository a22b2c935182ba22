//! The rotation role's create, read, update, delete and import: each observes (backend
//! reads), asks `decide.rs` or the guard what to do, and executes it.

use tfplugin::{Applied, Error, Known, OrDiag, OrTaint, Value};

use super::decide::{
    chosen_statements, configured, import_mode, lease_listing, leases_to_revoke, must_revoke,
    owner_or_default, owner_source, redis_rules, refreshed, role_body, stale_logins_warning,
    written, OwnerSource, ReadChecks, RedisRules, VaultRole,
};
use super::lookup::{
    catalog_owner, connection_of, database_of_statements, engine_of, stale_logins,
    static_login_group,
};
use super::redis::{check_static_redis_login, read_namespace, record_namespace};
use super::{guard, login, Imported, Model, PlanView, VaultRotationRole};
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
        write_role(ctx, planned, config, true).await
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
        if let (true, Some(&engine)) = (s.creates_login(), s.engine.as_option()) {
            // Issue 22: the login made here dropped out of band: plan the role again.
            let user = s.username.clone().unwrap_or_default();
            if login::found(ctx, &mount, &s.name, &user, engine).await == Some(None) {
                return Ok(None);
            }
        }
        Ok(Some(s))
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_>,
        _prior: Model,
        planned: Model,
        config: &Value,
    ) -> Applied<Model> {
        write_role(ctx, planned, config, false).await
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let mount = mount_of(ctx, &prior);
        let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
        if let Some(prefix) = leases_to_revoke(&mount, &prior.name, prior.is_static()) {
            // End every outstanding lease so the logins leave the database with the role.
            // Issue 23: only a role holding leases, by one listing asked after this delete
            // began and shared by the roles deleted with it (unreadable: revoke anyway).
            let listed = vault.list_fresh(&lease_listing(&mount)).await.ok();
            if must_revoke(listed.as_deref(), &prior.name) {
                let revoke = format!("sys/leases/revoke-prefix/{prefix}");
                if let Err(e) = vault.write(&revoke, &serde_json::json!({})).await {
                    ctx.diags.warning(
                        format!("Cannot revoke the leases of {prefix}"),
                        format!("{e}. Logins issued by this role may remain until their TTL ends."),
                    );
                }
            }
        }
        let path = role_path(&mount, &prior.name, prior.is_static());
        vault
            .delete(&path)
            .await
            .or_diag(format!("Cannot delete Vault role {path}"))?;
        if prior.creates_login() {
            let user = prior.username.clone().unwrap_or_default();
            let engine = prior
                .engine
                .as_option()
                .copied()
                .unwrap_or(Engine::Postgres);
            if let Some(why) = login::drop(ctx, &mount, &prior.name, &user, engine).await? {
                ctx.diags.warning(
                    format!("Login {user:?} was left in place"),
                    format!("{why}. Drop it by hand if it is no longer used."),
                );
            }
        }
        Ok(())
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
async fn write_role(
    ctx: &mut Ctx<'_>,
    planned: Model,
    config: &Value,
    creating: bool,
) -> Applied<Model> {
    let mount = mount_of(ctx, &planned);
    let connection = planned.connection.clone().unwrap_or_default();
    let database = planned.database.clone().unwrap_or_default();
    let (engine, via_admin) = connection_of(ctx, &mount, &connection).await?;
    if engine == Engine::Redis && planned.connection_limit.is_some() {
        return Err(super::limits::redis_refusal().into());
    }
    // Issue 19: nothing is written to Vault unless the rules hold, read from the catalog now.
    let view = config.to_model::<PlanView>();
    let custom = view
        .map(|v| configured(&v))
        .or_diag("Cannot read the configuration")?;
    let username = planned
        .is_static()
        .then(|| planned.username.clone().unwrap_or_default());
    // Issue 22: a login create_login makes now is judged once it exists (below).
    let make_login = creating && planned.creates_login();
    let mut g = Guarded {
        mount: mount.clone(),
        connection: Some(connection.clone()),
        database: Some(database.clone()),
        username: username.clone().filter(|_| !make_login),
        custom,
        engine: Some(engine),
    };
    let owner_read = guard::check(ctx.client, &g, Phase::Apply).await?;
    if let (Engine::Redis, Some(user)) = (engine, &username) {
        let redis = ctx.client.redis().await.or_reach("Redis")?;
        check_static_redis_login(redis, &database, user)
            .await
            .map_err(|(summary, detail)| Error::at_attr("username", summary, detail))?;
    }
    let owner = database_owner(ctx, engine, &planned, &database, owner_read).await?;
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
    let generated = super::limits::limited(engine, generated, planned.connection_limit)?;
    let generated = retained(&planned, engine, generated);
    let statements = chosen_statements(&planned, generated);
    let body = role_body(&planned, &connection, engine, &statements);
    let path = role_path(&mount, &planned.name, planned.is_static());
    login::check_support(ctx, &planned, engine, &path, &body).await?;
    if via_admin && engine == Engine::Mysql && planned.retains_password() {
        // Issue 22: `dbaas_vault.set_password` replaces the password at once.
        return Err(Error::at_attr(
            "retain_previous_password",
            "retain_previous_password is not supported through a dedicated Vault admin",
            "This connection's Vault admin rotates passwords through dbaas_vault.set_password, which keeps no previous password. Remove retain_previous_password, or use a connection with `dedicated_admin = false`. Nothing was written to Vault.",
        )
        .into());
    }
    if make_login {
        g.username = username;
        make_login_judged(ctx, &g, &planned, owner.as_deref()).await?;
    }
    let state = written(planned, mount, engine, statements, owner);
    commit(ctx, &path, &body, make_login, state).await
}

/// Issue 22: makes the login of a role with `create_login`, then has the issue 19 guard
/// judge it as it now exists (`g` names it); a refused login is dropped again.
async fn make_login_judged(
    ctx: &mut Ctx<'_>,
    g: &Guarded,
    planned: &Model,
    owner: Option<&str>,
) -> Result<(), Error> {
    let connection = g.connection.as_deref();
    let database = g.database.clone().unwrap_or_default();
    let forbidden = guard::forbidden_logins(ctx.client, &g.mount, connection).await;
    let engine = g.engine.unwrap_or(Engine::Postgres);
    login::make(ctx, engine, &g.mount, planned, &database, owner, &forbidden).await?;
    if let Err(e) = guard::check(ctx.client, g, Phase::Apply).await.map(drop) {
        undo_login(ctx, &g.mount, planned, engine).await;
        return Err(e);
    }
    Ok(())
}

/// Writes the role to Vault; with a login made here, rotates it at once (Vault rotates
/// only a role it did not hold: one left in Vault while its login was dropped out of band
/// would keep a password the new login does not have), or drops the login when the write
/// fails.
async fn commit(
    ctx: &mut Ctx<'_>,
    path: &str,
    body: &serde_json::Value,
    made_login: bool,
    state: Model,
) -> Applied<Model> {
    let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
    if let Err(e) = vault
        .write(path, body)
        .await
        .or_diag(format!("Cannot write Vault role {path}"))
    {
        if made_login {
            let mount = state.mount.as_option().cloned().unwrap_or_default();
            let engine = state
                .engine
                .as_option()
                .copied()
                .unwrap_or(Engine::Postgres);
            undo_login(ctx, &mount, &state, engine).await;
        }
        return Err(e.into());
    }
    if made_login {
        let mount = state.mount.as_option().cloned().unwrap_or_default();
        let rotate = format!("{mount}/rotate-role/{}", state.name);
        vault
            .write(&rotate, &serde_json::json!({}))
            .await
            .or_diag(format!("Cannot rotate the new login's password ({rotate})"))
            .or_taint(&state)?;
    }
    Ok(state)
}

/// A failed create removes the login it made (a warning when it cannot).
async fn undo_login(ctx: &mut Ctx<'_>, mount: &str, planned: &Model, engine: Engine) {
    let user = planned.username.clone().unwrap_or_default();
    if let Err(e) = login::drop(ctx, mount, &planned.name, &user, engine).await {
        ctx.diags.warning(
            format!("Login {user:?} made by create_login was left behind"),
            format!("{e:?}. Drop it by hand before the next apply."),
        );
    }
}

/// Issue 22: MySQL rotation statements that keep the previous password, when asked.
fn retained(planned: &Model, engine: Engine, mut generated: VaultStatements) -> VaultStatements {
    if planned.retains_password() && engine == Engine::Mysql {
        generated.rotation = super::schedule::retaining_previous(generated.rotation);
    }
    generated
}

/// PostgreSQL `owner` logins join the database's actual owner: the planned one when the
/// plan knew it (so apply matches the plan), else the catalog's: as the guard just read
/// it (`read`), or read now.
async fn database_owner(
    ctx: &Ctx<'_>,
    engine: Engine,
    planned: &Model,
    database: &str,
    read: Option<String>,
) -> Result<Option<String>, Error> {
    match owner_source(engine, &planned.database_owner) {
        OwnerSource::None => Ok(None),
        OwnerSource::Planned(owner) => Ok(Some(owner)),
        OwnerSource::Catalog if read.is_some() => Ok(read),
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
        connection_limit: None,
        create_login: None,
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
            // Issue 22: a login made by create_login carries this role's marker.
            let pg = Engine::Postgres;
            if login::found(ctx, mount, name, &username, pg).await == Some(Some(true)) {
                imported.create_login = Some(true);
            }
        }
        (RoleMode::Dynamic, _, Some(body)) => {
            let (database, access) =
                database_of_statements(ctx, &body["data"]["creation_statements"]).await;
            imported.database = Some(database);
            imported.access = Some(access);
            imported.connection_limit =
                super::limits::imported(&body["data"]["creation_statements"]);
        }
        _ => {}
    }
    merge(&mut ctx.diags, state, &imported);
}
