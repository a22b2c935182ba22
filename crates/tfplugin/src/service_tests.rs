//! The RPC service driven directly (no transport) with the example provider.

use super::*;
use crate::proto::tfplugin6::provider_server::Provider as _;
use crate::testing::example::{Echo, ExampleClient, ExampleProvider, Thing, Token};

fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    encode(v, ty)
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    let mut v = Value::Map(Default::default());
    for (k, x) in pairs {
        v.set(k, x.clone());
    }
    v
}

fn errors(diags: &[pb::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}

async fn configured() -> ProviderService<ExampleProvider> {
    let svc = ProviderService::new(ExampleProvider);
    let config = obj(&[("prefix", Value::string("p-"))]);
    let r = svc
        .configure_provider(Request::new(pb::configure_provider::Request {
            config: dv(&config, &svc.schema_ty),
            ..Default::default()
        }))
        .await
        .expect("ConfigureProvider")
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    svc
}

#[tokio::test]
async fn unknown_type_names_are_error_diagnostics_naming_the_type() {
    let svc = configured().await;
    let read = svc
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "example_nope".into(),
            ..Default::default()
        }))
        .await
        .expect("an unknown type is not a gRPC error")
        .into_inner();
    let errs = errors(&read.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("Unknown resource type example_nope"),
        "{errs:?}"
    );
    assert!(
        errs[0].contains("example_thing"),
        "lists what exists: {errs:?}"
    );

    let data = svc
        .read_data_source(Request::new(pb::read_data_source::Request {
            type_name: "example_thing".into(),
            ..Default::default()
        }))
        .await
        .expect("ReadDataSource")
        .into_inner();
    assert!(errors(&data.diagnostics)[0].contains("Unknown data source type example_thing"));

    let open = svc
        .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
            type_name: "example_echo".into(),
            ..Default::default()
        }))
        .await
        .expect("OpenEphemeralResource")
        .into_inner();
    assert!(errors(&open.diagnostics)[0].contains("Unknown ephemeral resource type example_echo"));
}

/// A provider that declares `example_thing` twice and has a broken data source schema.
struct Broken;

struct BrokenEcho;

#[async_trait::async_trait]
impl DataSource<ExampleClient> for BrokenEcho {
    fn type_name(&self) -> &'static str {
        "example_broken"
    }

    fn schema(&self) -> Schema {
        use crate::schema::{Attribute, Block};
        let inner = Block::new("inner")
            .attr(Attribute::string("a").required())
            .attr(Attribute::string("a").optional());
        Schema::new(
            Block::new("broken")
                .attr(Attribute::string("x").required().computed())
                .single_block("inner", inner),
        )
    }

    fn check_model(&self) -> Result<(), String> {
        /// Has `y` where the schema has `x` and `inner`.
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Model {
            y: String,
        }
        crate::model::check_model::<Model>(&self.schema().block)
    }

    async fn read(&self, _ctx: &mut Ctx<'_, ExampleClient>, _config: &Value) -> Option<Value> {
        None
    }
}

#[async_trait::async_trait]
impl Provider for Broken {
    type Client = ExampleClient;

