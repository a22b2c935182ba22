//! `dbaas_vault_rotation_role`: a Vault database role (`<mount>/roles/<name>`, dynamic)
//! or static role (`<mount>/static-roles/<name>`) whose statements are generated from
//! the engine, the tenant database and the access level, plus the policy HCL that
//! grants reading its credentials.

use crate::resources::common::{legacy_applied, legacy_done, legacy_read};
use serde::{Deserialize, Serialize};
use tfplugin::{Applied, Error};
use tfplugin::{
    Attribute, AttributePath, Block, ClientInfo, Diagnostics, Known, Number, Plan, Schema, Type,
    Validator, Value,
};

use crate::backends::redis::Redis;
use crate::backends::Backends;
use crate::enums::{Engine, RoleMode};
use crate::resources::common::{
    attribute_error, backend_error, decode, merge, need, no_nul_validator, parse_vault_id,
    plan_views, plan_views_with_prior, read_private, vault_mount_validator, vault_name_validator,
    write_private, Ctx,
};
use crate::resources::redis_acl::{check_static_login, confined};
use crate::resources::role_guard::{self, Scope};
use crate::resources::vault_role_rules::{
    creds_path, generated_statements, policy_for, recover_from_statements, role_path, ttl_secs,
};
use crate::sql::{self, Access, VaultStatements};

/// The resource type.
pub struct VaultRotationRole;

/// Plan and state of one role, attribute by attribute.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    id: Known<String>,
    name: String,
    /// Null between an import and the read that follows it.
    connection: Option<String>,
    /// Null after the import of a role whose database cannot be recovered.
    database: Option<String>,
    mount: Known<String>,
    mode: RoleMode,
    access: Access,
    default_ttl: i64,
    max_ttl: i64,
    username: Option<String>,
    rotation_period: i64,
    creation_statements: Known<Vec<String>>,
    revocation_statements: Known<Vec<String>>,
    rotation_statements: Known<Vec<String>>,
    engine: Known<Engine>,
    creds_path: Known<String>,
    policy: Known<String>,
    database_owner: Known<String>,
}

impl Model {
    fn is_static(&self) -> bool {
        self.mode == RoleMode::Static
    }
}

/// Where a planned role lives (either may be unknown, or null for the default mount).
#[derive(Debug, Deserialize)]
struct RoleName {
    name: Known<String>,
    mount: Known<String>,
}

/// Statements as planning sees them (elements may be unknown).
type PlannedStatements = Known<Vec<Known<String>>>;

/// What validation and planning look at in a configuration, prior state or plan. Words
/// stay strings: validation runs on configurations the schema may still refuse.
#[derive(Debug, Deserialize)]
struct PlanView {
    connection: Known<String>,
    database: Known<String>,
    mode: Known<String>,
    access: Known<String>,
    username: Known<String>,
    default_ttl: Known<Number>,
    max_ttl: Known<Number>,
    creation_statements: PlannedStatements,
    revocation_statements: PlannedStatements,
    rotation_statements: PlannedStatements,
    engine: Known<String>,
    database_owner: Known<String>,
}

impl PlanView {
    fn is_static(&self) -> bool {
        self.mode.as_option().map(String::as_str) == Some(RoleMode::Static.as_str())
    }

    fn engine(&self) -> Option<Engine> {
        self.engine.as_option().and_then(|e| Engine::parse(e))
    }

    fn access(&self) -> Option<Access> {
        self.access.as_option().and_then(|a| Access::parse(a))
    }

    /// The three statement lists, in the order of [`PlanEdit::statements`].
    fn statements(&self) -> [&PlannedStatements; 3] {
        [
            &self.creation_statements,
            &self.revocation_statements,
            &self.rotation_statements,
        ]
    }
}

/// The attributes planning may change; the others stay as Terraform planned them.
#[derive(Debug, Default, Serialize)]
struct PlanEdit {
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_statements: Option<PlannedStatements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_statements: Option<PlannedStatements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_statements: Option<PlannedStatements>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_owner: Option<Known<String>>,
}

impl PlanEdit {
    /// The three statement lists, in the order of [`PlanView::statements`].
    fn statements(&mut self) -> [&mut Option<PlannedStatements>; 3] {
        [
            &mut self.creation_statements,
            &mut self.revocation_statements,
            &mut self.rotation_statements,
        ]
    }
}

/// Known statements as planning writes them.
fn planned_statements(v: Vec<String>) -> PlannedStatements {
    Known::Value(v.into_iter().map(Known::Value).collect())
}

/// What an import fills in; read does the rest.
#[derive(Serialize)]
struct Imported<'a> {
    mount: &'a str,
    name: &'a str,
    mode: RoleMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<Access>,
}

/// Finds the connection's engine in Vault.
async fn engine_of(ctx: &mut Ctx<'_>, mount: &str, connection: &str) -> Option<Engine> {
    let vault = need(&mut ctx.diags, "Vault", ctx.client.vault().await)?;
    match vault.read(&format!("{mount}/config/{connection}")).await {
        Ok(Some(body)) => match body["data"]["plugin_name"]
            .as_str()
            .and_then(Engine::of_vault_plugin)
        {
            Some(e) => Some(e),
            None => {
                attribute_error(&mut ctx.diags, "connection", "Unsupported connection plugin", format!("{mount}/config/{connection} uses plugin {:?}; this resource generates statements for PostgreSQL, MySQL and Redis only.", body["data"]["plugin_name"]));
                None
            }
        },
        Ok(None) => {
            attribute_error(&mut ctx.diags, "connection", format!("Vault connection {connection:?} not found"), format!("{mount}/config/{connection} does not exist. Create it first (dbaas_vault_database_connection) and reference it, e.g. `connection = dbaas_vault_database_connection.pg.name`."));
            None
        }
        Err(e) => {
            backend_error(&mut ctx.diags, "Cannot read the Vault connection", e);
            None
        }
    }
}

