//! # tfplugin: Terraform plugin protocol 6 for Rust providers
//!
//! Terraform runs a provider as a child process. The child proves it is a plugin
//! (magic cookie environment variable), picks protocol 6 from `PLUGIN_PROTOCOL_VERSIONS`,
//! listens on a unix socket and prints one line on stdout:
//! `1|6|unix|<socket>|grpc|<server certificate, base64 DER, no padding>`.
//! Terraform then speaks gRPC over mutual TLS: it pins our certificate from that line,
//! and we pin the client certificate it passed in `PLUGIN_CLIENT_CERT` (see [`handshake`]).
//!
//! Every RPC carries values as msgpack `DynamicValue`s typed by the schema ([`value`],
//! [`types`]). A provider implements [`Provider`], and one [`Resource`] or [`DataSource`]
//! per type; [`serve`] does the rest: schema RPCs, validation against the schema's
//! validators, planning with defaults, requires-replace and use-state-for-unknown,
//! apply dispatch to create/update/delete, import, state upgrades and diagnostics.
//! Terraform ends the process with `plugin.GRPCController/Shutdown`, which we answer
//! and then exit promptly after removing the socket directory.

mod convert;
pub mod diagnostics;
#[cfg(feature = "docs")]
pub mod docs;
pub mod handshake;
pub mod logging;
pub mod model;
pub mod outcome;
pub mod plan;
pub mod schema;
pub mod server;
mod service;
#[cfg(feature = "testing")]
pub mod testing;
pub mod timeouts;
pub mod typed;
pub mod types;
pub mod upgrade;
pub mod value;

/// Generated protocol types (tfplugin6.8 and go-plugin's internal services).
pub mod proto {
    /// Terraform plugin protocol 6.
    #[allow(missing_docs, clippy::all)]
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    /// go-plugin's controller, stdio and broker services.
    #[allow(missing_docs, clippy::all)]
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

pub use diagnostics::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
pub use model::{Known, ModelError};
pub use outcome::{Applied, Error, Failure, OrDiag, OrTaint};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema, Validator};
pub use server::{serve, ServeOptions};
pub use service::check_provider;
pub use typed::TypedResource;
pub use types::Type;
pub use upgrade::{MoveSource, StateUpgrader};
pub use value::{Number, Refinements, Value};

use std::sync::Arc;

/// What Terraform told us about itself in ConfigureProvider and per request.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Terraform's version, e.g. `1.11.4` (empty before configure).
    pub terraform_version: String,
    /// The client keeps write-only attributes out of plan and state (Terraform 1.11+).
    pub write_only_attributes_allowed: bool,
    /// The provider-wide stop signal (the same token as every [`Ctx::cancel`]), for what
    /// `Provider::configure` builds and shares: long-lived clients end their waits when
    /// Terraform asks the provider to stop. A default `ClientInfo` carries one that never fires.
    pub cancel: Cancel,
}

/// What a resource operation gets besides its values: the configured provider client,
/// the resource's private state (opaque bytes Terraform stores beside the state) and
/// a place for diagnostics.
pub struct Ctx<'a, C> {
    /// What `Provider::configure` produced.
    pub client: &'a C,
    /// Private state in (prior) and out (new).
    pub private: Vec<u8>,
    /// Errors and warnings for the user.
    pub diags: Diagnostics,
    /// Facts about the calling Terraform.
    pub info: ClientInfo,
    /// Fires when Terraform asks the provider to stop (StopProvider, on Ctrl-C), or when
    /// this call's `timeouts` deadline passes (the token is the call's own, a child of the
    /// provider-wide one): waits, retries and connects should end promptly and report
    /// what was left behind.
    pub cancel: Cancel,
}

/// A boxed `Send` future, as [`Provider::in_call`] takes and gives back.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The provider-wide stop signal every [`Ctx`] carries (`ctx.cancel.cancelled().await`,
/// `ctx.cancel.is_cancelled()`).
pub use tokio_util::sync::CancellationToken as Cancel;

/// The plan being made for one resource instance; `Resource::modify_plan` may change
/// `planned` and add `requires_replace` paths after the schema's own rules ran.
pub struct Plan<'a> {
    /// State before the change (null on create).
    pub prior: &'a Value,
    /// The configuration (may hold unknowns).
    pub config: &'a Value,
    /// What apply will be given.
    pub planned: Value,
    /// Attributes whose change needs a replacement.
    pub requires_replace: Vec<AttributePath>,
    /// Errors and warnings.
    pub diags: Diagnostics,
    /// Facts about the calling Terraform.
    pub info: ClientInfo,
}

