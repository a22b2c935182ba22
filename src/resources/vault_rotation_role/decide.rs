//! The pure decisions of a rotation role's create, update, read and delete: no I/O, no
//! context; `crud.rs` observes, calls these, and executes what they return.

use tfplugin::{Error, Known};

use super::{Model, PlanView};
use crate::enums::{Engine, RoleMode};
use crate::resources::role_guard::verdict::STATEMENT_ATTRIBUTES;
use crate::resources::vault_role_rules::{creds_path, policy_for, ttl_secs};
use crate::sql::VaultStatements;

/// The engine of Vault connection `<mount>/config/<connection>` from its body (`None`:
/// no such connection): refused at `connection` when missing or of another plugin.
pub fn engine_of_connection(
    mount: &str,
    connection: &str,
    body: Option<&serde_json::Value>,
) -> Result<Engine, Error> {
    let Some(body) = body else {
        return Err(Error::at_attr("connection", format!("Vault connection {connection:?} not found"), format!("{mount}/config/{connection} does not exist. Create it first (dbaas_vault_database_connection) and reference it, e.g. `connection = dbaas_vault_database_connection.pg.name`.")));
    };
    let plugin = &body["data"]["plugin_name"];
    plugin.as_str().and_then(Engine::of_vault_plugin).ok_or_else(|| {
        Error::at_attr("connection", "Unsupported connection plugin", format!("{mount}/config/{connection} uses plugin {plugin:?}; this resource generates statements for PostgreSQL, MySQL and Redis only."))
    })
}

/// Whether a connection of `engine` with body `body` is administered by a dedicated
/// Vault admin login (PostgreSQL or MySQL, its `username` named like one): its roles'
/// generated statements call the admin's functions (procedures on MySQL).
pub fn via_vault_admin(engine: Engine, body: Option<&serde_json::Value>) -> bool {
    let user = body.and_then(|b| b["data"]["connection_details"]["username"].as_str());
    matches!(engine, Engine::Postgres | Engine::Mysql)
        && user.is_some_and(crate::sql::is_vault_admin_login)
}

