//! A tenant database's run-time settings (issue 22, `settings` on
//! `dbaas_shared_postgres_database`): `ALTER DATABASE ... SET / RESET` and the catalog
//! read of what is set for the database as a whole (`pg_db_role_setting`, no role).

use super::{quote_ident, quote_literal};

/// The settings a configuration may set on a tenant database: limits that keep one
/// tenant from starving the others, none that touches name resolution, roles or what a
/// session loads. `temp_file_limit` is superuser-only (a tenant cannot lift it); the others
/// are defaults a session may still change with `SET`.
pub const DATABASE_SETTINGS_ALLOWED: &[&str] = &[
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
    "lock_timeout",
    "maintenance_work_mem",
    "statement_timeout",
    "temp_file_limit",
    "work_mem",
];

/// `ALTER DATABASE "<db>" SET "<name>" = '<value>'`: the value as a string literal, which
/// the server stores as written (so the catalog reads it back unchanged).
pub fn alter_database_set(db: &str, name: &str, value: &str) -> String {
    format!(
        "ALTER DATABASE {} SET {} = {}",
        quote_ident(db),
        quote_ident(name),
        quote_literal(value)
    )
}

/// `ALTER DATABASE "<db>" RESET "<name>"`: one setting, never `RESET ALL` (the provider's
/// own `search_path` for extensions is a database setting too).
pub fn alter_database_reset(db: &str, name: &str) -> String {
    format!(
        "ALTER DATABASE {} RESET {}",
        quote_ident(db),
        quote_ident(name)
    )
}

/// Catalog: the `name=value` entries set on database $1 for every role (`setrole = 0`),
/// one text per row.
pub const DATABASE_CONFIG: &str = "SELECT e::pg_catalog.text AS entry \
     FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) s.setdatabase \
     CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS e \
     WHERE s.setrole OPERATOR(pg_catalog.=) 0 AND d.datname OPERATOR(pg_catalog.=) $1 ORDER BY 1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_reset_quote_name_and_value() {
        assert_eq!(
            alter_database_set("shop", "statement_timeout", "30s"),
            "ALTER DATABASE \"shop\" SET \"statement_timeout\" = '30s'"
        );
        assert_eq!(
            alter_database_set("sh\"op", "work_mem", "1'; DROP"),
            "ALTER DATABASE \"sh\"\"op\" SET \"work_mem\" = '1''; DROP'"
        );
        assert_eq!(
            alter_database_reset("shop", "work_mem"),
            "ALTER DATABASE \"shop\" RESET \"work_mem\""
        );
    }

    #[test]
    fn the_catalog_read_is_one_qualified_statement() {
        assert!(!crate::sql::batch::joins_statements(DATABASE_CONFIG));
        assert_eq!(
            crate::sql::qualified::unqualified(DATABASE_CONFIG),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_allowlist_is_sorted_lower_case_and_holds_no_session_identity() {
        let mut sorted = DATABASE_SETTINGS_ALLOWED.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, DATABASE_SETTINGS_ALLOWED);
        for name in DATABASE_SETTINGS_ALLOWED {
            assert_eq!(name.to_lowercase(), *name);
            assert!(![
                "search_path",
                "role",
                "session_authorization",
                "session_preload_libraries",
                "local_preload_libraries",
                "default_transaction_read_only"
            ]
            .contains(name));
        }
    }
}
