//! Issue 12, items 4 and 5. `ephemeral "dbaas_database_credentials"` for a rotation
//! role created in the same configuration, applied once (Terraform 1.10+): Open at plan
//! time answers "known after apply" while the role does not exist, and at apply reads,
//! verifies and hands real credentials to an app login (a `local-exec` provisioner,
//! which accepts ephemeral values); Close revokes the lease. One case per engine
//! (PostgreSQL through PgBouncer, MySQL, Redis), each checking that the login worked and
//! is gone after the run. Then behaviours the docs now state: the admin username read
//! from Vault KV reaches Vault's connection.
use std::path::Path;

use crate::fixture::{
    allowed_role, apply_env, assert_opened_and_closed, connection, create_login, destroy_env,
    ephemeral_login, hcl_str, leases_under, mysql_user_exists, newer_terraform, pg_role_exists,
    postgres_vault_provider, redis_user_exists, resource, role as rotation_role, Case, Cleanup,
    CONN, MYDB, NO_PG_LOGIN, PGDB, RNS,
};
use crate::harness::{
    provider_block, psql_admin, stack, terraforms, vault_delete, vault_get, vault_post,
    version_tag, Terraform, Workdir,
};

/// The newer Terraform, or `None` (with a printed note) when only v1.0.3 exists.
fn newer() -> Option<Terraform> {
    newer_terraform("the acc_eph_ cases (ephemeral resources need Terraform 1.10+)")
}

/// One engine's tenant: its resource, the connection's engine and the role's database.
struct Engine {
    engine: &'static str,
    /// The tenant's resource type (labelled `app`).
    ty: &'static str,
    /// Extra attribute lines of the tenant resource.
    extra: &'static str,
    /// The app's login: a shell command (reads `U`, `P`, `H`, `N`, `D`) that prints who it is.
    login: &'static str,
}

const POSTGRES: Engine = Engine {
    engine: "postgres",
    ty: PGDB,
    extra: "  deletion_protection = false",
    login: r#"PGPASSWORD="$P" psql -X -At -v ON_ERROR_STOP=1 -h "$H" -p "$N" -U "$U" -d "$D" -c 'SELECT session_user'"#,
};

const MYSQL: Engine = Engine {
    engine: "mysql",
    ty: MYDB,
    extra: "  deletion_protection = false",
    login: r#"MYSQL_PWD="$P" mariadb --protocol=TCP -h "$H" -P "$N" -u "$U" -D "$D" -N -B -e 'SELECT CURRENT_USER()'"#,
};

const REDIS: Engine = Engine {
    engine: "redis",
    ty: RNS,
    extra: "",
    login: r#"REDISCLI_AUTH="$P" redis-cli --no-auth-warning -h "$H" -p "$N" --user "$U" PING"#,
};

/// The tenant `app` of engine `e`, its connection `conn` (engine `engine`) and the
/// rotation role `app` on it, without the provider block.
fn tenant_hcl(e: &Engine, name: &str, conn: &str, role_name: &str) -> String {
    format!(
        "{}\n{}\n{}",
        resource(e.ty, "app", name, e.extra),
        connection("conn", conn, e.engine, &allowed_role(role_name)),
        rotation_role("app", role_name, "conn", &format!("{}.app.name", e.ty), ""),
    )
}

/// The whole stack, applied at once: tenant, connection, role, the ephemeral credentials
/// of that role, and an app login through them at apply.
fn stack_hcl(e: &Engine, name: &str, conn: &str, role: &str) -> String {
    format!(
        r#"{provider}
{tenant}
# The app: its credentials, and a login with them that records who it was.
{login}"#,
        provider = provider_block(),
        tenant = tenant_hcl(e, name, conn, role),
        login = ephemeral_login(
            "dbaas_vault_rotation_role.app.name",
            "app_login",
            &format!(
                "\"printf %s \\\"$U\\\" > login_user.txt && {} > login_check.txt\"",
                e.login.replace('\\', "\\\\").replace('"', "\\\"")
            ),
            &[
                ("U", "username"),
                ("P", "password"),
                ("H", "host"),
                ("N", "port"),
                ("D", "database"),
            ],
        ),
    )
}

