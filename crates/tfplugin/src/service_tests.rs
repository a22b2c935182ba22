//! The RPC service driven directly (no transport) with the example provider.

use super::*;
use crate::proto::tfplugin6::provider_server::Provider as _;
use crate::testing::example::{Echo, ExampleClient, ExampleProvider, Thing, Token, KEEP};

fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    encode(v, ty)
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::object(pairs)
}

/// Sends one request to an RPC of the service; a gRPC error fails the test.
macro_rules! call {
    ($svc:ident.$rpc:ident($req:expr)) => {
        $svc.$rpc(Request::new($req))
            .await
            .expect(stringify!($rpc))
            .into_inner()
    };
}

/// The value a response carries (a test fails when it does not decode).
fn value(v: Option<&pb::DynamicValue>, ty: &Type) -> Value {
    decode(v, ty, "value", &mut Diagnostics::default()).expect("a value of the type")
}

fn errors(diags: &[pb::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}

/// Fails the test unless one of the error diagnostics contains `fragment`.
#[track_caller]
fn assert_error_mentions(diags: &[pb::Diagnostic], fragment: &str) {
    assert!(
        errors(diags).iter().any(|e| e.contains(fragment)),
        "{fragment:?}: {diags:?}"
    );
}

/// Configures `svc` as the tests' Terraform does (`prefix = "p-"`), without diagnostics.
async fn configure<P: Provider>(svc: &ProviderService<P>) {
    let config = obj(&[("prefix", Value::string("p-"))]);
    let r = call!(svc.configure_provider(pb::configure_provider::Request {
        config: dv(&config, &svc.schema_ty),
        ..Default::default()
    }));
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
}

async fn configured() -> ProviderService<ExampleProvider> {
    let svc = ProviderService::new(ExampleProvider);
    configure(&svc).await;
    svc
}

#[tokio::test]
async fn unknown_type_names_are_error_diagnostics_naming_the_type() {
    let svc = configured().await;
    let read = call!(svc.read_resource(pb::read_resource::Request {
        type_name: "example_nope".into(),
        ..Default::default()
    }));
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

    let data = call!(svc.read_data_source(pb::read_data_source::Request {
        type_name: "example_thing".into(),
        ..Default::default()
    }));
    assert!(errors(&data.diagnostics)[0].contains("Unknown data source type example_thing"));

    let open = call!(
        svc.open_ephemeral_resource(pb::open_ephemeral_resource::Request {
            type_name: "example_echo".into(),
            ..Default::default()
        })
    );
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

    fn check_model(&self, block: &crate::Block) -> Result<(), String> {
        /// Has `y` where the schema has `x` and `inner`.
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Model {
            y: String,
        }
        crate::model::check_model::<Model>(block)
    }

    async fn read(
        &self,
        _ctx: &mut Ctx<'_, ExampleClient>,
        _config: &Value,
    ) -> Result<Value, crate::Error> {
        Err(crate::Error::new("broken", ""))
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
    let schema = call!(svc.get_provider_schema(pb::get_provider_schema::Request {}));
    let errs = errors(&schema.diagnostics);
    // Each expected error: the fragments one diagnostic holds, and what it shows.
    let expected: [(&[&str], &str); 5] = [
        (
            &["Duplicate resource type example_thing"],
            "duplicate resources",
        ),
        (
            &["Duplicate ephemeral resource type example_token"],
            "duplicate ephemerals",
        ),
        (
            &[
                "data source example_broken",
                "`x` is required and also optional or computed",
            ],
            "schema flags are checked",
        ),
        (
            &["`inner.a` is declared more than once"],
            "nested blocks are checked",
        ),
        (
            &["Model of data source example_broken", "\"y\"", "\"inner\""],
            "models are checked",
        ),
    ];
    for (fragments, what) in expected {
        assert!(
            errs.iter().any(|e| fragments.iter().all(|f| e.contains(f))),
            "{what}: {errs:?}"
        );
    }
    assert_eq!(schema.resource_schemas.len(), 1, "the first one is served");

    let meta = call!(svc.get_metadata(pb::get_metadata::Request {}));
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
    let validate = call!(
        svc.validate_resource_config(pb::validate_resource_config::Request {
            type_name: "example_thing".into(),
            config: dv(&config, &ty),
            client_capabilities: caps,
        })
    );
    assert!(
        validate.diagnostics.is_empty(),
        "{:?}",
        validate.diagnostics
    );

    let plan = call!(svc.plan_resource_change(pb::plan_resource_change::Request {
        type_name: "example_thing".into(),
        prior_state: dv(&Value::Null, &ty),
        proposed_new_state: dv(&config, &ty),
        config: dv(&config, &ty),
        ..Default::default()
    }));
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    let planned = value(plan.planned_state.as_ref(), &ty);
    assert!(planned.get("id").is_unknown());
    assert_eq!(planned.get("size"), &Value::int(1));
    assert!(planned.get("secret_wo").is_null());

    let apply = call!(
        svc.apply_resource_change(pb::apply_resource_change::Request {
            type_name: "example_thing".into(),
            prior_state: dv(&Value::Null, &ty),
            planned_state: plan.planned_state.clone(),
            config: dv(&config, &ty),
            ..Default::default()
        })
    );
    assert!(apply.diagnostics.is_empty(), "{:?}", apply.diagnostics);
    let state = value(apply.new_state.as_ref(), &ty);
    assert_eq!(state.get("id").as_str(), Some("p-a"));
    assert!(state.get("secret_wo").is_null());

    let read = call!(svc.read_resource(pb::read_resource::Request {
        type_name: "example_thing".into(),
        current_state: apply.new_state.clone(),
        private: b"kept".to_vec(),
        ..Default::default()
    }));
    assert_eq!(read.new_state, apply.new_state);
    assert_eq!(read.private, b"kept");

    let import = call!(
        svc.import_resource_state(pb::import_resource_state::Request {
            type_name: "example_thing".into(),
            id: "p-b".into(),
            ..Default::default()
        })
    );
    let imported = value(import.imported_resources[0].state.as_ref(), &ty);
    assert_eq!(imported.get("name").as_str(), Some("b"));
    assert_eq!(imported.get("id").as_str(), Some("p-b"));
    assert_eq!(imported.get("size"), &Value::int(1));

    let destroy = call!(
        svc.apply_resource_change(pb::apply_resource_change::Request {
            type_name: "example_thing".into(),
            prior_state: apply.new_state,
            planned_state: None,
            config: None,
            ..Default::default()
        })
    );
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
async fn destroys_and_replacements_are_asked_at_plan() {
    let svc = configured().await;
    let schema = call!(svc.get_provider_schema(pb::get_provider_schema::Request {}));
    let caps = schema.server_capabilities.expect("capabilities");
    assert!(
        caps.plan_destroy,
        "Terraform 1.3+ plans destroys only when advertised"
    );

    let ty = svc.resources.entries["example_thing"].ty.clone();
    let thing = |name: &str, size: i64| {
        obj(&[
            ("id", Value::string(format!("p-{name}"))),
            ("name", Value::string(name)),
            ("size", Value::int(size)),
        ])
    };
    let config =
        |name: &str, size: i64| obj(&[("name", Value::string(name)), ("size", Value::int(size))]);
    let (a, null) = (thing("a", 1), Value::Null);
    // (situation, prior, proposed/config, prior private, configured, refusal expected)
    type Row<'a> = (&'a str, &'a Value, Value, &'a [u8], bool, Option<&'a str>);
    let rows: [Row; 8] = [
        (
            "destroy_of_a_kept_object_is_refused",
            &a,
            null.clone(),
            KEEP,
            true,
            Some("cannot be destroyed"),
        ),
        (
            "destroy_of_another_object_plans",
            &a,
            null.clone(),
            b"",
            true,
            None,
        ),
        (
            "destroy_before_configure_is_left_to_apply",
            &a,
            null.clone(),
            KEEP,
            false,
            None,
        ),
        (
            "replacement_of_a_kept_object_is_refused",
            &a,
            config("b", 1),
            KEEP,
            true,
            Some("cannot be replaced"),
        ),
        (
            "replacement_before_configure_is_refused_too",
            &a,
            config("b", 1),
            KEEP,
            false,
            Some("cannot be replaced"),
        ),
        (
            "replacement_of_another_object_plans",
            &a,
            config("b", 1),
            b"",
            true,
            None,
        ),
        (
            "update_in_place_of_a_kept_object_plans",
            &a,
            config("a", 2),
            KEEP,
            true,
            None,
        ),
        (
            "create_in_place_of_a_tainted_object_plans",
            &null,
            config("a", 1),
            KEEP,
            true,
            None,
        ),
    ];
    for (situation, prior, proposed, private, is_configured, refusal) in rows {
        let svc = if is_configured {
            configured().await
        } else {
            ProviderService::new(ExampleProvider)
        };
        let plan = call!(svc.plan_resource_change(pb::plan_resource_change::Request {
            type_name: "example_thing".into(),
            prior_state: dv(prior, &ty),
            proposed_new_state: dv(&proposed, &ty),
            config: dv(&proposed, &ty),
            prior_private: private.to_vec(),
            ..Default::default()
        }));
        let errs = errors(&plan.diagnostics);
        match refusal {
            Some(says) => assert!(
                errs.len() == 1 && errs[0].contains(says),
                "{situation}: {errs:?}"
            ),
            None => assert!(errs.is_empty(), "{situation}: {errs:?}"),
        }
        assert_eq!(
            plan.planned_private, private,
            "{situation}: private state carried"
        );
        if proposed.is_null() {
            let planned = value(plan.planned_state.as_ref(), &ty);
            assert!(planned.is_null(), "{situation}: a destroy plans null");
        }
    }
}

#[tokio::test]
async fn not_configured_is_a_diagnostic_and_apply_keeps_the_prior_state() {
    let svc = ProviderService::new(ExampleProvider);
    let ty = svc.resources.entries["example_thing"].ty.clone();
    let prior = obj(&[("id", Value::string("p-a")), ("name", Value::string("a"))]);
    let apply = call!(
        svc.apply_resource_change(pb::apply_resource_change::Request {
            type_name: "example_thing".into(),
            prior_state: dv(&prior, &ty),
            planned_state: dv(&prior, &ty),
            config: dv(&prior, &ty),
            planned_private: b"p".to_vec(),
            ..Default::default()
        })
    );
    assert!(errors(&apply.diagnostics)[0].contains("Provider not configured"));
    assert_eq!(apply.new_state, dv(&prior, &ty));
    assert_eq!(apply.private, b"p");
}

#[tokio::test]
async fn data_sources_and_ephemeral_resources_answer() {
    let svc = configured().await;
    let ty = svc.data_sources.entries["example_echo"].ty.clone();
    let config = obj(&[("input", Value::string("hello"))]);
    let read = call!(svc.read_data_source(pb::read_data_source::Request {
        type_name: "example_echo".into(),
        config: dv(&config, &ty),
        ..Default::default()
    }));
    let state = value(read.state.as_ref(), &ty);
    assert_eq!(state.get("length"), &Value::int(5));

    let ty = svc.ephemerals.entries["example_token"].ty.clone();
    let unknown = obj(&[("name", Value::unknown())]);
    let open_token = |config: Value| pb::open_ephemeral_resource::Request {
        type_name: "example_token".into(),
        config: dv(&config, &ty),
        ..Default::default()
    };
    let planning = call!(svc.open_ephemeral_resource(open_token(unknown)));
    let result = value(planning.result.as_ref(), &ty);
    assert!(result.get("token").is_unknown() && planning.private.is_none());

    let config = obj(&[("name", Value::string("t"))]);
    let open = call!(svc.open_ephemeral_resource(open_token(config)));
    let result = value(open.result.as_ref(), &ty);
    assert_eq!(result.get("token").as_str(), Some("p-t-token"));
    assert_eq!(open.private.as_deref(), Some(&b"opened"[..]));

    let close = call!(
        svc.close_ephemeral_resource(pb::close_ephemeral_resource::Request {
            type_name: "example_token".into(),
            private: open.private,
        })
    );
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
    let r = call!(
        svc.upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "example_thing".into(),
            version: 0,
            raw_state: raw_json(r#"{"id":"p-a","title":"a","size":1,"secret_wo":null}"#),
        })
    );
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let state = value(r.upgraded_state.as_ref(), ty);
    assert_eq!(state.get("name").as_str(), Some("a"), "title became name");
}

#[tokio::test]
async fn upgrade_refuses_newer_and_flatmap_state_with_a_reason() {
    let svc = configured().await;
    let newer = call!(
        svc.upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "example_thing".into(),
            version: 2,
            raw_state: raw_json(r#"{"id":"p-a","name":"a"}"#),
        })
    );
    assert_error_mentions(&newer.diagnostics, "newer provider");
    let mut flat = std::collections::HashMap::new();
    flat.insert("id".to_string(), "p-a".to_string());
    let legacy = call!(
        svc.upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: "example_thing".into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: Vec::new(),
                flatmap: flat,
            }),
        })
    );
    assert_error_mentions(&legacy.diagnostics, "Terraform 0.11");
    assert!(legacy.upgraded_state.is_none(), "no state is made up");
}

