//! Managed resources, one file each.

pub mod common;
pub mod shared_postgres_database;

use std::sync::Arc;

use crate::backends::Backends;

/// Every resource type this provider serves.
pub fn all() -> Vec<Arc<dyn tfplugin::Resource<Backends>>> {
    vec![Arc::new(shared_postgres_database::SharedPostgresDatabase)]
}
