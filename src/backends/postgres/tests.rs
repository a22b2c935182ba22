//! Unit tests of the PostgreSQL backend: session pinning, TLS options, retries, and that
//! every catalog query names the columns its row struct reads.

use super::session::ssl_mode;
use super::*;
use crate::enums::SslMode;

fn e(code: &str, message: &str) -> PgError {
    PgError {
        host: "h".into(),
        port: 1,
        message: message.into(),
        code: Some(code.into()),
    }
}

#[test]
fn admin_sessions_pin_search_path_and_role_at_start_up() {
    let s = PostgresSettings {
        host: "db".into(),
        port: 5432,
        username: "admin".into(),
        password: crate::backends::settings::Secret::default(),
        database: "postgres".into(),
        sslmode: SslMode::Disable,
        connect_timeout: 10,
        max_connections: crate::domain::defaults::MAX_CONNECTIONS,
        tls_files: Default::default(),
    };
    let options = admin_options(&s, "admin", "pw");
    let sent = options.get_options().unwrap_or_default();
    assert!(sent.contains("-c search_path=pg_catalog,pg_temp"), "{sent}");
    assert!(sent.contains("-c role=none"), "{sent}");
    assert!(sent.contains("-c local_preload_libraries= "), "{sent}");
    assert!(
        sent.contains("-c default_transaction_read_only=off"),
        "{sent}"
    );
    // Issue 22: a tenant's database defaults never time out the admin's work there.
    for limit in [
        "statement_timeout",
        "lock_timeout",
        "idle_in_transaction_session_timeout",
    ] {
        assert!(sent.contains(&format!("-c {limit}=0")), "{sent}");
    }
    // No value holds whitespace: the server splits the option string on it.
    for (_, v) in ADMIN_SESSION_SETTINGS {
        assert!(!v.contains(char::is_whitespace), "{v}");
    }
    // Every connection into a tenant database is these options with another database.
    let tenant = options.clone().database("shop");
    assert_eq!(tenant.get_options(), options.get_options());
}

#[test]
fn a_session_without_the_pinned_settings_is_refused() {
    assert_eq!(check_pinned("pg_catalog,pg_temp", "none"), Ok(()));
    assert_eq!(check_pinned("pg_catalog, pg_temp", "none"), Ok(()));
    for (path, role) in [
        ("public, pg_catalog", "none"),
        ("\"$user\", public", "none"),
        ("pg_catalog, public", "none"),
        ("pg_catalog,pg_temp", "shop_owner"),
    ] {
        assert!(check_pinned(path, role).is_err(), "{path} {role}");
    }
}

#[test]
fn concurrent_ddl_errors_are_retried_and_others_are_not() {
    assert!(retryable(&e("XX000", "tuple concurrently updated")));
    assert!(retryable(&e(
        "55006",
        "source database \"template1\" is being accessed by other users"
    )));
    assert!(retryable(&e("40P01", "deadlock detected")));
    assert!(!retryable(&e("42P04", "database \"x\" already exists")));
    assert!(!retryable(&e("XX000", "some other internal error")));
}

/// The root certificate of `options` as sqlx keeps it (no getter exists; `Debug` shows it).
fn root_cert_of(options: &PgConnectOptions) -> String {
    let debug = format!("{options:?}");
    let start = debug
        .find("ssl_root_cert: ")
        .expect("options show ssl_root_cert");
    let rest = &debug[start..];
    rest[..rest.find(", ssl_client_cert").unwrap_or(rest.len())].to_string()
}

#[test]
fn with_tls_sets_the_mode_and_the_configured_ca() {
    let no_ca = crate::backends::settings::TlsFiles::default();
    for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
        let options = with_tls(PgConnectOptions::new_without_pgpass(), mode, &no_ca);
        let want = format!("{:?}", ssl_mode(mode));
        assert_eq!(format!("{:?}", options.get_ssl_mode()), want);
    }
    let own = crate::backends::settings::TlsFiles {
        ca_cert: Some("/etc/pgbouncer-ca.pem".into()),
        ..Default::default()
    };
    let options = with_tls(
        PgConnectOptions::new_without_pgpass(),
        SslMode::VerifyFull,
        &own,
    );
    assert!(root_cert_of(&options).contains("/etc/pgbouncer-ca.pem"));
    assert_eq!(format!("{:?}", options.get_ssl_mode()), "VerifyFull");
}

/// Asserts that the query of row struct `name` names exactly the columns it decodes.
fn assert_row_names_its_columns(name: &str) {
    let Some((_, query, columns)) = catalog::ROWS.iter().find(|(n, _, _)| *n == name) else {
        panic!("no row {name} in catalog::ROWS");
    };
    assert_eq!(
        crate::sql::select_aliases(query),
        columns.to_vec(),
        "{query}"
    );
}

/// One test per catalog row: its query's aliases are its struct's fields.
macro_rules! row_tests {
    ($($test:ident => $row:literal),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                assert_row_names_its_columns($row);
            }
        )+
    };
}

row_tests! {
    database_facts_query_names_every_column => "DatabaseFacts",
    role_facts_query_names_all_five_columns => "RoleFacts",
    database_settings_query_names_every_column => "DatabaseSettings",
    schema_facts_query_names_every_column => "SchemaFacts",
    foreign_dependencies_query_names_every_column_of_both_unions => "ForeignDependency",
    group_members_query_names_login_and_superuser => "GroupMember",
    login_facts_query_names_every_column_but_elsewhere => "PgLoginFacts",
    session_settings_query_names_search_path_and_role => "SessionSettings",
    role_links_query_names_name_and_both_link_lists => "RoleLinks",
}

#[test]
fn every_catalog_row_has_its_own_test() {
    assert_eq!(catalog::ROWS.len(), 9);
}
