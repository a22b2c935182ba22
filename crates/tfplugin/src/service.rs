//! The tfplugin6 `Provider` gRPC service over a [`Provider`]: finds the type each request
//! names, decodes its values with that type's schema, applies the schema's rules
//! ([`crate::plan`]) and calls the provider's traits. Every RPC about one type runs the
//! same sequence through `ProviderService::on_type` (look up, body, diagnostics); a body
//! that calls the provider builds its [`Ctx`] with `ProviderService::ctx` and hands the
//! diagnostics back with `done`.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use tonic::{Request, Response, Status};

use crate::convert::{decode, diags_to_proto, encode, path_to_proto, schema_to_proto, timestamp};
use crate::diagnostics::{AttributePath, Diagnostics};
use crate::plan::{
    check_write_only, finish_state, import_state, null_write_only, plan_attributes,
    unknown_ephemeral_result,
};
use crate::proto::tfplugin6 as pb;
use crate::schema::Schema;
use crate::timeouts::{self, Op};
use crate::types::Type;
use crate::value::Value;
use crate::{ClientInfo, Ctx, DataSource, EphemeralResource, Plan, Provider, Resource};

type RpcResult<T> = Result<Response<T>, Status>;

/// Bounds on message size: Terraform's own limit is ~2 GiB; tonic's default of 4 MiB is
/// too small for large configurations and states.
const MAX_MESSAGE: usize = 1 << 30;

/// One type (resource, data source or ephemeral resource) with its schema and value
/// type, computed once.
struct Entry<T: ?Sized> {
    imp: Arc<T>,
    schema: Schema,
    ty: Type,
}

/// The types of one kind, by name.
struct Table<T: ?Sized> {
    /// `resource`, `data source` or `ephemeral resource`, for diagnostics.
    kind: &'static str,
    entries: HashMap<&'static str, Entry<T>>,
}

impl<T: ?Sized> Table<T> {
    /// Indexes `items` by name. A name declared twice keeps its first type and is an
    /// error in `diags`, as is a schema that fails [`Schema::check`] or a model that
    /// does not match its schema (`describe` gives name, schema and model check).
    fn new(
        kind: &'static str,
        items: Vec<Arc<T>>,
        describe: impl Fn(&T) -> (&'static str, Schema, Result<(), String>),
        diags: &mut Diagnostics,
    ) -> Self {
        let mut entries = HashMap::new();
        for imp in items {
            let (name, schema, model) = describe(&imp);
            if entries.contains_key(name) {
                diags.error(
                    format!("Duplicate {kind} type {name}"),
                    format!("The provider declares more than one {kind} type named {name:?}; only the first is served. This is a bug in the provider."),
                );
                continue;
            }
            schema.check(&format!("{kind} {name}"), diags);
            if let Err(problem) = model {
                diags.error(
                    format!("Model of {kind} {name}"),
                    format!("The model and the schema of {kind} {name:?} differ: {problem}. This is a bug in the provider."),
                );
            }
            let ty = schema.value_type();
            entries.insert(name, Entry { imp, schema, ty });
        }
        Table { kind, entries }
    }

    /// The type named `name`; an unknown name is an error diagnostic that names it.
    fn get(&self, name: &str, diags: &mut Diagnostics) -> Option<&Entry<T>> {
        let entry = self.entries.get(name);
        if entry.is_none() {
            let mut known: Vec<&str> = self.entries.keys().copied().collect();
            known.sort_unstable();
            diags.error(
                format!("Unknown {} type {name}", self.kind),
                format!(
                    "This provider has no {} type {name:?} (it has: {}). Check the type name, or use a provider version that has it.",
                    self.kind,
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ),
            );
        }
        entry
    }

    /// Names and protocol schemas, for GetProviderSchema.
    fn schemas(&self) -> HashMap<String, pb::Schema> {
        self.entries
            .iter()
            .map(|(k, e)| (k.to_string(), schema_to_proto(&e.schema)))
            .collect()
    }

    /// Names, for GetMetadata.
    fn names<M>(&self, make: impl Fn(String) -> M) -> Vec<M> {
        self.entries.keys().map(|k| make(k.to_string())).collect()
    }
}

/// A protocol response that carries diagnostics.
trait Reply: Default {
    fn set_diagnostics(&mut self, diagnostics: Vec<pb::Diagnostic>);
}

/// A request about one type, named in its `type_name`.
trait TypedRequest: Send + 'static {
    /// Its response.
    type Reply: Reply + Send;
    fn type_name(&self) -> &str;
}

