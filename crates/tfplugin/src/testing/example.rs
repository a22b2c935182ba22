//! A small provider without any backend, for the crate's own tests and benchmarks:
//! `example_thing` (a resource kept in the state only, with a computed id, a default,
//! a replacing name and a write-only secret; written on its model, a [`TypedResource`]), `example_echo` (a data source) and
//! `example_token` (an ephemeral resource).

use std::sync::Arc;

use crate::{
    Applied, Attribute, Block, ClientInfo, Ctx, DataSource, Diagnostics, EphemeralResource, Error,
    Known, Opened, Plan, Provider, Resource, ResourceType, Schema, TypedResource, Validator, Value,
};

/// The private state that keeps an `example_thing`: its replacement and its destroy
/// are refused at plan (the shape of a `deletion_protection`).
pub const KEEP: &[u8] = b"keep";

/// The example provider; its client is the configured `prefix`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExampleProvider;

/// What configure produces: the prefix every id gets.
#[derive(Debug, Clone)]
pub struct ExampleClient {
    /// The `prefix` setting (default `ex-`).
    pub prefix: String,
}

#[async_trait::async_trait]
impl Provider for ExampleProvider {
    type Client = ExampleClient;

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("An example provider with no backend.").attr(
                Attribute::string("prefix")
                    .optional()
                    .env(&["EXAMPLE_PREFIX"])
                    .description("Prefix of every id."),
            ),
        )
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ExampleClient>>> {
        vec![Arc::new(Thing)]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ExampleClient>>> {
        vec![Arc::new(Echo)]
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<ExampleClient>>> {
        vec![Arc::new(Token)]
    }

    async fn configure(
        &self,
        config: &Value,
        _info: &ClientInfo,
        _diags: &mut Diagnostics,
    ) -> Option<ExampleClient> {
        let prefix = config.get("prefix").as_str().unwrap_or("ex-").to_string();
        Some(ExampleClient { prefix })
    }
}

/// `example_thing`: lives in the state only. Schema version 1: version 0 called `name`
/// `title`.
pub struct Thing;

/// `example_thing`'s plan and state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ThingModel {
    id: Known<String>,
    name: String,
    size: Known<i64>,
    secret_wo: Option<String>,
}

/// `example_thing` state history: version 0's `title` is version 1's `name`.
fn thing_v0_to_v1(mut v: serde_json::Value) -> Result<serde_json::Value, String> {
    let obj = v.as_object_mut().ok_or("the state is not an object")?;
    if let Some(title) = obj.remove("title") {
        obj.insert("name".into(), title);
    }
    Ok(v)
}

#[async_trait::async_trait]
impl ResourceType<ExampleClient> for Thing {
    fn type_name(&self) -> &'static str {
        "example_thing"
    }

    fn state_upgraders(&self) -> Vec<crate::StateUpgrader> {
        vec![crate::StateUpgrader {
            from: 0,
            upgrade: thing_v0_to_v1,
        }]
    }

    fn move_sources(&self) -> Vec<crate::MoveSource> {
        vec![crate::MoveSource {
            provider: "",
            type_name: "example_old_thing",
            max_version: 0,
            convert: thing_v0_to_v1,
        }]
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("A thing kept in the state only.")
                .attr(
                    Attribute::string("id")
                        .computed()
                        .use_state_for_unknown()
                        .description("The prefix and the name."),
                )
                .attr(
                    Attribute::string("name")
                        .required()
                        .requires_replace()
                        .validate(Validator::new("not empty", |v| match v.as_str() {
                            Some("") => Err("must not be empty".into()),
                            _ => Ok(()),
                        }))
                        .description("Its name."),
                )
                .attr(
                    Attribute::number("size")
                        .default(Value::int(1))
                        .description("Its size."),
                )
                .attr(
                    Attribute::string("secret_wo")
                        .optional()
                        .sensitive()
                        .write_only()
                        .description("A secret never stored."),
                ),
        )
        .version(1)
    }

    fn plan_replace(&self, prior_private: &[u8], plan: &mut Plan<'_>) {
        if prior_private == KEEP {
            let why = "Its private state keeps it.";
            plan.diags.error_at(
                crate::AttributePath::attr("name"),
                "example_thing cannot be replaced",
                why,
            );
        }
    }

    async fn plan_destroy(
        &self,
        _client: &ExampleClient,
        _prior: &Value,
        prior_private: &[u8],
        diags: &mut Diagnostics,
    ) {
        if prior_private == KEEP {
            diags.error(
                "example_thing cannot be destroyed",
                "Its private state keeps it.",
            );
        }
    }

    async fn import(&self, ctx: &mut Ctx<'_, ExampleClient>, id: &str, state: &mut Value) {
        let name = id.strip_prefix(ctx.client.prefix.as_str()).unwrap_or(id);
        state.set("name", Value::string(name));
    }
}

