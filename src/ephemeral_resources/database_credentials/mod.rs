//! `ephemeral "dbaas_database_credentials"`: credentials of a rotation role for the
//! length of one Terraform run. Open reads `<mount>/creds/<role>` (or `static-creds`)
//! and, with `verify`, logs in through the endpoint apps use; Renew renews the lease;
//! Close revokes it, so the login is gone when the run ends. Nothing reaches state.

pub(crate) mod decide;
#[cfg(test)]
mod tests;

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tfplugin::typed::{try_decode, try_encode};
use tfplugin::Opened;
use tfplugin::{Attribute, Block, Error, Known, OrDiag, Schema, Value};

use crate::backends::interrupt::unless_stopped;
use crate::backends::vault::VaultClient;
use crate::backends::{mysql, postgres, redis, BackendError, Backends};
use crate::enums::Engine;
use crate::resources::common::{
    derived, no_nul_validator, read_private, vault_mount_validator, vault_name_validator,
    write_private, Ctx,
};
use crate::resources::vault_role_rules::{creds_path, role_path};
use crate::resources::vault_rotation_role::{database_of_statements, static_login_database};
use decide::{
    database_source, engine_of, issued, lease_path, lease_step, login_failure, login_route,
    next_renewal, renew_at, revoke_warning, role_step, DatabaseSource, Issued, LeaseStep,
    LoginRoute, Refusal, RoleStep,
};

/// The ephemeral resource type.
pub struct DatabaseCredentials;

/// Configuration in, result out, attribute by attribute. Results are unknown when the
/// role is planned in this run but not written yet (see [`DatabaseCredentials`]).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Model {
    role: String,
    database: Known<String>,
    mount: Known<String>,
    verify: Known<bool>,
    username: Known<String>,
    password: Known<String>,
    host: Known<String>,
    port: Known<u16>,
    engine: Known<Engine>,
    lease_id: Known<String>,
    lease_duration: Known<i64>,
}

impl Model {
    /// The result while the role does not exist yet: what the configuration says,
    /// everything else known only once the role is written (at apply).
    fn after_apply(config: &Model, mount: String, verify: bool) -> Model {
        Model {
            role: config.role.clone(),
            database: derived(&config.database, String::clone),
            mount: Known::Value(mount),
            verify: Known::Value(verify),
            username: Known::Unknown,
            password: Known::Unknown,
            host: Known::Unknown,
            port: Known::Unknown,
            engine: Known::Unknown,
            lease_id: Known::Unknown,
            lease_duration: Known::Unknown,
        }
    }
}

impl Model {
    /// The result of an open: the configuration's role, the resolved database, mount and
    /// verify, the apps' endpoint, the engine and what Vault issued.
    fn opened(
        role: String,
        (database, mount, verify): (String, String, bool),
        (host, port): (String, u16),
        engine: Engine,
        creds: Issued,
    ) -> Model {
        Model {
            role,
            database: Known::Value(database),
            mount: Known::Value(mount),
            verify: Known::Value(verify),
            username: Known::Value(creds.username),
            password: Known::Value(creds.password),
            host: Known::Value(host),
            port: Known::Value(port),
            engine: Known::Value(engine),
            lease_id: Known::Value(creds.lease_id),
            lease_duration: Known::Value(creds.lease_duration),
        }
    }
}

/// What Close and Renew need, kept in Terraform's private bytes.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Lease {
    lease_id: String,
}

/// The role `<mount>/roles/<role>` (dynamic) or `<mount>/static-roles/<role>`, with
/// whether it is static; `None` when neither exists.
pub(crate) async fn find_role(
    vault: &VaultClient,
    mount: &str,
    role: &str,
) -> Result<Option<(serde_json::Value, bool)>, BackendError> {
    if let Some(body) = vault.read(&role_path(mount, role, false)).await? {
        return Ok(Some((body, false)));
    }
    Ok(vault
        .read(&role_path(mount, role, true))
        .await?
        .map(|body| (body, true)))
}

/// The role's connection (`<mount>/config/<db_name>`), if it can be read.
pub(crate) async fn connection_config(
    vault: &VaultClient,
    mount: &str,
    role: &serde_json::Value,
) -> Option<serde_json::Value> {
    let connection = role["db_name"].as_str().unwrap_or_default();
    vault
        .read(&format!("{mount}/config/{connection}"))
        .await
        .ok()
        .flatten()
}