#[tokio::test]
async fn move_converts_declared_sources_and_names_the_others() {
    let svc = configured().await;
    let ty = &svc.resources.entries["example_thing"].ty;
    let moved = call!(svc.move_resource_state(pb::move_resource_state::Request {
        source_type_name: "example_old_thing".into(),
        target_type_name: "example_thing".into(),
        source_state: raw_json(r#"{"id":"p-b","title":"b","size":2,"secret_wo":null}"#),
        source_private: b"{\"k\":1}".to_vec(),
        ..Default::default()
    }));
    assert!(moved.diagnostics.is_empty(), "{:?}", moved.diagnostics);
    let state = value(moved.target_state.as_ref(), ty);
    assert_eq!(state.get("name").as_str(), Some("b"));
    assert_eq!(moved.target_private, b"{\"k\":1}".to_vec());
    let refused = call!(svc.move_resource_state(pb::move_resource_state::Request {
        source_type_name: "example_stranger".into(),
        target_type_name: "example_thing".into(),
        source_state: raw_json("{}"),
        ..Default::default()
    }));
    assert_error_mentions(&refused.diagnostics, "example_stranger");
}

/// A provider whose shutdown hook records the client it was given.
struct ShutdownRecorder(Arc<std::sync::Mutex<Vec<String>>>);

#[async_trait::async_trait]
impl Provider for ShutdownRecorder {
    type Client = String;

    fn schema(&self) -> Schema {
        ExampleProvider.schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<String>>> {
        Vec::new()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<String>>> {
        Vec::new()
    }

    async fn configure(
        &self,
        config: &Value,
        _: &ClientInfo,
        _: &mut Diagnostics,
    ) -> Option<String> {
        Some(
            config
                .get("prefix")
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    async fn shutdown(&self, client: &String) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(client.clone());
    }
}

#[tokio::test]
async fn shutdown_runs_the_hook_with_the_configured_client_only() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let svc = ProviderService::new(ShutdownRecorder(seen.clone()));
    svc.shutdown().await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "not configured: the hook has no client"
    );
    configure(&svc).await;
    svc.shutdown().await;
    assert_eq!(*seen.lock().unwrap(), vec!["p-".to_string()]);
}

/// A provider whose client is the stop signal `configure` was given.
struct StopKeeper;

#[async_trait::async_trait]
impl Provider for StopKeeper {
    type Client = crate::Cancel;

    fn schema(&self) -> Schema {
        ExampleProvider.schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<crate::Cancel>>> {
        Vec::new()
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<crate::Cancel>>> {
        Vec::new()
    }

    async fn configure(
        &self,
        _: &Value,
        info: &ClientInfo,
        _: &mut Diagnostics,
    ) -> Option<crate::Cancel> {
        Some(info.cancel.clone())
    }
}

#[tokio::test]
async fn stop_provider_reaches_the_client_configure_built_and_every_ctx() {
    let svc = ProviderService::new(StopKeeper);
    configure(&svc).await;
    let client = svc.client();
    let mut diags = Diagnostics::default();
    let ctx = svc
        .ctx(&client, Vec::new(), &mut diags, svc.info(None))
        .expect("configured");
    let kept = client.as_deref().expect("configured").clone();
    assert!(!kept.is_cancelled() && !ctx.cancel.is_cancelled());
    call!(svc.stop_provider(pb::stop_provider::Request {}));
    assert!(kept.is_cancelled(), "the configured client's token fires");
    assert!(ctx.cancel.is_cancelled(), "a running request's token fires");
    assert!(svc.info(None).cancel.is_cancelled(), "plans see it too");
}

tokio::task_local! {
    /// The token [`Patient`]'s `in_call` put in scope for the call running.
    static IN_CALL: crate::Cancel;
}

/// A provider whose one resource, `patient_job`, waits in create, update and delete until
/// its call is stopped, and whose `in_call` puts the call's token in a task-local.
struct Patient;

/// `patient_job`: `name`, a computed `id`, and the framework's `timeouts`.
struct PatientJob;

#[async_trait::async_trait]
impl crate::ResourceType<()> for PatientJob {
    fn type_name(&self) -> &'static str {
        "patient_job"
    }

    fn schema(&self) -> Schema {
        use crate::schema::{Attribute, Block};
        use crate::timeouts::Op;
        Schema::new(
            Block::new("waits")
                .attr(Attribute::string("name").required())
                .attr(Attribute::string("id").computed().use_state_for_unknown())
                .timeouts(&[Op::Create, Op::Update, Op::Delete]),
        )
    }
}

impl PatientJob {
    /// Waits until the call is stopped; says whether `in_call` scoped this call's token.
    async fn wait(ctx: &Ctx<'_, ()>) -> String {
        ctx.cancel.cancelled().await;
        let scoped = IN_CALL.try_with(|t| t.is_cancelled()).unwrap_or(false);
        format!("stopped; the call's token was in scope: {scoped}")
    }
}

#[async_trait::async_trait]
impl Resource<()> for PatientJob {
    fn check_model(&self, _: &crate::Block) -> Result<(), String> {
        Ok(())
    }

    async fn create(
        &self,
        ctx: &mut Ctx<'_, ()>,
        planned: &Value,
        _: &Value,
    ) -> crate::Applied<Value> {
        let why = Self::wait(ctx).await;
        // Its model knows nothing of `timeouts`: the partial object has no such key.
        let partial = obj(&[
            ("name", planned.get("name").clone()),
            ("id", Value::string("partial")),
        ]);
        Err(crate::Error::new("Create stopped", why).tainted(partial))
    }

    async fn read(
        &self,
        _: &mut Ctx<'_, ()>,
        state: &Value,
    ) -> Result<Option<Value>, crate::Error> {
        Ok(Some(obj(&[
            ("name", state.get("name").clone()),
            ("id", state.get("id").clone()),
        ])))
    }

    async fn update(
        &self,
        ctx: &mut Ctx<'_, ()>,
        _: &Value,
        _: &Value,
        _: &Value,
    ) -> crate::Applied<Value> {
        let why = Self::wait(ctx).await;
        Err(crate::Failure::Error(crate::Error::new(
            "Update stopped",
            why,
        )))
    }

    async fn delete(&self, ctx: &mut Ctx<'_, ()>, _: &Value) -> Result<(), crate::Error> {
        let why = Self::wait(ctx).await;
        Err(crate::Error::new("Delete stopped", why))
    }
}

#[async_trait::async_trait]
impl Provider for Patient {
    type Client = ();

    fn schema(&self) -> Schema {
        ExampleProvider.schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<()>>> {
        vec![Arc::new(PatientJob)]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<()>>> {
        Vec::new()
    }

    async fn configure(&self, _: &Value, _: &ClientInfo, _: &mut Diagnostics) -> Option<()> {
        Some(())
    }

    fn in_call<'a, T: Send + 'a>(
        &'a self,
        cancel: &crate::Cancel,
        work: crate::BoxFuture<'a, T>,
    ) -> crate::BoxFuture<'a, T> {
        Box::pin(IN_CALL.scope(cancel.clone(), work))
    }
}

/// A `patient_job` named `name` with `timeouts` `t` (`None`: no block).
fn job(name: &str, id: Value, t: Option<&[(&str, &str)]>) -> Value {
    let t = t.map_or(Value::Null, |pairs| {
        let mut v = obj(&[
            ("create", Value::Null),
            ("update", Value::Null),
            ("delete", Value::Null),
        ]);
        for (k, d) in pairs {
            v.set(k, Value::string(*d));
        }
        v
    });
    obj(&[("name", Value::string(name)), ("id", id), ("timeouts", t)])
}

/// Applies `prior` -> `planned` to `patient_job`; the answer and how long it took.
async fn apply_job(
    svc: &ProviderService<Patient>,
    prior: &Value,
    planned: &Value,
) -> (pb::apply_resource_change::Response, std::time::Duration) {
    let ty = svc.resources.entries["patient_job"].ty.clone();
    let started = std::time::Instant::now();
    let r = call!(
        svc.apply_resource_change(pb::apply_resource_change::Request {
            type_name: "patient_job".into(),
            prior_state: dv(prior, &ty),
            planned_state: dv(planned, &ty),
            config: dv(planned, &ty),
            ..Default::default()
        })
    );
    (r, started.elapsed())
}

#[tokio::test]
async fn a_passed_deadline_stops_the_call_as_ctrl_c_does_and_names_the_timeout() {
    let svc = ProviderService::new(Patient);
    configure(&svc).await;
    let ty = svc.resources.entries["patient_job"].ty.clone();
    let quick = [("create", "50ms"), ("update", "50ms"), ("delete", "50ms")];
    let stored = job("a", Value::string("a"), Some(&quick));
    let mut renamed = stored.clone();
    renamed.set("name", Value::string("b"));
    // (situation, prior, planned, the timeout named, the state recorded)
    let table: [(&str, Value, Value, &str, Value); 3] = [
        (
            "create_records_the_partial_object_with_its_timeouts",
            Value::Null,
            job("a", Value::unknown(), Some(&quick)),
            "timeouts.create",
            job("a", Value::string("partial"), Some(&quick)),
        ),
        (
            "update_keeps_the_prior_state",
            stored.clone(),
            renamed,
            "timeouts.update",
            stored.clone(),
        ),
        (
            "delete_keeps_the_object",
            stored.clone(),
            Value::Null,
            "timeouts.delete",
            stored.clone(),
        ),
    ];
    for (situation, prior, planned, named, recorded) in table {
        let (r, took) = apply_job(&svc, &prior, &planned).await;
        assert!(
            took < std::time::Duration::from_secs(5),
            "{situation}: took {took:?}"
        );
        let first = &r.diagnostics[0];
        assert!(
            first.summary.starts_with("Timeout: patient_job"),
            "{situation}: {first:?}"
        );
        let path = first.attribute.as_ref().map(|p| p.steps.len());
        assert_eq!(path, Some(2), "{situation}: at {named}: {first:?}");
        assert!(
            first.detail.contains(&format!("`{named}`")),
            "{situation}: {first:?}"
        );
        assert_error_mentions(&r.diagnostics, "the call's token was in scope: true");
        assert_eq!(value(r.new_state.as_ref(), &ty), recorded, "{situation}");
    }
}

#[tokio::test]
async fn ctrl_c_is_not_reported_as_a_timeout_and_a_timeouts_change_calls_nothing() {
    let svc = Arc::new(ProviderService::new(Patient));
    configure(&svc).await;
    let ty = svc.resources.entries["patient_job"].ty.clone();
    let slow = [("delete", "1h")];
    let stored = job("a", Value::string("a"), Some(&slow));
    let stopper = svc.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let _ = stopper
            .stop_provider(Request::new(pb::stop_provider::Request {}))
            .await;
    });
    let (r, _) = apply_job(&svc, &stored, &Value::Null).await;
    assert!(
        errors(&r.diagnostics)
            .iter()
            .all(|e| !e.contains("Timeout")),
        "{:?}",
        r.diagnostics
    );
    assert_error_mentions(&r.diagnostics, "Delete stopped");

    // Only `timeouts` changes: recorded as planned, the resource's update (which would
    // wait for ever) is not called.
    let svc = ProviderService::new(Patient);
    configure(&svc).await;
    let raised = job("a", Value::string("a"), Some(&[("delete", "2h")]));
    let (r, _) = apply_job(&svc, &stored, &raised).await;
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!(value(r.new_state.as_ref(), &ty), raised);

    // A read keeps the stored `timeouts` (the resource's state has none).
    let read = call!(svc.read_resource(pb::read_resource::Request {
        type_name: "patient_job".into(),
        current_state: dv(&stored, &ty),
        ..Default::default()
    }));
    assert_eq!(value(read.new_state.as_ref(), &ty), stored);
}
