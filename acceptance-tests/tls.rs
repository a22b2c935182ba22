//! Every backend over TLS verified against the dev stack's private CA (issue 11): the
//! tenant lifecycle with the right CA (and the client certificate where the backend
//! takes one), the error each backend gives with the wrong CA, and `plan -refresh=false`
//! with TLS settings against unreachable hosts opening nothing.
//!
//! Needs the TLS variables `scripts/dev-stack env` exports (`DBAAS_CA_CERT`,
//! `DBAAS_WRONG_CA_CERT`, `DBAAS_CLIENT_CERT`, `DBAAS_CLIENT_KEY`, `DBAAS_TLS_HOST`,
//! `DBAAS_REDIS_TLS_PORT`, `DBAAS_VAULT_TLS_ADDR`); a missing one fails the case by name.

use crate::fixture::{
    apply_clean, assert_plan_empty, connection, each_terraform, flat, plan_without_refresh,
    read_creds, redis_cli, role, tagged, via_pgbouncer, Case, Cleanup, CONN, MYDB, PGDB, RNS,
};
use crate::harness::{stack, version_tag, Workdir};

/// Which CA the provider block trusts, and where its hosts are.
struct Tls {
    /// CA file for every backend but Vault.
    ca: String,
    /// CA file for Vault.
    vault_ca: String,
    /// Every port `1` (nothing listens): for plans that must open no connection.
    closed: bool,
}

