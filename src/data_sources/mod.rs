//! Data sources, one file each.

mod endpoints;
mod pgbouncer_pools;

use std::sync::Arc;

use crate::backends::Backends;

/// Every data source this provider serves.
pub fn all() -> Vec<Arc<dyn tfplugin::DataSource<Backends>>> {
    vec![
        Arc::new(endpoints::Endpoints),
        Arc::new(pgbouncer_pools::PgBouncerPools),
    ]
}
