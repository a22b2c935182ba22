//! Lookups and app wiring (issue 22, item 5), from the side of a stack that does not own
//! the objects: `data "dbaas_shared_postgres_database"`, `data "dbaas_shared_redis_namespace"`
//! and `data "dbaas_vault_rotation_role"` find another stack's objects by name and give the
//! app its host, port, owner, creds path and policy; a name that does not exist, or an
//! object this provider did not make, is an error naming it. `dbaas_endpoints` gives the
//! TLS settings and a read-only PostgreSQL endpoint: a `readonly` login pointed there
//! reaches a hot standby (`pg_is_in_recovery()`) through the replica's PgBouncer
//! (`scripts/dev-stack replica-up`) and reads the tenant's data once replicated.

use std::time::Duration;

use crate::fixture::{
    config, each_terraform, flat, name_of, pg_admin, read_creds, redis_admin, role_outputs, tagged,
    via_pgbouncer, wait_until, Case, Stack, PGDB, RNS,
};
use crate::harness::{psql, stack, vault_post, Workdir};

/// A dev-stack variable, or its default when the environment was printed by a checkout
/// whose `env` predates the replica step.
fn stack_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Port of the replica's PgBouncer (the read-only endpoint).
fn ro_port() -> String {
    stack_or("DBAAS_PGBOUNCER_RO_PORT", "56435")
}

/// The whole dev stack's provider block with the read-only pooler in `pgbouncer`.
fn config_with_ro(body: &str) -> String {
    let with = format!(
        "  pgbouncer {{\n    ro_host        = \"{}\"\n    ro_port        = {}\n",
        stack("DBAAS_PGBOUNCER_HOST"),
        ro_port()
    );
    config(body).replacen("  pgbouncer {\n", &with, 1)
}

const ENDPOINT_OUTPUTS: &str = r#"
data "dbaas_endpoints" "this" {}

output "ro_host" { value = data.dbaas_endpoints.this.postgres_ro_host }
output "ro_port" { value = data.dbaas_endpoints.this.postgres_ro_port }
output "sslmode" { value = data.dbaas_endpoints.this.postgres_sslmode }
output "redis_tls" { value = data.dbaas_endpoints.this.redis_tls }
"#;

#[test]
fn readonly_login_through_the_read_only_endpoint_reads_a_replica() {
    for tf in each_terraform() {
        let [db, other, conn] = tagged(&tf, ["acc_lkro", "acc_lkro_other", "lkro"]);
        let (owner, reader) = (format!("{conn}-owner"), format!("{conn}-reader"));
        let stack_hcl = Stack::default()
            .database("db", &db)
            .database("other", &other)
            .connection("pg", &conn, "postgres", "")
            .role("owner", &owner, "pg", &name_of(PGDB, "db"), "")
            .role(
                "reader",
                &reader,
                "pg",
                &name_of(PGDB, "db"),
                "  access     = \"readonly\"\n",
            )
            .hcl(ENDPOINT_OUTPUTS);
        let body = stack_hcl.body().to_string();
        let mut g = stack_hcl.case(&tf);
        g.w.write(&config_with_ro(&body));
        g.apply_clean();
        let out = g.w.outputs();
        assert_eq!(out["ro_host"], stack("DBAAS_PGBOUNCER_HOST").as_str());
        assert_eq!(out["ro_port"].as_i64(), ro_port().parse::<i64>().ok());
        assert_eq!(
            out["sslmode"], "prefer",
            "pgbouncer.admin_sslmode's default"
        );
        assert_eq!(out["redis_tls"], "disabled");

        let o = read_creds(&format!("database/creds/{owner}"));
        via_pgbouncer(
            &o,
            &db,
            "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2)",
        )
        .unwrap_or_else(|e| panic!("owner login writes on the primary: {e}"));
        let r = read_creds(&format!("database/creds/{reader}"));
        let ro = |sql: &str| psql(&db, &r.username, &r.password, &ro_port(), sql);
        assert!(
            wait_until(Duration::from_secs(30), || ro("SELECT count(*) FROM items")
                .is_ok_and(|n| n == "2")),
            "the readonly login reads the replicated rows through the read-only endpoint: {:?}",
            ro("SELECT count(*) FROM items")
        );
        assert_eq!(
            ro("SELECT pg_is_in_recovery()").as_deref(),
            Ok("t"),
            "the read-only endpoint is a standby"
        );
        let err = ro("INSERT INTO items VALUES (3)").expect_err("a standby refuses writes");
        assert!(err.contains("read-only"), "{err}");
        // Hostile: the replica path keeps the tenant boundary (CONNECT revoked from PUBLIC
        // is replicated; the pooler's auth_query serves tenant logins only).
        let err = psql(&other, &r.username, &r.password, &ro_port(), "SELECT 1")
            .expect_err("a tenant login must not reach another tenant's database on the replica");
        assert!(
            err.contains("no such user") || err.contains("permission denied"),
            "{err}"
        );
        let admin = psql(
            &db,
            "postgres",
            &stack("PGPASSWORD"),
            &ro_port(),
            "SELECT 1",
        );
        assert!(
            admin.is_err(),
            "the replica pooler must not log the superuser in: {admin:?}"
        );
        g.destroy();
    }
}