/// A case's tenant, connection and role names: `acc_eph_<short>_<v>`, `eph-<short>-<v>`
/// and `eph<short><v>-role`, unique per case (`short`) and Terraform version.
fn names(short: &str, tf: &Terraform) -> (String, String, String) {
    let v = version_tag(tf);
    (
        format!("acc_eph_{short}_{v}"),
        format!("eph-{short}-{v}"),
        format!("eph{short}{v}-role"),
    )
}

/// The named login still exists in the engine's user catalog.
fn login_exists(engine: &str, user: &str) -> bool {
    match engine {
        "postgres" => pg_role_exists(user),
        "mysql" => mysql_user_exists(user),
        _ => redis_user_exists(user),
    }
}

/// Leases Vault still holds for the role.
fn leases_of(role: &str) -> Vec<String> {
    leases_under(&format!("database/creds/{role}"))
}

/// The guard of one engine's case: its tenant, connection and role, swept on entry.
fn guard(engine: &str, name: &str, conn: &str, role: &str) -> Cleanup {
    let mut c = Cleanup::default();
    match engine {
        "postgres" => c.tenants.push(name.into()),
        "mysql" => c.mysql_dbs.push(name.into()),
        _ => c.redis_users.push(name.into()),
    }
    c.vault_connections.push(conn.into());
    c.vault_roles.push(role.into());
    c.swept()
}

/// A case running `hcl` on `tf` with [`guard`].
fn case(tf: &Terraform, hcl: &str, engine: &str, name: &str, conn: &str, role: &str) -> Case {
    let mut c = Case::new(tf, hcl);
    *c = guard(engine, name, conn, role);
    c
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
    let (name, conn, role) = names(short, &tf);
    let g = case(
        &tf,
        &stack_hcl(e, &name, &conn, &role),
        e.engine,
        &name,
        &conn,
        &role,
    );
    let w = &g.w;

    // One apply: the plan cannot read credentials of a role that does not exist yet.
    let r = w.apply().ok();
    assert_opened_and_closed(&r, "app");

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
    for (e, short) in [(&MYSQL, "vm"), (&REDIS, "vr")] {
        let (name, conn, role) = names(short, &tf);
        // Without the ephemeral block and the app: the tenant and its role first.
        let tenant_only = format!(
            "{}\n{}",
            provider_block(),
            tenant_hcl(e, &name, &conn, &role)
        );
        let g = case(&tf, &tenant_only, e.engine, &name, &conn, &role);
        let w = &g.w;
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
            "{}\n{}\noutput \"username\" {{\n  value = {CONN}.pg.username\n}}\n",
            postgres_vault_provider(&format!(
                "    username            = \"eph_not_this_user\"\n    password_vault_path = {}\n",
                hcl_str(path)
            )),
            connection(
                "pg",
                &conn,
                "postgres",
                // The provider's admin, not a dedicated one (issue 22's default).
                &format!(
                    "{}  dedicated_admin = false\n",
                    allowed_role(&format!("{conn}-none"))
                )
            ),
        );
        let w = Workdir::new(&tf, &hcl);
        let r = apply_env(&w, NO_PG_LOGIN);
        let ok = r.code == 0;
        let cfg = vault_get(&format!("database/config/{conn}"));
        let empty = ok && w.plan_is_empty();
        let _ = destroy_env(&w, NO_PG_LOGIN);
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
    let (name, conn, role) = names("st", &tf);
    let login = format!("{name}_app");
    let base = format!(
        "{}\n{}\n{}",
        provider_block(),
        resource(PGDB, "app", &name, POSTGRES.extra),
        connection("conn", &conn, "postgres", &allowed_role(&role)),
    );
    let mut g = case(&tf, &base, "postgres", &name, &conn, &role);
    g.w.apply().ok();
    create_login(
        &mut g,
        &login,
        "eph-initial-Secret1",
        Some(&format!("{name}_readwrite")),
    );
    let w = &g.w;
    let role_hcl = rotation_role(
        "app",
        &role,
        "conn",
        &format!("{PGDB}.app.name"),
        &format!(
            "  mode       = \"static\"\n  username   = {}\n",
            hcl_str(&login)
        ),
    );
    w.write(&format!(
        r#"{base}
{role_hcl}

{}"#,
        ephemeral_login(
            "dbaas_vault_rotation_role.app.name",
            "app_login",
            r#""printf %s \"$D\" > login_database.txt""#,
            &[("D", "database")],
        )
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