#[async_trait::async_trait]
impl TypedResource<ExampleClient> for Thing {
    type Model = ThingModel;

    async fn create(
        &self,
        ctx: &mut Ctx<'_, ExampleClient>,
        planned: ThingModel,
        _config: &Value,
    ) -> Applied<ThingModel> {
        let id = format!("{}{}", ctx.client.prefix, planned.name);
        Ok(ThingModel {
            id: Known::Value(id),
            ..planned
        })
    }

    async fn read(
        &self,
        _ctx: &mut Ctx<'_, ExampleClient>,
        state: ThingModel,
    ) -> Result<Option<ThingModel>, Error> {
        Ok(Some(state))
    }

    async fn update(
        &self,
        _ctx: &mut Ctx<'_, ExampleClient>,
        _prior: ThingModel,
        planned: ThingModel,
        _config: &Value,
    ) -> Applied<ThingModel> {
        Ok(planned)
    }

    async fn delete(
        &self,
        _ctx: &mut Ctx<'_, ExampleClient>,
        _prior: ThingModel,
    ) -> Result<(), Error> {
        Ok(())
    }
}

/// `example_echo`: returns its input, and its length.
pub struct Echo;

#[async_trait::async_trait]
impl DataSource<ExampleClient> for Echo {
    fn type_name(&self) -> &'static str {
        "example_echo"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Echoes its input.")
                .attr(
                    Attribute::string("input")
                        .required()
                        .description("Any text."),
                )
                .attr(
                    Attribute::number("length")
                        .computed()
                        .description("Its length in bytes."),
                ),
        )
    }

    fn check_model(&self, _block: &Block) -> Result<(), String> {
        Ok(()) // reads its values by name: no model to compare
    }

    async fn read(
        &self,
        _ctx: &mut Ctx<'_, ExampleClient>,
        config: &Value,
    ) -> Result<Value, Error> {
        let mut state = config.clone();
        let length = config.get("input").as_str().map_or(0, str::len);
        state.set("length", Value::int(length as i64));
        Ok(state)
    }
}

/// `example_token`: a token made at open, never stored.
pub struct Token;

#[async_trait::async_trait]
impl EphemeralResource<ExampleClient> for Token {
    fn type_name(&self) -> &'static str {
        "example_token"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("A token that exists for one run.")
                .attr(
                    Attribute::string("name")
                        .required()
                        .description("Its name."),
                )
                .attr(
                    Attribute::string("token")
                        .computed()
                        .sensitive()
                        .description("The token."),
                ),
        )
    }

    fn check_model(&self, _block: &Block) -> Result<(), String> {
        Ok(()) // reads its values by name: no model to compare
    }

    async fn open(
        &self,
        ctx: &mut Ctx<'_, ExampleClient>,
        config: &Value,
    ) -> Result<Opened, Error> {
        let mut result = config.clone();
        let name = config.get("name").as_str();
        let name = name.ok_or_else(|| Error::at_attr("name", "Missing name", ""))?;
        let token = format!("{}{}-token", ctx.client.prefix, name);
        result.set("token", Value::string(token));
        ctx.private = b"opened".to_vec();
        Ok(Opened {
            result,
            renew_at: None,
        })
    }
}
