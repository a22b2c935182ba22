//! Secrets out of state: ephemeral Vault credentials feeding an aliased provider and
//! write-only passwords (Terraform 1.10/1.11), and the refusal of write-only arguments
//! by a Terraform that cannot keep them out of state (1.0.3).

use crate::fixture::{
    allowed_role, assert_opened_and_closed, connection, leases_under, newer_terraform, resource,
    role as rotation_role, Cleanup, PGDB,
};
use crate::harness::{provider_block, psql_admin, terraforms, vault_get, version_tag, Workdir};

/// The rotation role `app` on connection `pg` for tenant `app` (with `pgbouncer_auth`).
fn tenant(name: &str, conn: &str, role: &str, pgbouncer_auth: bool) -> String {
    format!(
        "{}\n{}\n{}\n{}",
        provider_block(),
        resource(
            PGDB,
            "app",
            name,
            &format!("  deletion_protection = false\n  pgbouncer_auth      = {pgbouncer_auth}")
        ),
        connection("pg", conn, "postgres", &allowed_role(role)),
        rotation_role("app", role, "pg", &format!("{PGDB}.app.name"), ""),
    )
}

const EPHEMERAL: &str = r#"
ephemeral "dbaas_database_credentials" "app" {
  role = dbaas_vault_rotation_role.app.name
}

provider "dbaas" {
  alias = "tenant"
  pgbouncer {
    host           = ephemeral.dbaas_database_credentials.app.host
    port           = ephemeral.dbaas_database_credentials.app.port
    admin_username = ephemeral.dbaas_database_credentials.app.username
    admin_password = ephemeral.dbaas_database_credentials.app.password
  }
}

data "dbaas_endpoints" "tenant" {
  provider = dbaas.tenant
}

output "tenant_endpoint" {
  value = "${data.dbaas_endpoints.tenant.postgres_host}:${data.dbaas_endpoints.tenant.postgres_port}"
}
"#;

/// Vault logins made for `role` that still exist in PostgreSQL.
fn logins_of(role: &str) -> String {
    let short: String = role.chars().take(8).collect();
    psql_admin(
        "postgres",
        &format!(
            "SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname LIKE 'v-%-{short}-%'"
        ),
    )
    .unwrap_or_default()
}

#[test]
fn ephemeral_credentials_feed_an_aliased_provider_and_leave_nothing_behind() {
    let Some(tf) = newer_terraform("secrets-out-of-state cases that need Terraform 1.11+") else {
        return;
    };
    let v = version_tag(&tf);
    let (name, conn, role) = (
        format!("acc_eph_{v}"),
        format!("pg-eph-{v}"),
        format!("eph{v}-role"),
    );
    let _guard = Cleanup::vault(&[&name], &[&conn], &[&role]);
    let w = Workdir::new(&tf, &tenant(&name, &conn, &role, true));
    w.apply().ok();
    w.write(&format!("{}{EPHEMERAL}", tenant(&name, &conn, &role, true)));
    let r = w.apply().ok();
    assert_opened_and_closed(&r, "app");
    let endpoint = w.outputs()["tenant_endpoint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        endpoint.ends_with(&crate::harness::stack("DBAAS_PGBOUNCER_PORT")),
        "aliased provider got the PgBouncer endpoint: {endpoint}"
    );

    // Closed: no login made for the role remains, and no lease in Vault.
    assert_eq!(logins_of(&role), "", "logins left after the run");
    let keys = leases_under(&format!("database/creds/{role}"));
    assert!(keys.is_empty(), "leases left: {keys:?}");
    // Nothing of it is in state.
    let state = w.state_text();
    assert!(
        !state.contains("dbaas_database_credentials"),
        "ephemeral resource in state"
    );
    assert!(
        !state.contains("v-token") && !state.contains("v-root"),
        "a Vault login name reached the state"
    );
    assert!(w.plan_is_empty());

    // A broken PgBouncer auth path fails the run instead of the app.
    w.write(&tenant(&name, &conn, &role, false));
    w.apply().ok();
    w.write(&format!(
        "{}{EPHEMERAL}",
        tenant(&name, &conn, &role, false)
    ));
    let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
    assert!(r.all().contains("do not work through"), "{}", r.all());
    assert_eq!(
        logins_of(&role),
        "",
        "the failed login's lease must be revoked"
    );

    w.write(&tenant(&name, &conn, &role, true));
    w.destroy().ok();
}

#[test]
fn write_only_admin_password_for_vault_connection() {
    for tf in terraforms() {
        let v = version_tag(&tf);
        let conn = format!("pg-wo-{v}");
        let hcl = format!(
            r#"{provider}
resource "dbaas_vault_database_connection" "pg" {{
  name                = "{conn}"
  engine              = "postgres"
  password_wo         = "{password}"
  password_wo_version = 1
}}
"#,
            provider = provider_block(),
            password = crate::harness::stack("PGPASSWORD"),
        );
        let w = Workdir::new(&tf, &hcl);
        if tf.version.starts_with("v1.0.") {
            let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
            let all = r.all();
            assert!(all.contains("password_wo") && all.contains("1.11"), "{all}");
            continue;
        }
        w.apply().ok();
        let state = w.state_text();
        assert!(
            !state.contains(&crate::harness::stack("PGPASSWORD")),
            "write-only password reached the state"
        );
        let show = w.show_json().to_string();
        assert!(
            !show.contains(&crate::harness::stack("PGPASSWORD")),
            "write-only password in show -json"
        );
        assert!(
            vault_get(&format!("database/config/{conn}")).is_some(),
            "connection written"
        );
        assert!(w.plan_is_empty());
        w.destroy().ok();
        assert!(
            vault_get(&format!("database/config/{conn}")).is_none(),
            "connection removed"
        );
    }
}