/// The configured custom statements of a planned role (config, not the computed value),
/// per attribute: `None` when left to the provider; unknown elements are left out.
pub fn configured(view: &PlanView) -> [(&'static str, Option<Vec<String>>); 3] {
    let mut out = STATEMENT_ATTRIBUTES.map(|a| (a, None));
    for (slot, list) in out.iter_mut().zip(view.statements()) {
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

/// Where the owner role a PostgreSQL `owner` login joins comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerSource {
    /// MySQL and Redis have none.
    None,
    /// The plan knew it (read at refresh): apply matches the plan.
    Planned(String),
    /// Read from the catalog now (`<database>_owner` when the database is not there).
    Catalog,
}

/// [`OwnerSource`] of a role of `engine` whose plan says `planned`.
pub fn owner_source(engine: Engine, planned: &Known<String>) -> OwnerSource {
    match (engine, planned.as_option()) {
        (Engine::Postgres, Some(owner)) => OwnerSource::Planned(owner.clone()),
        (Engine::Postgres, None) => OwnerSource::Catalog,
        _ => OwnerSource::None,
    }
}

/// The owner the catalog names, or the default `<database>_owner`.
pub fn owner_or_default(database: &str, catalog: Option<String>) -> String {
    catalog.unwrap_or_else(|| format!("{database}_owner"))
}

/// Where a role's generated Redis rules come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisRules {
    /// Not a dynamic Redis role: the generated statements as they are.
    NotRedis,
    /// Generated from the namespace's ACL user, read now (an error when it cannot be).
    FromNamespace,
    /// The plan carries the rules (from the recorded namespace or the configuration):
    /// only keep the record current, when the namespace can be read.
    RecordOnly,
}

/// [`RedisRules`] of a role of `engine`; `planned_unknown`: the plan left the creation
/// statements to apply.
pub fn redis_rules(engine: Engine, stat: bool, planned_unknown: bool) -> RedisRules {
    match (engine, stat, planned_unknown) {
        (Engine::Redis, false, true) => RedisRules::FromNamespace,
        (Engine::Redis, false, false) => RedisRules::RecordOnly,
        _ => RedisRules::NotRedis,
    }
}

/// The statements a role is written with: the planned ones where known, else the
/// generated ones; a static role has only rotation statements, a dynamic one only the
/// other two. In [`STATEMENT_ATTRIBUTES`] order.
pub fn chosen_statements(planned: &Model, generated: VaultStatements) -> [Vec<String>; 3] {
    let given = |v: &Known<Vec<String>>, g: Vec<String>| v.as_option().cloned().unwrap_or(g);
    if planned.is_static() {
        let rotation = given(&planned.rotation_statements, generated.rotation);
        [Vec::new(), Vec::new(), rotation]
    } else {
        let creation = given(&planned.creation_statements, generated.creation);
        let revocation = given(&planned.revocation_statements, generated.revocation);
        [creation, revocation, Vec::new()]
    }
}

use super::plan::DEFAULT_SECONDS;

/// The body written to `<mount>/roles/<name>` or `<mount>/static-roles/<name>`. Redis
/// static roles take no rotation statements.
pub fn role_body(
    planned: &Model,
    connection: &str,
    engine: Engine,
    statements: &[Vec<String>; 3],
) -> serde_json::Value {
    let [creation, revocation, rotation] = statements;
    if planned.is_static() {
        let mut b = serde_json::json!({
            "db_name": connection,
            "username": planned.username.clone().unwrap_or_default(),
        });
        // Issue 22: a cron schedule (with its window) or a period, never both.
        if let Some(schedule) = &planned.rotation_schedule {
            b["rotation_schedule"] = schedule.clone().into();
            if let Some(window) = planned.rotation_window {
                b["rotation_window"] = window.into();
            }
        } else {
            b["rotation_period"] = planned.rotation_period.unwrap_or(DEFAULT_SECONDS).into();
        }
        if let Some(skip) = planned.skip_import_rotation {
            b["skip_import_rotation"] = skip.into();
        }
        if engine != Engine::Redis {
            b["rotation_statements"] = rotation.clone().into();
        }
        b
    } else {
        serde_json::json!({
            "db_name": connection,
            "creation_statements": creation,
            "revocation_statements": revocation,
            "default_ttl": planned.default_ttl.unwrap_or(DEFAULT_SECONDS),
            "max_ttl": planned.max_ttl.unwrap_or(DEFAULT_SECONDS),
        })
    }
}

/// The state after a role was written.
pub fn written(
    planned: Model,
    mount: String,
    engine: Engine,
    statements: [Vec<String>; 3],
    owner: Option<String>,
) -> Model {
    let [creation, revocation, rotation] = statements;
    let creds = creds_path(&mount, &planned.name, planned.is_static());
    Model {
        id: Known::Value(format!("{mount}/{}", planned.name)),
        mount: Known::Value(mount),
        engine: Known::Value(engine),
        creation_statements: Known::Value(creation),
        revocation_statements: Known::Value(revocation),
        rotation_statements: Known::Value(rotation),
        policy: Known::Value(policy_for(&creds)),
        creds_path: Known::Value(creds),
        database_owner: owner.into(),
        ..planned
    }
}

/// A role as Vault returns it (`data` of a read), the fields read takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultRole {
    /// `db_name`: the connection.
    pub connection: Option<String>,
    /// Static: the rotated login.
    pub username: Option<String>,
    /// Static: seconds between rotations.
    pub rotation_period: Option<i64>,
    /// Dynamic: TTLs in seconds.
    pub default_ttl: Option<i64>,
    /// Dynamic: maximum TTL in seconds.
    pub max_ttl: Option<i64>,
    /// Statements in [`STATEMENT_ATTRIBUTES`] order (missing lists are empty).
    pub statements: [Vec<String>; 3],
    /// Static, Vault 1.15+: the cron schedule (`Some(None)`: the server reports none;
    /// `None`: the server has no schedules, e.g. OpenBao).
    pub rotation_schedule: Option<Option<String>>,
    /// Static, Vault 1.15+: the window in seconds (0 reads as none).
    pub rotation_window: Option<i64>,
    /// Static, Vault 1.18+: whether the role skipped its first rotation.
    pub skip_import_rotation: Option<bool>,
}

impl VaultRole {
    /// Reads the `data` of a role; anything missing or of another type reads as absent.
    pub fn from_data(d: &serde_json::Value) -> VaultRole {
        let text = |k: &str| d[k].as_str().map(str::to_string);
        let strs = |k: &str| {
            d[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        VaultRole {
            connection: text("db_name"),
            username: text("username"),
            rotation_period: ttl_secs(&d["rotation_period"]),
            default_ttl: ttl_secs(&d["default_ttl"]),
            max_ttl: ttl_secs(&d["max_ttl"]),
            statements: STATEMENT_ATTRIBUTES.map(strs),
            rotation_schedule: d
                .get("rotation_schedule")
                .map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string)),
            rotation_window: ttl_secs(&d["rotation_window"]).filter(|w| *w > 0),
            skip_import_rotation: d["skip_import_rotation"].as_bool(),
        }
    }
}

