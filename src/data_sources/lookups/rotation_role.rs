//! `data "dbaas_vault_rotation_role"`: a Vault rotation role another stack owns, by name:
//! where its credentials are read, the policy that reads them, its tenant, and where the
//! logins connect.

use serde::{Deserialize, Serialize};
use tfplugin::typed::{try_decode, try_encode};
use tfplugin::{Attribute, Block, Error, OrDiag, Schema, Value};

use crate::backends::Backends;
use crate::enums::Engine;
use crate::ephemeral_resources::database_credentials::decide::{database_source, engine_of};
use crate::ephemeral_resources::database_credentials::{
    connection_config, find_role, resolve_database,
};
use crate::resources::common::{vault_mount_validator, vault_name_validator, Ctx, OrReach};
use crate::resources::vault_role_rules::{creds_path, policy_for, recover_from_statements};

/// The rotation role lookup.
pub struct RotationRole;

/// The configuration read and the state returned.
#[derive(Debug, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    name: String,
    mount: Option<String>,
    mode: Option<String>,
    connection: Option<String>,
    engine: Option<String>,
    database: Option<String>,
    access: Option<String>,
    username: Option<String>,
    creds_path: Option<String>,
    policy: Option<String>,
    host: Option<String>,
    port: Option<u16>,
}

#[async_trait::async_trait]
impl tfplugin::DataSource<Backends> for RotationRole {
    tfplugin::typed!("dbaas_vault_rotation_role", Model);

    fn schema(&self) -> Schema {
        let computed = |name: &str, d: &str| Attribute::string(name).computed().description(d);
        Schema::new(
            Block::new("A Vault rotation role made by `dbaas_vault_rotation_role` (in another stack), looked up by name: the path its credentials are read from, the Vault policy that reads them, its tenant and where its logins connect, so an app stack can be wired without owning the role. A name with neither a dynamic nor a static role is an error, and so is a role this provider did not make: a dynamic role whose statements name no tenant (hand-written ones), or a PostgreSQL role whose tenant is not a database this provider manages (checked when the `postgres` block is configured). Needs the `vault` provider block (and `postgres` to name the tenant of a static PostgreSQL role).")
                .attr(computed("id", "`<mount>/<name>`."))
                .attr(Attribute::string("name").required().description("Role name.").validate(vault_name_validator()))
                .attr(Attribute::string("mount").optional().computed().description("Mount of the database secrets engine. Default: the provider's `vault.mount`.").validate(vault_mount_validator()))
                .attr(computed("mode", "`dynamic` or `static`."))
                .attr(computed("connection", "The Vault connection the role uses."))
                .attr(computed("engine", "`postgres`, `mysql` or `redis`, from the connection's plugin."))
                .attr(computed("database", "The tenant database (or Redis namespace) the logins are for; null when it cannot be told (a static MySQL or Redis role)."))
                .attr(computed("access", "Dynamic roles: `owner`, `readwrite` or `readonly`, from the generated statements; null for static roles."))
                .attr(computed("username", "Static roles: the login Vault rotates."))
                .attr(computed("creds_path", "Where the credentials are read: `<mount>/creds/<name>` or `<mount>/static-creds/<name>`."))
                .attr(computed("policy", "Vault policy (HCL) granting read on `creds_path`, for the app's Vault role."))
                .attr(computed("host", "Host the logins connect to (`dbaas_endpoints`' host for the engine)."))
                .attr(Attribute::number("port").computed().description("Its port.")),
        )
    }

    async fn read(&self, ctx: &mut Ctx<'_>, config: &Value) -> Result<Value, Error> {
        let m = try_decode::<Model>(config)?;
        let mount = m
            .mount
            .clone()
            .map(|s| s.trim_matches('/').to_string())
            .unwrap_or_else(|| ctx.client.settings.vault_mount().to_string());
        let vault = ctx.client.vault().await.or_reach("Vault")?;
        let found = find_role(vault, &mount, &m.name)
            .await
            .or_diag("Cannot read the Vault role")?;
        let (body, stat) = super::rotation_role(&m.name, &mount, found)?;
        let role = &body["data"];
        let engine = engine_of(connection_config(vault, &mount, role).await.as_ref());
        let source = database_source(&tfplugin::Known::Null, engine, stat, role);
        let database = resolve_database(ctx, source).await;
        super::role_is_ours(&m.name, stat, &database)?;
        // A PostgreSQL role's tenant must be a tenant database this provider manages (the
        // rule the rotation role itself follows), when the catalog can be read.
        if engine == Engine::Postgres
            && !database.is_empty()
            && ctx.client.settings.postgres.is_some()
        {
            super::database::tenant_owner(ctx, &database)
                .await
                .map_err(|e| super::role_tenant_refused(&m.name, &database, e))?;
        }
        let access = (!stat).then(|| recover_from_statements(&role["creation_statements"]).1);
        let path = creds_path(&mount, &m.name, stat);
        let (host, port) = ctx.client.settings.app_endpoint(engine).known().unzip();
        try_encode(&Model {
            id: Some(format!("{mount}/{}", m.name)),
            mode: Some(if stat { "static" } else { "dynamic" }.to_string()),
            connection: role["db_name"].as_str().map(str::to_string),
            engine: Some(engine.as_str().to_string()),
            database: Some(database).filter(|d| !d.is_empty()),
            access: access.map(|a| a.as_str().to_string()),
            username: role["username"].as_str().map(str::to_string),
            policy: Some(policy_for(&path)),
            creds_path: Some(path),
            host,
            port,
            mount: Some(mount),
            name: m.name,
        })
    }
}
