//! The dbaas Terraform provider: resources for tenant databases on a shared
//! PostgreSQL/PgBouncer, MySQL and Redis platform, and their rotation in Vault.
//! See ARCHITECTURE.md for the layers; `main.rs` only starts [`tfplugin::serve`].

pub mod backends;
pub mod data_sources;
pub mod domain;
pub mod ephemeral_resources;
pub mod libpq_env;
pub mod provider;
pub mod resources;
pub mod sql;

/// The word enums, where every layer has always found them (`crate::enums::Engine`).
pub use domain::enums;

#[cfg(test)]
mod invariants;
#[cfg(test)]
mod layering;

/// Provider address in the registry.
pub const ADDRESS: &str = "registry.terraform.io/infra/dbaas";

#[cfg(test)]
mod tests {
    use tfplugin::Provider;

    /// Every registered type's model has exactly its schema's attributes (the start-up
    /// self-check runs the same comparison; this names the types it covered).
    #[test]
    fn every_registered_types_model_matches_its_schema() {
        let p = crate::provider::DbaasProvider;
        let mut checked: Vec<(&str, Result<(), String>)> = Vec::new();
        checked.extend(
            p.resources()
                .iter()
                .map(|r| (r.type_name(), r.check_model(&r.schema().block))),
        );
        checked.extend(
            p.data_sources()
                .iter()
                .map(|d| (d.type_name(), d.check_model(&d.schema().block))),
        );
        checked.extend(
            p.ephemeral_resources()
                .iter()
                .map(|e| (e.type_name(), e.check_model(&e.schema().block))),
        );
        assert!(
            checked.len() >= 8,
            "the registry lists every type: {checked:?}"
        );
        let bad: Vec<_> = checked.iter().filter(|(_, r)| r.is_err()).collect();
        assert!(bad.is_empty(), "{bad:#?}");
    }
}