/// The state `s` refreshed from what Vault holds at `mount` (drift shows as the new
/// values; what Vault does not say stays). Only the mode's own fields are read: a static
/// role's username, period and rotation statements, a dynamic one's TTLs and the other
/// statements.
pub fn refreshed(mut s: Model, mount: &str, role: VaultRole) -> Model {
    let stat = s.is_static();
    s.id = Known::Value(format!("{mount}/{}", s.name));
    s.mount = Known::Value(mount.to_string());
    s.connection = role.connection.or(s.connection);
    let [creation, revocation, rotation] = role.statements;
    if stat {
        s.username = role.username.or(s.username);
        match role.rotation_schedule {
            // A server with schedules says which one the role follows (if any).
            Some(Some(schedule)) => {
                s.rotation_schedule = Some(schedule);
                s.rotation_window = role.rotation_window;
                s.rotation_period = None;
            }
            Some(None) => {
                s.rotation_schedule = None;
                s.rotation_window = None;
                s.rotation_period = role.rotation_period.or(s.rotation_period);
            }
            // A period of 0 means none (a scheduled role on a server that reports it).
            None => {
                s.rotation_period = role
                    .rotation_period
                    .filter(|p| *p > 0)
                    .or(s.rotation_period)
            }
        }
        // `false` from Vault is the default: it stays null when the state has it null.
        s.skip_import_rotation = match (role.skip_import_rotation, s.skip_import_rotation) {
            (Some(true), _) => Some(true),
            (Some(false), Some(_)) => Some(false),
            (_, prior) => prior,
        };
        s.creation_statements = Known::Value(Vec::new());
        s.revocation_statements = Known::Value(Vec::new());
        s.rotation_statements = Known::Value(rotation);
    } else {
        s.creation_statements = Known::Value(creation);
        s.revocation_statements = Known::Value(revocation);
        s.rotation_statements = Known::Value(Vec::new());
        s.default_ttl = role.default_ttl.or(s.default_ttl);
        s.max_ttl = role.max_ttl.or(s.max_ttl);
    }
    let creds = creds_path(mount, &s.name, stat);
    s.policy = Known::Value(policy_for(&creds));
    s.creds_path = Known::Value(creds);
    s
}

/// What read asks beyond Vault, once the engine is known (an imported role's engine is
/// read from its connection first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadChecks {
    /// Dynamic Redis: record the namespace the plan regenerates the rules from.
    pub namespace: bool,
    /// PostgreSQL: the database's owner from the catalog.
    pub owner: bool,
    /// Dynamic PostgreSQL: warn about expired logins that were never dropped.
    pub stale_logins: bool,
}

impl ReadChecks {
    /// The checks for a role of `engine` (`None`: unknown).
    pub fn for_role(engine: Option<Engine>, stat: bool) -> ReadChecks {
        ReadChecks {
            namespace: !stat && engine == Some(Engine::Redis),
            owner: engine == Some(Engine::Postgres),
            stale_logins: !stat && engine == Some(Engine::Postgres),
        }
    }
}

/// The warning about `stale` logins of role `name`, as summary and detail; none when
/// there are none.
pub fn stale_logins_warning(name: &str, mount: &str, stale: &[String]) -> Option<(String, String)> {
    (!stale.is_empty()).then(|| (
        format!("Expired logins of Vault role {name:?} still exist in PostgreSQL"),
        format!("These logins expired but were never dropped (failed revocations): {}. They own sessions or objects, and can make later rotations fail with `user already exists`. Revoke their leases (`vault lease revoke -prefix {mount}/creds/{name}`) or drop them.", stale.join(", ")),
    ))
}

/// The lease prefix a destroy revokes before deleting the role, so the logins leave the
/// database with it: a dynamic role's `<mount>/creds/<name>`; a static role has none.
pub fn leases_to_revoke(mount: &str, name: &str, stat: bool) -> Option<String> {
    (!stat).then(|| creds_path(mount, name, false))
}

/// Issue 23: the listing of the roles holding leases on `mount` (`sys/leases/lookup`,
/// keys `<role>/`), read once for the roles deleted together.
pub fn lease_listing(mount: &str) -> String {
    format!("sys/leases/lookup/{mount}/creds")
}

/// Issue 23: whether role `name`'s leases are revoked before it is deleted: when the
/// listing of [`lease_listing`] names it, or when it could not be read (`None`;
/// revoke-prefix then does the looking, as it always did).
pub fn must_revoke(listed: Option<&[String]>, name: &str) -> bool {
    listed.is_none_or(|keys| {
        keys.iter()
            .any(|k| k.strip_suffix('/').unwrap_or(k) == name)
    })
}

/// The mode of an imported role: the one the id named (`roles/`: dynamic,
/// `static-roles/`: static), else the one that exists in Vault; both existing under one
/// `<mount>/<name>` is refused, saying how to name one. A role that exists in neither
/// mode keeps the named (or dynamic) mode, and read reports it missing.
pub fn import_mode(
    mount: &str,
    name: &str,
    named_static: Option<bool>,
    dynamic_exists: bool,
    static_exists: bool,
) -> Result<RoleMode, String> {
    match (named_static, dynamic_exists, static_exists) {
        (Some(true), _, _) => Ok(RoleMode::Static),
        (Some(false), _, _) => Ok(RoleMode::Dynamic),
        (None, true, true) => Err(format!(
            "both `{mount}/roles/{name}` and `{mount}/static-roles/{name}` exist in Vault, so `{mount}/{name}` names two roles: write the Vault path of the one to import"
        )),
        (None, false, true) => Ok(RoleMode::Static),
        (None, _, false) => Ok(RoleMode::Dynamic),
    }
}
