//! The foundation: Terraform loads the provider over AutoMTLS, reads
//! `data "dbaas_endpoints"`, reports bad provider settings on the right attribute,
//! shows the provider's logs under TF_LOG, and leaves no provider process behind.

use crate::fixture::{
    apply_env, connection, destroy_env, each_terraform, flat, points_at, postgres_vault_provider,
    resource, Cleanup, NO_PG_LOGIN, PGDB, RNS,
};
use crate::harness::{pgbouncer_ports, provider_block, stack, terraforms, Terraform, Workdir};

const ENDPOINTS: &str = r#"
data "dbaas_endpoints" "this" {}

output "postgres_host" { value = data.dbaas_endpoints.this.postgres_host }
output "postgres_port" { value = data.dbaas_endpoints.this.postgres_port }
output "postgres_admin_host" { value = data.dbaas_endpoints.this.postgres_admin_host }
output "mysql_port" { value = data.dbaas_endpoints.this.mysql_port }
output "redis_port" { value = data.dbaas_endpoints.this.redis_port }
output "vault_address" { value = data.dbaas_endpoints.this.vault_address }
"#;

/// `provider "dbaas"` with `blocks` (its body), and the endpoints with their outputs.
fn endpoints_with(blocks: &str) -> String {
    format!("provider \"dbaas\" {{\n{blocks}}}\n{ENDPOINTS}")
}

/// A working directory with [`endpoints_with`] `blocks`.
fn endpoints_workdir(tf: &Terraform, blocks: &str) -> Workdir {
    Workdir::new(tf, &endpoints_with(blocks))
}

#[test]
fn endpoints_apply_then_empty_plan_and_no_stray_process() {
    for tf in each_terraform() {
        let w = Workdir::new(&tf, &format!("{}\n{ENDPOINTS}", provider_block()));
        w.apply().ok();
        let out = w.outputs();
        assert_eq!(out["postgres_host"], stack("DBAAS_PGBOUNCER_HOST"));
        assert_eq!(
            out["postgres_port"].as_i64(),
            stack("DBAAS_PGBOUNCER_PORT").parse::<i64>().ok()
        );
        assert_eq!(out["postgres_admin_host"], stack("PGHOST"));
        assert_eq!(
            out["mysql_port"].as_i64(),
            stack("DBAAS_MYSQL_PORT").parse::<i64>().ok()
        );
        assert_eq!(
            out["redis_port"].as_i64(),
            stack("DBAAS_REDIS_PORT").parse::<i64>().ok()
        );
        assert_eq!(out["vault_address"], stack("VAULT_ADDR"));
        assert!(
            w.plan_is_empty(),
            "second plan must be empty on {}",
            tf.version
        );
        let stray = w.stray_providers();
        assert!(
            stray.is_empty(),
            "provider processes left running after terraform exited: {stray:?}"
        );
    }
}

#[test]
fn unconfigured_blocks_give_null_endpoints() {
    for tf in terraforms() {
        let w = endpoints_workdir(&tf, "  redis {\n    host = \"cache.example\"\n  }\n");
        // Without VAULT_ADDR/PGHOST in the environment those blocks stay unset.
        let r = w
            .run_env(
                &["apply", "-auto-approve", "-no-color"],
                &[("VAULT_ADDR", ""), ("PGHOST", "")],
            )
            .ok();
        assert!(
            r.stdout.contains("redis_port = 6379"),
            "default redis port: {}",
            r.stdout
        );
        let out = w.outputs();
        assert!(
            out.get("postgres_host").is_none_or(|v| v.is_null()),
            "{out}"
        );
    }
}

#[test]
fn broken_provider_config_is_reported_on_the_attribute() {
    for tf in terraforms() {
        let w = endpoints_workdir(&tf, "  postgres {\n    host    = \"db\"\n    port    = 70000\n    sslmode = \"sometimes\"\n  }\n");
        let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
        let all = r.all();
        assert!(all.contains("Invalid value for port"), "{all}");
        assert!(all.contains("from 1 to 65535"), "{all}");
        assert!(all.contains("Invalid value for sslmode"), "{all}");
        assert!(
            all.contains("port    = 70000") || all.contains("port = 70000"),
            "diagnostic should point at the attribute: {all}"
        );

        w.write(&endpoints_with("  mysql {\n    username = \"root\"\n  }\n"));
        let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
        assert!(r.all().contains("Missing mysql.host"), "{}", r.all());
    }
}

#[test]
fn validate_and_plan_need_no_backend() {
    for tf in terraforms() {
        // Every backend points at a closed port: validate and plan of a data source
        // that needs none of them must still work.
        let w = endpoints_workdir(&tf, "  postgres {\n    host = \"127.0.0.1\"\n    port = 1\n    password_vault_path = \"secret/data/nowhere\"\n  }\n  vault {\n    address = \"http://127.0.0.1:1\"\n  }\n");
        w.run(&["validate", "-no-color"]).ok();
        w.run(&["plan", "-no-color", "-input=false"]).ok();
    }
}

