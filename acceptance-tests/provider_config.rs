//! Issue 20, item 4: provider settings that are unknown at plan. A second provider block
//! (`alias = "tenant"`) configured from `ephemeral "dbaas_database_credentials"` of a
//! rotation role created in the same configuration: the plan configures it with unknown
//! values (the role does not exist yet), which must dial nothing and fail nothing; the
//! apply configures it again once the role exists, and a data source read through it
//! (`depends_on` the role) sees the tenant's settings. `terraform destroy` of the whole
//! configuration must succeed every time (it failed about one time in five with
//! "postgres.host is not known yet"), so the case applies and destroys it twice.
use crate::fixture::{allowed_role, name_of, newer_terraform, output_str, tagged, Stack, PGDB};
use crate::harness::stack;

/// The tenant's provider block, the data source read through it, and its output.
fn tenant_provider_hcl() -> String {
    r#"
ephemeral "dbaas_database_credentials" "app" {
  role = dbaas_vault_rotation_role.app.name
}

provider "dbaas" {
  alias = "tenant"
  postgres {
    host     = ephemeral.dbaas_database_credentials.app.host
    port     = ephemeral.dbaas_database_credentials.app.port
    username = ephemeral.dbaas_database_credentials.app.username
    password = ephemeral.dbaas_database_credentials.app.password
    database = ephemeral.dbaas_database_credentials.app.database
    sslmode  = "disable"
  }
}

data "dbaas_endpoints" "tenant" {
  provider   = dbaas.tenant
  depends_on = [dbaas_vault_rotation_role.app]
}

output "tenant_admin_host" {
  value = data.dbaas_endpoints.tenant.postgres_admin_host
}
"#
    .to_string()
}

#[test]
fn acc_provider_config_from_credentials_of_a_role_made_in_the_same_run() {
    let Some(tf) = newer_terraform(
        "the provider-config-from-credentials case (ephemeral resources need Terraform 1.10+)",
    ) else {
        return;
    };
    let [db, conn, role] = tagged(&tf, ["acc_pcfg", "pcfg-conn", "pcfg-role"]);
    let mut c = Stack::default()
        .database("app", &db)
        .connection("conn", &conn, "postgres", &allowed_role(&role))
        .role("app", &role, "conn", &name_of(PGDB, "app"), "")
        .hcl(&tenant_provider_hcl())
        .case(&tf);
    for round in 1..=2 {
        // The first apply: the tenant provider is configured with unknown values at
        // plan, and with the issued login's at apply, after the role exists.
        let r = c.w.apply();
        assert_eq!(r.code, 0, "round {round}: apply failed:\n{}", r.all());
        let host = output_str(&c.w, "tenant_admin_host");
        assert_eq!(
            host,
            stack("DBAAS_PGBOUNCER_HOST"),
            "round {round}: the data source read through the tenant's provider"
        );
        let r = c.w.destroy();
        assert_eq!(r.code, 0, "round {round}: destroy failed:\n{}", r.all());
        assert!(
            !r.all().contains("not known yet"),
            "round {round}:\n{}",
            r.all()
        );
    }
    c.destroyed = true;
}
