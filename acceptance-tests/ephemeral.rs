//! Issue 12, items 4 and 5. `ephemeral "dbaas_database_credentials"` for a rotation
//! role created in the same configuration, applied once (Terraform 1.10+): Open at plan
//! time answers "known after apply" while the role does not exist, and at apply reads,
//! verifies and hands real credentials to an app login (a `local-exec` provisioner,
//! which accepts ephemeral values); Close revokes the lease. One case per engine
//! (PostgreSQL through PgBouncer, MySQL, Redis), each checking that the login worked and
//! is gone after the run. Then behaviours the docs now state: the admin username read
//! from Vault KV reaches Vault's connection.
use std::path::Path;
use std::process::Command;

use crate::harness::{
    provider_block, psql_admin, stack, terraforms, vault_delete, vault_get, vault_post,
    vault_request, version_tag, Terraform, Workdir,
};

/// The newer Terraform, or `None` (with a printed note) when only v1.0.3 exists.
fn newer() -> Option<Terraform> {
    let t = terraforms()
        .into_iter()
        .find(|t| !t.version.starts_with("v1.0."));
    if t.is_none() {
        eprintln!("note: ephemeral resources need Terraform 1.10+; only v1.0.3 is available, so the acc_eph_ cases are skipped");
    }
    t
}

/// One engine's tenant: its resource, the connection's engine and the role's database.
struct Engine {
    engine: &'static str,
    /// The tenant resource (`name` is substituted).
    tenant: &'static str,
    /// An expression naming the tenant for the role's `database`.
    database: &'static str,
    /// The app's login: a shell command (reads `U`, `P`, `H`, `N`, `D`) that prints who it is.
    login: &'static str,
}

const POSTGRES: Engine = Engine {
    engine: "postgres",
    tenant: r#"resource "dbaas_shared_postgres_database" "app" {
  name                = "NAME"
  deletion_protection = false
}"#,
    database: "dbaas_shared_postgres_database.app.name",
    login: r#"PGPASSWORD="$P" psql -X -At -v ON_ERROR_STOP=1 -h "$H" -p "$N" -U "$U" -d "$D" -c 'SELECT session_user'"#,
};

const MYSQL: Engine = Engine {
    engine: "mysql",
    tenant: r#"resource "dbaas_shared_mysql_database" "app" {
  name                = "NAME"
  deletion_protection = false
}"#,
    database: "dbaas_shared_mysql_database.app.name",
    login: r#"MYSQL_PWD="$P" mariadb --protocol=TCP -h "$H" -P "$N" -u "$U" -D "$D" -N -B -e 'SELECT CURRENT_USER()'"#,
};

const REDIS: Engine = Engine {
    engine: "redis",
    tenant: r#"resource "dbaas_shared_redis_namespace" "app" {
  name = "NAME"
}"#,
    database: "dbaas_shared_redis_namespace.app.name",
    login: r#"REDISCLI_AUTH="$P" redis-cli --no-auth-warning -h "$H" -p "$N" --user "$U" PING"#,
};

/// The whole stack, applied at once: tenant, connection, role, the ephemeral credentials
/// of that role, and an app login through them at apply.
fn stack_hcl(e: &Engine, name: &str, conn: &str, role: &str) -> String {
    let tenant = e.tenant.replace("NAME", name);
    let login = e.login;
    let (engine, database) = (e.engine, e.database);
    format!(
        r#"{provider}
{tenant}

resource "dbaas_vault_database_connection" "conn" {{
  name          = "{conn}"
  engine        = "{engine}"
  allowed_roles = ["{role}"]
}}

resource "dbaas_vault_rotation_role" "app" {{
  name       = "{role}"
  connection = dbaas_vault_database_connection.conn.name
  database   = {database}
}}

ephemeral "dbaas_database_credentials" "app" {{
  role = dbaas_vault_rotation_role.app.name
}}

# The app: logs in with the credentials and records who it was.
resource "terraform_data" "app_login" {{
  provisioner "local-exec" {{
    command = "printf %s \"$U\" > login_user.txt && {login_escaped} > login_check.txt"
    environment = {{
      U = ephemeral.dbaas_database_credentials.app.username
      P = ephemeral.dbaas_database_credentials.app.password
      H = ephemeral.dbaas_database_credentials.app.host
      N = ephemeral.dbaas_database_credentials.app.port
      D = ephemeral.dbaas_database_credentials.app.database
    }}
  }}
}}
"#,
        provider = provider_block(),
        login_escaped = login.replace('\\', "\\\\").replace('"', "\\\""),
    )
}

