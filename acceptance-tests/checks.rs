//! Issue 21, item 3 and the `redis.tls`/`connect_timeout` parts of item 5, from the side
//! of a configuration author running `terraform validate` and `plan`: what the
//! configuration alone gets wrong is refused before anything is applied, at the
//! attribute to change.
use std::time::{Duration, Instant};

use crate::fixture::{each_terraform, flat, name_of, points_at, tagged, Stack, PGDB};
use crate::harness::{stack, Workdir};

/// `terraform validate` must fail with `says` at `attr`.
fn assert_refused_at_validate(w: &Workdir, attr: &str, says: &str, what: &str) {
    let all = w.run(&["validate", "-no-color"]).failed().all();
    assert!(
        flat(&all).contains(says),
        "{what} on {}: expected {says:?} in\n{all}",
        w.tf.version
    );
    assert!(
        points_at(&all, attr),
        "{what} on {}: must point at `{attr}`:\n{all}",
        w.tf.version
    );
}

/// A rotation role that `terraform validate` can judge without any server.
fn role_hcl(extra: &str) -> String {
    format!("resource \"dbaas_vault_rotation_role\" \"x\" {{\n  name       = \"h3-ttl-role\"\n  connection = \"h3-conn\"\n  database   = \"h3_shop\"\n{extra}}}\n")
}

#[test]
fn acc_checks_provider_settings_required_in_their_block_fail_validate() {
    let redis_host = stack("DBAAS_REDIS_HOST");
    let cases = [
        (
            "mysql block without host",
            "mysql {\n    username = \"root\"\n    password = \"pw\"\n  }".to_string(),
            "block",
            "The mysql block needs `host`",
        ),
        (
            "pgbouncer block without admin_username",
            "pgbouncer {\n    host           = \"pgb\"\n    admin_password = \"pw\"\n  }".to_string(),
            "block",
            "The pgbouncer block needs `admin_username`",
        ),
        (
            "redis tls = false with a CA file",
            format!("redis {{\n    host         = \"{redis_host}\"\n    tls          = false\n    ca_cert_file = \"/nonexistent/ca.pem\"\n  }}"),
            "ca_cert_file",
            "`ca_cert_file` is set but `tls` is `disabled`",
        ),
    ];
    for tf in each_terraform() {
        for (what, block, attr, says) in &cases {
            let w = Workdir::new(
                &tf,
                &format!("provider \"dbaas\" {{\n  {block}\n}}\ndata \"dbaas_endpoints\" \"this\" {{}}\n"),
            );
            if *attr == "block" {
                // On an absent attribute: Terraform quotes the block's first line.
                let all = w.run(&["validate", "-no-color"]).failed().all();
                let first = block.lines().next().unwrap_or_default().trim().to_string();
                assert!(flat(&all).contains(says), "{what} on {}: {all}", tf.version);
                assert!(all.contains(&first), "{what}: points at `{first}`: {all}");
            } else {
                assert_refused_at_validate(&w, attr, says, what);
            }
        }
        // A host an environment variable may supply is left to configure; the boolean
        // redis.tls still validates, with a warning naming the word to write.
        let w = Workdir::new(
            &tf,
            &format!("provider \"dbaas\" {{\n  postgres {{\n    sslmode = \"disable\"\n  }}\n  redis {{\n    host = \"{redis_host}\"\n    tls  = true\n  }}\n}}\ndata \"dbaas_endpoints\" \"this\" {{}}\n"),
        );
        let all = flat(&w.run(&["validate", "-no-color"]).ok().all());
        assert!(
            all.contains("Deprecated boolean redis.tls")
                && all.contains("tls = \"verify_identity\""),
            "on {}: {all}",
            tf.version
        );
    }
}

