//! The tfplugin6 gRPC service: decodes each request against the right schema, applies
//! the schema's rules (validators, defaults, plan modifiers, write-only nulling) and
//! dispatches to the provider's traits. Also serves go-plugin's controller (Shutdown).

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock, RwLock};

use tonic::{Request, Response, Status};

use crate::diagnostics::{AttributePath, Diagnostics, PathStep, Severity};
use crate::proto::tfplugin6 as pb;
use crate::schema::{Block, Nesting, Schema};
use crate::types::Type;
use crate::value::Value;
use crate::{ClientInfo, Ctx, DataSource, EphemeralResource, Plan, Provider, Resource};

/// How the binary identifies itself; used for `--version` and debug (reattach) mode.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Full provider address, e.g. `registry.terraform.io/infra/dbaas`.
    pub address: &'static str,
    /// Binary name, e.g. `terraform-provider-dbaas`.
    pub name: &'static str,
    /// Provider version.
    pub version: &'static str,
}

/// Runs the plugin: handshake, serve until Terraform's Shutdown, exit.
/// `--version` prints the version; `--debug` serves without the handshake and prints a
/// `TF_REATTACH_PROVIDERS` value for attaching Terraform to this process.
pub fn serve<P: Provider>(provider: P, opts: ServeOptions) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .iter()
        .any(|a| a == "--version" || a == "-v" || a == "version")
    {
        println!("{} {}", opts.name, opts.version);
        return ExitCode::SUCCESS;
    }
    let debug = args.iter().any(|a| a == "--debug" || a == "-debug");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: cannot start the async runtime: {e}", opts.name);
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(crate::handshake::run(
        move || ProviderService::new(provider).into_router_parts(),
        opts,
        debug,
    ))
}

/// Indexes implementations by type name, with each schema and its value type computed once.
fn table<T: ?Sized>(
    items: Vec<Arc<T>>,
    describe: impl Fn(&T) -> (&'static str, Schema),
) -> HashMap<&'static str, Entry<T>> {
    items
        .into_iter()
        .map(|imp| {
            let (name, schema) = describe(&imp);
            let ty = schema.value_type();
            (name, Entry { imp, schema, ty })
        })
        .collect()
}

struct Entry<T: ?Sized> {
    imp: Arc<T>,
    schema: Schema,
    ty: Type,
}

/// Implements tfplugin6's `Provider` service on top of a [`Provider`].
pub(crate) struct ProviderService<P: Provider> {
    provider: P,
    schema: Schema,
    schema_ty: Type,
    resources: HashMap<&'static str, Entry<dyn Resource<P::Client>>>,
    data_sources: HashMap<&'static str, Entry<dyn DataSource<P::Client>>>,
    ephemerals: HashMap<&'static str, Entry<dyn EphemeralResource<P::Client>>>,
    client: RwLock<Option<Arc<P::Client>>>,
    info: RwLock<ClientInfo>,
    schema_response: OnceLock<pb::get_provider_schema::Response>,
}

/// The two gRPC services a plugin process serves, ready for the transport.
pub(crate) struct RouterParts {
    pub(crate) provider: pb::provider_server::ProviderServer<Box<dyn ErasedProvider>>,
}

/// Object-safe view of the service so the transport code is not generic.
pub(crate) trait ErasedProvider: pb::provider_server::Provider {}
impl<P: Provider> ErasedProvider for ProviderService<P> {}