/// The lookups of another stack's objects, with their outputs.
fn lookups(db: &str, ns: &str, role: &str) -> String {
    format!(
        r#"
data "dbaas_shared_postgres_database" "db" {{
  name = "{db}"
}}
data "dbaas_shared_redis_namespace" "ns" {{
  name = "{ns}"
}}
data "dbaas_vault_rotation_role" "app" {{
  name = "{role}"
}}
output "db_owner" {{ value = data.dbaas_shared_postgres_database.db.owner }}
output "db_host" {{ value = data.dbaas_shared_postgres_database.db.host }}
output "db_port" {{ value = data.dbaas_shared_postgres_database.db.port }}
output "db_readonly_group" {{ value = data.dbaas_shared_postgres_database.db.readonly_group }}
output "ns_prefix" {{ value = data.dbaas_shared_redis_namespace.ns.key_prefix }}
output "ns_port" {{ value = data.dbaas_shared_redis_namespace.ns.port }}
output "role_creds_path" {{ value = data.dbaas_vault_rotation_role.app.creds_path }}
output "role_policy" {{ value = data.dbaas_vault_rotation_role.app.policy }}
output "role_database" {{ value = data.dbaas_vault_rotation_role.app.database }}
output "role_engine" {{ value = data.dbaas_vault_rotation_role.app.engine }}
output "role_host" {{ value = data.dbaas_vault_rotation_role.app.host }}
"#
    )
}

