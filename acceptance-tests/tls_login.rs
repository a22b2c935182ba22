//! Issue 11: the login check of `dbaas_database_credentials` (`verify = true`) reaches
//! PgBouncer with the TLS the provider is configured with (`pgbouncer.admin_sslmode` /
//! `admin_sslrootcert`, the same listener as the admin console), not an unverified
//! `prefer`. Driven through the backend function the ephemeral resource calls, against
//! the dev stack's real PgBouncer: a wrong CA fails the handshake and the error names
//! the endpoint and the certificate problem; the right CA gets past TLS to PgBouncer's
//! own password check.
use terraform_provider_dbaas::backends::postgres::verify_login;
use terraform_provider_dbaas::backends::settings::TlsFiles;
use terraform_provider_dbaas::enums::SslMode;

use crate::harness::stack;

/// The first PgBouncer the stack serves apps on, as the provider reaches it.
fn pgbouncer() -> (String, u16) {
    let port = stack("DBAAS_PGBOUNCER_PORT")
        .parse()
        .expect("DBAAS_PGBOUNCER_PORT is a port number");
    (stack("DBAAS_PGBOUNCER_HOST"), port)
}

/// Runs the login check with `ca` under `verify-full`, as a tenant that does not exist.
fn login_with_ca(ca: &str) -> Result<(), String> {
    let (host, port) = pgbouncer();
    let files = TlsFiles {
        ca_cert: Some(ca.to_string()),
        ..Default::default()
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(verify_login(
            (&host, port),
            (SslMode::VerifyFull, &files),
            "postgres",
            "acc_tls_login_nobody",
            "not-the-password",
        ))
}

#[test]
fn tls_login_check_verifies_pgbouncer_against_the_configured_ca() {
    let (host, port) = pgbouncer();
    let wrong = stack("DBAAS_WRONG_CA_CERT");
    let e = login_with_ca(&wrong).expect_err("a wrong CA must fail the login check");
    assert!(
        e.contains(&format!("{host}:{port}"))
            && e.contains("TLS")
            && e.contains("unknown authority")
            && e.contains(&wrong),
        "the error names the endpoint, the certificate problem and the CA: {e}"
    );

    // The right CA: TLS verifies, and PgBouncer itself refuses the unknown tenant.
    let e = login_with_ca(&stack("DBAAS_CA_CERT")).expect_err("no such tenant");
    assert!(
        !e.contains("TLS") && e.contains("acc_tls_login_nobody"),
        "past TLS, the refusal is PgBouncer's password check: {e}"
    );
}