macro_rules! typed_requests {
    ($($rpc:ident),* $(,)?) => {
        $(impl TypedRequest for pb::$rpc::Request {
            type Reply = pb::$rpc::Response;
            fn type_name(&self) -> &str {
                &self.type_name
            }
        }

        impl Reply for pb::$rpc::Response {
            fn set_diagnostics(&mut self, diagnostics: Vec<pb::Diagnostic>) {
                self.diagnostics = diagnostics;
            }
        })*
    };
}

typed_requests!(
    validate_resource_config,
    validate_data_resource_config,
    upgrade_resource_state,
    read_resource,
    plan_resource_change,
    apply_resource_change,
    import_resource_state,
    read_data_source,
    validate_ephemeral_resource_config,
    open_ephemeral_resource,
    renew_ephemeral_resource,
    close_ephemeral_resource,
);

/// The part of an RPC that differs per RPC, given the type's entry (see `on_type`).
type Body<S, T, Req> = for<'a> fn(
    &'a S,
    &'a Entry<T>,
    Req,
    &'a mut Diagnostics,
) -> BoxFuture<'a, Option<<Req as TypedRequest>::Reply>>;

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Ends a trait call made with a [`Ctx`]: its diagnostics go back into `diags`; returns
/// the private state it left.
fn done<C>(ctx: Ctx<'_, C>, diags: &mut Diagnostics) -> Vec<u8> {
    *diags = ctx.diags;
    ctx.private
}

/// Implements tfplugin6's `Provider` service on top of a [`Provider`].
pub(crate) struct ProviderService<P: Provider> {
    provider: P,
    schema: Schema,
    schema_ty: Type,
    resources: Table<dyn Resource<P::Client>>,
    data_sources: Table<dyn DataSource<P::Client>>,
    ephemerals: Table<dyn EphemeralResource<P::Client>>,
    /// What the provider's self-check found at start-up (duplicate type names, schema
    /// mistakes); sent with GetProviderSchema and GetMetadata.
    startup: Diagnostics,
    client: RwLock<Option<Arc<P::Client>>>,
    info: RwLock<ClientInfo>,
    schema_response: OnceLock<pb::get_provider_schema::Response>,
    /// Tripped by StopProvider (Terraform's interrupt); every [`Ctx`] carries a clone.
    stop: crate::Cancel,
}

/// Checks a provider's definition as [`crate::serve`] does at start-up: duplicate type
/// names among its resources, data sources or ephemeral resources, every schema's
/// [`Schema::check`] and every type's model against its schema. Empty when the provider is well-formed.
pub fn check_provider<P: Provider>(provider: P) -> Diagnostics {
    ProviderService::new(provider).startup
}