#[test]
fn lookups_find_another_stacks_objects_by_name_and_refuse_strangers() {
    for tf in each_terraform() {
        let [db, ns, conn, stranger] = tagged(&tf, ["acc_lkdb", "lkns", "lkpg", "acc_lkx"]);
        let app = format!("{conn}-app");
        let (hand, bare) = (format!("{conn}-hand"), format!("{conn}-bare"));
        let ns_hcl = format!(
            "resource \"{RNS}\" \"ns\" {{\n  name = \"{ns}\"\n}}\n{}",
            role_outputs("app")
        );
        // The owning stack.
        let mut owner = Stack::default()
            .database("db", &db)
            .connection("pg", &conn, "postgres", "")
            .role("app", &app, "pg", &name_of(PGDB, "db"), "")
            .hcl(&ns_hcl)
            .guard(|c| {
                c.redis_users.push(ns.clone());
                c.pg_databases.push(stranger.clone());
                c.pg_roles.push(format!("{stranger}_o"));
                c.vault_roles.extend([hand.clone(), bare.clone()]);
                c.redis_users.push(stranger.clone());
            })
            .case(&tf);
        owner.apply_clean();
        let owned = owner.w.outputs();

        // Another stack looks them up by name.
        let reader = Case::new(&tf, &config(&lookups(&db, &ns, &app)));
        reader.w.apply().ok();
        let out = reader.w.outputs();
        assert_eq!(out["db_owner"], format!("{db}_owner").as_str());
        assert_eq!(out["db_host"], stack("DBAAS_PGBOUNCER_HOST").as_str());
        assert_eq!(
            out["db_port"].as_i64(),
            stack("DBAAS_PGBOUNCER_PORT").parse::<i64>().ok()
        );
        assert_eq!(out["db_readonly_group"], format!("{db}_readonly").as_str());
        assert_eq!(out["ns_prefix"], format!("{ns}:").as_str());
        assert_eq!(
            out["ns_port"].as_i64(),
            stack("DBAAS_REDIS_PORT").parse::<i64>().ok()
        );
        assert_eq!(out["role_creds_path"], owned["app_creds_path"]);
        assert_eq!(out["role_policy"], owned["app_policy"]);
        assert_eq!(out["role_database"], db.as_str());
        assert_eq!(out["role_engine"], "postgres");
        assert_eq!(out["role_host"], stack("DBAAS_PGBOUNCER_HOST").as_str());
        assert!(
            reader.w.plan_is_empty(),
            "a lookup plans nothing after apply"
        );

        // Names nobody made, and objects this provider did not make.
        let missing = Workdir::new(
            &tf,
            &config(&lookups("acc_lk_none", "lk-none", "lk-none-role")),
        );
        let all = flat(&missing.run(&["plan", "-no-color", "-input=false"]).all());
        for says in [
            "No PostgreSQL database \"acc_lk_none\"",
            "No Redis namespace \"lk-none\"",
            "No Vault role \"lk-none-role\"",
        ] {
            assert!(all.contains(says), "{says}: {all}");
        }
        // Made by hand, owned by a plain role: neither the marker nor a tenant's groups.
        pg_admin("postgres", &format!("CREATE ROLE {stranger}_o NOLOGIN"));
        pg_admin(
            "postgres",
            &format!("CREATE DATABASE {stranger} OWNER {stranger}_o"),
        );
        redis_admin(&[
            "ACL", "SETUSER", &stranger, "on", ">x-pass", "allkeys", "+@all",
        ]);
        let foreign = Workdir::new(
            &tf,
            &config(&format!(
                "data \"dbaas_shared_postgres_database\" \"x\" {{\n  name = \"{stranger}\"\n}}\n\
                 data \"dbaas_shared_redis_namespace\" \"x\" {{\n  name = \"{stranger}\"\n}}\n"
            )),
        );
        // Vault roles written by hand on the owner's connection: one whose logins would
        // join the stranger's group, one whose statements name no tenant at all.
        let create = |group: &str| {
            serde_json::json!({
                "db_name": conn,
                "creation_statements": [format!("CREATE ROLE \"{{{{name}}}}\" LOGIN PASSWORD '{{{{password}}}}'{group}")],
            })
        };
        vault_post(
            &format!("database/roles/{hand}"),
            &create(&format!(" IN ROLE \"{stranger}_readonly\"")),
        );
        vault_post(&format!("database/roles/{bare}"), &create(""));
        foreign.write(&config(&format!(
            "data \"dbaas_shared_postgres_database\" \"x\" {{\n  name = \"{stranger}\"\n}}\n\
             data \"dbaas_shared_redis_namespace\" \"x\" {{\n  name = \"{stranger}\"\n}}\n\
             data \"dbaas_vault_rotation_role\" \"hand\" {{\n  name = \"{hand}\"\n}}\n\
             data \"dbaas_vault_rotation_role\" \"bare\" {{\n  name = \"{bare}\"\n}}\n"
        )));
        let all = flat(&foreign.run(&["plan", "-no-color", "-input=false"]).all());
        for says in [
            &format!("{stranger:?} is not a database this provider manages"),
            &format!("Redis user {stranger:?} is not a namespace this provider made"),
            &format!("Vault role {hand:?} is not one this provider made"),
            &format!("Its logins join the groups of database {stranger:?}"),
            &format!("Vault role {bare:?} is not one this provider made"),
            &"Its creation statements join no tenant group".to_string(),
        ] {
            assert!(all.contains(says.as_str()), "{says}: {all}");
        }
        drop(reader);
        owner.destroy();
    }
}
