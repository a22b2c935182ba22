//! `data "dbaas_endpoints"`: the hosts and ports apps and admins use, from the provider
//! configuration; the replacement for hand-kept shared variables. Opens no connection.

use tfplugin::{Attribute, Block, Ctx, Schema, Value};

use crate::backends::Backends;

/// The endpoints data source.
pub struct Endpoints;

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
    fn type_name(&self) -> &'static str {
        "dbaas_endpoints"
    }

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

    async fn read(&self, ctx: &mut Ctx<'_, Backends>, _config: &Value) -> Option<Value> {
        let s = &ctx.client.settings;
        let text = |v: Option<&String>| v.map(|h| Value::string(h.clone())).unwrap_or(Value::Null);
        let num = |v: Option<u16>| v.map(|p| Value::int(p.into())).unwrap_or(Value::Null);
        let mut out = Value::Map(Default::default());
        out.set("id", Value::string("dbaas"));
        out.set("postgres_host", text(s.pgbouncer.as_ref().map(|p| &p.host)));
        out.set("postgres_port", num(s.pgbouncer.as_ref().map(|p| p.port)));
        out.set(
            "postgres_admin_host",
            text(s.postgres.as_ref().map(|p| &p.host)),
        );
        out.set("mysql_host", text(s.mysql.as_ref().map(|p| &p.host)));
        out.set("mysql_port", num(s.mysql.as_ref().map(|p| p.port)));
        out.set("redis_host", text(s.redis.as_ref().map(|p| &p.host)));
        out.set("redis_port", num(s.redis.as_ref().map(|p| p.port)));
        out.set("vault_address", text(s.vault.as_ref().map(|v| &v.address)));
        Some(out)
    }
}