#[test]
fn tf_log_debug_shows_provider_log_lines() {
    for tf in terraforms() {
        let w = Workdir::new(&tf, &format!("{}\n{ENDPOINTS}", provider_block()));
        let r = w
            .run_env(
                &["plan", "-no-color", "-input=false"],
                &[("TF_LOG", "debug")],
            )
            .ok();
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains("provider configured"))
            .unwrap_or_else(|| {
                panic!(
                    "no provider log line under TF_LOG=debug on {}:\n{}",
                    tf.version,
                    r.stderr
                        .lines()
                        .filter(|l| l.contains("provider"))
                        .take(40)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            });
        assert!(line.contains("[DEBUG]"), "shown at its own level: {line}");
        assert!(line.contains("provider.terraform-provider-dbaas"), "{line}");
    }
}

#[test]
fn admin_password_from_vault_kv() {
    use crate::harness::{psql_admin, vault_post, version_tag};
    // The admin password lives only in Vault KV v2; the provider reads it on first use.
    vault_post(
        "secret/data/acc/postgres-admin",
        &serde_json::json!({ "data": { "username": stack("PGUSER"), "password": stack("PGPASSWORD") } }),
    );
    for tf in terraforms() {
        let name = format!("acc_kv_{}", version_tag(&tf));
        let _guard = Cleanup::tenants(&[&name]);
        let hcl = format!(
            "{}{}",
            postgres_vault_provider(
                "    password_vault_path = \"secret/data/acc/postgres-admin\"\n"
            ),
            resource(
                PGDB,
                "kv",
                &name,
                "  deletion_protection = false\n  pgbouncer_auth      = false"
            ),
        );
        let w = Workdir::new(&tf, &hcl);
        // No PGUSER/PGPASSWORD in the provider's environment: only Vault can supply them.
        let r = apply_env(&w, NO_PG_LOGIN);
        assert_eq!(r.code, 0, "{}", r.all());
        assert_eq!(
            psql_admin(
                "postgres",
                &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")
            )
            .unwrap_or_default(),
            "1"
        );
        assert!(
            !w.state_text().contains(&stack("PGPASSWORD")),
            "admin password reached the state"
        );
        let r = destroy_env(&w, NO_PG_LOGIN);
        assert_eq!(r.code, 0, "{}", r.all());

        // A path that does not exist is an error naming the path, at apply (not at plan of nothing).
        w.write(&hcl.replace("secret/data/acc/postgres-admin", "secret/data/acc/missing"));
        let r = apply_env(&w, NO_PG_LOGIN).failed();
        assert!(r.all().contains("secret/data/acc/missing"), "{}", r.all());
    }
}

#[test]
fn pgbouncer_pools_lists_every_admin_host_and_filters_by_database() {
    let hcl = r#"
data "dbaas_pgbouncer_pools" "all" {}
data "dbaas_pgbouncer_pools" "none" {
  database = "no_such_database_here"
}

output "all_id" { value = data.dbaas_pgbouncer_pools.all.id }
output "hosts" { value = distinct([for p in data.dbaas_pgbouncer_pools.all.pools : p.admin_host]) }
output "none_id" { value = data.dbaas_pgbouncer_pools.none.id }
output "none" { value = length(data.dbaas_pgbouncer_pools.none.pools) }
"#;
    for tf in terraforms() {
        let w = Workdir::new(&tf, &format!("{}\n{hcl}", provider_block()));
        w.apply().ok();
        let out = w.outputs();
        assert_eq!(out["all_id"], "*");
        assert_eq!(out["none_id"], "no_such_database_here");
        assert_eq!(out["none"].as_i64(), Some(0), "{out}");
        // PgBouncer's own admin database is a pool on every replica.
        let hosts = out["hosts"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(hosts, pgbouncer_ports().len(), "{out}");
        assert!(
            w.plan_is_empty(),
            "second plan must be empty on {}",
            tf.version
        );
    }
}

/// `password_wo_version` only says when to send `password_wo` again: alone it does
/// nothing, so `validate` refuses it on that attribute for both types that take a
/// write-only password (no backend is dialled: validate never configures the provider).
#[test]
fn password_wo_version_without_password_wo_is_refused_on_the_attribute() {
    let configs = [
        resource(RNS, "x", "acc_wover", "  password_wo_version = 1"),
        connection("x", "acc_wover", "postgres", "  password_wo_version = 1\n"),
    ];
    for tf in each_terraform() {
        for hcl in &configs {
            let w = Workdir::new(&tf, &format!("{}\n{hcl}", provider_block()));
            let r = w.run(&["validate", "-no-color"]).failed();
            assert!(
                flat(&r.all()).contains("password_wo_version without password_wo")
                    && points_at(&r.all(), "password_wo_version"),
                "refused on password_wo_version:\n{hcl}\n{}",
                r.all()
            );
        }
    }
}