/// The dev stack's admin hosts of PgBouncer, as `"host:port"` HCL strings, on the TLS host
/// name (server certificates are for `localhost` and `127.0.0.1`).
fn admin_hosts(closed: bool) -> String {
    stack("DBAAS_PGBOUNCER_ADMIN_HOSTS")
        .split(',')
        .map(|h| {
            let port = if closed {
                "1"
            } else {
                h.rsplit(':').next().unwrap_or("")
            };
            format!("\"{}:{port}\"", stack("DBAAS_TLS_HOST"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The port of the dev stack's first PgBouncer admin console (the one errors name first).
fn first_admin_port() -> String {
    stack("DBAAS_PGBOUNCER_ADMIN_HOSTS")
        .split(',')
        .next()
        .and_then(|h| h.rsplit(':').next())
        .unwrap_or_default()
        .to_string()
}

/// A provider block reaching every backend over TLS: `verify-full` / `verify_identity` /
/// `tls = true` / https, all against `t.ca`, with the stack's client certificate for
/// PostgreSQL, MySQL and Redis.
fn tls_provider(t: &Tls) -> String {
    let host = stack("DBAAS_TLS_HOST");
    let port = |name: &str| {
        if t.closed {
            "1".to_string()
        } else {
            stack(name)
        }
    };
    let vault = if t.closed {
        format!("https://{host}:1")
    } else {
        stack("DBAAS_VAULT_TLS_ADDR")
    };
    let (ca, vault_ca, admin_hosts) = (&t.ca, &t.vault_ca, admin_hosts(t.closed));
    let [cert, key, pg_user, pg_password, pgb_admin, pgb_admin_password, pgb_auth] = [
        "DBAAS_CLIENT_CERT",
        "DBAAS_CLIENT_KEY",
        "PGUSER",
        "PGPASSWORD",
        "DBAAS_PGBOUNCER_ADMIN_USER",
        "DBAAS_PGBOUNCER_ADMIN_PASSWORD",
        "DBAAS_PGBOUNCER_AUTH_USER",
    ]
    .map(stack);
    let [my_user, my_password, redis_password, vault_token] = [
        "DBAAS_MYSQL_USER",
        "DBAAS_MYSQL_PASSWORD",
        "DBAAS_REDIS_PASSWORD",
        "VAULT_TOKEN",
    ]
    .map(stack);
    let [pg_port, pgb_port, my_port, redis_port] = [
        "PGPORT",
        "DBAAS_PGBOUNCER_PORT",
        "DBAAS_MYSQL_PORT",
        "DBAAS_REDIS_TLS_PORT",
    ]
    .map(port);
    format!(
        r#"provider "dbaas" {{
  postgres {{
    host        = "{host}"
    port        = {pg_port}
    username    = "{pg_user}"
    password    = "{pg_password}"
    sslmode     = "verify-full"
    sslrootcert = "{ca}"
    sslcert     = "{cert}"
    sslkey      = "{key}"
  }}
  pgbouncer {{
    host              = "{host}"
    port              = {pgb_port}
    admin_username    = "{pgb_admin}"
    admin_password    = "{pgb_admin_password}"
    admin_hosts       = [{admin_hosts}]
    auth_user         = "{pgb_auth}"
    admin_sslmode     = "verify-full"
    admin_sslrootcert = "{ca}"
  }}
  mysql {{
    host             = "{host}"
    port             = {my_port}
    username         = "{my_user}"
    password         = "{my_password}"
    tls              = "verify_identity"
    ca_cert_file     = "{ca}"
    client_cert_file = "{cert}"
    client_key_file  = "{key}"
  }}
  redis {{
    host             = "{host}"
    port             = {redis_port}
    password         = "{redis_password}"
    tls              = true
    ca_cert_file     = "{ca}"
    client_cert_file = "{cert}"
    client_key_file  = "{key}"
  }}
  vault {{
    address      = "{vault}"
    token        = "{vault_token}"
    ca_cert_file = "{vault_ca}"
  }}
}}
"#
    )
}

/// The tenant set: a PostgreSQL database, a MySQL database, a Redis namespace, and a Vault
/// connection with one dynamic rotation role per engine.
fn tenant_set(v: &str) -> String {
    format!(
        "resource \"{PGDB}\" \"pg\" {{\n  name                = \"acc_tls_{v}\"\n  deletion_protection = false\n}}\n\
         resource \"{MYDB}\" \"my\" {{\n  name                = \"acc_tls_{v}\"\n  deletion_protection = false\n}}\n\
         resource \"{RNS}\" \"rd\" {{\n  name                   = \"acc_tls_{v}\"\n  delete_keys_on_destroy = true\n}}\n\
         {}{}{}{}{}{}",
        connection("pg", &format!("tlspg_{v}"), "postgres", ""),
        role("pg", &format!("tlspg_{v}-app"), "pg", &format!("{PGDB}.pg.name"), ""),
        connection("my", &format!("tlsmy_{v}"), "mysql", ""),
        role("my", &format!("tlsmy_{v}-app"), "my", &format!("{MYDB}.my.name"), ""),
        connection("rd", &format!("tlsrd_{v}"), "redis", ""),
        role("rd", &format!("tlsrd_{v}-app"), "rd", &format!("{RNS}.rd.name"), ""),
    )
}

/// The PgBouncer pools data source: it reads every admin console. (Its output is a bool:
/// other cases on the same stack change the number of pools between plans.)
const POOLS: &str = "data \"dbaas_pgbouncer_pools\" \"p\" {}\noutput \"pools_read\" { value = length(data.dbaas_pgbouncer_pools.p.pools) >= 0 }\n";

#[test]
fn tls_tenant_lifecycle_with_every_backend_verified_against_the_private_ca() {
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let name = format!("acc_tls_{v}");
        let conns = [
            format!("tlspg_{v}"),
            format!("tlsmy_{v}"),
            format!("tlsrd_{v}"),
        ];
        let roles: Vec<String> = conns.iter().map(|c| format!("{c}-app")).collect();
        let right = Tls {
            ca: stack("DBAAS_CA_CERT"),
            vault_ca: stack("DBAAS_CA_CERT"),
            closed: false,
        };
        let body = tenant_set(&v);
        let mut g = Case::new(&tf, &format!("{}{body}{POOLS}", tls_provider(&right)));
        let c: Vec<&str> = conns.iter().map(String::as_str).collect();
        let r: Vec<&str> = roles.iter().map(String::as_str).collect();
        g.track(&[&name], &c, &r);
        g.mysql_dbs = vec![name.clone()];
        g.redis_users = vec![name.clone()];
        g.redis_keys = vec![format!("{name}:*")];
        g.sweep();

        g.w.apply().ok();
        assert!(g.w.outputs()["pools_read"] == true, "pools read over TLS");
        assert_plan_empty(&g.w, "apply over TLS");

        // Vault was handed the same TLS: its connections work, so its logins do.
        let pg_url = crate::harness::vault_get(&format!("database/config/{}", conns[0]))
            .map(|b| b["data"]["connection_details"]["connection_url"].to_string())
            .unwrap_or_default();
        assert!(
            pg_url.contains("sslmode=verify-full") && pg_url.contains("sslrootcert="),
            "the Vault PostgreSQL connection verifies like the provider: {pg_url}"
        );
        let my_url = crate::harness::vault_get(&format!("database/config/{}", conns[1]))
            .map(|b| b["data"]["connection_details"]["connection_url"].to_string())
            .unwrap_or_default();
        // With certificate files, Vault's MySQL TLS comes from `tls_ca` (not in the URL);
        // the wrong-CA case shows Vault verifies against it.
        assert!(
            !my_url.contains("tls=")
                && my_url.contains(&format!("tcp({}:", stack("DBAAS_TLS_HOST"))),
            "the Vault MySQL connection leaves TLS to tls_ca: {my_url}"
        );
        let pg = read_creds(&format!("database/creds/{}", roles[0]));
        g.pg_roles.push(pg.username.clone());
        assert_eq!(
            via_pgbouncer(&pg, &name, "SELECT 1").unwrap_or_else(|e| panic!("{e}")),
            "1"
        );
        let my = read_creds(&format!("database/creds/{}", roles[1]));
        g.mysql_users.push(my.username.clone());
        crate::fixture::mysql_as(&my.username, &my.password, Some(&name), "SELECT 1")
            .unwrap_or_else(|e| panic!("MySQL login Vault made over TLS: {e}"));
        let rd = read_creds(&format!("database/creds/{}", roles[2]));
        g.redis_users.push(rd.username.clone());
        redis_cli(
            &rd.username,
            &rd.password,
            &["SET", &format!("{name}:k"), "v"],
        )
        .unwrap_or_else(|e| panic!("Redis login Vault made over TLS: {e}"));

        // Unreachable hosts with the same TLS settings: plan -refresh=false and validate
        // open nothing (the data source, which always reads, is left out).
        let closed = Tls {
            ca: right.ca.clone(),
            vault_ca: right.ca.clone(),
            closed: true,
        };
        g.w.write(&format!("{}{body}", tls_provider(&closed)));
        let r = plan_without_refresh(&g.w);
        // Exit 2: the Vault connections' default URLs follow the (changed) ports; that
        // plan is computed from the configuration alone.
        assert!(
            r.code == 2 && !r.all().contains("Error"),
            "plan -refresh=false with TLS settings must succeed with no connection\n{}",
            r.all()
        );
        g.w.run(&["validate", "-no-color"]).ok();

        g.w.write(&format!("{}{body}{POOLS}", tls_provider(&right)));
        g.destroy();
        assert!(crate::harness::vault_get(&format!("database/config/{}", conns[0])).is_none());
    }
}

/// One resource per backend, each in its own working directory, with the wrong CA.
#[test]
fn tls_wrong_ca_fails_naming_the_backend_host_port_and_the_certificate_problem() {
    let host = stack("DBAAS_TLS_HOST");
    let first_admin = first_admin_port();
    for tf in each_terraform() {
        let v = version_tag(&tf);
        let wrong = tls_provider(&Tls {
            ca: stack("DBAAS_WRONG_CA_CERT"),
            vault_ca: stack("DBAAS_WRONG_CA_CERT"),
            closed: false,
        });
        // Vault reached with the right CA, handed the wrong one for MySQL. The connection keeps
        // the provider's admin (`dedicated_admin = false`) so that Vault's plugin is what dials
        // MySQL; with the dedicated admin (the default) the provider dials first and names MySQL
        // itself, as the MySQL case above checks.
        let wrong_for_vault_mysql = tls_provider(&Tls {
            ca: stack("DBAAS_WRONG_CA_CERT"),
            vault_ca: stack("DBAAS_CA_CERT"),
            closed: false,
        });
        let name = format!("acc_tlsw_{v}");
        let _guard = {
            let mut c = Cleanup::tenants(&[&name]);
            c.mysql_dbs = vec![name.clone()];
            c.redis_users = vec![name.clone()];
            c.vault_connections = vec![format!("tlsw_{v}"), format!("tlswm_{v}")];
            c.swept()
        };
        let cases = [
            (
                format!("resource \"{PGDB}\" \"x\" {{\n  name = \"{name}\"\n  deletion_protection = false\n}}\n"),
                format!("PostgreSQL at {host}:{}", stack("PGPORT")),
            ),
            (POOLS.to_string(), format!("PgBouncer admin console at {host}:{first_admin}")),
            (
                format!("resource \"{MYDB}\" \"x\" {{\n  name = \"{name}\"\n  deletion_protection = false\n}}\n"),
                format!("MySQL at {host}:{}", stack("DBAAS_MYSQL_PORT")),
            ),
            (
                format!("resource \"{RNS}\" \"x\" {{\n  name = \"{name}\"\n}}\n"),
                format!("Redis at {host}:{}", stack("DBAAS_REDIS_TLS_PORT")),
            ),
            (
                format!("resource \"{CONN}\" \"x\" {{\n  name = \"tlsw_{v}\"\n  engine = \"redis\"\n}}\n"),
                format!("Vault at {}", stack("DBAAS_VAULT_TLS_ADDR")),
            ),
        ];
        let wrong_ca = stack("DBAAS_WRONG_CA_CERT");
        let cases = cases
            .into_iter()
            .map(|(b, what)| (wrong.clone(), b, what, wrong_ca.clone()));
        let vault_mysql = (
            wrong_for_vault_mysql,
            format!(
                "resource \"{CONN}\" \"x\" {{\n  name = \"tlswm_{v}\"\n  engine = \"mysql\"\n  dedicated_admin = false\n}}\n"
            ),
            format!("Vault at {}", stack("DBAAS_VAULT_TLS_ADDR")),
            // The error is Vault's (its plugin dialled MySQL): no local CA path in it.
            "x509".to_string(),
        );
        for (provider, body, backend, ca_named) in cases.chain([vault_mysql]) {
            let w = Workdir::new(&tf, &format!("{provider}{body}"));
            let r = w.apply().failed();
            let all = flat(&r.all());
            assert!(
                all.contains(&backend)
                    && all.contains("certificate signed by unknown authority")
                    && all.contains(&ca_named),
                "the error names {backend}, the certificate problem and the CA file used:\n{all}"
            );
            // Nothing was made (the connection failed before any statement was sent).
            assert!(
                w.state_text().trim().is_empty() || !w.state_text().contains("\"managed\""),
                "nothing is in state after the failed apply:\n{}",
                w.state_text()
            );
        }
    }
}

/// Vault reached over TLS trusting the hashed CA directory (`ca_cert_dir`), inside a
/// namespace: the connection is written in the namespace's mount, not the root's.
#[test]
fn tls_vault_namespace_and_ca_dir() {
    use crate::harness::{vault_delete, vault_get, vault_request};
    for tf in each_terraform() {
        let [ns, conn] = tagged(&tf, ["acc-tls-ns", "tlsns"]);
        let right = tls_provider(&Tls {
            ca: stack("DBAAS_CA_CERT"),
            vault_ca: stack("DBAAS_CA_CERT"),
            closed: false,
        });
        // The Vault block is last: trust the CA directory instead of the file, and
        // work inside the namespace.
        let at = right.rfind("    ca_cert_file").unwrap_or(right.len());
        let provider = format!(
            "{}    ca_cert_dir  = \"{}\"\n    namespace    = \"{ns}\"\n  }}\n}}\n",
            &right[..at],
            stack("DBAAS_CA_DIR")
        );
        let _ = vault_delete(&format!("{ns}/sys/mounts/database"));
        let _ = vault_delete(&format!("sys/namespaces/{ns}"));
        let (code, body) = vault_request(
            "POST",
            &format!("sys/namespaces/{ns}"),
            Some(&serde_json::json!({})),
        );
        assert!(
            (200..300).contains(&code),
            "create namespace {ns}: HTTP {code}: {body}"
        );
        let (code, body) = vault_request(
            "POST",
            &format!("{ns}/sys/mounts/database"),
            Some(&serde_json::json!({ "type": "database" })),
        );
        assert!(
            (200..300).contains(&code),
            "mount database in {ns}: HTTP {code}: {body}"
        );

        let mut g = Case::new(
            &tf,
            &format!("{provider}{}", connection("rd", &conn, "redis", "")),
        );
        g.vault_paths = vec![format!("{ns}/database/config/{conn}")];
        apply_clean(&g.w, "apply in a namespace");
        assert!(
            vault_get(&format!("{ns}/database/config/{conn}")).is_some(),
            "the connection is in namespace {ns}"
        );
        assert!(
            vault_get(&format!("database/config/{conn}")).is_none(),
            "nothing was written in the root namespace"
        );
        g.destroy();
        assert!(vault_get(&format!("{ns}/database/config/{conn}")).is_none());
        drop(g);
        let _ = vault_delete(&format!("{ns}/sys/mounts/database"));
        let _ = vault_delete(&format!("sys/namespaces/{ns}"));
    }
}

/// `PGSSLROOTCERT` in the environment is PostgreSQL's root certificate (the `postgres`
/// block's documented fallback), not the PgBouncer admin consoles': with
/// `admin_sslmode = "verify-full"` and no `admin_sslrootcert`, the consoles are checked
/// against the built-in roots, so the private CA's server certificate is refused even
/// though the environment names that CA. Setting `admin_sslrootcert` makes it work.
#[test]
fn tls_pgbouncer_admin_console_does_not_take_postgres_root_cert_from_the_environment() {
    let ca = stack("DBAAS_CA_CERT");
    let host = stack("DBAAS_TLS_HOST");
    let first_admin = first_admin_port();
    let with_ca = tls_provider(&Tls {
        ca: ca.clone(),
        vault_ca: ca.clone(),
        closed: false,
    });
    let line = format!("    admin_sslrootcert = \"{ca}\"\n");
    assert!(
        with_ca.contains(&line),
        "the provider block sets admin_sslrootcert:\n{with_ca}"
    );
    let without_ca = with_ca.replace(&line, "");
    let env = [("PGSSLROOTCERT", ca.as_str())];
    for tf in each_terraform() {
        let w = Workdir::new(&tf, &format!("{without_ca}{POOLS}"));
        let r = w
            .run_env(&["apply", "-auto-approve", "-input=false"], &env)
            .failed();
        let all = flat(&r.all());
        assert!(
            all.contains(&format!("PgBouncer admin console at {host}:{first_admin}"))
                && all.contains("certificate signed by unknown authority"),
            "the console is checked against the built-in roots, not PGSSLROOTCERT:\n{all}"
        );
        w.write(&format!("{with_ca}{POOLS}"));
        w.run_env(&["apply", "-auto-approve", "-input=false"], &env)
            .ok();
    }
}