#[tonic::async_trait]
impl pb::provider_server::Provider for Box<dyn ErasedProvider> {
    async fn get_metadata(
        &self,
        r: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        (**self).get_metadata(r).await
    }
    async fn get_provider_schema(
        &self,
        r: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        (**self).get_provider_schema(r).await
    }
    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        (**self).validate_provider_config(r).await
    }
    async fn validate_resource_config(
        &self,
        r: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        (**self).validate_resource_config(r).await
    }
    async fn validate_data_resource_config(
        &self,
        r: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        (**self).validate_data_resource_config(r).await
    }
    async fn upgrade_resource_state(
        &self,
        r: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        (**self).upgrade_resource_state(r).await
    }
    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        (**self).configure_provider(r).await
    }
    async fn read_resource(
        &self,
        r: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        (**self).read_resource(r).await
    }
    async fn plan_resource_change(
        &self,
        r: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        (**self).plan_resource_change(r).await
    }
    async fn apply_resource_change(
        &self,
        r: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        (**self).apply_resource_change(r).await
    }
    async fn import_resource_state(
        &self,
        r: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        (**self).import_resource_state(r).await
    }
    async fn move_resource_state(
        &self,
        r: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        (**self).move_resource_state(r).await
    }
    async fn read_data_source(
        &self,
        r: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        (**self).read_data_source(r).await
    }
    async fn validate_ephemeral_resource_config(
        &self,
        r: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        (**self).validate_ephemeral_resource_config(r).await
    }
    async fn open_ephemeral_resource(
        &self,
        r: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        (**self).open_ephemeral_resource(r).await
    }
    async fn renew_ephemeral_resource(
        &self,
        r: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        (**self).renew_ephemeral_resource(r).await
    }
    async fn close_ephemeral_resource(
        &self,
        r: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        (**self).close_ephemeral_resource(r).await
    }
    async fn get_functions(
        &self,
        r: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        (**self).get_functions(r).await
    }
    async fn call_function(
        &self,
        r: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        (**self).call_function(r).await
    }
    async fn stop_provider(
        &self,
        r: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        (**self).stop_provider(r).await
    }
}

/// Bounds on message size: Terraform's own limit is ~2 GiB; tonic's default of 4 MiB is
/// too small for large configurations and states.
const MAX_MESSAGE: usize = 1 << 30;

impl<P: Provider> ProviderService<P> {
    pub(crate) fn new(provider: P) -> Self {
        let schema = provider.schema();
        let schema_ty = schema.value_type();
        let resources = table(provider.resources(), |r| (r.type_name(), r.schema()));
        let data_sources = table(provider.data_sources(), |d| (d.type_name(), d.schema()));
        let ephemerals = table(provider.ephemeral_resources(), |e| {
            (e.type_name(), e.schema())
        });
        ProviderService {
            provider,
            schema,
            schema_ty,
            resources,
            data_sources,
            ephemerals,
            client: RwLock::new(None),
            info: RwLock::new(ClientInfo::default()),
            schema_response: OnceLock::new(),
        }
    }

    pub(crate) fn into_router_parts(self) -> RouterParts {
        let boxed: Box<dyn ErasedProvider> = Box::new(self);
        RouterParts {
            provider: pb::provider_server::ProviderServer::new(boxed)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
        }
    }

    fn client(&self) -> Option<Arc<P::Client>> {
        self.client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn info(&self, caps: Option<&pb::ClientCapabilities>) -> ClientInfo {
        let mut info = self.info.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(c) = caps {
            info.write_only_attributes_allowed = c.write_only_attributes_allowed;
        }
        info
    }

    #[allow(clippy::result_large_err)] // tonic::Status is large; these run once per RPC
    fn resource(&self, name: &str) -> Result<&Entry<dyn Resource<P::Client>>, Status> {
        self.resources.get(name).ok_or_else(|| {
            Status::not_found(format!("this provider has no resource type {name:?}"))
        })
    }

    #[allow(clippy::result_large_err)]
    fn ephemeral(&self, name: &str) -> Result<&Entry<dyn EphemeralResource<P::Client>>, Status> {
        self.ephemerals.get(name).ok_or_else(|| {
            Status::not_found(format!("this provider has no ephemeral resource {name:?}"))
        })
    }

    #[allow(clippy::result_large_err)]
    fn data_source(&self, name: &str) -> Result<&Entry<dyn DataSource<P::Client>>, Status> {
        self.data_sources
            .get(name)
            .ok_or_else(|| Status::not_found(format!("this provider has no data source {name:?}")))
    }

    fn build_schema_response(&self) -> pb::get_provider_schema::Response {
        pb::get_provider_schema::Response {
            provider: Some(schema_to_proto(&self.schema)),
            resource_schemas: self
                .resources
                .iter()
                .map(|(k, e)| (k.to_string(), schema_to_proto(&e.schema)))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(k, e)| (k.to_string(), schema_to_proto(&e.schema)))
                .collect(),
            functions: HashMap::new(),
            ephemeral_resource_schemas: self
                .ephemerals
                .iter()
                .map(|(k, e)| (k.to_string(), schema_to_proto(&e.schema)))
                .collect(),
            diagnostics: vec![],
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        }
    }
}

