//! The dbaas Terraform provider: resources for tenant databases on a shared
//! PostgreSQL/PgBouncer, MySQL and Redis platform, and their rotation in Vault.
//! See ARCHITECTURE.md for the layers; `main.rs` only starts [`tfplugin::serve`].

pub mod backends;
pub mod data_sources;
pub mod enums;
pub mod ephemeral_resources;
pub mod provider;
pub mod resources;
pub mod sql;

/// Provider address in the registry.
pub const ADDRESS: &str = "registry.terraform.io/infra/dbaas";