/// The owner role of PostgreSQL database `database` from the catalog (`pg_database.datdba`):
/// `Ok(None)` when the provider has no `postgres` block or the database does not exist.
async fn catalog_owner(ctx: &Ctx<'_>, database: &str) -> Result<Option<String>, String> {
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

async fn write_role(ctx: &mut Ctx<'_>, planned: &Model, config: &Value) -> Option<Model> {
    let name = planned.name.clone();
    let mount = ctx
        .client
        .vault_mount(planned.mount.as_option().map(String::as_str));
    let connection = planned.connection.clone().unwrap_or_default();
    let database = planned.database.clone().unwrap_or_default();
    let stat = planned.is_static();
    let access = planned.access;
    let engine = engine_of(ctx, &mount, &connection).await?;
    // Issue 19: nothing is written to Vault unless the rules hold, read from the catalog now.
    let custom = match config.to_model::<PlanView>() {
        Ok(view) => configured(&view),
        Err(e) => {
            ctx.diags
                .error("Cannot read the configuration", e.to_string());
            return None;
        }
    };
    let g = Guarded {
        mount: mount.clone(),
        connection: Some(connection.clone()),
        database: Some(database.clone()),
        username: stat.then(|| planned.username.clone().unwrap_or_default()),
        custom,
        engine: Some(engine),
    };
    if guard(ctx.client, &g, Phase::Apply, &mut ctx.diags).await {
        return None;
    }
    if engine == Engine::Redis && stat {
        let username = planned.username.clone().unwrap_or_default();
        let redis = need(&mut ctx.diags, "Redis", ctx.client.redis().await)?;
        if let Err((summary, detail)) = check_static_redis_login(redis, &database, &username).await
        {
            attribute_error(&mut ctx.diags, "username", summary, detail);
            return None;
        }
    }
    // PostgreSQL `owner` logins join the database's actual owner: the planned one when the
    // plan knew it (so apply matches the plan), else the catalog's.
    let owner = if engine != Engine::Postgres {
        None
    } else if let Some(o) = planned.database_owner.as_option() {
        Some(o.clone())
    } else {
        match catalog_owner(ctx, &database).await {
            Ok(o) => Some(o.unwrap_or_else(|| format!("{database}_owner"))),
            Err(e) => {
                backend_error(
                    &mut ctx.diags,
                    format!("Cannot read the owner of database {database:?}"),
                    e,
                );
                return None;
            }
        }
    };
    let mut generated = match generated_statements(engine, &database, owner.as_deref(), access) {
        Ok(g) => g,
        Err(e) => {
            attribute_error(
                &mut ctx.diags,
                "database",
                "Invalid database name",
                format!("{e}. Nothing was written to Vault."),
            );
            return None;
        }
    };
    if engine == Engine::Redis && !stat && planned.creation_statements.is_unknown() {
        // Confine logins to the namespace's actual key and channel patterns (a custom
        // key_prefix included), read from its ACL user; never guess them.
        let redis = need(&mut ctx.diags, "Redis", ctx.client.redis().await)?;
        match read_namespace(redis, &database).await {
            Ok(ns) => {
                generated = ns.statements(access);
                ctx.private = record_namespace(&ns);
            }
            Err((summary, detail)) => {
                attribute_error(&mut ctx.diags, "database", summary, detail);
                return None;
            }
        }
    } else if engine == Engine::Redis && !stat {
        // Planned from the namespace recorded at the last read: keep that record current.
        // (Configured statements are the user's own; the record matters only when unset.)
        if let Ok(redis) = ctx.client.redis().await {
            if let Ok(ns) = read_namespace(redis, &database).await {
                ctx.private = record_namespace(&ns);
            }
        }
    }
    let given =
        |v: &Known<Vec<String>>, default: Vec<String>| v.as_option().cloned().unwrap_or(default);
    let creation = given(&planned.creation_statements, generated.creation);
    let revocation = given(&planned.revocation_statements, generated.revocation);
    let rotation = given(&planned.rotation_statements, generated.rotation);
    let body = if stat {
        let mut b = serde_json::json!({
            "db_name": connection,
            "username": planned.username.clone().unwrap_or_default(),
            "rotation_period": planned.rotation_period,
        });
        if engine != Engine::Redis {
            b["rotation_statements"] = rotation.clone().into();
        }
        b
    } else {
        serde_json::json!({
            "db_name": connection,
            "creation_statements": creation,
            "revocation_statements": revocation,
            "default_ttl": planned.default_ttl,
            "max_ttl": planned.max_ttl,
        })
    };
    let vault = need(&mut ctx.diags, "Vault", ctx.client.vault().await)?;
    let path = role_path(&mount, &name, stat);
    if let Err(e) = vault.write(&path, &body).await {
        backend_error(&mut ctx.diags, format!("Cannot write Vault role {path}"), e);
        return None;
    }
    let creds = creds_path(&mount, &name, stat);
    // A static role has only rotation statements; a dynamic one only the other two.
    let (creation, revocation, rotation) = if stat {
        (Vec::new(), Vec::new(), rotation)
    } else {
        (creation, revocation, Vec::new())
    };
    let state = Model {
        id: Known::Value(format!("{mount}/{name}")),
        mount: Known::Value(mount),
        engine: Known::Value(engine),
        creation_statements: Known::Value(creation),
        revocation_statements: Known::Value(revocation),
        rotation_statements: Known::Value(rotation),
        policy: Known::Value(policy_for(&creds)),
        creds_path: Known::Value(creds),
        database_owner: owner.into(),
        ..planned.clone()
    };
    Some(state)
}

/// The namespace a Redis role's generated rules come from, as recorded in private state
/// at the last apply or read: its key and channel patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct RedisNamespace {
    /// Key patterns (`~app:*`).
    keys: Vec<String>,
    /// Channel patterns (`&app:*`).
    channels: Vec<String>,
    /// The namespace user may not run Lua (`allow_scripting = false`); absent in records
    /// of earlier releases.
    #[serde(default)]
    no_scripting: bool,
}

impl RedisNamespace {
    /// The statements generated for it at `access`. Issued logins never get SCAN or
    /// RANDOMKEY, even for a namespace with `allow_keyspace_scan`: the opt-in is the
    /// namespace user's, and deriving it from a live ACL would flip while that ACL changes.
    /// They lose scripting with the namespace user (`allow_scripting = false`).
    fn statements(&self, access: Access) -> VaultStatements {
        let opt_ins = sql::RedisOptIns {
            keyspace_scan: false,
            scripting: !self.no_scripting,
        };
        sql::vault_redis_statements_for(&self.keys, &self.channels, access, opt_ins)
    }
}

