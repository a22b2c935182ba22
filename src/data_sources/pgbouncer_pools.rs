//! `data "dbaas_pgbouncer_pools"`: `SHOW POOLS` from every PgBouncer admin host, one
//! entry per replica and pool, optionally for one database.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tfplugin::typed::{try_decode, try_encode};
use tfplugin::{Attribute, Block, Error, OrDiag, Schema, Type, Value};

use crate::backends::pgbouncer::Pool;
use crate::backends::Backends;
use crate::resources::common::Ctx;
use crate::resources::common::OrReach;

/// The pools data source.
pub struct PgBouncerPools;

/// The configuration read and the state returned.
#[derive(Debug, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    database: Option<String>,
    pools: Option<Vec<Pool>>,
}

fn pool_type() -> Type {
    Type::Object(BTreeMap::from([
        ("admin_host".to_string(), Type::String),
        ("database".to_string(), Type::String),
        ("user".to_string(), Type::String),
        ("cl_active".to_string(), Type::Number),
        ("cl_waiting".to_string(), Type::Number),
        ("sv_active".to_string(), Type::Number),
        ("sv_idle".to_string(), Type::Number),
        ("maxwait".to_string(), Type::Number),
        ("pool_mode".to_string(), Type::String),
    ]))
}

#[async_trait::async_trait]
impl tfplugin::DataSource<Backends> for PgBouncerPools {
    tfplugin::typed!("dbaas_pgbouncer_pools", Model);

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Connection pools of every PgBouncer replica (`SHOW POOLS` on each `pgbouncer.admin_hosts` entry). Needs the `pgbouncer` provider block.")
                .attr(Attribute::string("id").computed().description("The database filter, or `*`."))
                .attr(Attribute::string("database").optional().description("Only pools of this database."))
                .attr(
                    Attribute::typed("pools", Type::list_of(pool_type()))
                        .computed()
                        .description("One entry per admin host and pool: `admin_host`, `database`, `user`, `cl_active`, `cl_waiting`, `sv_active`, `sv_idle`, `maxwait` (seconds), `pool_mode`."),
                ),
        )
    }

    async fn read(&self, ctx: &mut Ctx<'_>, config: &Value) -> Result<Value, Error> {
        let pgb = ctx.client.pgbouncer().await.or_reach("PgBouncer")?;
        let pgb = pgb.ok_or_else(not_configured)?;
        let database = try_decode::<Model>(config)?.database;
        let pools = pgb
            .pools(database.as_deref())
            .await
            .or_diag("Cannot read PgBouncer pools")?;
        try_encode(&Model {
            id: Some(database.clone().unwrap_or_else(|| "*".into())),
            database,
            pools: Some(pools),
        })
    }
}

/// The refusal without a `pgbouncer` block.
fn not_configured() -> Error {
    Error::new(
        "PgBouncer is not configured",
        "data \"dbaas_pgbouncer_pools\" needs the provider's `pgbouncer { ... }` block.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_objects_have_the_pool_models_fields() {
        let Type::Object(pool) = pool_type() else {
            panic!("pools hold objects");
        };
        let columns: Vec<&str> = pool.keys().map(String::as_str).collect();
        let mut fields = tfplugin::model::fields_of::<Pool>().to_vec();
        fields.sort_unstable();
        assert_eq!(columns, fields);
    }

    #[test]
    fn pools_without_a_pgbouncer_block_are_refused_naming_the_block() {
        let e = not_configured();
        assert_eq!(e.diagnostics()[0].summary, "PgBouncer is not configured");
        assert!(e.diagnostics()[0].detail.contains("`pgbouncer { ... }`"));
    }
}
