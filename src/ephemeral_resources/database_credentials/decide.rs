//! The credentials' decisions, pure: which role was found (or will be, at apply), which
//! engine and database it logs in to, what Vault issued, where the app logs in, when to
//! renew, and the refusals with their diagnostics. No I/O; the CRUD in `mod.rs` observes,
//! asks these, and executes.

use std::time::{Duration, SystemTime};

use serde_json::Value as Json;
use tfplugin::{Error, Known};

use crate::enums::Engine;
use crate::resources::vault_role_rules::{database_from_statements, role_path};

/// What Open does after looking for the role.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleStep {
    /// The role exists: read its credentials (`stat`: a static role).
    Issue {
        /// Vault's reply for the role.
        body: Json,
        /// A static role.
        stat: bool,
    },
    /// The role is planned in this run but not written yet: results known after apply.
    KnownAfterApply,
}

/// Why Open gives no credentials; each renders its own diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Neither `<mount>/roles/<role>` nor `<mount>/static-roles/<role>` exists.
    NoRole {
        /// Role name.
        role: String,
        /// The mount.
        mount: String,
    },
    /// Vault answered nothing for the credentials path.
    NoCredentials {
        /// `<mount>/creds/<role>` or `static-creds`.
        path: String,
    },
    /// The login through the apps' endpoint failed (the lease is revoked).
    LoginFailed {
        /// Role name.
        role: String,
        /// Host apps use.
        host: String,
        /// Port apps use.
        port: u16,
        /// What the login said.
        why: String,
        /// What to check.
        hint: &'static str,
    },
}

impl Refusal {
    /// The diagnostic, on the attribute it is about.
    pub fn error(&self) -> Error {
        match self {
            Refusal::NoRole { role, mount } => Error::at_attr(
                "role",
                format!("No Vault role {role:?}"),
                format!("Neither {} nor {} exists. A role created in the same configuration must be referenced (`role = dbaas_vault_rotation_role.<x>.name`), so that Terraform reads its credentials only after writing it.", role_path(mount, role, false), role_path(mount, role, true)),
            ),
            Refusal::NoCredentials { path } => Error::new(
                format!("No credentials at {path}"),
                "Vault returned nothing for this role.",
            ),
            Refusal::LoginFailed { role, host, port, why, hint } => Error::new(
                format!("Credentials of {role:?} do not work through {host}:{port}"),
                format!("{why}. The app would fail the same way: {hint} The lease has been revoked."),
            ),
        }
    }
}

/// The role found (dynamic first), or whether to answer "known after apply".
pub fn role_step(
    found: Option<(Json, bool)>,
    planned_in_this_run: bool,
    role: &str,
    mount: &str,
) -> Result<RoleStep, Refusal> {
    match found {
        Some((body, stat)) => Ok(RoleStep::Issue { body, stat }),
        None if planned_in_this_run => Ok(RoleStep::KnownAfterApply),
        None => Err(Refusal::NoRole {
            role: role.to_string(),
            mount: mount.to_string(),
        }),
    }
}

/// The engine of the role's connection (`<mount>/config/<connection>`); one that cannot
/// be read or named is taken for PostgreSQL, the platform's default.
pub fn engine_of(connection: Option<&Json>) -> Engine {
    connection
        .and_then(|c| c["data"]["plugin_name"].as_str())
        .and_then(Engine::of_vault_plugin)
        .unwrap_or(Engine::Postgres)
}

/// Where the database to log in to comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DatabaseSource {
    /// Known without asking anyone: configured, read from a MySQL role's statements, or
    /// none (a static MySQL role, Redis).
    Known(String),
    /// PostgreSQL dynamic role: the tenant database whose group its generated statements
    /// join (`creation_statements`).
    GroupOfStatements(Json),
    /// PostgreSQL static role: the tenant database whose group the login is in.
    GroupOfLogin(String),
}

/// The database when the configuration names none: PostgreSQL, the tenant database whose
/// group the logins join (from a dynamic role's generated statements, or a static login's
/// group memberships); MySQL, the schema a dynamic role's statements grant on (none for a
/// static role); Redis, none.
pub fn database_source(
    configured: &Known<String>,
    engine: Engine,
    stat: bool,
    role: &Json,
) -> DatabaseSource {
    if let Known::Value(d) = configured {
        return DatabaseSource::Known(d.clone());
    }
    match (engine, stat) {
        (Engine::Postgres, false) => {
            DatabaseSource::GroupOfStatements(role["creation_statements"].clone())
        }
        (Engine::Postgres, true) => match role["username"].as_str() {
            Some(username) => DatabaseSource::GroupOfLogin(username.to_string()),
            None => DatabaseSource::Known(String::new()),
        },
        (Engine::Mysql, false) => {
            DatabaseSource::Known(database_from_statements(&role["creation_statements"]))
        }
        (Engine::Mysql, true) | (Engine::Redis, _) => DatabaseSource::Known(String::new()),
    }
}