/// A provider: its configuration schema, its resource types, and how to turn its
/// configuration into a client shared by every resource.
#[async_trait::async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What configure produces and every resource call receives.
    type Client: Send + Sync + 'static;

    /// The provider configuration schema.
    fn schema(&self) -> Schema;

    /// Resource types, each named `<provider>_<thing>`.
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Client>>>;

    /// Data source types.
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Client>>>;

    /// Ephemeral resource types (Terraform 1.10+); none by default.
    fn ephemeral_resources(&self) -> Vec<Arc<dyn EphemeralResource<Self::Client>>> {
        Vec::new()
    }

    /// Checks beyond the schema's validators (configuration may hold unknowns).
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Builds the client from the configuration; must not dial anything that the plan
    /// may not need (open connections lazily).
    async fn configure(
        &self,
        config: &Value,
        info: &ClientInfo,
        diags: &mut Diagnostics,
    ) -> Option<Self::Client>;

    /// Runs one apply call's `work` (a resource's create, update or delete) with that
    /// call's stop signal in reach of what the client does for it: `cancel` is the call's
    /// [`Ctx::cancel`], a child of the provider-wide token that its `timeouts` deadline
    /// also trips. A client shared by every call (connections opened at first use) can
    /// put it in a task-local here, so its waits end on the call's deadline as on Ctrl-C.
    /// By default `work` runs as it is.
    fn in_call<'a, T: Send + 'a>(
        &'a self,
        cancel: &Cancel,
        work: BoxFuture<'a, T>,
    ) -> BoxFuture<'a, T> {
        let _ = cancel;
        work
    }

    /// Runs once as the process ends (Terraform's Shutdown, or SIGTERM) with the client
    /// `configure` produced, if it ran: give back what the run holds (e.g. revoke a token).
    /// Bounded to 1.5 s: Terraform kills the process 2 s after asking it to stop.
    async fn shutdown(&self, _client: &Self::Client) {}
}

/// What a managed resource type is and how it plans: its name, schema and the hooks
/// that run before any backend object changes. [`Resource`] (on [`Value`]s) or
/// [`TypedResource`] (on the type's model) adds the CRUD.
#[async_trait::async_trait]
pub trait ResourceType<C>: Send + Sync {
    /// The type name, e.g. `dbaas_shared_postgres_database`.
    fn type_name(&self) -> &'static str;

    /// The schema, with descriptions, defaults, validators and plan modifiers.
    fn schema(&self) -> Schema;

    /// Cross-attribute checks beyond the schema's validators.
    async fn validate(&self, _config: &Value, _info: &ClientInfo, _diags: &mut Diagnostics) {}