impl<P: Provider> ProviderService<P> {
    pub(crate) fn new(provider: P) -> Self {
        let mut startup = Diagnostics::default();
        let schema = provider.schema();
        schema.check("the provider configuration", &mut startup);
        let schema_ty = schema.value_type();
        let resources = Table::new(
            "resource",
            provider.resources(),
            |r| {
                let schema = r.schema();
                let fits = r.check_model(&schema.block);
                (r.type_name(), schema, fits)
            },
            &mut startup,
        );
        for (name, e) in &resources.entries {
            for problem in crate::upgrade::missing_steps(e.schema.version, &e.imp.state_upgraders())
            {
                startup.error(
                    format!("State upgraders of resource {name}"),
                    format!("Schema version {}: {problem}. Every version below the current one needs exactly one upgrader. This is a bug in the provider.", e.schema.version),
                );
            }
        }
        let data_sources = Table::new(
            "data source",
            provider.data_sources(),
            |d| {
                let schema = d.schema();
                let fits = d.check_model(&schema.block);
                (d.type_name(), schema, fits)
            },
            &mut startup,
        );
        let ephemerals = Table::new(
            "ephemeral resource",
            provider.ephemeral_resources(),
            |e| {
                let schema = e.schema();
                let fits = e.check_model(&schema.block);
                (e.type_name(), schema, fits)
            },
            &mut startup,
        );
        for d in startup.iter() {
            tracing::error!(summary = %d.summary, detail = %d.detail, "provider self-check");
        }
        let stop = crate::Cancel::new();
        ProviderService {
            provider,
            schema,
            schema_ty,
            resources,
            data_sources,
            ephemerals,
            startup,
            client: RwLock::new(None),
            info: RwLock::new(ClientInfo {
                cancel: stop.clone(),
                ..ClientInfo::default()
            }),
            schema_response: OnceLock::new(),
            stop,
        }
    }

    /// The gRPC service, with the message size limits raised, over a shared instance
    /// (the serve loop keeps another handle for [`ProviderService::shutdown`]).
    pub(crate) fn server_from_arc(this: Arc<Self>) -> pb::provider_server::ProviderServer<Self> {
        pb::provider_server::ProviderServer::from_arc(this)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    /// Runs the provider's shutdown hook with the configured client, if any.
    pub(crate) async fn shutdown(&self) {
        if let Some(client) = self.client() {
            self.provider.shutdown(&client).await;
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

    /// The sequence every RPC about one type follows: find the type the request names
    /// (an unknown name is an error diagnostic that names it), run `body` on it, and
    /// answer with what `body` built (an empty response where it stopped early) and
    /// the diagnostics collected on the way.
    async fn on_type<T: ?Sized, Req: TypedRequest>(
        &self,
        table: &Table<T>,
        request: Request<Req>,
        body: Body<Self, T, Req>,
    ) -> RpcResult<Req::Reply> {
        let request = request.into_inner();
        let mut diags = Diagnostics::default();
        let reply = match table.get(request.type_name(), &mut diags) {
            Some(entry) => body(self, entry, request, &mut diags).await,
            None => None,
        };
        let mut reply = reply.unwrap_or_default();
        reply.set_diagnostics(diags_to_proto(&diags));
        Ok(Response::new(reply))
    }

    /// A [`Ctx`] over the configured client that takes over the diagnostics collected
    /// so far ([`done`] gives them back). Not configured: an error, and `None`.
    fn ctx<'c>(
        &self,
        client: &'c Option<Arc<P::Client>>,
        private: Vec<u8>,
        diags: &mut Diagnostics,
        info: ClientInfo,
    ) -> Option<Ctx<'c, P::Client>> {
        let Some(client) = client else {
            diags.error("Provider not configured", "Terraform did not configure the provider before using it. This is a bug in Terraform or the provider.");
            return None;
        };
        Some(Ctx {
            client: client.as_ref(),
            private,
            diags: std::mem::take(diags),
            info,
            // The call's own token: Ctrl-C trips it through its parent, its `timeouts`
            // deadline trips it alone.
            cancel: self.stop.child_token(),
        })
    }

    fn build_schema_response(&self) -> pb::get_provider_schema::Response {
        pb::get_provider_schema::Response {
            provider: Some(schema_to_proto(&self.schema)),
            resource_schemas: self.resources.schemas(),
            data_source_schemas: self.data_sources.schemas(),
            functions: HashMap::new(),
            ephemeral_resource_schemas: self.ephemerals.schemas(),
            diagnostics: diags_to_proto(&self.startup),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
        }
    }
}

/// Decodes a configuration and runs the schema's validators over it.
fn validated_config(
    schema: &Schema,
    ty: &Type,
    dv: Option<&pb::DynamicValue>,
    what: &str,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let config = decode(dv, ty, what, diags)?;
    schema
        .block
        .validate_value(&config, &AttributePath::default(), diags);
    Some(config)
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: true,
    }
}