/// The database named by `source`, asking PostgreSQL where it must.
pub(crate) async fn resolve_database(ctx: &Ctx<'_>, source: DatabaseSource) -> String {
    match source {
        DatabaseSource::Known(database) => database,
        DatabaseSource::GroupOfStatements(statements) => {
            database_of_statements(ctx, &statements).await.0
        }
        DatabaseSource::GroupOfLogin(username) => static_login_database(ctx, &username)
            .await
            .unwrap_or_default(),
    }
}

/// Logs in the way an app would, along `route` through `host:port`; Ctrl-C ends the wait.
async fn login(
    ctx: &Ctx<'_>,
    route: LoginRoute,
    (host, port): (&str, u16),
    database: &str,
    creds: &Issued,
) -> Result<(), String> {
    let (user, password) = (creds.username.as_str(), creds.password.as_str());
    let settings = &ctx.client.settings;
    let attempt = async {
        match (route, &settings.mysql, &settings.redis) {
            (LoginRoute::Postgres, _, _) => {
                let (mode, files) = ctx.client.postgres_app_tls();
                postgres::verify_login((host, port), (mode, &files), database, user, password).await
            }
            (LoginRoute::Mysql, Some(m), _) => {
                mysql::verify_login(m, database, user, password).await
            }
            (LoginRoute::Redis, _, Some(r)) => redis::verify_login(r, user, password).await,
            _ => Err(String::new()),
        }
    };
    unless_stopped(&ctx.cancel, "logging in with the credentials", attempt)
        .await
        .map_err(|i| i.to_string())?
}

/// `verify`: the credentials log in through the apps' endpoint, or the lease is revoked
/// and the open refused.
async fn check_login(
    ctx: &Ctx<'_>,
    vault: &VaultClient,
    (role, engine): (&str, Engine),
    (host, port): (&str, u16),
    database: &str,
    creds: &Issued,
) -> Result<(), Error> {
    let settings = &ctx.client.settings;
    let route = login_route(engine, settings.mysql.is_some(), settings.redis.is_some());
    let Err(why) = login(ctx, route, (host, port), database, creds).await else {
        return Ok(());
    };
    if let LeaseStep::Lease(id) = lease_step(&creds.lease_id) {
        // Giving back: even after Ctrl-C.
        let revoke = lease_path("revoke", &id);
        let _ = vault
            .unstoppable()
            .write(&revoke, &serde_json::json!({}))
            .await;
    }
    let (why, hint) = login_failure(route, why);
    let refusal = Refusal::LoginFailed {
        role: role.to_string(),
        host: host.to_string(),
        port,
        why,
        hint,
    };
    Err(refusal.error())
}

/// An open's answer: `result` encoded, and when to renew.
fn opened(result: &Model, renew_at: Option<SystemTime>) -> Result<Opened, Error> {
    Ok(Opened {
        result: try_encode(result)?,
        renew_at,
    })
}

/// The lease Open kept in the private bytes.
fn kept_lease(ctx: &Ctx<'_>) -> LeaseStep {
    lease_step(&read_private::<Lease>(&ctx.private).lease_id)
}