    fn schema(&self) -> Schema {
        ExampleProvider.schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ExampleClient>>> {
        vec![Arc::new(Thing), Arc::new(Thing)]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ExampleClient>>> {
        vec![Arc::new(Echo), Arc::new(BrokenEcho)]
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<ExampleClient>>> {
        vec![Arc::new(Token), Arc::new(Token)]
    }

    async fn configure(
        &self,
        config: &Value,
        info: &ClientInfo,
        diags: &mut Diagnostics,
    ) -> Option<ExampleClient> {
        ExampleProvider.configure(config, info, diags).await
    }
}

#[tokio::test]
async fn duplicate_types_and_schema_mistakes_are_start_up_diagnostics() {
    assert!(check_provider(ExampleProvider).0.is_empty());
    let svc = ProviderService::new(Broken);
    let schema = svc
        .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
        .await
        .expect("GetProviderSchema")
        .into_inner();
    let errs = errors(&schema.diagnostics);
    assert!(
        errs.iter()
            .any(|e| e.contains("Duplicate resource type example_thing")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("Duplicate ephemeral resource type example_token")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("data source example_broken")
            && e.contains("`x` is required and also optional or computed")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("`inner.a` is declared more than once")),
        "nested blocks are checked: {errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("Model of data source example_broken")
                && e.contains("\"y\"")
                && e.contains("\"inner\"")),
        "models are checked: {errs:?}"
    );
    assert_eq!(schema.resource_schemas.len(), 1, "the first one is served");

    let meta = svc
        .get_metadata(Request::new(pb::get_metadata::Request {}))
        .await
        .expect("GetMetadata")
        .into_inner();
    assert_eq!(errors(&meta.diagnostics), errs);
    assert_eq!(check_provider(Broken).0.len(), errs.len());
}

#[tokio::test]
async fn a_resource_lives_through_plan_apply_read_import_and_destroy() {
    let svc = configured().await;
    let e = svc.resources.entries.get("example_thing").expect("entry");
    let ty = e.ty.clone();
    let config = obj(&[
        ("name", Value::string("a")),
        ("secret_wo", Value::string("s")),
    ]);
    let caps = Some(pb::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: true,
    });
    let validate = svc
        .validate_resource_config(Request::new(pb::validate_resource_config::Request {
            type_name: "example_thing".into(),
            config: dv(&config, &ty),
            client_capabilities: caps,
        }))
        .await
        .expect("ValidateResourceConfig")
        .into_inner();
    assert!(
        validate.diagnostics.is_empty(),
        "{:?}",
        validate.diagnostics
    );

    let plan = svc
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: "example_thing".into(),
            prior_state: dv(&Value::Null, &ty),
            proposed_new_state: dv(&config, &ty),
            config: dv(&config, &ty),
            ..Default::default()
        }))
        .await
        .expect("PlanResourceChange")
        .into_inner();
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    let planned = decode(
        plan.planned_state.as_ref(),
        &ty,
        "plan",
        &mut Diagnostics::default(),
    )
    .expect("planned state");
    assert!(planned.get("id").is_unknown());
    assert_eq!(planned.get("size"), &Value::int(1));
    assert!(planned.get("secret_wo").is_null());

    let apply = svc
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: "example_thing".into(),
            prior_state: dv(&Value::Null, &ty),
            planned_state: plan.planned_state.clone(),
            config: dv(&config, &ty),
            ..Default::default()
        }))
        .await
        .expect("ApplyResourceChange")
        .into_inner();
    assert!(apply.diagnostics.is_empty(), "{:?}", apply.diagnostics);
    let state = decode(
        apply.new_state.as_ref(),
        &ty,
        "state",
        &mut Diagnostics::default(),
    )
    .expect("new state");
    assert_eq!(state.get("id").as_str(), Some("p-a"));
    assert!(state.get("secret_wo").is_null());

    let read = svc
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "example_thing".into(),
            current_state: apply.new_state.clone(),
            private: b"kept".to_vec(),
            ..Default::default()
        }))
        .await
        .expect("ReadResource")
        .into_inner();
    assert_eq!(read.new_state, apply.new_state);
    assert_eq!(read.private, b"kept");

    let import = svc
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: "example_thing".into(),
            id: "p-b".into(),
            ..Default::default()
        }))
        .await
        .expect("ImportResourceState")
        .into_inner();
    let imported = decode(
        import.imported_resources[0].state.as_ref(),
        &ty,
        "imported",
        &mut Diagnostics::default(),
    )
    .expect("imported state");
    assert_eq!(imported.get("name").as_str(), Some("b"));
    assert_eq!(imported.get("id").as_str(), Some("p-b"));
    assert_eq!(imported.get("size"), &Value::int(1));

    let destroy = svc
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: "example_thing".into(),
            prior_state: apply.new_state,
            planned_state: None,
            config: None,
            ..Default::default()
        }))
        .await
        .expect("destroy")
        .into_inner();
    assert!(destroy.diagnostics.is_empty(), "{:?}", destroy.diagnostics);
    let gone = decode(
        destroy.new_state.as_ref(),
        &ty,
        "state",
        &mut Diagnostics::default(),
    );
    assert_eq!(gone, Some(Value::Null));
}

#[tokio::test]
async fn not_configured_is_a_diagnostic_and_apply_keeps_the_prior_state() {
    let svc = ProviderService::new(ExampleProvider);
    let ty = svc.resources.entries["example_thing"].ty.clone();
    let prior = obj(&[("id", Value::string("p-a")), ("name", Value::string("a"))]);
    let apply = svc
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: "example_thing".into(),
            prior_state: dv(&prior, &ty),
            planned_state: dv(&prior, &ty),
            config: dv(&prior, &ty),
            planned_private: b"p".to_vec(),
            ..Default::default()
        }))
        .await
        .expect("ApplyResourceChange")
        .into_inner();
    assert!(errors(&apply.diagnostics)[0].contains("Provider not configured"));
    assert_eq!(apply.new_state, dv(&prior, &ty));
    assert_eq!(apply.private, b"p");
}

