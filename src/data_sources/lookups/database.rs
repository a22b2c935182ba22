//! `data "dbaas_shared_postgres_database"`: a tenant database another stack owns, by
//! name: its owner and groups, and the endpoints its apps use.

use serde::{Deserialize, Serialize};
use tfplugin::typed::{try_decode, try_encode};
use tfplugin::{Attribute, Block, Error, OrDiag, Schema, Value};

use crate::backends::Backends;
use crate::enums::Engine;
use crate::resources::common::{Ctx, OrReach};

/// The database lookup.
pub struct Database;

/// The configuration read and the state returned.
#[derive(Debug, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    name: String,
    owner: Option<String>,
    readwrite_group: Option<String>,
    readonly_group: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    ro_host: Option<String>,
    ro_port: Option<u16>,
}

#[async_trait::async_trait]
impl tfplugin::DataSource<Backends> for Database {
    tfplugin::typed!("dbaas_shared_postgres_database", Model);

    fn schema(&self) -> Schema {
        let computed = |name: &str, d: &str| Attribute::string(name).computed().description(d);
        Schema::new(
            Block::new("A tenant PostgreSQL database made by `dbaas_shared_postgres_database` (in another stack), looked up by name: its owner and groups, and where its apps connect. A name with no database, or a database this provider does not manage (no marker and no tenant's roles; a system, template or superuser-owned one), is an error. Needs the `postgres` provider block; reads the catalog only.")
                .attr(computed("id", "The database name."))
                .attr(Attribute::string("name").required().description("Database name.").validate(crate::resources::common::no_nul_validator()))
                .attr(computed("owner", "The NOLOGIN role that owns the database and its `public` schema."))
                .attr(computed("readwrite_group", "The group whose members read and write (`<name>_readwrite`)."))
                .attr(computed("readonly_group", "The group whose members only read (`<name>_readonly`)."))
                .attr(computed("host", "Host apps use, as the resource's `host` (`dbaas_endpoints.postgres_host`)."))
                .attr(Attribute::number("port").computed().description("Port apps use (`dbaas_endpoints.postgres_port`)."))
                .attr(computed("ro_host", "Read-only endpoint for `readonly` logins (`dbaas_endpoints.postgres_ro_host`); null when the provider configures none."))
                .attr(Attribute::number("ro_port").computed().description("Its port (`dbaas_endpoints.postgres_ro_port`).")),
        )
    }

    async fn read(&self, ctx: &mut Ctx<'_>, config: &Value) -> Result<Value, Error> {
        let name = try_decode::<Model>(config)?.name;
        let owner = tenant_owner(ctx, &name).await?;
        let (rw, ro) = super::groups_of(&name);
        let settings = &ctx.client.settings;
        let (host, port) = settings.app_endpoint(Engine::Postgres).known().unzip();
        let (ro_host, ro_port) = settings.read_only_endpoint().unzip();
        try_encode(&Model {
            id: Some(name.clone()),
            name,
            owner: Some(owner),
            readwrite_group: Some(rw),
            readonly_group: Some(ro),
            host,
            port,
            ro_host,
            ro_port,
        })
    }
}

/// The owner of PostgreSQL database `name` when it is a tenant database this provider
/// manages ([`super::database`]); otherwise the refusal, on `name`.
pub async fn tenant_owner(ctx: &Ctx<'_>, name: &str) -> Result<String, Error> {
    let pg = ctx.client.postgres().await.or_reach("PostgreSQL")?;
    let (admin_db, server) = ctx
        .client
        .settings
        .postgres
        .as_ref()
        .map(|p| (p.database.clone(), format!("{}:{}", p.host, p.port)))
        .unwrap_or_default();
    let cannot = "Cannot read the PostgreSQL catalog";
    let facts = pg.database_facts(name).await.or_diag(cannot)?;
    let (rw, ro) = super::groups_of(name);
    let roles = match &facts {
        Some(f) => pg
            .role_facts(&[f.owner.as_str(), rw.as_str(), ro.as_str()])
            .await
            .or_diag(cannot)?,
        None => Vec::new(),
    };
    super::database(name, facts.as_ref(), &roles, &admin_db, &server)
}
