//! `dbaas_vault_database_connection`: a connection of Vault's database secrets engine
//! (`<mount>/config/<name>`) to one of the shared backends, defaulting every setting
//! from the provider's own admin configuration.

use tfplugin::{
    Attribute, AttributePath, Block, ClientInfo, Ctx, Diagnostics, Plan, Schema, Type, Validator,
    Value,
};

use crate::backends::settings::Secret;
use crate::backends::Backends;
use crate::resources::common::{
    attribute_error, backend_error, need, parse_vault_id, str_of, vault_mount_validator,
    vault_name_validator,
};

/// The resource type.
pub struct VaultDatabaseConnection;

/// Vault plugin for each engine.
pub fn plugin_for(engine: &str) -> &'static str {
    match engine {
        "mysql" => "mysql-database-plugin",
        "redis" => "redis-database-plugin",
        _ => "postgresql-database-plugin",
    }
}

/// Engine for a Vault plugin name.
pub fn engine_for(plugin: &str) -> Option<&'static str> {
    if plugin.starts_with("postgresql") {
        Some("postgres")
    } else if plugin.starts_with("mysql") {
        Some("mysql")
    } else if plugin.starts_with("redis") {
        Some("redis")
    } else {
        None
    }
}

/// What the provider's admin block says for an engine: URL (or `host:port` for Redis),
/// username, password secret, and the Redis host/port/tls.
struct AdminDefaults {
    url: String,
    username: String,
    password: Secret,
    block: &'static str,
}

fn admin_defaults(b: &Backends, engine: &str) -> Option<AdminDefaults> {
    let s = &b.settings;
    match engine {
        "postgres" => s.postgres.as_ref().map(|p| AdminDefaults {
            url: format!(
                "postgresql://{{{{username}}}}:{{{{password}}}}@{}:{}/{}?sslmode={}",
                p.host, p.port, p.database, p.sslmode
            ),
            username: p.username.clone(),
            password: p.password.clone(),
            block: "postgres",
        }),
        "mysql" => s.mysql.as_ref().map(|m| AdminDefaults {
            url: format!(
                "{{{{username}}}}:{{{{password}}}}@tcp({}:{})/",
                m.host, m.port
            ),
            username: m.username.clone(),
            password: m.password.clone(),
            block: "mysql",
        }),
        "redis" => s.redis.as_ref().map(|r| AdminDefaults {
            url: format!("{}:{}", r.host, r.port),
            username: r.username.clone(),
            password: r.password.clone(),
            block: "redis",
        }),
        _ => None,
    }
}

fn mount_of(ctx: &Ctx<'_, Backends>, v: &Value) -> String {
    v.get("mount")
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            ctx.client
                .settings
                .vault
                .as_ref()
                .map(|v| v.mount.clone())
                .unwrap_or_else(|| "database".into())
        })
}