#[tokio::test]
async fn data_sources_and_ephemeral_resources_answer() {
    let svc = configured().await;
    let ty = svc.data_sources.entries["example_echo"].ty.clone();
    let config = obj(&[("input", Value::string("hello"))]);
    let read = svc
        .read_data_source(Request::new(pb::read_data_source::Request {
            type_name: "example_echo".into(),
            config: dv(&config, &ty),
            ..Default::default()
        }))
        .await
        .expect("ReadDataSource")
        .into_inner();
    let state = decode(
        read.state.as_ref(),
        &ty,
        "state",
        &mut Diagnostics::default(),
    )
    .expect("state");
    assert_eq!(state.get("length"), &Value::int(5));

    let ty = svc.ephemerals.entries["example_token"].ty.clone();
    let unknown = obj(&[("name", Value::unknown())]);
    let planning = svc
        .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
            type_name: "example_token".into(),
            config: dv(&unknown, &ty),
            ..Default::default()
        }))
        .await
        .expect("OpenEphemeralResource")
        .into_inner();
    let result = decode(
        planning.result.as_ref(),
        &ty,
        "result",
        &mut Diagnostics::default(),
    )
    .expect("result");
    assert!(result.get("token").is_unknown() && planning.private.is_none());

    let config = obj(&[("name", Value::string("t"))]);
    let open = svc
        .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
            type_name: "example_token".into(),
            config: dv(&config, &ty),
            ..Default::default()
        }))
        .await
        .expect("OpenEphemeralResource")
        .into_inner();
    let result = decode(
        open.result.as_ref(),
        &ty,
        "result",
        &mut Diagnostics::default(),
    )
    .expect("result");
    assert_eq!(result.get("token").as_str(), Some("p-t-token"));
    assert_eq!(open.private.as_deref(), Some(&b"opened"[..]));

    let close = svc
        .close_ephemeral_resource(Request::new(pb::close_ephemeral_resource::Request {
            type_name: "example_token".into(),
            private: open.private,
        }))
        .await
        .expect("CloseEphemeralResource")
        .into_inner();
    assert!(close.diagnostics.is_empty());
}

fn raw_json(json: &str) -> Option<pb::RawState> {
    Some(pb::RawState {
        json: json.as_bytes().to_vec(),
        ..Default::default()
    })
}

#[tokio::test]
async fn upgrade_runs_the_chain_from_an_earlier_version() {
    let svc = configured().await;
    let ty = &svc.resources.entries["example_thing"].ty;
    let r = svc
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "example_thing".into(),
            version: 0,
            raw_state: raw_json(r#"{"id":"p-a","title":"a","size":1,"secret_wo":null}"#),
        }))
        .await
        .expect("UpgradeResourceState")
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let state = crate::convert::decode(
        r.upgraded_state.as_ref(),
        ty,
        "state",
        &mut Diagnostics::default(),
    )
    .expect("decodes");
    assert_eq!(state.get("name").as_str(), Some("a"), "title became name");
}

#[tokio::test]
async fn upgrade_refuses_newer_and_flatmap_state_with_a_reason() {
    let svc = configured().await;
    let newer = svc
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "example_thing".into(),
            version: 2,
            raw_state: raw_json(r#"{"id":"p-a","name":"a"}"#),
        }))
        .await
        .expect("UpgradeResourceState")
        .into_inner();
    assert!(
        errors(&newer.diagnostics)
            .iter()
            .any(|e| e.contains("newer provider")),
        "{:?}",
        newer.diagnostics
    );
    let mut flat = std::collections::HashMap::new();
    flat.insert("id".to_string(), "p-a".to_string());
    let legacy = svc
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: "example_thing".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: Vec::new(),
                flatmap: flat,
            }),
        }))
        .await
        .expect("UpgradeResourceState")
        .into_inner();
    assert!(
        errors(&legacy.diagnostics)
            .iter()
            .any(|e| e.contains("Terraform 0.11")),
        "{:?}",
        legacy.diagnostics
    );
    assert!(legacy.upgraded_state.is_none(), "no state is made up");
}

#[tokio::test]
async fn move_converts_declared_sources_and_names_the_others() {
    let svc = configured().await;
    let ty = &svc.resources.entries["example_thing"].ty;
    let moved = svc
        .move_resource_state(Request::new(pb::move_resource_state::Request {
            source_type_name: "example_old_thing".into(),
            target_type_name: "example_thing".into(),
            source_state: raw_json(r#"{"id":"p-b","title":"b","size":2,"secret_wo":null}"#),
            source_private: b"{\"k\":1}".to_vec(),
            ..Default::default()
        }))
        .await
        .expect("MoveResourceState")
        .into_inner();
    assert!(moved.diagnostics.is_empty(), "{:?}", moved.diagnostics);
    let state = crate::convert::decode(
        moved.target_state.as_ref(),
        ty,
        "state",
        &mut Diagnostics::default(),
    )
    .expect("decodes");
    assert_eq!(state.get("name").as_str(), Some("b"));
    assert_eq!(moved.target_private, b"{\"k\":1}".to_vec());
    let refused = svc
        .move_resource_state(Request::new(pb::move_resource_state::Request {
            source_type_name: "example_stranger".into(),
            target_type_name: "example_thing".into(),
            source_state: raw_json("{}"),
            ..Default::default()
        }))
        .await
        .expect("MoveResourceState")
        .into_inner();
    assert!(
        errors(&refused.diagnostics)
            .iter()
            .any(|e| e.contains("example_stranger")),
        "{:?}",
        refused.diagnostics
    );
}