/// This resource's private state.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Private {
    /// For Redis roles: the namespace the rules were generated from.
    #[serde(default)]
    redis_namespace: Option<RedisNamespace>,
}

/// The recorded namespace; private state of earlier releases (empty) gives none.
fn recorded_namespace(private: &[u8]) -> Option<RedisNamespace> {
    read_private::<Private>(private).redis_namespace
}

/// Private state recording `ns`.
fn record_namespace(ns: &RedisNamespace) -> Vec<u8> {
    write_private(&Private {
        redis_namespace: Some(ns.clone()),
    })
}

/// Refuses a static Redis role's `username` that is not a login confined to namespace
/// `database` (another tenant's user, the admin, the namespace user itself): Vault would
/// rotate its password and hand it out. The error is a diagnostic's summary and detail.
async fn check_static_redis_login(
    redis: &Redis,
    database: &str,
    username: &str,
) -> Result<(), (String, String)> {
    let ns = read_namespace(redis, database).await?;
    let user = redis.get_user(username).await.map_err(|e| {
        (
            format!("Cannot read Redis user {username:?}"),
            format!("{e}. Nothing was written to Vault."),
        )
    })?;
    check_static_login(
        username,
        user.as_ref(),
        database,
        &ns.keys,
        redis.admin_user(),
    )
    .map_err(|why| {
        (
            "Static role's username is not a login of this namespace".to_string(),
            format!("{why}. Nothing was written to Vault."),
        )
    })
}

/// The command whose `ACL DRYRUN` tells whether a namespace user may run Lua.
const SCRIPTING_PROBE: &[&str] = &["EVAL", "return 1", "0"];

/// Reads namespace `name`'s ACL user: its patterns, confined to one prefix. The error is
/// a diagnostic's summary and detail.
async fn read_namespace(redis: &Redis, name: &str) -> Result<RedisNamespace, (String, String)> {
    let user = match redis.get_user(name).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return Err((
                format!("Redis namespace {name:?} not found"),
                format!("The logins of a Redis role are confined to the key and channel patterns of the namespace's ACL user {name:?}, and Redis has no such user. Create the namespace first and reference it, e.g. `database = dbaas_shared_redis_namespace.<x>.name`, so Terraform orders the two."),
            ))
        }
        Err(e) => {
            return Err((
                format!("Cannot read Redis namespace {name:?}"),
                format!("{e}. The role's rules are generated from the namespace's ACL user and are not guessed."),
            ))
        }
    };
    if let Err(why) = confined(&user.keys, &user.channels) {
        return Err((
            format!("Redis namespace {name:?} is not confined to one key prefix"),
            format!("The namespace's ACL user is not as dbaas_shared_redis_namespace leaves it: {why}. Apply the namespace first to restore its rules."),
        ));
    }
    // Scripting follows what the namespace user may do, not how its rules read.
    let no_scripting = match redis.may_run(name, SCRIPTING_PROBE).await {
        Ok(allowed) => !allowed,
        Err(e) => {
            return Err((
                format!("Cannot read Redis namespace {name:?}"),
                format!("{e}. The role's rules are generated from the namespace's ACL user and are not guessed."),
            ))
        }
    };
    Ok(RedisNamespace {
        keys: user.keys,
        channels: user.channels,
        no_scripting,
    })
}