/// Writes one RPC's body (see [`Body`]): an associated fn of [`ProviderService`] from the
/// entry of a `$kind` type, the RPC's request and the diagnostics, to its response.
macro_rules! rpc_body {
    (fn $name:ident($self:ident, $e:ident: $kind:ident, $r:ident: $rpc:ident, $diags:ident) $body:block) => {
        fn $name<'a>(
            &'a $self,
            $e: &'a Entry<dyn $kind<P::Client>>,
            $r: pb::$rpc::Request,
            $diags: &'a mut Diagnostics,
        ) -> BoxFuture<'a, Option<pb::$rpc::Response>> {
            Box::pin(async move $body)
        }
    };
}

/// What each RPC about one type does once `on_type` has found the type.
impl<P: Provider> ProviderService<P> {
    rpc_body!(fn validate_resource(self, e: Resource, r: validate_resource_config, diags) {
        let info = self.info(r.client_capabilities.as_ref());
        let what = "resource configuration";
        let config = validated_config(&e.schema, &e.ty, r.config.as_ref(), what, diags)?;
        check_write_only(&e.schema, &config, &info, diags);
        e.imp.validate(&config, &info, diags).await;
        None
    });

    rpc_body!(fn validate_data_source(self, e: DataSource, r: validate_data_resource_config, diags) {
        let what = "data source configuration";
        let config = validated_config(&e.schema, &e.ty, r.config.as_ref(), what, diags)?;
        e.imp.validate(&config, diags).await;
        None
    });

    rpc_body!(fn validate_ephemeral(self, e: EphemeralResource, r: validate_ephemeral_resource_config, diags) {
        let what = "ephemeral resource configuration";
        let config = validated_config(&e.schema, &e.ty, r.config.as_ref(), what, diags)?;
        e.imp.validate(&config, diags).await;
        None
    });

    rpc_body!(fn upgrade(self, e: Resource, r: upgrade_resource_state, diags) {
        let json = r
            .raw_state
            .as_ref()
            .map(|s| s.json.as_slice())
            .unwrap_or_default();
        let flatmap = r.raw_state.as_ref().is_some_and(|s| !s.flatmap.is_empty());
        let upgraded = if json.is_empty() && flatmap {
            diags.error(
                "State from Terraform 0.11 or older",
                crate::upgrade::flatmap_refusal(&r.type_name),
            );
            return None;
        } else if json.is_empty() {
            Value::Null
        } else if r.version > e.schema.version {
            diags.error(
                "State written by a newer provider",
                format!("This {} was stored by schema version {}, newer than this provider's {}. Use the newer provider version.", r.type_name, r.version, e.schema.version),
            );
            return None;
        } else {
            let parsed = serde_json::from_slice::<serde_json::Value>(json);
            let mut state = match parsed {
                Ok(state) => state,
                Err(err) => {
                    let detail = format!("{}: {err}", r.type_name);
                    diags.error("Stored state is not JSON", detail);
                    return None;
                }
            };
            if r.version < e.schema.version {
                let upgraders = e.imp.state_upgraders();
                match crate::upgrade::upgrade_json(
                    state,
                    r.version,
                    e.schema.version,
                    &upgraders,
                ) {
                    Ok(s) => state = s,
                    Err(why) => {
                        diags.error(
                            "Cannot upgrade stored state",
                            format!("{}: {why}", r.type_name),
                        );
                        return None;
                    }
                }
            }
            match Value::from_json(&state, &e.ty) {
                Ok(v) => v,
                Err(err) => {
                    let detail = format!("{}: {err}", r.type_name);
                    diags.error("Stored state does not match the schema", detail);
                    return None;
                }
            }
        };
        Some(pb::upgrade_resource_state::Response {
            upgraded_state: encode(&upgraded, &e.ty),
            diagnostics: vec![],
        })
    });

