//! `data "dbaas_pgbouncer_pools"`: `SHOW POOLS` from every PgBouncer admin host, one
//! entry per replica and pool, optionally for one database.

use crate::resources::common::legacy_value;
use std::collections::BTreeMap;
use tfplugin::Error;

use serde::{Deserialize, Serialize};
use tfplugin::{Attribute, Block, Schema, Type, Value};

use crate::backends::pgbouncer::Pool;
use crate::backends::Backends;
use crate::resources::common::{backend_error, decode, encode, need, Ctx};

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
        let out = async {
            let pgb = need(&mut ctx.diags, "PgBouncer", ctx.client.pgbouncer().await)?;
            let Some(pgb) = pgb else {
                ctx.diags.error(
                    "PgBouncer is not configured",
                    "data \"dbaas_pgbouncer_pools\" needs the provider's `pgbouncer { ... }` block.",
                );
                return None;
            };
            let config: Model = decode(&mut ctx.diags, config)?;
            let database = config.database;
            let pools = match pgb.pools(database.as_deref()).await {
                Ok(p) => p,
                Err(e) => {
                    backend_error(&mut ctx.diags, "Cannot read PgBouncer pools", e);
                    return None;
                }
            };
            let state = Model {
                id: Some(database.clone().unwrap_or_else(|| "*".into())),
                database,
                pools: Some(pools),
            };
            encode(&mut ctx.diags, &state)
        }
        .await;
        legacy_value(&mut ctx.diags, out)
    }
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
}