/// Expired logins Vault made for this role that still exist in PostgreSQL: they are
/// what makes a later issue fail with `user already exists`.
async fn stale_logins(ctx: &Ctx<'_>, role: &str, database: &str, owner: &str) -> Vec<String> {
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
async fn static_login_group(ctx: &Ctx<'_>, username: &str) -> Option<(String, Access)> {
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

/// What the issue 19 guard looks at in a role about to be written: from a plan (at plan
/// time) or from the planned model (at create and update).
struct Guarded {
    mount: String,
    connection: Option<String>,
    database: Option<String>,
    /// Static roles: the login Vault would rotate.
    username: Option<String>,
    /// The configured custom statements, per attribute (`None`: left to the provider;
    /// unknown elements are left out).
    custom: [(&'static str, Option<Vec<String>>); 3],
    engine: Option<Engine>,
}

/// The three statement attributes, in [`PlanView::statements`] order.
const STATEMENT_ATTRIBUTES: [&str; 3] = [
    "creation_statements",
    "revocation_statements",
    "rotation_statements",
];

/// When the guard runs: at plan, what cannot be read yet is checked again at apply; at
/// apply, everything must be known and readable.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Plan,
    Apply,
}

/// Logins no static role may rotate: the PgBouncer auth user, the provider's admins,
/// and the admin of every Vault connection on the mount (or, when the mount cannot be
/// listed, of the role's own connection).
async fn forbidden_logins(
    client: &Backends,
    mount: &str,
    connection: Option<&str>,
) -> role_guard::ForbiddenLogins {
    let s = &client.settings;
    let mut out: role_guard::ForbiddenLogins = vec![(
        s.pgbouncer_auth_user().to_string(),
        "the PgBouncer auth user (its password opens every tenant's SCRAM verifier)".to_string(),
    )];
    if let Some(p) = &s.postgres {
        out.push((
            p.username.clone(),
            "the provider's PostgreSQL admin login".to_string(),
        ));
    }
    if let Some(p) = &s.pgbouncer {
        out.push((
            p.admin_username.clone(),
            "the PgBouncer admin user".to_string(),
        ));
    }
    if let Some(m) = &s.mysql {
        out.push((
            m.username.clone(),
            "the provider's MySQL admin user".to_string(),
        ));
    }
    if let Some(r) = &s.redis {
        out.push((
            r.username.clone(),
            "the provider's Redis admin user".to_string(),
        ));
    }
    let Ok(vault) = client.vault().await else {
        return out;
    };
    let names = match vault.list(&format!("{mount}/config")).await {
        Ok(names) => names,
        Err(_) => connection.map(|c| vec![c.to_string()]).unwrap_or_default(),
    };
    for name in names {
        if let Ok(Some(body)) = vault.read(&format!("{mount}/config/{name}")).await {
            let d = &body["data"];
            let user = d["connection_details"]["username"]
                .as_str()
                .or_else(|| d["username"].as_str());
            if let Some(u) = user.filter(|u| !u.is_empty()) {
                out.push((
                    u.to_string(),
                    format!("the admin of Vault connection {name:?}"),
                ));
            }
        }
    }
    out
}

/// Applies the issue 19 rules to a role about to be written; errors go to `diags` at the
/// attribute they are about. At plan, what cannot be read (no backend, a connection or
/// database created in the same apply) is left to apply; at apply it is refused.
/// Returns whether the role is refused.
async fn guard(client: &Backends, g: &Guarded, phase: Phase, out: &mut Diagnostics) -> bool {
    let mut local = Diagnostics::default();
    check(client, g, phase, &mut local).await;
    let refused = local.has_errors();
    out.extend(local);
    refused
}

async fn check(client: &Backends, g: &Guarded, phase: Phase, diags: &mut Diagnostics) {
    let refuse = |diags: &mut Diagnostics, attr: &str, summary: &str, why: String| {
        diags.error_at(
            AttributePath::attr(attr),
            summary.to_string(),
            format!("{why} Nothing was written to Vault."),
        );
    };
    // Word rules, no backend.
    if let Some(why) = g.database.as_deref().and_then(role_guard::system_database) {
        refuse(diags, "database", "System database refused", why);
    }
    let allowed = client
        .settings
        .vault
        .as_ref()
        .is_some_and(|v| v.allow_custom_statements);
    for (attr, list) in &g.custom {
        if list.is_some() {
            if let Some(why) = role_guard::custom_statements_refusal(allowed, attr) {
                refuse(diags, attr, "Custom statements refused", why);
            }
        }
    }
    if diags.has_errors() {
        return;
    }
    let (Some(database), Some(connection)) = (g.database.as_deref(), g.connection.as_deref())
    else {
        return;
    };
    let engine = match g.engine {
        Some(e) => e,
        None => {
            let Ok(vault) = client.vault().await else {
                return;
            };
            match vault
                .read(&format!("{}/config/{connection}", g.mount))
                .await
            {
                Ok(Some(body)) => match body["data"]["plugin_name"]
                    .as_str()
                    .and_then(Engine::of_vault_plugin)
                {
                    Some(e) => e,
                    None => return,
                },
                _ => return,
            }
        }
    };
    let mut owner = None;
    let cannot = |diags: &mut Diagnostics, what: &str, e: String| {
        if phase == Phase::Apply {
            diags.error(format!("Cannot check {what}"), format!("{e}. The role is written only once the catalog shows it is allowed; nothing was written to Vault."));
        }
    };
    match engine {
        Engine::Postgres => {
            let pg = match client.postgres().await {
                Ok(pg) => pg,
                Err(e) => {
                    cannot(diags, "the role's database and login", e.to_string());
                    return;
                }
            };
            match pg.database_facts(database).await {
                Ok(facts) if facts.is_some() || phase == Phase::Apply => {
                    // The owner's and the group roles' facts: superuser owner, tenant shape.
                    let roles = match &facts {
                        Some(f) => {
                            let names = [
                                f.owner.clone(),
                                format!("{database}_readwrite"),
                                format!("{database}_readonly"),
                            ];
                            let names: Vec<&str> = names.iter().map(String::as_str).collect();
                            match pg.role_facts(&names).await {
                                Ok(r) => r,
                                Err(e) => {
                                    cannot(
                                        diags,
                                        &format!("the roles of {database:?}"),
                                        e.to_string(),
                                    );
                                    return;
                                }
                            }
                        }
                        None => Vec::new(),
                    };
                    let admin_db = client
                        .settings
                        .postgres
                        .as_ref()
                        .map_or("", |p| p.database.as_str());
                    if let Some(why) = role_guard::postgres_database_refusal(
                        database,
                        facts.as_ref(),
                        &roles,
                        admin_db,
                    ) {
                        refuse(diags, "database", "Database refused", why);
                    }
                    owner = facts.map(|f| f.owner);
                }
                Ok(_) => {}
                Err(e) => cannot(diags, &format!("database {database:?}"), e.to_string()),
            }
            if let Some(user) = &g.username {
                let forbidden = forbidden_logins(client, &g.mount, Some(connection)).await;
                let groups = Scope::new(database, owner.as_deref()).groups;
                let facts = pg.login_facts(user).await;
                // What it owns or may use in other databases goes with its password.
                let deps = pg
                    .foreign_dependencies(std::slice::from_ref(user), database)
                    .await;
                let facts = match (facts, deps) {
                    (Ok(Some(mut f)), Ok(deps)) => {
                        f.elsewhere = deps
                            .iter()
                            .map(|d| {
                                if d.database.is_empty() {
                                    format!("{} {}", d.kind, d.object)
                                } else {
                                    format!("{} {} in database {}", d.kind, d.object, d.database)
                                }
                            })
                            .collect();
                        Ok(Some(f))
                    }
                    (Ok(_), Err(e)) | (Err(e), _) => Err(e),
                    (Ok(None), Ok(_)) => Ok(None),
                };
                match facts {
                    Ok(facts)
                        if facts.is_some()
                            || phase == Phase::Apply
                            || forbidden.iter().any(|(n, _)| n == user) =>
                    {
                        if let Some(why) = role_guard::postgres_static_login_refusal(
                            user,
                            facts.as_ref(),
                            &groups,
                            &forbidden,
                        ) {
                            refuse(diags, "username", "Static login refused", why);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => cannot(diags, &format!("login {user:?}"), e.to_string()),
                }
            }
        }
        Engine::Mysql => {
            let my = match client.mysql().await {
                Ok(m) => m,
                Err(e) => {
                    cannot(diags, "the role's database and user", e.to_string());
                    return;
                }
            };
            match my.schema(database).await {
                Ok(None) if phase == Phase::Apply => refuse(diags, "database", "Database refused", format!("MySQL database {database:?} does not exist. Create it with dbaas_shared_mysql_database and reference it, e.g. `database = dbaas_shared_mysql_database.<x>.name`.")),
                Ok(_) => {}
                Err(e) => cannot(diags, &format!("database {database:?}"), e.to_string()),
            }
            if let Some(user) = &g.username {
                let forbidden = forbidden_logins(client, &g.mount, Some(connection)).await;
                match my.login_facts(user, database).await {
                    Ok(facts)
                        if facts.exists
                            || phase == Phase::Apply
                            || facts.is_admin
                            || forbidden.iter().any(|(n, _)| n == user) =>
                    {
                        if let Some(why) = role_guard::mysql_static_login_refusal(
                            user, &facts, database, &forbidden,
                        ) {
                            refuse(diags, "username", "Static login refused", why);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => cannot(diags, &format!("user {user:?}"), e.to_string()),
                }
            }
        }
        Engine::Redis => {
            if let Some(user) = &g.username {
                let forbidden = forbidden_logins(client, &g.mount, Some(connection)).await;
                if let Some((_, why)) = forbidden.iter().find(|(n, _)| n == user) {
                    refuse(
                        diags,
                        "username",
                        "Static login refused",
                        format!(
                            "{user:?} is {why}: Vault would rotate its password and hand it out."
                        ),
                    );
                }
            }
        }
    }
    // Custom statements (opted in): the text check, with the tenant's groups.
    let scope = Scope::new(database, owner.as_deref());
    for (attr, list) in &g.custom {
        for text in list.iter().flatten() {
            if let Some(why) = role_guard::statement_refusal(engine, text, &scope) {
                refuse(diags, attr, "Custom statement refused", format!("{why}: {text:?}. Custom statements may create, change and drop only the issued login, within the tenant database's groups ({})."  , scope.groups.join(", ")));
                break;
            }
        }
    }
}

/// The configured custom statements of a planned role (config, not the computed value).
fn configured(view: &PlanView) -> [(&'static str, Option<Vec<String>>); 3] {
    let lists = view.statements();
    let mut out: [(&'static str, Option<Vec<String>>); 3] = STATEMENT_ATTRIBUTES.map(|a| (a, None));
    for (slot, list) in out.iter_mut().zip(lists) {
        if !list.is_null() {
            slot.1 = Some(
                list.as_option()
                    .map(|l| l.iter().filter_map(|s| s.as_option().cloned()).collect())
                    .unwrap_or_default(),
            );
        }
    }
    out
}

#[async_trait::async_trait]
impl tfplugin::ResourceType<Backends> for VaultRotationRole {
    fn type_name(&self) -> &'static str {
        "dbaas_vault_rotation_role"
    }

    fn schema(&self) -> Schema {
        let strings = || Type::list_of(Type::String);
        Schema::new(
            Block::new("A Vault database role for one tenant: dynamic logins with a TTL (`<mount>/roles/<name>`), or a static login rotated on a schedule (`<mount>/static-roles/<name>`). Statements are generated from the connection's engine, the tenant `database` and `access`: a PostgreSQL login joins `<database>_<access>` and, for `owner`, joins and runs as the database's owner role (`<database>_owner`, or the database's custom `owner`, read from the catalog) so the objects it creates outlive it; MySQL users are limited to their schema; Redis users to the key and channel patterns read from the namespace's ACL user (an error when it cannot be read), followed by the namespace guard rules, `-scan -randomkey` always included. Generated Redis rules are planned from the namespace recorded at the last refresh, so rules edited in Vault show as a change and are reverted.")
                .attr(Attribute::string("id").computed().use_state_for_unknown().description("`<mount>/<name>`."))
                .attr(Attribute::string("name").required().requires_replace().description("Role name, e.g. `postgres-myapp-role`; must match the connection's `allowed_roles`.").validate(vault_name_validator()))
                .attr(Attribute::string("connection").required().description("Name of the Vault connection (`dbaas_vault_database_connection.<x>.name`).").validate(vault_name_validator()))
                .attr(Attribute::string("database").required().description("The shared database (or Redis namespace) the logins are for: a tenant database this provider manages (PostgreSQL: marked by dbaas_shared_postgres_database, or with a tenant's NOLOGIN owner and `<database>_readwrite`/`<database>_readonly` roles; MySQL: an existing schema). Never a system database (`postgres`, `template0`, `template1`, `mysql`, `sys`, `information_schema`, `performance_schema`, in any case: refused at validate), a template, the provider's admin database, or one owned by a superuser (refused at plan when the catalog can be read, else at apply; nothing is written to Vault).").validate(no_nul_validator()))
                .attr(Attribute::string("mount").optional().computed().requires_replace().use_state_for_unknown().description("Mount of the database secrets engine, e.g. `database` or `team/database`. Default: the provider's `vault.mount`.").validate(vault_mount_validator()))
                .attr(Attribute::string("mode").default(Value::string(RoleMode::Dynamic.as_str())).requires_replace().description("`dynamic` (a new login per lease) or `static` (an existing login rotated every `rotation_period`).").validate(RoleMode::validator()))
                .attr(Attribute::string("access").default(Value::string(Access::Owner.as_str())).description(format!("{}. Dynamic roles: the group their logins join. Static roles: changes nothing (the login keeps the grants it has); it records the login's tenant group, which import reads from PostgreSQL (`<database>_<access>`), so a configuration can state it and plan no change.", Access::or_list())).validate(Access::validator()))
                .attr(Attribute::number("default_ttl").default(Value::int(86400)).description("Dynamic: lease TTL in seconds.").validate(Validator::int_between(1, 10 * 365 * 86400)))
                .attr(Attribute::number("max_ttl").default(Value::int(86400)).description("Dynamic: maximum lease TTL in seconds.").validate(Validator::int_between(1, 10 * 365 * 86400)))
                .attr(Attribute::string("username").optional().description("Static: the existing login Vault rotates (required for `mode = \"static\"`). A plain tenant login only: PostgreSQL LOGIN without SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS, a member of no role outside the database's groups; MySQL without global grants or grants on other databases; never the PgBouncer auth user, a provider admin or the admin of any Vault connection on the mount.").validate(no_nul_validator()))
                .attr(Attribute::number("rotation_period").default(Value::int(86400)).description("Static: seconds between rotations.").validate(Validator::int_between(5, 10 * 365 * 86400)))
                .attr(Attribute::typed("creation_statements", strings()).optional().computed().description("Dynamic: statements creating a login. Default: generated from engine, database and access. Setting it (or the other statement lists) needs the provider's `vault { allow_custom_statements = true }`; even then statements granting SUPERUSER, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS, membership in a role outside the tenant's groups, MySQL privileges beyond the tenant database, or anything other than creating, changing and dropping the issued login are refused."))
                .attr(Attribute::typed("revocation_statements", strings()).optional().computed().description("Dynamic: statements removing a login. Default: generated (PostgreSQL: end its sessions, then DROP ROLE)."))
                .attr(Attribute::typed("rotation_statements", strings()).optional().computed().description("Static: statements changing the password. Default: generated."))
                .attr(Attribute::string("engine").computed().use_state_for_unknown().description(format!("Engine of the connection: {}.", Engine::or_list())))
                .attr(Attribute::string("creds_path").computed().use_state_for_unknown().description("Where apps read credentials: `<mount>/creds/<name>` or `<mount>/static-creds/<name>`."))
                .attr(Attribute::string("policy").computed().use_state_for_unknown().description("Vault policy HCL granting `read` on `creds_path`."))
                .attr(Attribute::string("database_owner").computed().use_state_for_unknown().description("PostgreSQL: the role that owns `database`, read from the catalog (`pg_database.datdba`; `<database>_owner` unless the database sets a custom `owner`). `owner` logins join it and run as it. Null for MySQL and Redis.")),
        )
    }

    async fn validate(&self, config: &Value, _info: &ClientInfo, diags: &mut Diagnostics) {
        let Some(config) = decode::<PlanView>(diags, config) else {
            return;
        };
        if let Some(why) = config
            .database
            .as_option()
            .and_then(|d| role_guard::system_database(d))
        {
            diags.error_at(
                AttributePath::attr("database"),
                "System database refused",
                format!("{why} Nothing was written to Vault."),
            );
        }
        if config.is_static() && config.username.is_null() {
            diags.error_at(
                AttributePath::attr("username"),
                "username is required for a static role",
                "A static role rotates an existing login: set `username`.",
            );
        }
        if !config.is_static() && !config.username.is_null() && !config.username.is_unknown() {
            diags.error_at(AttributePath::attr("username"), "username only applies to static roles", "Dynamic roles create a new login per lease; remove `username` or set `mode = \"static\"`.");
        }
        if let (Some(d), Some(m)) = (
            config.default_ttl.as_option().and_then(Number::as_i64),
            config.max_ttl.as_option().and_then(Number::as_i64),
        ) {
            if d > m {
                diags.error_at(
                    AttributePath::attr("default_ttl"),
                    "default_ttl exceeds max_ttl",
                    format!("default_ttl ({d}) must not exceed max_ttl ({m})."),
                );
            }
        }
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        if plan.prior.is_null() {
            return;
        }
        let Some((prior, config, planned)) = plan_views_with_prior::<PlanView>(plan) else {
            return;
        };
        // Statements left to the provider are what it would generate now: an edit made
        // in Vault behind Terraform's back (say, a SUPERUSER creation statement) shows
        // as a change and is reverted on apply.
        let (Some(engine), Some(database), Some(access)) = (
            prior.engine(),
            planned.database.as_option().cloned(),
            planned.access(),
        ) else {
            return;
        };
        let mut edit = PlanEdit::default();
        let unset = config.statements().map(|s| s.is_null());
        if engine == Engine::Redis {
            // Redis rules come from the namespace's live ACL at apply: keep them while
            // what they derive from is unchanged, else recompute at apply.
            let same = prior.connection == planned.connection
                && prior.database == planned.database
                && prior.access == planned.access;
            for ((slot, before), unset) in edit
                .statements()
                .into_iter()
                .zip(prior.statements())
                .zip(unset)
            {
                if unset {
                    *slot = Some(if same { before.clone() } else { Known::Unknown });
                }
            }
            merge(&mut plan.diags, &mut plan.planned, &edit);
            return;
        }
        // PostgreSQL: the owner read from the catalog at refresh. Another database has an
        // owner only apply can read: plan the statements unknown.
        let owner = prior.database_owner.as_option().cloned();
        if engine == Engine::Postgres && prior.database != planned.database {
            edit.database_owner = Some(Known::Unknown);
            for (slot, unset) in edit.statements().into_iter().zip(unset) {
                if unset {
                    *slot = Some(Known::Unknown);
                }
            }
            merge(&mut plan.diags, &mut plan.planned, &edit);
            return;
        }
        // A name the builders refuse was already reported by the validators.
        let Ok(generated) = generated_statements(engine, &database, owner.as_deref(), access)
        else {
            return;
        };
        let stat = planned.is_static();
        let values = if stat {
            [Vec::new(), Vec::new(), generated.rotation]
        } else {
            [generated.creation, generated.revocation, Vec::new()]
        };
        for ((slot, v), unset) in edit.statements().into_iter().zip(values).zip(unset) {
            if unset {
                *slot = Some(planned_statements(v));
            }
        }
        merge(&mut plan.diags, &mut plan.planned, &edit);
    }

    fn plan_with_client(&self, client: &Backends, plan: &mut Plan<'_>) {
        // Remembered for `ephemeral "dbaas_database_credentials"`: opened at plan time
        // for this role before it exists, it answers "known after apply".
        let Ok(role) = plan.planned.to_model::<RoleName>() else {
            return;
        };
        if let Some(name) = role.name.as_option() {
            let mount = client.vault_mount(role.mount.as_option().map(String::as_str));
            client.note_planned_role(&mount, name);
        }
    }

    async fn check_plan(&self, client: &Backends, plan: &mut Plan<'_>) {
        // Issue 19: a role being created or changed is checked now where the catalog can
        // be read (apply checks again); an unchanged one dials nothing.
        if plan.planned.is_null() || (!plan.prior.is_null() && plan.planned == *plan.prior) {
            return;
        }
        let Some((config, planned)) = plan_views::<PlanView>(plan) else {
            return;
        };
        let Ok(role) = plan.planned.to_model::<RoleName>() else {
            return;
        };
        let g = Guarded {
            mount: client.vault_mount(role.mount.as_option().map(String::as_str)),
            connection: planned.connection.as_option().cloned(),
            database: planned.database.as_option().cloned(),
            username: if planned.is_static() {
                planned.username.as_option().cloned()
            } else {
                None
            },
            custom: configured(&config),
            engine: None,
        };
        guard(client, &g, Phase::Plan, &mut plan.diags).await;
    }

    fn plan_with_private(&self, prior_private: &[u8], plan: &mut Plan<'_>) {
        // Redis rules left to the provider are regenerated from the namespace recorded
        // at the last read, so an edit made in Vault shows as a change and is reverted.
        if plan.prior.is_null() || plan.planned.is_null() {
            return;
        }
        let Some((prior, config, planned)) = plan_views_with_prior::<PlanView>(plan) else {
            return;
        };
        if prior.engine() != Some(Engine::Redis)
            || planned.is_static()
            || !config.creation_statements.is_null()
            || prior.connection != planned.connection
            || prior.database != planned.database
        {
            return;
        }
        let (Some(ns), Some(access)) = (recorded_namespace(prior_private), planned.access()) else {
            return;
        };
        let generated = ns.statements(access);
        let edit = PlanEdit {
            creation_statements: Some(planned_statements(generated.creation)),
            revocation_statements: config
                .revocation_statements
                .is_null()
                .then(|| planned_statements(generated.revocation)),
            ..PlanEdit::default()
        };
        merge(&mut plan.diags, &mut plan.planned, &edit);
    }

    async fn import(&self, ctx: &mut Ctx<'_>, id: &str, state: &mut Value) {
        let (mount, name) = match parse_vault_id(id) {
            Ok(parts) => parts,
            Err(why) => {
                ctx.diags.error(
                    "Invalid import id",
                    format!(
                        "{why}. The id is `<mount>/<name>`, e.g. `database/postgres-myapp-role`."
                    ),
                );
                return;
            }
        };
        let mut imported = Imported {
            mount,
            name,
            mode: RoleMode::Dynamic,
            database: None,
            access: None,
        };
        let Some(vault) = need(&mut ctx.diags, "Vault", ctx.client.vault().await) else {
            merge(&mut ctx.diags, state, &imported);
            return;
        };
        // Dynamic or static: whichever exists.
        match vault.read(&role_path(mount, name, true)).await {
            Ok(Some(body)) => {
                imported.mode = RoleMode::Static;
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
            _ => {
                if let Ok(Some(body)) = vault.read(&role_path(mount, name, false)).await {
                    let (database, access) =
                        database_of_statements(ctx, &body["data"]["creation_statements"]).await;
                    imported.database = Some(database);
                    imported.access = Some(access);
                }
            }
        }
        merge(&mut ctx.diags, state, &imported);
    }
}

#[async_trait::async_trait]
impl tfplugin::TypedResource<Backends> for VaultRotationRole {
    type Model = Model;

    async fn create(&self, ctx: &mut Ctx<'_>, planned: Model, config: &Value) -> Applied<Model> {
        let out = async { write_role(ctx, &planned, config).await }.await;
        legacy_applied(&mut ctx.diags, out)
    }

    async fn read(&self, ctx: &mut Ctx<'_>, mut s: Model) -> Result<Option<Model>, Error> {
        let out = async {
            let name = s.name.clone();
            let mount = ctx
                .client
                .vault_mount(s.mount.as_option().map(String::as_str));
            let stat = s.is_static();
            let vault = need(&mut ctx.diags, "Vault", ctx.client.vault().await)?;
            let path = role_path(&mount, &name, stat);
            let body = match vault.read(&path).await {
                Ok(Some(b)) => b,
                Ok(None) => return None,
                Err(e) => {
                    backend_error(&mut ctx.diags, format!("Cannot read Vault role {path}"), e);
                    return Some(s);
                }
            };
            let d = &body["data"];
            let strs = |k: &str| {
                Known::Value(
                    d[k].as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            };
            let none = || Known::Value(Vec::new());
            s.id = Known::Value(format!("{mount}/{name}"));
            s.mount = Known::Value(mount.clone());
            if let Some(c) = d["db_name"].as_str() {
                s.connection = Some(c.to_string());
            }
            if stat {
                if let Some(u) = d["username"].as_str() {
                    s.username = Some(u.to_string());
                }
                if let Some(p) = ttl_secs(&d["rotation_period"]) {
                    s.rotation_period = p;
                }
                s.rotation_statements = strs("rotation_statements");
                s.creation_statements = none();
                s.revocation_statements = none();
            } else {
                s.creation_statements = strs("creation_statements");
                s.revocation_statements = strs("revocation_statements");
                s.rotation_statements = none();
                if let Some(t) = ttl_secs(&d["default_ttl"]) {
                    s.default_ttl = t;
                }
                if let Some(t) = ttl_secs(&d["max_ttl"]) {
                    s.max_ttl = t;
                }
            }
            let creds = creds_path(&mount, &name, stat);
            s.policy = Known::Value(policy_for(&creds));
            s.creds_path = Known::Value(creds);
            if s.engine.is_null() {
                let connection = s.connection.clone().unwrap_or_default();
                if let Some(engine) = engine_of(ctx, &mount, &connection).await {
                    s.engine = Known::Value(engine);
                }
            }
            let engine = s.engine.as_option().copied();
            let database = s.database.clone().unwrap_or_default();
            if !stat && engine == Some(Engine::Redis) {
                // The namespace now: the plan regenerates the rules from it, so an edit of
                // the role in Vault shows as a change. Unreadable: the last record stands.
                if let Ok(redis) = ctx.client.redis().await {
                    if let Ok(ns) = read_namespace(redis, &database).await {
                        ctx.private = record_namespace(&ns);
                    }
                }
            }
            if engine == Some(Engine::Postgres) {
                // The owner the statements should name; an unreachable catalog keeps the prior.
                if let Ok(Some(owner)) = catalog_owner(ctx, &database).await {
                    s.database_owner = Known::Value(owner);
                }
            }
            if !stat && engine == Some(Engine::Postgres) {
                let owner = s
                    .database_owner
                    .as_option()
                    .map_or_else(|| format!("{database}_owner"), String::clone);
                let stale = stale_logins(ctx, &name, &database, &owner).await;
                if !stale.is_empty() {
                    ctx.diags.warning(
                        format!("Expired logins of Vault role {name:?} still exist in PostgreSQL"),
                        format!("These logins expired but were never dropped (failed revocations): {}. They own sessions or objects, and can make later rotations fail with `user already exists`. Revoke their leases (`vault lease revoke -prefix {mount}/creds/{name}`) or drop them.", stale.join(", ")),
                    );
                }
            }
            Some(s)
        }
        .await;
        legacy_read(&mut ctx.diags, out)
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_>,
        _prior: Model,
        planned: Model,
        config: &Value,
    ) -> Applied<Model> {
        let out = async { write_role(ctx, &planned, config).await }.await;
        legacy_applied(&mut ctx.diags, out)
    }

    async fn delete(&self, ctx: &mut Ctx<'_>, prior: Model) -> Result<(), Error> {
        let out = async {
            let name = prior.name.clone();
            let mount = ctx
                .client
                .vault_mount(prior.mount.as_option().map(String::as_str));
            let stat = prior.is_static();
            let Some(vault) = need(&mut ctx.diags, "Vault", ctx.client.vault().await) else {
                return;
            };
            if !stat {
                // End every outstanding lease so the logins leave the database with the role.
                if let Err(e) = vault
                    .write(
                        &format!("sys/leases/revoke-prefix/{mount}/creds/{name}"),
                        &serde_json::json!({}),
                    )
                    .await
                {
                    ctx.diags.warning(
                        format!("Cannot revoke the leases of {mount}/creds/{name}"),
                        format!("{e}. Logins issued by this role may remain until their TTL ends."),
                    );
                }
            }
            let path = role_path(&mount, &name, stat);
            if let Err(e) = vault.delete(&path).await {
                backend_error(
                    &mut ctx.diags,
                    format!("Cannot delete Vault role {path}"),
                    e,
                );
            }
        }
        .await;
        legacy_done(&mut ctx.diags, out)
    }
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
        .find_map(|t| {
            t.find("IN ROLE \"")
                .map(|i| t[i + 9..].split('"').next().unwrap_or_default().to_string())
        });
    if let Some(group) = group {
        if let [only] = databases_owned_by(ctx, &group).await.as_slice() {
            return (only.clone(), access);
        }
    }
    (database, access)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::common::test_plan;

    #[test]
    fn private_state_of_earlier_releases_reads_as_no_record() {
        assert_eq!(recorded_namespace(b""), None);
        assert_eq!(recorded_namespace(b"not json"), None);
        assert_eq!(recorded_namespace(b"{}"), None);
        let ns = RedisNamespace {
            keys: vec!["~app:*".into()],
            channels: vec!["&app:*".into()],
            no_scripting: false,
        };
        assert_eq!(recorded_namespace(&record_namespace(&ns)), Some(ns.clone()));
        // A record without `no_scripting` (before issue 19) reads as scripting on.
        let old = br#"{"redis_namespace":{"keys":["~app:*"],"channels":["&app:*"]}}"#;
        assert_eq!(recorded_namespace(old), Some(ns));
    }

    #[test]
    fn issued_logins_lose_scripting_with_the_namespace() {
        let ns = |no_scripting| RedisNamespace {
            keys: vec!["~app:*".into()],
            channels: vec![],
            no_scripting,
        };
        for access in [Access::Owner, Access::ReadWrite, Access::ReadOnly] {
            let rules = |n: RedisNamespace| -> Vec<String> {
                serde_json::from_str(&n.statements(access).creation[0]).unwrap_or_default()
            };
            let on = rules(ns(false));
            let off = rules(ns(true));
            assert!(!on.iter().any(|r| r == "-@scripting"), "{on:?}");
            assert_eq!(off.last().map(String::as_str), Some("-@scripting"));
            for rule in ["-client|tracking", "-script|kill", "-select", "-scan"] {
                assert!(on.iter().any(|r| r == rule) && off.iter().any(|r| r == rule));
            }
        }
    }

    use crate::resources::common::test_object as obj;

    /// The planned creation statements (known ones only).
    fn creation(plan: &Plan<'_>) -> Vec<String> {
        let view: PlanView = plan.planned.to_model().unwrap();
        view.creation_statements
            .into_option()
            .unwrap_or_default()
            .into_iter()
            .filter_map(Known::into_option)
            .collect()
    }

    #[test]
    fn edited_rules_are_planned_back_from_the_recorded_namespace() {
        let ns = RedisNamespace {
            keys: vec!["~app:*".into()],
            channels: vec!["&app:*".into()],
            no_scripting: false,
        };
        let edited = Value::from_strings([r#"["~*","+@all"]"#]);
        let prior = obj(&[
            ("engine", Value::string("redis")),
            ("connection", Value::string("rd")),
            ("database", Value::string("app")),
            ("access", Value::string("owner")),
            ("mode", Value::string("dynamic")),
            ("creation_statements", edited.clone()),
        ]);
        let config = obj(&[("creation_statements", Value::Null)]);
        let mut plan = test_plan(&prior, &config, prior.clone());
        tfplugin::ResourceType::<Backends>::plan_with_private(
            &VaultRotationRole,
            &record_namespace(&ns),
            &mut plan,
        );
        let planned = creation(&plan);
        let rules: Vec<String> = serde_json::from_str(&planned[0]).unwrap_or_default();
        assert_eq!(rules[..2], ["~app:*".to_string(), "&app:*".to_string()]);
        assert!(rules.ends_with(&["-scan".to_string(), "-randomkey".to_string()]));

        // No record (state of an earlier release): the plan keeps what it had.
        let mut plan = test_plan(&prior, &config, prior.clone());
        tfplugin::ResourceType::<Backends>::plan_with_private(&VaultRotationRole, b"", &mut plan);
        assert_eq!(creation(&plan), edited.string_list());
    }

    #[test]
    fn a_planned_role_is_remembered_for_the_ephemeral_credentials() {
        let client = Backends::new(Default::default());
        let config = obj(&[("name", Value::string("eph-role"))]);
        let planned = obj(&[
            ("name", Value::string("eph-role")),
            ("mount", Value::unknown()),
        ]);
        let mut plan = test_plan(&Value::Null, &config, planned);
        assert!(!client.role_is_planned("database", "eph-role"));
        tfplugin::ResourceType::<Backends>::plan_with_client(
            &VaultRotationRole,
            &client,
            &mut plan,
        );
        assert!(
            client.role_is_planned("database", "eph-role"),
            "mount defaults to the provider's"
        );
        assert!(!client.role_is_planned("team/database", "eph-role"));
        assert!(!client.role_is_planned("database", "other"));

        // A destroy plans nothing to read credentials from.
        let client = Backends::new(Default::default());
        let mut plan = test_plan(&config, &Value::Null, Value::Null);
        tfplugin::ResourceType::<Backends>::plan_with_client(
            &VaultRotationRole,
            &client,
            &mut plan,
        );
        assert!(!client.role_is_planned("database", "eph-role"));
    }
}