    rpc_body!(fn read(self, e: Resource, r: read_resource, diags) {
        let info = self.info(r.client_capabilities.as_ref());
        // Whatever stops the read early answers with the private state unchanged.
        let mut response = pb::read_resource::Response {
            private: r.private.clone(),
            ..Default::default()
        };
        let what = "current state";
        let Some(state) = decode(r.current_state.as_ref(), &e.ty, what, diags) else {
            return Some(response);
        };
        if state.is_null() {
            response.new_state = encode(&Value::Null, &e.ty);
            return Some(response);
        }
        let client = self.client();
        let Some(mut ctx) = self.ctx(&client, r.private, diags, info) else {
            return Some(response);
        };
        let read = e.imp.read(&mut ctx, &state).await;
        response.private = done(ctx, diags);
        let mut v = match read {
            Ok(Some(mut fresh)) => {
                timeouts::carry(&e.schema.block, &state, &mut fresh);
                fresh
            }
            Ok(None) => Value::Null,
            Err(e) => {
                // Keep what we had: a failed read must not make Terraform forget the object.
                e.report(diags);
                state
            }
        };
        finish_state(&e.schema, &mut v, diags);
        response.new_state = encode(&v, &e.ty);
        Some(response)
    });

    rpc_body!(fn plan(self, e: Resource, r: plan_resource_change, diags) {
        let info = self.info(r.client_capabilities.as_ref());
        let mut response = pb::plan_resource_change::Response {
            planned_private: r.prior_private.clone(),
            ..Default::default()
        };
        let prior = decode(r.prior_state.as_ref(), &e.ty, "prior state", diags);
        let proposed = r.proposed_new_state.as_ref();
        let proposed = decode(proposed, &e.ty, "proposed new state", diags);
        let config = decode(r.config.as_ref(), &e.ty, "configuration", diags);
        let (Some(prior), Some(proposed), Some(config)) = (prior, proposed, config) else {
            return Some(response);
        };
        let (planned, requires_replace) =
            plan_attributes(&e.schema, &prior, &proposed, &config);
        if planned.is_null() {
            // A destroy (Terraform 1.3+, since `plan_destroy` is advertised).
            if let (false, Some(client)) = (prior.is_null(), self.client()) {
                e.imp.plan_destroy(client.as_ref(), &prior, &r.prior_private, diags).await;
            }
            response.planned_state = encode(&Value::Null, &e.ty);
            return Some(response);
        }
        let mut plan = Plan {
            prior: &prior,
            config: &config,
            planned,
            requires_replace,
            diags: std::mem::take(diags),
            info,
        };
        e.imp.modify_plan(&mut plan).await;
        if let Some(client) = self.client() {
            e.imp.plan_with_client(client.as_ref(), &mut plan);
            e.imp.check_plan(client.as_ref(), &mut plan).await;
        }
        e.imp.plan_with_private(&r.prior_private, &mut plan);
        if !plan.requires_replace.is_empty() && !prior.is_null() {
            e.imp.plan_replace(&r.prior_private, &mut plan);
        }
        null_write_only(&e.schema, &mut plan.planned);
        *diags = plan.diags;
        response.planned_state = encode(&plan.planned, &e.ty);
        response.requires_replace = plan.requires_replace.iter().map(path_to_proto).collect();
        Some(response)
    });

