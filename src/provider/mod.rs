//! The `provider "dbaas"` block: its schema (one optional block per backend, with
//! environment fallbacks) and `configure`, which turns it into [`Backends`] without
//! dialling anything: connections open on first use.
//!
//! By job: [`schema`] (attributes, descriptions, validators), [`checks`] (what
//! `terraform validate` decides from the block alone), [`env`] (the environment
//! fallbacks overlaid from the schema's `env` lists), [`model`] (the configuration as
//! structs), [`settings`] (model to [`crate::backends::settings::Settings`], defaults and
//! checks), [`files`] (certificate, key and token files read at configure),
//! [`vault_login`] (the Vault block's login). Settings unknown at plan (configured from
//! something made in the same run) leave their block out until apply: see
//! [`settings::BlockState`].

pub mod checks;
pub mod env;
pub mod files;
pub mod model;
pub mod schema;
pub mod settings;
pub mod vault_login;

use std::sync::Arc;

use tfplugin::{AttributePath, ClientInfo, Diagnostics, Schema, Value};

use crate::backends::Backends;

/// The defaults, where the provider has always kept them (they live in [`crate::domain`]).
pub use crate::domain::defaults;
pub use schema::{provider_schema, VAULT_AUTH_BLOCKS};
pub use settings::settings_from_config;

/// The dbaas provider.
pub struct DbaasProvider;

#[async_trait::async_trait]
impl tfplugin::Provider for DbaasProvider {
    type Client = Backends;

    fn schema(&self) -> Schema {
        provider_schema()
    }

    fn resources(&self) -> Vec<Arc<dyn tfplugin::Resource<Backends>>> {
        crate::resources::all()
    }

    fn data_sources(&self) -> Vec<Arc<dyn tfplugin::DataSource<Backends>>> {
        crate::data_sources::all()
    }

    fn ephemeral_resources(&self) -> Vec<Arc<dyn tfplugin::EphemeralResource<Backends>>> {
        crate::ephemeral_resources::all()
    }

    async fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        checks::validate_config(config, diags);
        let vault = config.get("vault");
        if !vault.is_null() {
            settings::auth_blocks_set(vault, &AttributePath::attr("vault"), diags);
        }
    }

    async fn shutdown(&self, client: &Backends) {
        client.shutdown().await;
    }

    /// The call's stop signal reaches the shared backend clients' waits (its
    /// `timeouts` deadline ends them as Ctrl-C does).
    fn in_call<'a, T: Send + 'a>(
        &'a self,
        cancel: &tfplugin::Cancel,
        work: tfplugin::BoxFuture<'a, T>,
    ) -> tfplugin::BoxFuture<'a, T> {
        Box::pin(crate::backends::interrupt::in_call(cancel.clone(), work))
    }

    async fn configure(
        &self,
        config: &Value,
        info: &ClientInfo,
        diags: &mut Diagnostics,
    ) -> Option<Backends> {
        let settings = settings_from_config(config, &crate::libpq_env::var, diags);
        if diags.has_errors() {
            return None;
        }
        Some(Backends::new(settings).stopped_by(info.cancel.clone()))
    }
}

#[cfg(test)]
mod tests;
