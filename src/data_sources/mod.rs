//! Data sources, one file each.

mod endpoints;
pub mod lookups;
mod pgbouncer_pools;

use std::sync::Arc;

use crate::backends::Backends;

/// Every data source this provider serves.
pub fn all() -> Vec<Arc<dyn tfplugin::DataSource<Backends>>> {
    vec![
        Arc::new(endpoints::Endpoints),
        Arc::new(pgbouncer_pools::PgBouncerPools),
        Arc::new(lookups::database::Database),
        Arc::new(lookups::namespace::Namespace),
        Arc::new(lookups::rotation_role::RotationRole),
    ]
}