    rpc_body!(fn apply(self, e: Resource, r: apply_resource_change, diags) {
        let prior = decode(r.prior_state.as_ref(), &e.ty, "prior state", diags);
        let planned = decode(r.planned_state.as_ref(), &e.ty, "planned state", diags);
        let config = decode(r.config.as_ref(), &e.ty, "configuration", diags);
        let mut response = pb::apply_resource_change::Response {
            private: r.planned_private.clone(),
            ..Default::default()
        };
        let (Some(prior), Some(planned), Some(config)) = (prior, planned, config) else {
            return Some(response);
        };
        let client = self.client();
        let Some(mut ctx) = self.ctx(&client, r.planned_private, diags, self.info(None)) else {
            // Not configured: nothing was done.
            response.new_state = encode(&prior, &e.ty);
            return Some(response);
        };
        let block = &e.schema.block;
        let (op, timeouts_from) = match (prior.is_null(), planned.is_null()) {
            (_, true) => (Op::Delete, &prior),
            (true, false) => (Op::Create, &planned),
            (false, false) => (Op::Update, &planned),
        };
        let limit = timeouts::limit(timeouts_from, op);
        let call = ctx.cancel.clone();
        let mut new_state = if op == Op::Update && timeouts::only_timeouts_differ(block, &prior, &planned) {
            // Only `timeouts` changed: nothing the resource manages.
            planned.clone()
        } else {
            let work: BoxFuture<'_, Value> = Box::pin(async {
                match op {
                    Op::Delete => match e.imp.delete(&mut ctx, &prior).await {
                        Ok(()) => Value::Null,
                        // A failed delete leaves the object in state so it can be retried.
                        Err(err) => failed(&mut ctx.diags, err, prior.clone()),
                    },
                    Op::Create => {
                        let created = e.imp.create(&mut ctx, &planned, &config).await;
                        // A failed create records nothing, or its partial object (tainted).
                        applied(&mut ctx.diags, created, Value::Null)
                    }
                    Op::Update => {
                        let updated = e.imp.update(&mut ctx, &prior, &planned, &config).await;
                        // A failed update keeps the prior state rather than losing the object.
                        applied(&mut ctx.diags, updated, prior.clone())
                    }
                }
            });
            let work = self.provider.in_call(&call, work);
            timeouts::run_until(limit.as_ref().map(|(_, d)| *d), &call, work).await
        };
        timeouts::carry(block, timeouts_from, &mut new_state);
        if let Some((text, _)) = &limit {
            // The deadline alone trips the call's token (Ctrl-C trips its parent too).
            if call.is_cancelled() && !self.stop.is_cancelled() && ctx.diags.has_errors() {
                ctx.diags.0.insert(0, timeouts::passed(e.imp.type_name(), op, text));
            }
        }
        response.private = done(ctx, diags);
        finish_state(&e.schema, &mut new_state, diags);
        response.new_state = encode(&new_state, &e.ty);
        Some(response)
    });

    rpc_body!(fn import(self, e: Resource, r: import_resource_state, diags) {
        let info = self.info(r.client_capabilities.as_ref());
        let client = self.client();
        let mut ctx = self.ctx(&client, Vec::new(), diags, info)?;
        let mut state = import_state(&e.schema, &r.id);
        e.imp.import(&mut ctx, &r.id, &mut state).await;
        let private = done(ctx, diags);
        if diags.has_errors() {
            return None;
        }
        null_write_only(&e.schema, &mut state);
        Some(pb::import_resource_state::Response {
            imported_resources: vec![pb::import_resource_state::ImportedResource {
                state: encode(&state, &e.ty),
                type_name: r.type_name,
                private,
            }],
            ..Default::default()
        })
    });

    rpc_body!(fn read_data(self, e: DataSource, r: read_data_source, diags) {
        let info = self.info(r.client_capabilities.as_ref());
        let what = "data source configuration";
        let config = decode(r.config.as_ref(), &e.ty, what, diags)?;
        let client = self.client();
        let mut ctx = self.ctx(&client, Vec::new(), diags, info)?;
        let read = e.imp.read(&mut ctx, &config).await;
        done(ctx, diags);
        let mut v = read.map_err(|e| e.report(diags)).ok()?;
        finish_state(&e.schema, &mut v, diags);
        Some(pb::read_data_source::Response {
            state: encode(&v, &e.ty),
            ..Default::default()
        })
    });

    rpc_body!(fn open(self, e: EphemeralResource, r: open_ephemeral_resource, diags) {
        let info = self.info(r.client_capabilities.as_ref());
        let what = "ephemeral resource configuration";
        let config = decode(r.config.as_ref(), &e.ty, what, diags)?;
        if !config.is_wholly_known() {
            // Not knowable yet (planning): everything the provider computes is unknown.
            let result = unknown_ephemeral_result(&e.schema, &config);
            return Some(pb::open_ephemeral_resource::Response {
                result: encode(&result, &e.ty),
                ..Default::default()
            });
        }
        let client = self.client();
        let mut ctx = self.ctx(&client, Vec::new(), diags, info)?;
        let opened = e.imp.open(&mut ctx, &config).await;
        let private = done(ctx, diags);
        let opened = opened.map_err(|e| e.report(diags)).ok()?;
        Some(pb::open_ephemeral_resource::Response {
            result: encode(&opened.result, &e.ty),
            renew_at: opened.renew_at.map(timestamp),
            private: Some(private),
            ..Default::default()
        })
    });

    rpc_body!(fn renew(self, e: EphemeralResource, r: renew_ephemeral_resource, diags) {
        let client = self.client();
        let private = r.private.unwrap_or_default();
        let mut ctx = self.ctx(&client, private, diags, self.info(None))?;
        let next = e.imp.renew(&mut ctx).await.unwrap_or_else(|e| {
            e.report(&mut ctx.diags);
            None
        });
        Some(pb::renew_ephemeral_resource::Response {
            renew_at: next.map(timestamp),
            private: Some(done(ctx, diags)),
            ..Default::default()
        })
    });

    rpc_body!(fn close(self, e: EphemeralResource, r: close_ephemeral_resource, diags) {
        let client = self.client();
        let private = r.private.unwrap_or_default();
        let mut ctx = self.ctx(&client, private, diags, self.info(None))?;
        if let Err(e) = e.imp.close(&mut ctx).await {
            e.report(&mut ctx.diags);
        }
        done(ctx, diags);
        None
    });
}