    /// Adjusts the plan after defaults, unknowns and requires-replace were applied.
    async fn modify_plan(&self, _plan: &mut Plan<'_>) {}

    /// Fills planned values that derive from the provider's configuration (no I/O);
    /// runs after `modify_plan` when the provider is configured.
    fn plan_with_client(&self, _client: &C, _plan: &mut Plan<'_>) {}

    /// Checks that need the backend at plan time (may do I/O); runs after
    /// `plan_with_client` when the provider is configured. Implementations should skip
    /// unchanged resources, so a `plan -refresh=false` of them dials nothing, and treat
    /// an unreachable backend as "check later, at apply".
    async fn check_plan(&self, _client: &C, _plan: &mut Plan<'_>) {}

    /// Fills planned values from the private state the last apply or read recorded
    /// (`prior_private`; empty on create; no I/O); runs last.
    fn plan_with_private(&self, _prior_private: &[u8], _plan: &mut Plan<'_>) {}

    /// Checks a planned replacement (`requires_replace` not empty, prior state not null)
    /// before Terraform shows it: an error here refuses the plan (e.g. the prior object is
    /// protected). Runs after `plan_with_private`; no I/O. A tainted object is planned as
    /// a create (no prior state), so this never runs for it.
    fn plan_replace(&self, _prior_private: &[u8], _plan: &mut Plan<'_>) {}

    /// Checks a destroy at plan time (Terraform 1.3 and later ask, as the server
    /// advertises `plan_destroy`; older ones go straight to `delete`): an error refuses
    /// the plan. `prior` and `prior_private` are the object's state, tainted or not
    /// (Terraform does not say). Runs when the provider is configured; may do I/O.
    async fn plan_destroy(
        &self,
        _client: &C,
        _prior: &Value,
        _prior_private: &[u8],
        _diags: &mut Diagnostics,
    ) {
    }

    /// Fills the state of an imported object from its import id; `state` arrives with
    /// `id` set to the id and every defaulted attribute at its default. Read runs next.
    async fn import(&self, _ctx: &mut Ctx<'_, C>, _id: &str, _state: &mut Value) {}

    /// The chain of state upgraders: one per schema version below the current one
    /// (checked at start-up). `UpgradeResourceState` runs them from the stored version.
    fn state_upgraders(&self) -> Vec<StateUpgrader> {
        Vec::new()
    }

    /// Resource types whose state may be moved into this one (`moved` blocks across types).
    fn move_sources(&self) -> Vec<MoveSource> {
        Vec::new()
    }
}

/// A managed resource type's CRUD on [`Value`]s; every [`TypedResource`] is one through
/// the adapter in [`typed`].
#[async_trait::async_trait]
pub trait Resource<C>: ResourceType<C> {
    /// Compares the type's model struct with its schema's `block` (the start-up self-check
    /// passes the schema it already built), usually `model::check_model::<Model>(block)`.
    fn check_model(&self, block: &Block) -> Result<(), String>;

    /// Creates the object; returns the new state (with every computed value known), or a
    /// failure: an error (nothing recorded) or a tainted partial object.
    async fn create(&self, ctx: &mut Ctx<'_, C>, planned: &Value, config: &Value)
        -> Applied<Value>;

    /// Reads the object; `Ok(None)` means it no longer exists; an error keeps the prior state.
    async fn read(&self, ctx: &mut Ctx<'_, C>, state: &Value) -> Result<Option<Value>, Error>;

    /// Updates in place; returns the new state (a plain error keeps the prior state).
    async fn update(
        &self,
        ctx: &mut Ctx<'_, C>,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> Applied<Value>;

    /// Deletes the object; an error keeps it in state so the destroy can be retried.
    async fn delete(&self, ctx: &mut Ctx<'_, C>, prior: &Value) -> Result<(), Error>;
}

/// A data source type.
#[async_trait::async_trait]
pub trait DataSource<C>: Send + Sync {
    /// The type name, e.g. `dbaas_endpoints`.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// Compares the type's model struct with its schema's `block` (the start-up self-check
    /// passes the schema it already built), usually `model::check_model::<Model>(block)`.
    fn check_model(&self, block: &Block) -> Result<(), String>;

    /// Checks beyond the schema's validators.
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Reads it; returns the state.
    async fn read(&self, ctx: &mut Ctx<'_, C>, config: &Value) -> Result<Value, Error>;
}

/// What opening an ephemeral resource produced.
pub struct Opened {
    /// The result object (never stored by Terraform).
    pub result: Value,
    /// When Terraform should call `renew`, if ever.
    pub renew_at: Option<std::time::SystemTime>,
}

/// An ephemeral resource type (Terraform 1.10+): opened for the length of one run,
/// optionally renewed, then closed; nothing of it is stored in plan or state. The
/// private bytes set in `ctx.private` by `open`/`renew` come back to `renew`/`close`.
#[async_trait::async_trait]
pub trait EphemeralResource<C>: Send + Sync {
    /// The type name, e.g. `dbaas_database_credentials`.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// Compares the type's model struct with its schema's `block` (the start-up self-check
    /// passes the schema it already built), usually `model::check_model::<Model>(block)`.
    fn check_model(&self, block: &Block) -> Result<(), String>;

    /// Checks beyond the schema's validators.
    async fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Opens it: acquires whatever it represents and returns the result.
    async fn open(&self, ctx: &mut Ctx<'_, C>, config: &Value) -> Result<Opened, Error>;

    /// Extends it; returns the next renewal time, if any.
    async fn renew(&self, _ctx: &mut Ctx<'_, C>) -> Result<Option<std::time::SystemTime>, Error> {
        Ok(None)
    }

    /// Releases it.
    async fn close(&self, _ctx: &mut Ctx<'_, C>) -> Result<(), Error> {
        Ok(())
    }
}