/// The named login still exists in the engine's user catalog.
fn login_exists(engine: &str, user: &str) -> bool {
    match engine {
        "postgres" => {
            psql_admin(
                "postgres",
                &format!(
                    "SELECT count(*) FROM pg_roles WHERE rolname = '{}'",
                    user.replace('\'', "''")
                ),
            )
            .unwrap_or_default()
                != "0"
        }
        "mysql" => {
            let out = Command::new("mariadb")
                .args(["--protocol=TCP", "-h"])
                .arg(stack("DBAAS_MYSQL_HOST"))
                .arg("-P")
                .arg(stack("DBAAS_MYSQL_PORT"))
                .arg("-u")
                .arg(stack("DBAAS_MYSQL_USER"))
                .env("MYSQL_PWD", stack("DBAAS_MYSQL_PASSWORD"))
                .args(["-N", "-B", "-e"])
                .arg(format!(
                    "SELECT count(*) FROM mysql.user WHERE User = '{}'",
                    user.replace('\\', "\\\\").replace('\'', "''")
                ))
                .output();
            out.map(|o| String::from_utf8_lossy(&o.stdout).trim() != "0")
                .unwrap_or(true)
        }
        _ => {
            let out = Command::new("redis-cli")
                .arg("--no-auth-warning")
                .arg("-h")
                .arg(stack("DBAAS_REDIS_HOST"))
                .arg("-p")
                .arg(stack("DBAAS_REDIS_PORT"))
                .env("REDISCLI_AUTH", stack("DBAAS_REDIS_PASSWORD"))
                .args(["ACL", "USERS"])
                .output();
            out.map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l == user)
            })
            .unwrap_or(true)
        }
    }
}

/// Leases Vault still holds for the role.
fn leases_of(role: &str) -> Vec<serde_json::Value> {
    vault_get(&format!(
        "sys/leases/lookup/database/creds/{role}?list=true"
    ))
    .and_then(|l| l["data"]["keys"].as_array().cloned())
    .unwrap_or_default()
}

/// Removes whatever the case made, Terraform first, then directly.
struct Guard<'a> {
    w: &'a Workdir,
    engine: &'static str,
    name: String,
    conn: String,
    role: String,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let _ = self.w.destroy();
        cleanup(self.engine, &self.name, &self.conn, &self.role);
    }
}