/// The state an apply records: the new object, or on failure `otherwise` (nothing,
/// or the prior state) or the tainted partial object, with the failure's diagnostics.
fn applied(diags: &mut Diagnostics, result: crate::Applied<Value>, otherwise: Value) -> Value {
    match result {
        Ok(v) => v,
        Err(crate::Failure::Error(e)) => failed(diags, e, otherwise),
        Err(crate::Failure::Tainted { partial, error }) => failed(diags, error, partial),
    }
}

/// Reports `e` and answers `keep`.
fn failed(diags: &mut Diagnostics, e: crate::Error, keep: Value) -> Value {
    e.report(diags);
    keep
}

/// Trait methods for the RPCs about one type, written out as `#[tonic::async_trait]`
/// expands them (macro invocations inside the impl are left to expand on their own):
/// each runs [`ProviderService::on_type`] with its table and body.
macro_rules! typed_rpcs {
    ($($rpc:ident: $table:ident => $body:ident),* $(,)?) => {
        $(fn $rpc<'life0, 'async_trait>(
            &'life0 self,
            request: Request<pb::$rpc::Request>,
        ) -> BoxFuture<'async_trait, RpcResult<pb::$rpc::Response>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(self.on_type(&self.$table, request, Self::$body))
        })*
    };
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    // The RPCs about one type: each is `on_type` with its table and its body.
    typed_rpcs! {
        validate_resource_config: resources => validate_resource,
        validate_data_resource_config: data_sources => validate_data_source,
        upgrade_resource_state: resources => upgrade,
        read_resource: resources => read,
        plan_resource_change: resources => plan,
        apply_resource_change: resources => apply,
        import_resource_state: resources => import,
        read_data_source: data_sources => read_data,
        validate_ephemeral_resource_config: ephemerals => validate_ephemeral,
        open_ephemeral_resource: ephemerals => open,
        renew_ephemeral_resource: ephemerals => renew,
        close_ephemeral_resource: ephemerals => close,
    }

    async fn get_metadata(
        &self,
        _r: Request<pb::get_metadata::Request>,
    ) -> RpcResult<pb::get_metadata::Response> {
        use pb::get_metadata::{DataSourceMetadata, EphemeralMetadata, ResourceMetadata};
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: diags_to_proto(&self.startup),
            data_sources: self
                .data_sources
                .names(|type_name| DataSourceMetadata { type_name }),
            resources: self
                .resources
                .names(|type_name| ResourceMetadata { type_name }),
            functions: vec![],
            ephemeral_resources: self
                .ephemerals
                .names(|type_name| EphemeralMetadata { type_name }),
        }))
    }

    async fn get_provider_schema(
        &self,
        _r: Request<pb::get_provider_schema::Request>,
    ) -> RpcResult<pb::get_provider_schema::Response> {
        Ok(Response::new(
            self.schema_response
                .get_or_init(|| self.build_schema_response())
                .clone(),
        ))
    }

    async fn validate_provider_config(
        &self,
        r: Request<pb::validate_provider_config::Request>,
    ) -> RpcResult<pb::validate_provider_config::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::default();
        let (schema, ty) = (&self.schema, &self.schema_ty);
        let what = "provider configuration";
        if let Some(config) = validated_config(schema, ty, r.config.as_ref(), what, &mut diags) {
            self.provider.validate(&config, &mut diags).await;
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn configure_provider(
        &self,
        r: Request<pb::configure_provider::Request>,
    ) -> RpcResult<pb::configure_provider::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::default();
        let info = ClientInfo {
            terraform_version: r.terraform_version.clone(),
            write_only_attributes_allowed: r
                .client_capabilities
                .as_ref()
                .is_some_and(|c| c.write_only_attributes_allowed),
            cancel: self.stop.clone(),
        };
        *self.info.write().unwrap_or_else(|e| e.into_inner()) = info.clone();
        let what = "provider configuration";
        if let Some(config) = decode(r.config.as_ref(), &self.schema_ty, what, &mut diags) {
            if let Some(client) = self.provider.configure(&config, &info, &mut diags).await {
                *self.client.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(client));
            }
        }
        tracing::debug!(terraform_version = %r.terraform_version, "provider configured");
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags_to_proto(&diags),
        }))
    }

    async fn move_resource_state(
        &self,
        r: Request<pb::move_resource_state::Request>,
    ) -> RpcResult<pb::move_resource_state::Response> {
        let r = r.into_inner();
        let mut diags = Diagnostics::default();
        let mut response = pb::move_resource_state::Response::default();
        if let Some(e) = self.resources.get(&r.target_type_name, &mut diags) {
            let json = r
                .source_state
                .as_ref()
                .map(|s| s.json.as_slice())
                .unwrap_or_default();
            let moved = serde_json::from_slice::<serde_json::Value>(json)
                .map_err(|err| format!("the source state is not JSON: {err}"))
                .and_then(|state| {
                    crate::upgrade::move_json(
                        &e.imp.move_sources(),
                        &r.source_provider_address,
                        &r.source_type_name,
                        r.source_schema_version,
                        state,
                    )
                })
                .and_then(|state| Value::from_json(&state, &e.ty).map_err(|err| err.to_string()));
            match moved {
                Ok(v) => {
                    response.target_state = encode(&v, &e.ty);
                    // Private state travels as it is: each resource reads older shapes.
                    response.target_private = r.source_private;
                }
                Err(why) => diags.error(
                    format!(
                        "Cannot move {} to {}",
                        r.source_type_name, r.target_type_name
                    ),
                    why,
                ),
            }
        }
        response.diagnostics = diags_to_proto(&diags);
        Ok(Response::new(response))
    }

    async fn get_functions(
        &self,
        _r: Request<pb::get_functions::Request>,
    ) -> RpcResult<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        _r: Request<pb::call_function::Request>,
    ) -> RpcResult<pb::call_function::Response> {
        Err(Status::unimplemented("this provider has no functions"))
    }

    async fn stop_provider(
        &self,
        _r: Request<pb::stop_provider::Request>,
    ) -> RpcResult<pb::stop_provider::Response> {
        tracing::info!("StopProvider received");
        // Every running and later request's `ctx.cancel` fires: retries and waits end.
        self.stop.cancel();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