fn timestamp(t: std::time::SystemTime) -> prost_types::Timestamp {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: true,
        move_resource_state: false,
    }
}

/// Decodes a `DynamicValue` (msgpack, or JSON when that is what was sent).
fn decode(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let Some(dv) = dv else {
        return Some(Value::Null);
    };
    let result = if !dv.msgpack.is_empty() {
        Value::from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        serde_json::from_slice::<serde_json::Value>(&dv.json)
            .map_err(|e| crate::value::DecodeError {
                path: ".".into(),
                message: e.to_string(),
            })
            .and_then(|j| Value::from_json(&j, ty))
    } else {
        Ok(Value::Null)
    };
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            diags.error(format!("Invalid {what} from Terraform"), format!("The provider could not decode the {what}: {e}. This is a bug in the provider or an incompatible Terraform version."));
            None
        }
    }
}

fn encode(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: v.to_msgpack(ty),
        json: Vec::new(),
    })
}

pub(crate) fn diags_to_proto(diags: &Diagnostics) -> Vec<pb::Diagnostic> {
    diags
        .iter()
        .map(|d| pb::Diagnostic {
            severity: match d.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: d.summary.clone(),
            detail: d.detail.clone(),
            attribute: d.attribute.as_ref().map(path_to_proto),
        })
        .collect()
}

fn path_to_proto(p: &AttributePath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a.clone()),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(*i),
                }),
            })
            .collect(),
    }
}

/// The protocol form of a schema.
pub(crate) fn schema_to_proto(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(block_to_proto(&s.block)),
    }
}

fn block_to_proto(b: &Block) -> pb::schema::Block {
    const MARKDOWN: i32 = pb::StringKind::Markdown as i32;
    pb::schema::Block {
        version: 0,
        attributes: b
            .attributes
            .iter()
            .map(|a| pb::schema::Attribute {
                name: a.name.clone(),
                r#type: a.ty.to_json_bytes(),
                nested_type: None,
                description: a.description.clone(),
                required: a.required,
                optional: a.optional,
                computed: a.computed,
                sensitive: a.sensitive,
                description_kind: MARKDOWN,
                deprecated: a.deprecated,
                write_only: a.write_only,
            })
            .collect(),
        block_types: b
            .blocks
            .iter()
            .map(|nb| pb::schema::NestedBlock {
                type_name: nb.name.clone(),
                block: Some(block_to_proto(&nb.block)),
                nesting: match nb.nesting {
                    Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                    Nesting::List => pb::schema::nested_block::NestingMode::List,
                    Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                } as i32,
                min_items: nb.min_items,
                max_items: nb.max_items,
            })
            .collect(),
        description: b.description.clone(),
        description_kind: MARKDOWN,
        deprecated: b.deprecated,
    }
}

/// Sets every write-only attribute to null: they never enter plan or state.
fn null_write_only(schema: &Schema, v: &mut Value) {
    if v.is_null() {
        return;
    }
    for a in schema.block.attributes.iter().filter(|a| a.write_only) {
        v.set(&a.name, Value::Null);
    }
}

/// Rejects write-only attributes set in configuration when the client cannot keep them
/// out of state (Terraform before 1.11 sends no such capability).
fn check_write_only(schema: &Schema, config: &Value, info: &ClientInfo, diags: &mut Diagnostics) {
    if info.write_only_attributes_allowed {
        return;
    }
    for a in schema.block.attributes.iter().filter(|a| a.write_only) {
        if !config.get(&a.name).is_null() {
            // By convention `x_wo` stands beside a stored `x`: name it as the alternative.
            let alternative = a
                .name
                .strip_suffix("_wo")
                .filter(|base| schema.block.attribute(base).is_some())
                .map(|base| format!("use `{base}` instead (stored in state, marked sensitive)"))
                .unwrap_or_else(|| "remove it".to_string());
            diags.error_at(
                AttributePath::attr(&a.name),
                format!("{} needs Terraform 1.11 or later", a.name),
                format!(
                    "`{}` is a write-only argument: it is never stored in plan or state, which needs Terraform 1.11 or later, and this Terraform cannot keep it out of state. Upgrade Terraform, or {alternative}.",
                    a.name
                ),
            );
        }
    }
}

