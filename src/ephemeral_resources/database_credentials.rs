//! `ephemeral "dbaas_database_credentials"`: credentials of a rotation role for the
//! length of one Terraform run. Open reads `<mount>/creds/<role>` (or `static-creds`)
//! and, with `verify`, logs in through the endpoint apps use; Renew renews the lease;
//! Close revokes it, so the login is gone when the run ends. Nothing reaches state.

use crate::resources::common::{legacy_done, legacy_read, legacy_value};
use std::time::{Duration, SystemTime};
use tfplugin::Error;

use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, AttributePath, Block, Known, Opened, Schema, Value};

use crate::backends::vault::VaultClient;
use crate::backends::{mysql, postgres, redis, BackendError, Backends};
use crate::enums::Engine;
use crate::resources::common::{
    backend_error, decode, derived, encode, need, no_nul_validator, read_private,
    vault_mount_validator, vault_name_validator, write_private, Ctx,
};
use crate::resources::vault_role_rules::{creds_path, database_from_statements, role_path};
use crate::resources::vault_rotation_role::{database_of_statements, static_login_database};

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

/// What Close and Renew need, kept in Terraform's private bytes.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Lease {
    lease_id: String,
}

fn lease_of(private: &[u8]) -> Lease {
    read_private(private)
}

/// Renew when two thirds of the lease have passed.
fn renew_at(lease_duration: i64) -> Option<SystemTime> {
    (lease_duration > 0)
        .then(|| SystemTime::now() + Duration::from_secs((lease_duration as u64) * 2 / 3))
}

