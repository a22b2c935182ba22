//! `data "dbaas_endpoints"`: the hosts and ports apps and admins use, from the provider
//! configuration; the replacement for hand-kept shared variables. Opens no connection.

use serde::{Deserialize, Serialize};
use tfplugin::typed::try_encode;
use tfplugin::{Attribute, Block, Error, Schema, Value};

use crate::backends::settings::Settings;
use crate::backends::Backends;
use crate::enums::Engine;
use crate::resources::common::Ctx;

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
        "Host apps use for PostgreSQL: the PgBouncer endpoint (`pgbouncer.host`), or the primary (`postgres.host`) when no `pgbouncer` block is configured, as the resources' `host`.",
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
        "Port apps use for PostgreSQL: PgBouncer's (`pgbouncer.port`), or the primary's (`postgres.port`) when no `pgbouncer` block is configured.",
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
        try_encode(&Model::of(&ctx.client.settings))
    }
}

impl Model {
    /// The endpoints the provider block configures; null where a block is absent.
    fn of(s: &Settings) -> Model {
        // The rule the resources' `host` and `port` follow (PgBouncer, else the primary).
        let (postgres_host, postgres_port) = s.app_endpoint(Engine::Postgres).known().unzip();
        Model {
            id: "dbaas".into(),
            postgres_host,
            postgres_port,
            postgres_admin_host: s.postgres.as_ref().map(|p| p.host.clone()),
            mysql_host: s.mysql.as_ref().map(|m| m.host.clone()),
            mysql_port: s.mysql.as_ref().map(|m| m.port),
            redis_host: s.redis.as_ref().map(|r| r.host.clone()),
            redis_port: s.redis.as_ref().map(|r| r.port),
            vault_address: s.vault.as_ref().map(|v| v.address.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_null_where_no_block_is_configured() {
        let none = Model::of(&Settings::default());
        assert_eq!(none.id, "dbaas");
        assert_eq!((none.postgres_host, none.postgres_port), (None, None));
        assert_eq!(
            (none.mysql_host, none.redis_port, none.vault_address),
            (None, None, None)
        );
        let v = try_encode(&Model::of(&Settings::default())).unwrap();
        assert!(v.get("postgres_host").is_null());
    }

    #[test]
    fn postgres_host_is_pgbouncer_else_the_primary_as_for_the_resources() {
        let block = |pairs: &[(&str, Value)]| Value::object(pairs);
        let pg = block(&[
            ("host", Value::string("primary")),
            ("port", Value::int(5432)),
        ]);
        let pgb = block(&[
            ("host", Value::string("pgb")),
            ("port", Value::int(6432)),
            ("admin_username", Value::string("adm")),
        ]);
        let rows = [
            ("pgbouncer configured", Some(pgb), ("pgb", 6432)),
            ("no pgbouncer block: the primary", None, ("primary", 5432)),
        ];
        for (situation, pgbouncer, (host, port)) in rows {
            let mut config = Value::object(&[("postgres", pg.clone())]);
            config.set("pgbouncer", pgbouncer.unwrap_or(Value::Null));
            let mut diags = tfplugin::Diagnostics::default();
            let s = crate::provider::settings_from_config(&config, &|_| None, &mut diags);
            let m = Model::of(&s);
            assert_eq!(m.postgres_host.as_deref(), Some(host), "{situation}");
            assert_eq!(m.postgres_port, Some(port), "{situation}");
            assert_eq!(
                m.postgres_admin_host.as_deref(),
                Some("primary"),
                "{situation}"
            );
        }
    }
}
