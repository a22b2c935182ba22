//! Ephemeral resources (Terraform 1.10+), one file each.

pub(crate) mod database_credentials;

use std::sync::Arc;

use crate::backends::Backends;

/// Every ephemeral resource this provider serves.
pub fn all() -> Vec<Arc<dyn tfplugin::EphemeralResource<Backends>>> {
    vec![Arc::new(database_credentials::DatabaseCredentials)]
}
