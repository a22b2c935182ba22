//! Managed resources, one file each.

pub mod common;
pub mod known_at_plan;
pub mod mysql_accounts;
pub mod postgres_marks;
pub mod postgres_schemas;
pub mod redis_acl;
pub mod role_guard;
pub mod shared_mysql_database;
pub mod shared_postgres_access;
pub mod shared_postgres_database;
pub mod shared_redis_namespace;
pub mod vault_database_connection;
pub mod vault_role_rules;
pub mod vault_rotation_role;

use std::sync::Arc;

use crate::backends::Backends;

/// Every resource type this provider serves.
pub fn all() -> Vec<Arc<dyn tfplugin::Resource<Backends>>> {
    vec![
        Arc::new(shared_postgres_database::SharedPostgresDatabase),
        Arc::new(shared_mysql_database::SharedMysqlDatabase),
        Arc::new(shared_redis_namespace::SharedRedisNamespace),
        Arc::new(vault_database_connection::VaultDatabaseConnection),
        Arc::new(vault_rotation_role::VaultRotationRole),
        Arc::new(shared_postgres_access::SharedPostgresAccess),
    ]
}