/// The framework's part of planning: defaults, unknowns for computed values, prior
/// values kept where the schema says so, write-only values nulled, and the paths whose
/// change forces a replacement.
pub fn plan_attributes(
    schema: &Schema,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> (Value, Vec<AttributePath>) {
    let mut planned = proposed.clone();
    if proposed.is_null() {
        return (planned, Vec::new());
    }
    let creating = prior.is_null();
    for a in &schema.block.attributes {
        let cfg = config.get(&a.name);
        if a.write_only {
            planned.set(&a.name, Value::Null);
        } else if a.computed && cfg.is_null() {
            if let Some(d) = &a.default {
                planned.set(&a.name, d.clone());
            } else if creating {
                planned.set(&a.name, Value::unknown());
            } else if a.use_state_for_unknown {
                planned.set(&a.name, prior.get(&a.name).clone());
            }
        }
    }
    if creating {
        return (planned, Vec::new());
    }
    // On update, a computed value the configuration does not set may change as a
    // consequence of the other changes, unless it is declared stable.
    let changed = schema
        .block
        .attributes
        .iter()
        .any(|a| !a.write_only && planned.get(&a.name) != prior.get(&a.name))
        || schema
            .block
            .blocks
            .iter()
            .any(|b| planned.get(&b.name) != prior.get(&b.name));
    if changed {
        for a in &schema.block.attributes {
            if a.computed
                && a.default.is_none()
                && !a.use_state_for_unknown
                && config.get(&a.name).is_null()
                && !a.write_only
            {
                planned.set(&a.name, Value::unknown());
            }
        }
    }
    let replace = schema
        .block
        .attributes
        .iter()
        .filter(|a| a.requires_replace && planned.get(&a.name) != prior.get(&a.name))
        .map(|a| AttributePath::attr(&a.name))
        .collect();
    (planned, replace)
}

/// Checks a state the provider returned before it goes back to Terraform.
fn finish_state(schema: &Schema, v: &mut Value, diags: &mut Diagnostics) {
    null_write_only(schema, v);
    if !v.is_wholly_known() && diags.has_errors() && !v.is_null() {
        // A partial state returned with an error (an object that may exist): keep it,
        // so Terraform records the instance (tainted after a create) instead of losing
        // track of it; values never learned are null.
        *v = std::mem::take(v).unknown_as_null();
    } else if !v.is_wholly_known() {
        diags.error(
            "Provider returned an unknown value after apply",
            "This is a bug in the provider: every value must be known once apply completes.",
        );
        *v = Value::Null;
    }
}

fn not_configured(diags: &mut Diagnostics) {
    diags.error("Provider not configured", "Terraform did not configure the provider before using it. This is a bug in Terraform or the provider.");
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _r: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: vec![],
            data_sources: self
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.to_string(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.to_string(),
                })
                .collect(),
            functions: vec![],
            ephemeral_resources: self
                .ephemerals
                .keys()
                .map(|k| pb::get_metadata::EphemeralMetadata {
                    type_name: k.to_string(),
                })
                .collect(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _r: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(
            self.schema_response
                .get_or_init(|| self.build_schema_response())
                .clone(),
        ))
    }

    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let r = r.into_inner();
        let mut diags = Diagnostics::default();
        if let Some(config) = decode(
            r.config.as_ref(),
            &self.schema_ty,
            "provider configuration",
            &mut diags,
        ) {
            self.schema
                .block
                .validate_value(&config, &AttributePath::default(), &mut diags);
            self.provider.validate(&config, &mut diags).await;
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        r: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let r = r.into_inner();
        let e = self.resource(&r.type_name)?;
        let info = self.info(r.client_capabilities.as_ref());
        let mut diags = Diagnostics::default();
        if let Some(config) = decode(
            r.config.as_ref(),
            &e.ty,
            "resource configuration",
            &mut diags,
        ) {
            e.schema
                .block
                .validate_value(&config, &AttributePath::default(), &mut diags);
            check_write_only(&e.schema, &config, &info, &mut diags);
            e.imp.validate(&config, &info, &mut diags).await;
        }
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        r: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let r = r.into_inner();
        let e = self.data_source(&r.type_name)?;
        let mut diags = Diagnostics::default();
        if let Some(config) = decode(
            r.config.as_ref(),
            &e.ty,
            "data source configuration",
            &mut diags,
        ) {
            e.schema
                .block
                .validate_value(&config, &AttributePath::default(), &mut diags);
            e.imp.validate(&config, &mut diags).await;
        }
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        r: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let r = r.into_inner();
        let e = self.resource(&r.type_name)?;
        let mut diags = Diagnostics::default();
        let json = r
            .raw_state
            .as_ref()
            .map(|s| s.json.as_slice())
            .unwrap_or_default();
        let mut upgraded = None;
        if json.is_empty() {
            upgraded = encode(&Value::Null, &e.ty);
        } else if r.version > e.schema.version {
            diags.error(
                "State written by a newer provider",
                format!("This {} was stored by schema version {}, newer than this provider's {}. Use the newer provider version.", r.type_name, r.version, e.schema.version),
            );
        } else {
            match serde_json::from_slice::<serde_json::Value>(json) {
                Ok(mut state) => {
                    if r.version < e.schema.version {
                        state = e.imp.upgrade_state(r.version, state, &mut diags);
                    }
                    match Value::from_json(&state, &e.ty) {
                        Ok(v) => upgraded = encode(&v, &e.ty),
                        Err(err) => diags.error(
                            "Stored state does not match the schema",
                            format!("{}: {err}", r.type_name),
                        ),
                    }
                }
                Err(err) => diags.error(
                    "Stored state is not JSON",
                    format!("{}: {err}", r.type_name),
                ),
            }
        }
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state: upgraded,
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let r = r.into_inner();
        let mut diags = Diagnostics::default();
        let info = ClientInfo {
            terraform_version: r.terraform_version.clone(),
            write_only_attributes_allowed: r
                .client_capabilities
                .as_ref()
                .is_some_and(|c| c.write_only_attributes_allowed),
        };
        *self.info.write().unwrap_or_else(|e| e.into_inner()) = info.clone();
        if let Some(config) = decode(
            r.config.as_ref(),
            &self.schema_ty,
            "provider configuration",
            &mut diags,
        ) {
            if let Some(client) = self.provider.configure(&config, &info, &mut diags).await {
                *self.client.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(client));
            }
        }
        tracing::debug!(terraform_version = %r.terraform_version, "provider configured");
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn read_resource(
        &self,
        r: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let r = r.into_inner();
        let e = self.resource(&r.type_name)?;
        let mut diags = Diagnostics::default();
        let mut new_state = None;
        let mut private = r.private.clone();
        if let Some(state) = decode(r.current_state.as_ref(), &e.ty, "current state", &mut diags) {
            if state.is_null() {
                new_state = encode(&Value::Null, &e.ty);
            } else if let Some(client) = self.client() {
                let mut ctx = Ctx {
                    client: client.as_ref(),
                    private: r.private,
                    diags,
                    info: self.info(r.client_capabilities.as_ref()),
                };
                let mut v = e.imp.read(&mut ctx, &state).await.unwrap_or(Value::Null);
                diags = ctx.diags;
                private = ctx.private;
                if diags.has_errors() && v.is_null() {
                    // Keep what we had: a failed read must not make Terraform forget the object.
                    v = state;
                }
                finish_state(&e.schema, &mut v, &mut diags);
                new_state = encode(&v, &e.ty);
            } else {
                not_configured(&mut diags);
            }
        }
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            diagnostics: diags_to_proto(&diags),
            private,
            deferred: None,
        }))
    }

    async fn plan_resource_change(
        &self,
        r: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let r = r.into_inner();
        let e = self.resource(&r.type_name)?;
        let mut diags = Diagnostics::default();
        let mut response = pb::plan_resource_change::Response {
            planned_private: r.prior_private.clone(),
            ..Default::default()
        };
        let prior = decode(r.prior_state.as_ref(), &e.ty, "prior state", &mut diags);
        let proposed = decode(
            r.proposed_new_state.as_ref(),
            &e.ty,
            "proposed new state",
            &mut diags,
        );
        let config = decode(r.config.as_ref(), &e.ty, "configuration", &mut diags);
        if let (Some(prior), Some(proposed), Some(config)) = (prior, proposed, config) {
            let (planned, requires_replace) =
                plan_attributes(&e.schema, &prior, &proposed, &config);
            if planned.is_null() {
                response.planned_state = encode(&Value::Null, &e.ty);
            } else {
                let mut plan = Plan {
                    prior: &prior,
                    config: &config,
                    planned,
                    requires_replace,
                    diags,
                    info: self.info(r.client_capabilities.as_ref()),
                };
                e.imp.modify_plan(&mut plan).await;
                if let Some(client) = self.client() {
                    e.imp.plan_with_client(client.as_ref(), &mut plan);
                    e.imp.check_plan(client.as_ref(), &mut plan).await;
                }
                e.imp.plan_with_private(&r.prior_private, &mut plan);
                null_write_only(&e.schema, &mut plan.planned);
                diags = plan.diags;
                response.planned_state = encode(&plan.planned, &e.ty);
                response.requires_replace =
                    plan.requires_replace.iter().map(path_to_proto).collect();
            }
        }
        response.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(response))
    }

    async fn apply_resource_change(
        &self,
        r: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let r = r.into_inner();
        let e = self.resource(&r.type_name)?;
        let mut diags = Diagnostics::default();
        let prior = decode(r.prior_state.as_ref(), &e.ty, "prior state", &mut diags);
        let planned = decode(r.planned_state.as_ref(), &e.ty, "planned state", &mut diags);
        let config = decode(r.config.as_ref(), &e.ty, "configuration", &mut diags);
        let mut response = pb::apply_resource_change::Response {
            private: r.planned_private.clone(),
            ..Default::default()
        };
        let (Some(prior), Some(planned), Some(config)) = (prior, planned, config) else {
            response.diagnostics = diags_to_proto(&diags);
            return Ok(Response::new(response));
        };
        let Some(client) = self.client() else {
            not_configured(&mut diags);
            response.new_state = encode(&prior, &e.ty);
            response.diagnostics = diags_to_proto(&diags);
            return Ok(Response::new(response));
        };
        let mut ctx = Ctx {
            client: client.as_ref(),
            private: r.planned_private,
            diags,
            info: self.info(None),
        };
        let mut new_state = if planned.is_null() {
            e.imp.delete(&mut ctx, &prior).await;
            // A failed delete leaves the object in state so it can be retried.
            if ctx.diags.has_errors() {
                prior.clone()
            } else {
                Value::Null
            }
        } else if prior.is_null() {
            let created = e.imp.create(&mut ctx, &planned, &config).await;
            if created.is_none() && !ctx.diags.has_errors() {
                ctx.diags.error(
                    "Provider returned no state after create",
                    "This is a bug in the provider.",
                );
            }
            created.unwrap_or(Value::Null)
        } else {
            let updated = e.imp.update(&mut ctx, &prior, &planned, &config).await;
            // A failed update keeps the prior state rather than losing the object.
            updated.unwrap_or_else(|| prior.clone())
        };
        let mut diags = ctx.diags;
        finish_state(&e.schema, &mut new_state, &mut diags);
        response.new_state = encode(&new_state, &e.ty);
        response.private = ctx.private;
        response.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(response))
    }

    async fn import_resource_state(
        &self,
        r: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let r = r.into_inner();
        let e = self.resource(&r.type_name)?;
        let mut diags = Diagnostics::default();
        let mut imported = Vec::new();
        if let Some(client) = self.client() {
            let mut state = Value::Map(
                e.schema
                    .block
                    .attributes
                    .iter()
                    .map(|a| (a.name.clone(), a.default.clone().unwrap_or(Value::Null)))
                    .collect(),
            );
            if e.schema.block.attribute("id").is_some() {
                state.set("id", Value::string(r.id.clone()));
            }
            let mut ctx = Ctx {
                client: client.as_ref(),
                private: Vec::new(),
                diags,
                info: self.info(r.client_capabilities.as_ref()),
            };
            e.imp.import(&mut ctx, &r.id, &mut state).await;
            diags = ctx.diags;
            if !diags.has_errors() {
                null_write_only(&e.schema, &mut state);
                imported.push(pb::import_resource_state::ImportedResource {
                    type_name: r.type_name.clone(),
                    state: encode(&state, &e.ty),
                    private: ctx.private,
                });
            }
        } else {
            not_configured(&mut diags);
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: diags_to_proto(&diags),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        _r: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        Err(Status::unimplemented(
            "this provider does not support moving state between resource types",
        ))
    }

    async fn read_data_source(
        &self,
        r: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let r = r.into_inner();
        let e = self.data_source(&r.type_name)?;
        let mut diags = Diagnostics::default();
        let mut state = None;
        if let Some(config) = decode(
            r.config.as_ref(),
            &e.ty,
            "data source configuration",
            &mut diags,
        ) {
            if let Some(client) = self.client() {
                let mut ctx = Ctx {
                    client: client.as_ref(),
                    private: Vec::new(),
                    diags,
                    info: self.info(r.client_capabilities.as_ref()),
                };
                let v = e.imp.read(&mut ctx, &config).await;
                diags = ctx.diags;
                if let Some(mut v) = v {
                    finish_state(&e.schema, &mut v, &mut diags);
                    state = encode(&v, &e.ty);
                }
            } else {
                not_configured(&mut diags);
            }
        }
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: diags_to_proto(&diags),
            deferred: None,
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        r: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let r = r.into_inner();
        let e = self.ephemeral(&r.type_name)?;
        let mut diags = Diagnostics::default();
        if let Some(config) = decode(
            r.config.as_ref(),
            &e.ty,
            "ephemeral resource configuration",
            &mut diags,
        ) {
            e.schema
                .block
                .validate_value(&config, &AttributePath::default(), &mut diags);
            e.imp.validate(&config, &mut diags).await;
        }
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: diags_to_proto(&diags),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        r: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        let e = self.ephemeral(&r.type_name)?;
        let mut diags = Diagnostics::default();
        let mut response = pb::open_ephemeral_resource::Response::default();
        if let Some(config) = decode(
            r.config.as_ref(),
            &e.ty,
            "ephemeral resource configuration",
            &mut diags,
        ) {
            if !config.is_wholly_known() {
                // Not knowable yet (planning): everything the provider computes is unknown.
                let mut result = config.clone();
                for a in e
                    .schema
                    .block
                    .attributes
                    .iter()
                    .filter(|a| a.computed && config.get(&a.name).is_null())
                {
                    result.set(&a.name, Value::unknown());
                }
                response.result = encode(&result, &e.ty);
            } else if let Some(client) = self.client() {
                let mut ctx = Ctx {
                    client: client.as_ref(),
                    private: Vec::new(),
                    diags,
                    info: self.info(r.client_capabilities.as_ref()),
                };
                let opened = e.imp.open(&mut ctx, &config).await;
                diags = ctx.diags;
                if let Some(o) = opened {
                    response.result = encode(&o.result, &e.ty);
                    response.renew_at = o.renew_at.map(timestamp);
                    response.private = Some(ctx.private);
                }
            } else {
                not_configured(&mut diags);
            }
        }
        response.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(response))
    }

    async fn renew_ephemeral_resource(
        &self,
        r: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        let e = self.ephemeral(&r.type_name)?;
        let mut diags = Diagnostics::default();
        let mut response = pb::renew_ephemeral_resource::Response::default();
        if let Some(client) = self.client() {
            let mut ctx = Ctx {
                client: client.as_ref(),
                private: r.private.unwrap_or_default(),
                diags,
                info: self.info(None),
            };
            let next = e.imp.renew(&mut ctx).await;
            diags = ctx.diags;
            response.renew_at = next.map(timestamp);
            response.private = Some(ctx.private);
        } else {
            not_configured(&mut diags);
        }
        response.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(response))
    }

    async fn close_ephemeral_resource(
        &self,
        r: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let r = r.into_inner();
        let e = self.ephemeral(&r.type_name)?;
        let mut diags = Diagnostics::default();
        if let Some(client) = self.client() {
            let mut ctx = Ctx {
                client: client.as_ref(),
                private: r.private.unwrap_or_default(),
                diags,
                info: self.info(None),
            };
            e.imp.close(&mut ctx).await;
            diags = ctx.diags;
        } else {
            not_configured(&mut diags);
        }
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn get_functions(
        &self,
        _r: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        _r: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        Err(Status::unimplemented("this provider has no functions"))
    }

    async fn stop_provider(
        &self,
        _r: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!("StopProvider received");
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;

    fn schema() -> Schema {
        Schema::new(
            Block::new("t")
                .attr(Attribute::string("id").computed().use_state_for_unknown())
                .attr(Attribute::string("name").required().requires_replace())
                .attr(Attribute::number("limit").default(Value::int(-1)))
                .attr(Attribute::string("host").computed())
                .attr(Attribute::string("secret_wo").optional().write_only()),
        )
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        let mut v = Value::Map(Default::default());
        for (k, x) in pairs {
            v.set(k, x.clone());
        }
        v
    }

    #[test]
    fn a_partial_state_with_an_error_is_kept_with_unknowns_nulled() {
        let s = schema();
        let partial = obj(&[
            ("name", Value::string("a")),
            ("id", Value::string("a")),
            ("host", Value::unknown()),
        ]);
        let mut v = partial.clone();
        let mut diags = Diagnostics::default();
        diags.error("connection lost", "after the write");
        finish_state(&s, &mut v, &mut diags);
        assert_eq!(
            v.get("name").as_str(),
            Some("a"),
            "the partial state is kept"
        );
        assert!(v.get("host").is_null() && v.is_wholly_known());
        assert_eq!(diags.iter().count(), 1, "no extra diagnostic");

        // Without an error, an unknown is the provider's bug.
        let mut v = partial;
        let mut diags = Diagnostics::default();
        finish_state(&s, &mut v, &mut diags);
        assert!(v.is_null() && diags.has_errors());
    }

    #[test]
    fn create_plans_defaults_and_unknown_computed() {
        let s = schema();
        let config = obj(&[
            ("name", Value::string("a")),
            ("secret_wo", Value::string("s")),
        ]);
        let (planned, replace) = plan_attributes(&s, &Value::Null, &config, &config);
        assert_eq!(planned.get("limit"), &Value::int(-1));
        assert!(planned.get("id").is_unknown());
        assert!(planned.get("host").is_unknown());
        assert!(
            planned.get("secret_wo").is_null(),
            "write-only values never enter the plan"
        );
        assert!(replace.is_empty());
    }

    #[test]
    fn unchanged_update_keeps_prior_and_name_change_replaces() {
        let s = schema();
        let prior = obj(&[
            ("id", Value::string("a")),
            ("name", Value::string("a")),
            ("limit", Value::int(-1)),
            ("host", Value::string("h")),
            ("secret_wo", Value::Null),
        ]);
        let config = obj(&[("name", Value::string("a"))]);
        let proposed = obj(&[
            ("id", Value::string("a")),
            ("name", Value::string("a")),
            ("limit", Value::int(-1)),
            ("host", Value::string("h")),
        ]);
        let (planned, replace) = plan_attributes(&s, &prior, &proposed, &config);
        assert_eq!(planned, prior);
        assert!(replace.is_empty());

        let config = obj(&[("name", Value::string("b"))]);
        let mut proposed = proposed;
        proposed.set("name", Value::string("b"));
        let (planned, replace) = plan_attributes(&s, &prior, &proposed, &config);
        assert_eq!(replace, vec![AttributePath::attr("name")]);
        assert_eq!(
            planned.get("id"),
            &Value::string("a"),
            "use_state_for_unknown keeps the id"
        );
        assert!(
            planned.get("host").is_unknown(),
            "other computed values may change"
        );
    }

    #[test]
    fn write_only_without_capability_is_refused_on_the_attribute() {
        let s = schema();
        let config = obj(&[
            ("name", Value::string("a")),
            ("secret_wo", Value::string("s")),
        ]);
        let mut diags = Diagnostics::default();
        check_write_only(&s, &config, &ClientInfo::default(), &mut diags);
        assert!(diags.has_errors());
        assert_eq!(diags.0[0].attribute, Some(AttributePath::attr("secret_wo")));
        assert!(diags.0[0].summary.contains("1.11"));
        let mut diags = Diagnostics::default();
        check_write_only(
            &s,
            &config,
            &ClientInfo {
                write_only_attributes_allowed: true,
                ..Default::default()
            },
            &mut diags,
        );
        assert!(!diags.has_errors());
    }
}
