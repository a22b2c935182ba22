//! `data "dbaas_shared_redis_namespace"`: a Redis namespace another stack owns, by name:
//! its key prefix, channels and effective ACL, and where its apps connect. Never the
//! password.

use serde::{Deserialize, Serialize};
use tfplugin::typed::{try_decode, try_encode};
use tfplugin::{Attribute, Block, Error, OrDiag, Schema, Type, Value};

use crate::backends::Backends;
use crate::enums::Engine;
use crate::resources::common::{Ctx, OrReach};
use crate::resources::redis_acl;

/// The namespace lookup.
pub struct Namespace;

/// The configuration read and the state returned.
#[derive(Debug, Serialize, Deserialize)]
struct Model {
    id: Option<String>,
    name: String,
    key_prefix: Option<String>,
    channels: Option<Vec<String>>,
    acl: Option<String>,
    enabled: Option<bool>,
    host: Option<String>,
    port: Option<u16>,
    tls: Option<String>,
}

#[async_trait::async_trait]
impl tfplugin::DataSource<Backends> for Namespace {
    tfplugin::typed!("dbaas_shared_redis_namespace", Model);

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("A Redis namespace made by `dbaas_shared_redis_namespace` (in another stack), looked up by name: its key prefix, channels and effective ACL, and where its apps connect; never its password (the owning stack, or a rotation role, hands that out). A name with no ACL user, or a user that is not a namespace (keys beyond one `<prefix>*`, channels outside it, selectors, or the provider's admin), is an error. Needs the `redis` provider block.")
                .attr(Attribute::string("id").computed().description("The namespace name."))
                .attr(Attribute::string("name").required().description("Namespace (ACL user) name.").validate(crate::resources::common::no_nul_validator()))
                .attr(Attribute::string("key_prefix").computed().description("The prefix every key of the namespace starts with."))
                .attr(Attribute::typed("channels", Type::list_of(Type::String)).computed().description("Pub/Sub channel patterns the namespace may use."))
                .attr(Attribute::string("acl").computed().description("The effective ACL rules, as `ACL GETUSER` reports them (no password hashes)."))
                .attr(Attribute::bool("enabled").computed().description("Whether the user can log in."))
                .attr(Attribute::string("host").computed().description("Redis host apps use (`dbaas_endpoints.redis_host`)."))
                .attr(Attribute::number("port").computed().description("Redis port apps use."))
                .attr(Attribute::string("tls").computed().description("Redis TLS mode apps use (`dbaas_endpoints.redis_tls`).")),
        )
    }

    async fn read(&self, ctx: &mut Ctx<'_>, config: &Value) -> Result<Value, Error> {
        let name = try_decode::<Model>(config)?.name;
        let redis = ctx.client.redis().await.or_reach("Redis")?;
        let user = redis
            .get_user(&name)
            .await
            .or_diag(format!("Cannot read Redis user {name:?}"))?;
        super::namespace(&name, user.as_ref(), redis.admin_user())?;
        let settings = &ctx.client.settings;
        let (host, port) = settings.app_endpoint(Engine::Redis).known().unzip();
        let user = user.unwrap_or_default();
        try_encode(&Model {
            id: Some(name.clone()),
            name,
            key_prefix: Some(redis_acl::key_prefix_of(&user)),
            channels: Some(redis_acl::channels_of(&user)),
            acl: Some(user.rule_string()),
            enabled: Some(user.enabled()),
            host,
            port,
            tls: settings.redis.as_ref().map(|r| r.tls.as_str().to_string()),
        })
    }
}