#[test]
fn acc_checks_rotation_role_ttls_and_mode_refused_at_validate_or_plan() {
    let cases = [
        (
            "max_ttl alone below the default default_ttl",
            "  max_ttl = 3600\n",
            "max_ttl",
            "default_ttl (86400) must not exceed max_ttl (3600)",
        ),
        (
            "rotation_period on a dynamic role",
            "  rotation_period = 600\n",
            "rotation_period",
            "rotation_period does not apply to dynamic roles",
        ),
        (
            "default_ttl on a static role",
            "  mode        = \"static\"\n  username    = \"app\"\n  default_ttl = 600\n",
            "default_ttl",
            "default_ttl does not apply to static roles",
        ),
    ];
    for tf in each_terraform() {
        for (what, extra, attr, says) in &cases {
            let w = Workdir::new(&tf, &role_hcl(extra));
            assert_refused_at_validate(&w, attr, says, what);
        }
        // A value known only at plan: validate cannot judge it, plan refuses it before
        // anything is written.
        let w = Workdir::new(
            &tf,
            &format!(
                "{}variable \"max\" {{\n  type = number\n}}\n{}",
                crate::harness::provider_block(),
                role_hcl("  max_ttl = var.max\n")
            ),
        );
        w.run(&["validate", "-no-color"]).ok();
        let all = w
            .run(&["plan", "-no-color", "-input=false", "-var", "max=3600"])
            .failed()
            .all();
        assert!(
            flat(&all).contains("default_ttl (86400) must not exceed max_ttl (3600)"),
            "plan on {}: {all}",
            tf.version
        );
    }
}

#[test]
fn acc_checks_rotation_role_plans_only_its_modes_attributes() {
    for tf in each_terraform() {
        let [db, conn, role] = tagged(&tf, ["acc_h3ttl", "h3ttl-conn", "h3ttl-role"]);
        let c = Stack::default()
            .database("db", &db)
            .connection(
                "pg",
                &conn,
                "postgres",
                &crate::fixture::allowed_role(&role),
            )
            .role("app", &role, "pg", &name_of(PGDB, "db"), "")
            .case(&tf);
        c.w.apply().ok();
        let state = c.w.show_json();
        let resources = state["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(r) = resources
            .iter()
            .find(|r| r["type"] == "dbaas_vault_rotation_role")
        else {
            panic!("the role is in state: {state}");
        };
        let v = &r["values"];
        assert_eq!(v["default_ttl"], 86400, "{v}");
        assert_eq!(v["max_ttl"], 86400, "{v}");
        assert!(
            v["rotation_period"].is_null(),
            "a dynamic role has no period: {v}"
        );
        crate::fixture::assert_plan_empty(&c.w, "creating a dynamic role with the defaults");
        c.w.destroy().ok();
    }
}

/// A server that accepts TCP connections and never answers (a hung process, or a
/// blackholed address behind a proxy that accepts); its port. The listener lives as
/// long as the returned handle.
fn silent_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    // Never accepted: the kernel completes the handshakes up to the backlog, and no
    // byte is ever answered.
    (listener, port)
}

#[test]
fn acc_checks_redis_connect_timeout_ends_the_wait_for_a_silent_server() {
    let (_listener, port) = silent_server();
    for tf in each_terraform() {
        let w = Workdir::new(
            &tf,
            &format!("provider \"dbaas\" {{\n  redis {{\n    host            = \"127.0.0.1\"\n    port            = {port}\n    password        = \"pw\"\n    connect_timeout = 2\n  }}\n}}\nresource \"dbaas_shared_redis_namespace\" \"x\" {{\n  name = \"h3-silent\"\n}}\n"),
        );
        let started = Instant::now();
        let all = flat(&w.apply().failed().all());
        let took = started.elapsed();
        assert!(
            all.contains("no answer within 2 s (redis.connect_timeout)"),
            "on {}: {all}",
            tf.version
        );
        // Before issue 21 the wait was a fixed 10 s connect plus 60 s for the answer.
        assert!(
            took < Duration::from_secs(9),
            "took {took:?} on {}",
            tf.version
        );
    }
}