fn cleanup(engine: &str, name: &str, conn: &str, role: &str) {
    let _ = vault_request(
        "PUT",
        &format!("sys/leases/revoke-prefix/database/creds/{role}"),
        Some(&serde_json::json!({})),
    );
    let _ = vault_delete(&format!("database/roles/{role}"));
    let _ = vault_delete(&format!("database/config/{conn}"));
    match engine {
        "postgres" => {
            let _ = psql_admin(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
            for suffix in ["owner", "readwrite", "readonly"] {
                let _ = psql_admin(
                    "postgres",
                    &format!("DROP ROLE IF EXISTS \"{name}_{suffix}\""),
                );
            }
        }
        "mysql" => {
            let _ = Command::new("mariadb")
                .args(["--protocol=TCP", "-h"])
                .arg(stack("DBAAS_MYSQL_HOST"))
                .arg("-P")
                .arg(stack("DBAAS_MYSQL_PORT"))
                .arg("-u")
                .arg(stack("DBAAS_MYSQL_USER"))
                .env("MYSQL_PWD", stack("DBAAS_MYSQL_PASSWORD"))
                .arg("-e")
                .arg(format!("DROP DATABASE IF EXISTS `{name}`"))
                .output();
        }
        _ => {
            let _ = Command::new("redis-cli")
                .arg("--no-auth-warning")
                .arg("-h")
                .arg(stack("DBAAS_REDIS_HOST"))
                .arg("-p")
                .arg(stack("DBAAS_REDIS_PORT"))
                .env("REDISCLI_AUTH", stack("DBAAS_REDIS_PASSWORD"))
                .args(["ACL", "DELUSER", name])
                .output();
        }
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Applies the whole stack for `e` once and checks the app's login and its revocation.
fn first_apply(e: &Engine, short: &str) {
    let Some(tf) = newer() else { return };
    let v = version_tag(&tf);
    let name = format!("acc_eph_{short}_{v}");
    let conn = format!("eph-{short}-{v}");
    let role = format!("eph{short}{v}-role");
    cleanup(e.engine, &name, &conn, &role);
    let w = Workdir::new(&tf, &stack_hcl(e, &name, &conn, &role));
    let _guard = Guard {
        w: &w,
        engine: e.engine,
        name: name.clone(),
        conn: conn.clone(),
        role: role.clone(),
    };

    // One apply: the plan cannot read credentials of a role that does not exist yet.
    let r = w.apply().ok();
    assert!(
        r.stdout
            .contains("ephemeral.dbaas_database_credentials.app: Opening"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Closing complete"), "{}", r.stdout);

    // The app logged in with what the ephemeral resource returned (verify did too).
    let user = read(w.path(), "login_user.txt");
    let check = read(w.path(), "login_check.txt");
    // Vault's username templates: `v-token-<role>-...` (Redis: `V_TOKEN_<ROLE>_...`).
    let issued = user.to_ascii_lowercase();
    assert!(
        issued.starts_with("v-") || issued.starts_with("v_"),
        "a Vault-issued login: {user:?}"
    );
    match e.engine {
        "postgres" => assert_eq!(
            check, user,
            "psql logged in as the issued login (current_user is the owner it runs as)"
        ),
        "mysql" => assert!(check.starts_with(&user), "mariadb ran as {check:?}"),
        _ => assert_eq!(check, "PONG", "redis-cli PING as the issued login"),
    }

    // Closed at the end of the run: the login is gone and Vault holds no lease.
    assert!(
        !login_exists(e.engine, &user),
        "{user} still exists after the run"
    );
    assert!(
        leases_of(&role).is_empty(),
        "leases left: {:?}",
        leases_of(&role)
    );
    let state = w.state_text();
    assert!(!state.contains(&user), "the issued login reached the state");

    // Later runs read the existing role; the app's login ran once and is not replayed.
    assert!(w.plan_is_empty());
    assert!(leases_of(&role).is_empty(), "the plan's lease was revoked");
}

#[test]
fn acc_eph_postgres_role_and_credentials_in_one_apply() {
    first_apply(&POSTGRES, "pg");
}

#[test]
fn acc_eph_mysql_role_and_credentials_in_one_apply() {
    first_apply(&MYSQL, "my");
}

#[test]
fn acc_eph_redis_role_and_credentials_in_one_apply() {
    first_apply(&REDIS, "rd");
}

/// A role that is neither in Vault nor in the configuration is still an error at
/// plan, on `role`, with the hint to reference the role resource.
#[test]
fn acc_eph_missing_role_outside_the_configuration_is_an_error() {
    let Some(tf) = newer() else { return };
    let v = version_tag(&tf);
    let hcl = format!(
        r#"{provider}
ephemeral "dbaas_database_credentials" "app" {{
  role = "eph-missing-{v}"
}}
"#,
        provider = provider_block()
    );
    let w = Workdir::new(&tf, &hcl);
    let r = w.run(&["plan", "-no-color", "-input=false"]).failed();
    let all = r.all();
    assert!(all.contains("No Vault role"), "{all}");
    assert!(all.contains("dbaas_vault_rotation_role"), "{all}");
}

/// `verify` logs in through the engine's endpoint: a provider whose MySQL or Redis
/// endpoint refuses the login fails the run, and the lease is revoked.
#[test]
fn acc_eph_verify_fails_the_run_for_mysql_and_redis_endpoints_that_refuse() {
    let Some(tf) = newer() else { return };
    let v = version_tag(&tf);
    for (e, short) in [(&MYSQL, "vm"), (&REDIS, "vr")] {
        let name = format!("acc_eph_{short}_{v}");
        let conn = format!("eph-{short}-{v}");
        let role = format!("eph{short}{v}-role");
        cleanup(e.engine, &name, &conn, &role);
        let base = stack_hcl(e, &name, &conn, &role);
        // Without the ephemeral block and the app: the tenant and its role first.
        let tenant_only = base[..base
            .find("ephemeral \"dbaas_database_credentials\"")
            .unwrap_or(base.len())]
            .to_string();
        let w = Workdir::new(&tf, &tenant_only);
        let _guard = Guard {
            w: &w,
            engine: e.engine,
            name: name.clone(),
            conn: conn.clone(),
            role: role.clone(),
        };
        w.apply().ok();
        // An aliased provider whose endpoint for this engine is a closed port.
        let block = if e.engine == "mysql" {
            "mysql"
        } else {
            "redis"
        };
        w.write(&format!(
            r#"{tenant_only}
provider "dbaas" {{
  alias = "closed"
  {block} {{
    host     = "127.0.0.1"
    port     = 9
    username = "nobody"
    password = "x"
  }}
  vault {{
    address = "{addr}"
    token   = "{token}"
  }}
}}

ephemeral "dbaas_database_credentials" "app" {{
  provider = dbaas.closed
  role     = dbaas_vault_rotation_role.app.name
}}

resource "terraform_data" "use" {{
  provisioner "local-exec" {{
    command     = "true"
    environment = {{ U = ephemeral.dbaas_database_credentials.app.username }}
  }}
}}
"#,
            addr = stack("VAULT_ADDR"),
            token = stack("VAULT_TOKEN"),
        ));
        let r = w.apply().failed();
        let all = r.all();
        assert!(
            all.contains("do not work through 127.0.0.1:9"),
            "{}: {all}",
            e.engine
        );
        assert!(!all.contains("\"x\""), "no password in the error");
        assert!(
            leases_of(&role).is_empty(),
            "{}: the failed login's lease must be revoked",
            e.engine
        );
        w.write(&tenant_only);
    }
}

/// The admin block reads its password, and a `username`, from Vault KV: Vault's
/// connection gets that username by default, not the block's (with which Vault's
/// connection check would fail).
#[test]
fn acc_eph_kv_username_reaches_the_vault_connection() {
    let path = "secret/data/eph/postgres-admin";
    vault_post(
        path,
        &serde_json::json!({ "data": { "username": stack("PGUSER"), "password": stack("PGPASSWORD") } }),
    );
    for tf in terraforms() {
        let conn = format!("eph-kv-{}", version_tag(&tf));
        let _ = vault_delete(&format!("database/config/{conn}"));
        let hcl = format!(
            r#"provider "dbaas" {{
  postgres {{
    host                = "{host}"
    port                = {port}
    sslmode             = "disable"
    username            = "eph_not_this_user"
    password_vault_path = "{path}"
  }}
  vault {{
    address = "{vault}"
    token   = "{token}"
  }}
}}

resource "dbaas_vault_database_connection" "pg" {{
  name          = "{conn}"
  engine        = "postgres"
  allowed_roles = ["{conn}-none"]
}}

output "username" {{
  value = dbaas_vault_database_connection.pg.username
}}
"#,
            host = stack("PGHOST"),
            port = stack("PGPORT"),
            vault = stack("VAULT_ADDR"),
            token = stack("VAULT_TOKEN"),
        );
        let w = Workdir::new(&tf, &hcl);
        let r = w.run_env(
            &["apply", "-auto-approve", "-no-color", "-input=false"],
            &[("PGPASSWORD", ""), ("PGUSER", "")],
        );
        let ok = r.code == 0;
        let cfg = vault_get(&format!("database/config/{conn}"));
        let empty = ok && w.plan_is_empty();
        let _ = w.run_env(
            &["destroy", "-auto-approve", "-no-color", "-input=false"],
            &[("PGPASSWORD", ""), ("PGUSER", "")],
        );
        let _ = vault_delete(&format!("database/config/{conn}"));
        assert!(ok, "{} on {}", r.all(), tf.version);
        assert!(empty, "plan after apply is empty on {}", tf.version);
        let cfg = cfg.unwrap_or_default();
        assert_eq!(
            cfg["data"]["connection_details"]["username"],
            stack("PGUSER").as_str(),
            "Vault connects as the KV secret's username on {}: {cfg}",
            tf.version
        );
    }
}

/// A static PostgreSQL role: with no `database` configured, the credentials log in to
/// the database of the login's tenant group (Vault keeps no database for a static role).
#[test]
fn acc_eph_static_role_database_defaults_to_the_logins_tenant_database() {
    let Some(tf) = newer() else { return };
    let v = version_tag(&tf);
    let name = format!("acc_eph_st_{v}");
    let conn = format!("eph-st-{v}");
    let role = format!("eph-st-{v}-role");
    let login = format!("acc_eph_st_{v}_app");
    cleanup("postgres", &name, &conn, &role);
    let _ = psql_admin("postgres", &format!("DROP ROLE IF EXISTS \"{login}\""));
    let base = format!(
        r#"{provider}
resource "dbaas_shared_postgres_database" "app" {{
  name                = "{name}"
  deletion_protection = false
}}

resource "dbaas_vault_database_connection" "conn" {{
  name          = "{conn}"
  engine        = "postgres"
  allowed_roles = ["{role}"]
}}
"#,
        provider = provider_block()
    );
    let w = Workdir::new(&tf, &base);
    let _guard = Guard {
        w: &w,
        engine: "postgres",
        name: name.clone(),
        conn: conn.clone(),
        role: role.clone(),
    };
    w.apply().ok();
    psql_admin(
        "postgres",
        &format!("CREATE ROLE \"{login}\" LOGIN PASSWORD 'eph-initial-Secret1' IN ROLE \"{name}_readwrite\""),
    )
    .unwrap_or_else(|e| panic!("hand-made login: {e}"));
    w.write(&format!(
        r#"{base}
resource "dbaas_vault_rotation_role" "app" {{
  name       = "{role}"
  connection = dbaas_vault_database_connection.conn.name
  database   = dbaas_shared_postgres_database.app.name
  mode       = "static"
  username   = "{login}"
}}

ephemeral "dbaas_database_credentials" "app" {{
  role = dbaas_vault_rotation_role.app.name
}}

resource "terraform_data" "app_login" {{
  provisioner "local-exec" {{
    command     = "printf %s \"$D\" > login_database.txt"
    environment = {{ D = ephemeral.dbaas_database_credentials.app.database }}
  }}
}}
"#
    ));
    let r = w.apply();
    // The static role must go before the login it rotates.
    w.write(&base);
    let _ = w.apply();
    let _ = vault_delete(&format!("database/static-roles/{role}"));
    let _ = psql_admin("postgres", &format!("DROP ROLE IF EXISTS \"{login}\""));
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        read(w.path(), "login_database.txt"),
        name,
        "verify logged in there"
    );
}