/// The role `<mount>/roles/<role>` (dynamic) or `<mount>/static-roles/<role>`, with
/// whether it is static; `None` when neither exists.
async fn find_role(
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

/// The database to log in to when the configuration names none: PostgreSQL, the
/// tenant database whose group the logins join (from a dynamic role's generated
/// statements, or a static login's group memberships); MySQL, the schema a dynamic
/// role's generated statements grant on (none for a static role); Redis, none.
async fn default_database(
    ctx: &Ctx<'_>,
    engine: Engine,
    stat: bool,
    role: &serde_json::Value,
) -> String {
    match (engine, stat) {
        (Engine::Postgres, false) => {
            database_of_statements(ctx, &role["creation_statements"])
                .await
                .0
        }
        (Engine::Postgres, true) => match role["username"].as_str() {
            Some(username) => static_login_database(ctx, username)
                .await
                .unwrap_or_default(),
            None => String::new(),
        },
        (Engine::Mysql, false) => database_from_statements(&role["creation_statements"]),
        (Engine::Mysql, true) | (Engine::Redis, _) => String::new(),
    }
}

/// Logs in the way an app would, through `host:port`; the error comes with a hint of
/// what to check.
async fn login(
    backends: &Backends,
    engine: Engine,
    host: &str,
    port: u16,
    database: &str,
    username: &str,
    password: &str,
) -> Result<(), (String, &'static str)> {
    let settings = &backends.settings;
    match engine {
        Engine::Postgres => {
            let (mode, files) = backends.postgres_app_tls();
            postgres::verify_login((host, port), (mode, &files), database, username, password)
                .await
                .map_err(|e| (e, "check PgBouncer's auth_query / auth_user, the database's pgbouncer_auth, and the endpoint's TLS settings (pgbouncer.admin_sslmode / admin_sslrootcert; postgres.sslmode / sslrootcert without a pgbouncer block)."))
        }
        Engine::Mysql => match &settings.mysql {
            Some(m) => mysql::verify_login(m, database, username, password)
                .await
                .map_err(|e| (e, "check the role's creation statements (the user's host and grants) and `mysql.tls`.")),
            None => Err(("the provider has no `mysql` block, so there is no endpoint to log in through".to_string(), "add `mysql { ... }` to provider \"dbaas\", or set `verify = false`.")),
        },
        Engine::Redis => match &settings.redis {
            Some(r) => redis::verify_login(r, username, password)
                .await
                .map_err(|e| (e, "check the role's creation statements (the ACL rules) and `redis.tls`.")),
            None => Err(("the provider has no `redis` block, so there is no endpoint to log in through".to_string(), "add `redis { ... }` to provider \"dbaas\", or set `verify = false`.")),
        },
    }
}

#[async_trait::async_trait]
impl tfplugin::EphemeralResource<Backends> for DatabaseCredentials {
    tfplugin::typed!("dbaas_database_credentials", Model);

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Credentials of a `dbaas_vault_rotation_role` for the length of one Terraform run (Terraform 1.10+). Never stored in plan or state. Open reads `<mount>/creds/<role>` (or `static-creds/<role>` for a static role) and, with `verify`, logs in through the endpoint apps use (PgBouncer for PostgreSQL); Close revokes the lease, so the login is gone when the run ends. A role created in the same configuration works on the first apply: reference it (`role = dbaas_vault_rotation_role.<x>.name`) and the plan shows the results as known after apply, which Terraform reads once the role is written. Typical use: configuring another provider, or an aliased `dbaas`, for the tenant's own database.")
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
        let out = async {
            let config: Model = decode(&mut ctx.diags, config)?;
            let role = config.role.clone();
            let mount = ctx
                .client
                .vault_mount(config.mount.as_option().map(String::as_str));
            let verify = config.verify.as_option().copied().unwrap_or(true);
            let vault = need(&mut ctx.diags, "Vault", ctx.client.vault().await)?;

            // Dynamic or static: whichever role exists.
            let (role_body, stat) = match find_role(vault, &mount, &role).await {
                Ok(Some(found)) => found,
                Ok(None) if ctx.client.role_is_planned(&mount, &role) => {
                    // Planning a configuration that also creates the role: it does not exist
                    // yet, so the credentials are known only at apply, when Terraform opens
                    // this again after writing the role.
                    let result = Model::after_apply(&config, mount, verify);
                    let result = encode(&mut ctx.diags, &result)?;
                    return Some(Opened {
                        result,
                        renew_at: None,
                    });
                }
                Ok(None) => {
                    ctx.diags.error_at(
                        AttributePath::attr("role"),
                        format!("No Vault role {role:?}"),
                        format!("Neither {} nor {} exists. A role created in the same configuration must be referenced (`role = dbaas_vault_rotation_role.<x>.name`), so that Terraform reads its credentials only after writing it.", role_path(&mount, &role, false), role_path(&mount, &role, true)),
                    );
                    return None;
                }
                Err(e) => {
                    backend_error(&mut ctx.diags, "Cannot read the Vault role", e);
                    return None;
                }
            };
            let data = &role_body["data"];
            let connection = data["db_name"].as_str().unwrap_or_default().to_string();
            // A connection that cannot be read is taken for PostgreSQL, the platform's default.
            let engine = match vault.read(&format!("{mount}/config/{connection}")).await {
                Ok(Some(b)) => b["data"]["plugin_name"]
                    .as_str()
                    .and_then(Engine::of_vault_plugin)
                    .unwrap_or(Engine::Postgres),
                _ => Engine::Postgres,
            };
            let database = match &config.database {
                Known::Value(d) => d.clone(),
                _ => default_database(ctx, engine, stat, data).await,
            };

            let creds_path = creds_path(&mount, &role, stat);
            let creds = match vault.read(&creds_path).await {
                Ok(Some(b)) => b,
                Ok(None) => {
                    ctx.diags.error(
                        format!("No credentials at {creds_path}"),
                        "Vault returned nothing for this role.",
                    );
                    return None;
                }
                Err(e) => {
                    backend_error(&mut ctx.diags, format!("Cannot read {creds_path}"), e);
                    return None;
                }
            };
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            let (username, password) = (
                text(&creds["data"]["username"]),
                text(&creds["data"]["password"]),
            );
            let lease_id = text(&creds["lease_id"]);
            let lease_duration = creds["lease_duration"]
                .as_i64()
                .or_else(|| creds["data"]["ttl"].as_i64())
                .unwrap_or(0);
            ctx.private = write_private(&Lease {
                lease_id: lease_id.clone(),
            });

            let (host, port) = ctx.client.app_endpoint(engine).unwrap_or_default();

            if verify {
                if let Err((e, hint)) = login(
                    ctx.client, engine, &host, port, &database, &username, &password,
                )
                .await
                {
                    ctx.diags.error(
                        format!("Credentials of {role:?} do not work through {host}:{port}"),
                        format!(
                            "{e}. The app would fail the same way: {hint} The lease has been revoked."
                        ),
                    );
                    if !lease_id.is_empty() {
                        let _ = vault
                            .write(&lease_path("revoke", &lease_id), &serde_json::json!({}))
                            .await;
                    }
                    return None;
                }
            }

            let result = Model {
                role,
                database: Known::Value(database),
                mount: Known::Value(mount),
                verify: Known::Value(verify),
                username: Known::Value(username),
                password: Known::Value(password),
                host: Known::Value(host),
                port: Known::Value(port),
                engine: Known::Value(engine),
                lease_id: Known::Value(lease_id.clone()),
                lease_duration: Known::Value(lease_duration),
            };
            let result = encode(&mut ctx.diags, &result)?;
            Some(Opened {
                result,
                renew_at: if lease_id.is_empty() {
                    None
                } else {
                    renew_at(lease_duration)
                },
            })
        }
        .await;
        legacy_value(&mut ctx.diags, out)
    }

    async fn renew(&self, ctx: &mut Ctx<'_>) -> Result<Option<SystemTime>, Error> {
        let out = async {
            let lease = lease_of(&ctx.private);
            if lease.lease_id.is_empty() {
                return None;
            }
            let vault = need(&mut ctx.diags, "Vault", ctx.client.vault().await)?;
            match vault
                .write(
                    &lease_path("renew", &lease.lease_id),
                    &serde_json::json!({}),
                )
                .await
            {
                Ok(Some(b)) => renew_at(b["lease_duration"].as_i64().unwrap_or(0)),
                Ok(None) => None,
                Err(e) => {
                    ctx.diags
                        .warning("Cannot renew the credentials' lease", e.to_string());
                    None
                }
            }
        }
        .await;
        legacy_read(&mut ctx.diags, out)
    }

    async fn close(&self, ctx: &mut Ctx<'_>) -> Result<(), Error> {
        let out = async {
            let lease = lease_of(&ctx.private);
            if lease.lease_id.is_empty() {
                return;
            }
            let result = match ctx.client.vault().await {
                Ok(vault) => vault
                    .write(
                        &lease_path("revoke", &lease.lease_id),
                        &serde_json::json!({}),
                    )
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                ctx.diags.warning(
                    "Could not revoke the credentials' lease",
                    format!("{e}. The login stays valid until its TTL ends; revoke it with: vault lease revoke {}", lease.lease_id),
                );
            }
        }
        .await;
        legacy_done(&mut ctx.diags, out)
    }
}

