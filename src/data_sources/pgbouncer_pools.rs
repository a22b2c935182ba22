//! `data "dbaas_pgbouncer_pools"`: `SHOW POOLS` from every PgBouncer admin host, one
//! entry per replica and pool, optionally for one database.

use std::collections::BTreeMap;

use tfplugin::{Attribute, Block, Ctx, Schema, Type, Value};

use crate::backends::Backends;
use crate::resources::common::{backend_error, need};

/// The pools data source.
pub struct PgBouncerPools;

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
    fn type_name(&self) -> &'static str {
        "dbaas_pgbouncer_pools"
    }

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

    async fn read(&self, ctx: &mut Ctx<'_, Backends>, config: &Value) -> Option<Value> {
        let pgb = need(&mut ctx.diags, "PgBouncer", ctx.client.pgbouncer().await)?;
        let Some(pgb) = pgb else {
            ctx.diags.error(
                "PgBouncer is not configured",
                "data \"dbaas_pgbouncer_pools\" needs the provider's `pgbouncer { ... }` block.",
            );
            return None;
        };
        let database = config.get("database").as_str().map(str::to_string);
        let pools = match pgb.pools(database.as_deref()).await {
            Ok(p) => p,
            Err(e) => {
                backend_error(&mut ctx.diags, "Cannot read PgBouncer pools", e);
                return None;
            }
        };
        let mut out = config.clone();
        out.set(
            "id",
            Value::string(database.clone().unwrap_or_else(|| "*".into())),
        );
        out.set(
            "pools",
            Value::List(
                pools
                    .into_iter()
                    .map(|p| {
                        Value::Map(BTreeMap::from([
                            ("admin_host".to_string(), Value::string(p.admin_host)),
                            ("database".to_string(), Value::string(p.database)),
                            ("user".to_string(), Value::string(p.user)),
                            ("cl_active".to_string(), Value::int(p.cl_active)),
                            ("cl_waiting".to_string(), Value::int(p.cl_waiting)),
                            ("sv_active".to_string(), Value::int(p.sv_active)),
                            ("sv_idle".to_string(), Value::int(p.sv_idle)),
                            ("maxwait".to_string(), Value::int(p.maxwait)),
                            ("pool_mode".to_string(), Value::string(p.pool_mode)),
                        ]))
                    })
                    .collect(),
            ),
        );
        Some(out)
    }
}