/// Builds the body of `<mount>/config/<name>` and the state values it implies.
async fn write_config(
    ctx: &mut Ctx<'_, Backends>,
    planned: &Value,
    config: &Value,
) -> Option<Value> {
    let name = str_of(planned, "name").to_string();
    let engine = str_of(planned, "engine").to_string();
    let mount = mount_of(ctx, planned);
    let defaults = admin_defaults(ctx.client, &engine);
    let url = planned
        .get("connection_url")
        .as_str()
        .map(str::to_string)
        .or_else(|| defaults.as_ref().map(|d| d.url.clone()));
    let Some(url) = url else {
        attribute_error(&mut ctx.diags, "connection_url", "No connection settings", format!("Set connection_url, or configure the provider's `{engine}` block so it can be used as the default."));
        return None;
    };
    let username = planned
        .get("username")
        .as_str()
        .map(str::to_string)
        .or_else(|| defaults.as_ref().map(|d| d.username.clone()))
        .unwrap_or_default();
    // Password: write-only value, then the stored one, then the provider's admin password.
    let password = if let Some(p) = config.get("password_wo").as_str() {
        p.to_string()
    } else if let Some(p) = planned.get("password").as_str() {
        p.to_string()
    } else if let Some(d) = &defaults {
        match ctx.client.resolve(&d.password, d.block).await {
            Ok(c) => c.password,
            Err(e) => {
                backend_error(&mut ctx.diags, "Cannot resolve the admin password", e);
                return None;
            }
        }
    } else {
        String::new()
    };
    let allowed: Vec<String> = planned.get("allowed_roles").string_list();
    let verify = planned.get("verify_connection").as_bool().unwrap_or(true);
    let mut body = serde_json::json!({
        "plugin_name": plugin_for(&engine),
        "allowed_roles": allowed,
        "verify_connection": verify,
        "username": username,
        "password": password,
    });
    if engine == "redis" {
        let (host, port) = url
            .rsplit_once(':')
            .map(|(h, p)| (h.to_string(), p.parse::<u16>().unwrap_or(6379)))
            .unwrap_or((url.clone(), 6379));
        body["host"] = host.into();
        body["port"] = port.into();
        body["tls"] = ctx
            .client
            .settings
            .redis
            .as_ref()
            .is_some_and(|r| r.tls)
            .into();
    } else {
        body["connection_url"] = url.clone().into();
    }
    let vault = need(&mut ctx.diags, "Vault", ctx.client.vault().await)?;
    if let Err(e) = vault.write(&format!("{mount}/config/{name}"), &body).await {
        backend_error(
            &mut ctx.diags,
            format!("Cannot write Vault connection {mount}/config/{name}"),
            e,
        );
        return None;
    }
    let mut state = planned.clone();
    state.set("id", Value::string(format!("{mount}/{name}")));
    state.set("mount", Value::string(mount));
    state.set("connection_url", Value::string(url));
    state.set("username", Value::string(username));
    state.set("plugin_name", Value::string(plugin_for(&engine)));
    Some(state)
}

