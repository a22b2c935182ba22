//! `data "dbaas_endpoints"`: the hosts and ports apps and admins use, from the provider
//! configuration; the replacement for hand-kept shared variables. Opens no connection.

use crate::resources::common::legacy_value;
use serde::{Deserialize, Serialize};
use tfplugin::Error;
use tfplugin::{Attribute, Block, Schema, Value};

use crate::backends::Backends;
use crate::resources::common::{encode, Ctx};

/// The endpoints data source.
pub struct Endpoints;

/// The state: null where the provider block is not configured.
#[derive(Debug, Serialize, Deserialize)]
struct Model {
    id: String,
    postgres_host: Option<String>,
    postgres_port: Option<u16>,
    postgres_admin_host: Option<String>,
    mysql_host: Option<String>,
    mysql_port: Option<u16>,
    redis_host: Option<String>,
    redis_port: Option<u16>,
    vault_address: Option<String>,
}

const STRINGS: [(&str, &str); 5] = [
    (
        "postgres_host",
        "Host apps use for PostgreSQL: the PgBouncer endpoint (`pgbouncer.host`).",
    ),
    (
        "postgres_admin_host",
        "The PostgreSQL primary (`postgres.host`), for administration only.",
    ),
    ("mysql_host", "MySQL host (`mysql.host`)."),
    ("redis_host", "Redis host (`redis.host`)."),
    (
        "vault_address",
        "Vault address (`vault.address` or `VAULT_ADDR`).",
    ),
];

const NUMBERS: [(&str, &str); 3] = [
    (
        "postgres_port",
        "Port apps use for PostgreSQL: PgBouncer's (`pgbouncer.port`).",
    ),
    ("mysql_port", "MySQL port."),
    ("redis_port", "Redis port."),
];

#[async_trait::async_trait]
impl tfplugin::DataSource<Backends> for Endpoints {
    tfplugin::typed!("dbaas_endpoints", Model);

    fn schema(&self) -> Schema {
        let mut block = Block::new("Endpoints of the shared database platform, from the provider configuration. Null where the provider block is not configured.")
            .attr(Attribute::string("id").computed().description("Always `dbaas`."));
        for (name, d) in STRINGS {
            block = block.attr(Attribute::string(name).computed().description(d));
        }
        for (name, d) in NUMBERS {
            block = block.attr(Attribute::number(name).computed().description(d));
        }
        Schema::new(block)
    }

    async fn read(&self, ctx: &mut Ctx<'_>, _config: &Value) -> Result<Value, Error> {
        let out = async {
            let s = &ctx.client.settings;
            let state = Model {
                id: "dbaas".into(),
                postgres_host: s.pgbouncer.as_ref().map(|p| p.host.clone()),
                postgres_port: s.pgbouncer.as_ref().map(|p| p.port),
                postgres_admin_host: s.postgres.as_ref().map(|p| p.host.clone()),
                mysql_host: s.mysql.as_ref().map(|m| m.host.clone()),
                mysql_port: s.mysql.as_ref().map(|m| m.port),
                redis_host: s.redis.as_ref().map(|r| r.host.clone()),
                redis_port: s.redis.as_ref().map(|r| r.port),
                vault_address: s.vault.as_ref().map(|v| v.address.clone()),
            };
            encode(&mut ctx.diags, &state)
        }
        .await;
        legacy_value(&mut ctx.diags, out)
    }
}