/// What Vault issued, read from a `creds` or `static-creds` reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Issued {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Lease id (empty for static roles).
    pub lease_id: String,
    /// Seconds the lease lives (static roles: until the next rotation, `data.ttl`).
    pub lease_duration: i64,
}

/// The credentials in Vault's reply for `path`; nothing is a refusal.
pub fn issued(reply: Option<Json>, path: &str) -> Result<Issued, Refusal> {
    let creds = reply.ok_or_else(|| Refusal::NoCredentials {
        path: path.to_string(),
    })?;
    let text = |v: &Json| v.as_str().unwrap_or_default().to_string();
    Ok(Issued {
        username: text(&creds["data"]["username"]),
        password: text(&creds["data"]["password"]),
        lease_id: text(&creds["lease_id"]),
        lease_duration: creds["lease_duration"]
            .as_i64()
            .or_else(|| creds["data"]["ttl"].as_i64())
            .unwrap_or(0),
    })
}

/// How the app's login is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRoute {
    /// Through PgBouncer (or the primary without it).
    Postgres,
    /// At `mysql.host:port` with `mysql.tls`.
    Mysql,
    /// At `redis.host:port`, AUTH then PING.
    Redis,
    /// The provider has no block for the engine: nothing to log in through.
    NoEndpoint(&'static str),
}

/// The route for `engine`, given which provider blocks are configured.
pub fn login_route(engine: Engine, has_mysql: bool, has_redis: bool) -> LoginRoute {
    match engine {
        Engine::Postgres => LoginRoute::Postgres,
        Engine::Mysql if has_mysql => LoginRoute::Mysql,
        Engine::Redis if has_redis => LoginRoute::Redis,
        Engine::Mysql => LoginRoute::NoEndpoint("mysql"),
        Engine::Redis => LoginRoute::NoEndpoint("redis"),
    }
}

/// What a failed login says and what to check, per route.
pub fn login_failure(route: LoginRoute, why: String) -> (String, &'static str) {
    match route {
        LoginRoute::Postgres => (why, "check PgBouncer's auth_query / auth_user, the database's pgbouncer_auth, and the endpoint's TLS settings (pgbouncer.admin_sslmode / admin_sslrootcert; postgres.sslmode / sslrootcert without a pgbouncer block)."),
        LoginRoute::Mysql => (why, "check the role's creation statements (the user's host and grants) and `mysql.tls`."),
        LoginRoute::Redis => (why, "check the role's creation statements (the ACL rules) and `redis.tls`."),
        LoginRoute::NoEndpoint("mysql") => ("the provider has no `mysql` block, so there is no endpoint to log in through".to_string(), "add `mysql { ... }` to provider \"dbaas\", or set `verify = false`."),
        LoginRoute::NoEndpoint(_) => ("the provider has no `redis` block, so there is no endpoint to log in through".to_string(), "add `redis { ... }` to provider \"dbaas\", or set `verify = false`."),
    }
}

/// When Terraform should renew a lease of `lease_duration` seconds issued at `now`: at
/// two thirds of it; never without a lease (static roles) or a duration.
pub fn renew_at(lease_id: &str, lease_duration: i64, now: SystemTime) -> Option<SystemTime> {
    (!lease_id.is_empty() && lease_duration > 0)
        .then(|| now + Duration::from_secs((lease_duration as u64) * 2 / 3))
}

/// What Renew and Close do with the lease kept in the private bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseStep {
    /// No lease (a static role's credentials, or an open that found none): nothing to do.
    Nothing,
    /// Renew or revoke this lease.
    Lease(String),
}

/// [`LeaseStep`] for the lease id kept at Open.
pub fn lease_step(lease_id: &str) -> LeaseStep {
    if lease_id.is_empty() {
        LeaseStep::Nothing
    } else {
        LeaseStep::Lease(lease_id.to_string())
    }
}

/// The next renewal after Vault answered a renewal: its new duration, or none (nothing
/// answered, or renewal failed: the lease runs out and the run goes on, with a warning).
pub fn next_renewal(
    lease_id: &str,
    answer: Result<Option<Json>, String>,
    now: SystemTime,
) -> (Option<SystemTime>, Option<(String, String)>) {
    match answer {
        Ok(Some(b)) => (
            renew_at(lease_id, b["lease_duration"].as_i64().unwrap_or(0), now),
            None,
        ),
        Ok(None) => (None, None),
        Err(e) => (
            None,
            Some(("Cannot renew the credentials' lease".to_string(), e)),
        ),
    }
}

/// The warning when Close could not revoke `lease_id`.
pub fn revoke_warning(lease_id: &str, why: &str) -> (String, String) {
    (
        "Could not revoke the credentials' lease".to_string(),
        format!("{why}. The login stays valid until its TTL ends; revoke it with: vault lease revoke {lease_id}"),
    )
}

/// `sys/leases/<verb>/<lease id>`: the lease in the path, not the body, so a policy can
/// allow it for this engine's leases only (`sys/leases/revoke/database/creds/*`).
pub fn lease_path(verb: &str, lease_id: &str) -> String {
    format!("sys/leases/{verb}/{lease_id}")
}