#[async_trait::async_trait]
impl tfplugin::Resource<Backends> for VaultDatabaseConnection {
    fn type_name(&self) -> &'static str {
        "dbaas_vault_database_connection"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("A connection of Vault's database secrets engine (`<mount>/config/<name>`) to the shared PostgreSQL, MySQL or Redis. The URL, username and password default to the provider's admin settings for that engine, so a tenant stack never repeats them.")
                .attr(Attribute::string("id").computed().use_state_for_unknown().description("`<mount>/<name>`."))
                .attr(Attribute::string("name").required().requires_replace().description("Connection name, e.g. `postgres`.").validate(vault_name_validator()))
                .attr(Attribute::string("engine").required().requires_replace().description("`postgres`, `mysql` or `redis`.").validate(Validator::one_of(&["postgres", "mysql", "redis"])))
                .attr(Attribute::string("mount").optional().computed().requires_replace().use_state_for_unknown().description("Mount of the database secrets engine, e.g. `database` or `team/database`. Default: the provider's `vault.mount` (`database`).").validate(vault_mount_validator()))
                .attr(Attribute::string("connection_url").optional().computed().use_state_for_unknown().description("Vault connection URL with `{{username}}`/`{{password}}` templates (for Redis: `host:port`). Default: built from the provider's admin block for the engine."))
                .attr(Attribute::string("username").optional().computed().use_state_for_unknown().description("Admin user Vault connects as. Default: the provider's admin user for the engine."))
                .attr(Attribute::string("password").optional().sensitive().description("Admin password handed to Vault (stored in state, sensitive). Default: the provider's admin password for the engine, which is then not stored. Conflicts with `password_wo`."))
                .attr(Attribute::string("password_wo").optional().sensitive().write_only().description("Write-only admin password (Terraform 1.11+): sent to Vault, never stored in plan or state. Conflicts with `password`."))
                .attr(Attribute::number("password_wo_version").optional().description("Change it to send `password_wo` again."))
                .attr(Attribute::typed("allowed_roles", Type::list_of(Type::String)).optional().computed().description("Roles allowed to use this connection. Default `[\"<name>-*\"]`."))
                .attr(Attribute::bool("verify_connection").default(Value::Bool(true)).description("Have Vault verify the connection when writing it."))
                .attr(Attribute::string("plugin_name").computed().use_state_for_unknown().description("The Vault plugin for the engine.")),
        )
    }

    async fn validate(&self, config: &Value, _info: &ClientInfo, diags: &mut Diagnostics) {
        if !config.get("password").is_null() && !config.get("password_wo").is_null() {
            diags.error_at(
                AttributePath::attr("password_wo"),
                "Conflicting password settings",
                "Set either password or password_wo, not both.",
            );
        }
    }

    fn plan_with_client(&self, client: &Backends, plan: &mut Plan<'_>) {
        // Defaults from the provider's admin block are planned, so an edit made in Vault
        // (say, the URL pointed elsewhere) shows as a change and is reverted.
        let Some(engine) = plan.planned.get("engine").as_str().map(str::to_string) else {
            return;
        };
        let Some(d) = admin_defaults(client, &engine) else {
            return;
        };
        if plan.config.get("connection_url").is_null() {
            plan.planned.set("connection_url", Value::string(d.url));
        }
        if plan.config.get("username").is_null() {
            plan.planned.set("username", Value::string(d.username));
        }
    }

    async fn modify_plan(&self, plan: &mut Plan<'_>) {
        if plan.config.get("allowed_roles").is_null() {
            let v = match plan.planned.get("name") {
                Value::String(n) => Value::from_strings([format!("{n}-*")]),
                _ => Value::unknown(),
            };
            plan.planned.set("allowed_roles", v);
        }
    }

    async fn create(
        &self,
        ctx: &mut Ctx<'_, Backends>,
        planned: &Value,
        config: &Value,
    ) -> Option<Value> {
        write_config(ctx, planned, config).await
    }

    async fn read(&self, ctx: &mut Ctx<'_, Backends>, state: &Value) -> Option<Value> {
        let mount = mount_of(ctx, state);
        let name = str_of(state, "name").to_string();
        let vault = need(&mut ctx.diags, "Vault", ctx.client.vault().await)?;
        let body = match vault.read(&format!("{mount}/config/{name}")).await {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                backend_error(
                    &mut ctx.diags,
                    format!("Cannot read Vault connection {mount}/config/{name}"),
                    e,
                );
                return Some(state.clone());
            }
        };
        let data = &body["data"];
        let mut s = state.clone();
        s.set("id", Value::string(format!("{mount}/{name}")));
        s.set("mount", Value::string(mount));
        if let Some(plugin) = data["plugin_name"].as_str() {
            s.set("plugin_name", Value::string(plugin));
            if let Some(engine) = engine_for(plugin) {
                s.set("engine", Value::string(engine));
            }
        }
        let details = &data["connection_details"];
        if let Some(url) = details["connection_url"].as_str() {
            s.set("connection_url", Value::string(url));
        } else if let (Some(h), Some(p)) = (details["host"].as_str(), details["port"].as_i64()) {
            s.set("connection_url", Value::string(format!("{h}:{p}")));
        }
        if let Some(u) = details["username"].as_str() {
            s.set("username", Value::string(u));
        }
        if let Some(roles) = data["allowed_roles"].as_array() {
            s.set(
                "allowed_roles",
                Value::from_strings(roles.iter().filter_map(|r| r.as_str())),
            );
        }
        if s.get("verify_connection").is_null() {
            s.set("verify_connection", Value::Bool(true));
        }
        Some(s)
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_, Backends>,
        _prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Option<Value> {
        write_config(ctx, planned, config).await
    }

    async fn delete(&self, ctx: &mut Ctx<'_, Backends>, prior: &Value) {
        let mount = mount_of(ctx, prior);
        let name = str_of(prior, "name").to_string();
        let Some(vault) = need(&mut ctx.diags, "Vault", ctx.client.vault().await) else {
            return;
        };
        if let Err(e) = vault.delete(&format!("{mount}/config/{name}")).await {
            backend_error(
                &mut ctx.diags,
                format!("Cannot delete Vault connection {mount}/config/{name}"),
                e,
            );
        }
    }

    async fn import(&self, ctx: &mut Ctx<'_, Backends>, id: &str, state: &mut Value) {
        match parse_vault_id(id) {
            Ok((mount, name)) => {
                state.set("mount", Value::string(mount));
                state.set("name", Value::string(name));
                state.set("engine", Value::string("postgres"));
            }
            Err(why) => ctx.diags.error(
                "Invalid import id",
                format!("{why}. The id is `<mount>/<name>`, e.g. `database/postgres`."),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_plugins() {
        assert_eq!(engine_for(plugin_for("mysql")), Some("mysql"));
        assert_eq!(engine_for("postgresql-database-plugin"), Some("postgres"));
        assert_eq!(engine_for("mongodb-database-plugin"), None);
    }
}
