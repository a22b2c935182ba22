//! Managed resources, one file each.

use std::sync::Arc;

use crate::backends::Backends;

/// Every resource type this provider serves.
pub fn all() -> Vec<Arc<dyn tfplugin::Resource<Backends>>> {
    Vec::new()
}