/// `sys/leases/<verb>/<lease id>`: the lease in the path, not the body, so a policy can
/// allow it for this engine's leases only (`sys/leases/revoke/database/creds/*`).
fn lease_path(verb: &str, lease_id: &str) -> String {
    format!("sys/leases/{verb}/{lease_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_not_written_yet_gives_unknown_credentials_and_no_error() {
        let mut diags = tfplugin::Diagnostics::default();
        let config = Model {
            role: "eph-role".into(),
            ..Model::default()
        };
        let v = encode(
            &mut diags,
            &Model::after_apply(&config, "database".into(), true),
        )
        .unwrap();
        assert!(!diags.has_errors());
        for a in [
            "username",
            "password",
            "host",
            "port",
            "engine",
            "lease_id",
            "lease_duration",
            "database",
        ] {
            assert!(v.get(a).is_unknown(), "{a} must be unknown until apply");
        }
        assert_eq!(v.get("role").as_str(), Some("eph-role"));
        assert_eq!(v.get("mount").as_str(), Some("database"));
        assert_eq!(v.get("verify").as_bool(), Some(true));

        // What the configuration says stays as it says.
        let config = Model {
            role: "eph-role".into(),
            database: Known::Value("app".into()),
            ..Model::default()
        };
        let v = encode(
            &mut diags,
            &Model::after_apply(&config, "team/db".into(), false),
        )
        .unwrap();
        assert_eq!(v.get("database").as_str(), Some("app"));
        assert_eq!(v.get("mount").as_str(), Some("team/db"));
        assert_eq!(v.get("verify").as_bool(), Some(false));
    }
}