#[async_trait::async_trait]
impl tfplugin::EphemeralResource<Backends> for DatabaseCredentials {
    tfplugin::typed!("dbaas_database_credentials", Model);

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Credentials of a `dbaas_vault_rotation_role` for the length of one Terraform run (Terraform 1.10+). Never stored in plan or state. Open reads `<mount>/creds/<role>` (or `static-creds/<role>` for a static role) and, with `verify`, logs in through the endpoint apps use (PgBouncer for PostgreSQL); Close revokes the lease, so the login is gone when the run ends. Terraform opens ephemeral resources in `terraform plan` too, not only in apply: every plan that reads it with a known `role` issues a real login (a Vault lease and, with `verify`, a login through PgBouncer) and revokes it when the plan ends, so a plan needs Vault and, with `verify`, the database. A role created in the same configuration works on the first apply: reference it (`role = dbaas_vault_rotation_role.<x>.name`) and the plan shows the results as known after apply, which Terraform reads once the role is written. Typical use: configuring another provider, or an aliased `dbaas`, for the tenant's own database.")
                .attr(Attribute::string("role").required().description("Rotation role name.").validate(vault_name_validator()))
                .attr(Attribute::string("database").optional().computed().description("Database to log in to. Default, derived from the role: PostgreSQL, the tenant database whose group its logins join (from a dynamic role's generated statements, or a static login's group memberships); MySQL, the schema a dynamic role's generated statements grant on (none for a static role: the login selects no schema); Redis, none (not used).").validate(no_nul_validator()))
                .attr(Attribute::string("mount").optional().computed().description("Database secrets engine mount. Default: the provider's `vault.mount`.").validate(vault_mount_validator()))
                .attr(Attribute::bool("verify").optional().computed().description("Log in with the credentials through the endpoint apps use before returning them (default `true`), so a broken auth path fails the run instead of the app: PostgreSQL through PgBouncer into `database`, MySQL at `mysql.host:port` (with `mysql.tls`), Redis at `redis.host:port` (AUTH with the username and password, then PING)."))
                .attr(Attribute::string("username").computed().description("Login name."))
                .attr(Attribute::string("password").computed().sensitive().description("Password."))
                .attr(Attribute::string("host").computed().description("Host apps use (PgBouncer for PostgreSQL)."))
                .attr(Attribute::number("port").computed().description("Port apps use."))
                .attr(Attribute::string("engine").computed().description(format!("{}, from the role's connection.", Engine::or_list())))
                .attr(Attribute::string("lease_id").computed().description("Vault lease id (empty for static roles)."))
                .attr(Attribute::number("lease_duration").computed().description("Lease duration in seconds (static roles: seconds until the next rotation).")),
        )
    }

    async fn open(&self, ctx: &mut Ctx<'_>, config: &Value) -> Result<Opened, Error> {
        let config: Model = try_decode(config)?;
        let role = config.role.clone();
        let mount = ctx
            .client
            .vault_mount(config.mount.as_option().map(String::as_str));
        let verify = config.verify.as_option().copied().unwrap_or(true);
        let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
        // Dynamic or static: whichever role exists.
        let found = find_role(vault, &mount, &role)
            .await
            .or_diag("Cannot read the Vault role")?;
        let planned = ctx.client.role_is_planned(&mount, &role);
        let (body, stat) = match role_step(found, planned, &role, &mount).map_err(|r| r.error())? {
            RoleStep::Issue { body, stat } => (body, stat),
            // Terraform opens this again at apply, once the role is written.
            RoleStep::KnownAfterApply => {
                return opened(&Model::after_apply(&config, mount, verify), None)
            }
        };
        let data = &body["data"];
        let engine = engine_of(connection_config(vault, &mount, data).await.as_ref());
        let source = database_source(&config.database, engine, stat, data);
        let database = resolve_database(ctx, source).await;
        let path = creds_path(&mount, &role, stat);
        let reply = vault
            .read(&path)
            .await
            .or_diag(format!("Cannot read {path}"))?;
        let creds = issued(reply, &path).map_err(|r| r.error())?;
        ctx.private = write_private(&Lease {
            lease_id: creds.lease_id.clone(),
        });
        let (host, port) = ctx.client.app_endpoint(engine).unwrap_or_default();
        if verify {
            let endpoint = (host.as_str(), port);
            check_login(ctx, vault, (&role, engine), endpoint, &database, &creds).await?;
        }
        let renew = renew_at(&creds.lease_id, creds.lease_duration, SystemTime::now());
        let settings = (database, mount, verify);
        opened(
            &Model::opened(role, settings, (host, port), engine, creds),
            renew,
        )
    }

    async fn renew(&self, ctx: &mut Ctx<'_>) -> Result<Option<SystemTime>, Error> {
        let LeaseStep::Lease(id) = kept_lease(ctx) else {
            return Ok(None);
        };
        let vault = ctx.client.vault().await.or_diag("Cannot reach Vault")?;
        let answer = vault
            .write(&lease_path("renew", &id), &serde_json::json!({}))
            .await
            .map_err(|e| e.to_string());
        let (next, warning) = next_renewal(&id, answer, SystemTime::now());
        if let Some((summary, detail)) = warning {
            ctx.diags.warning(summary, detail);
        }
        Ok(next)
    }

    async fn close(&self, ctx: &mut Ctx<'_>) -> Result<(), Error> {
        let LeaseStep::Lease(id) = kept_lease(ctx) else {
            return Ok(());
        };
        // Giving back: even after Ctrl-C.
        let revoked = match ctx.client.vault().await {
            Ok(vault) => vault
                .unstoppable()
                .write(&lease_path("revoke", &id), &serde_json::json!({}))
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        if let Err(e) = revoked {
            let (summary, detail) = revoke_warning(&id, &e.to_string());
            ctx.diags.warning(summary, detail);
        }
        Ok(())
    }
}
