//! Fault tests: a real service restarted in the middle of `terraform apply` (issue 10,
//! item 4). They restart shared servers, so they live in their own test binary: cargo
//! runs test binaries one after another, never beside the acceptance suite. Within this
//! binary the cases take a lock so that they never overlap either.
//!
//! Run through `make test`, or with the stack up:
//! `eval "$(scripts/dev-stack env)" && cargo test --test faults`.

#[path = "harness.rs"]
mod harness;

#[path = "fixture.rs"]
mod fixture;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::{provider_block, psql_admin, run_ok, Workdir};

/// One restart at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn restart(service: &str) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/dev-stack");
    run_ok(Command::new(script).args(["restart", service]));
}

fn admin(sql: &str) -> String {
    // Right after a restart the server may still refuse for a moment.
    let start = Instant::now();
    loop {
        match psql_admin("postgres", sql) {
            Ok(v) => return v,
            Err(e) if start.elapsed() > Duration::from_secs(30) => {
                panic!("admin SQL failed: {sql}\n{e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Databases and roles whose names start with `prefix`, for assertions and clean-up.
fn leftovers(prefix: &str) -> (Vec<String>, Vec<String>) {
    let like = format!("'{}\\_%'", prefix.replace('_', "\\_"));
    let dbs = admin(&format!(
        "SELECT datname FROM pg_database WHERE datname LIKE {like} ORDER BY 1"
    ));
    let roles = admin(&format!(
        "SELECT rolname FROM pg_roles WHERE rolname LIKE {like} ORDER BY 1"
    ));
    let lines = |s: String| -> Vec<String> { s.lines().map(str::to_string).collect() };
    (lines(dbs), lines(roles))
}

fn sweep(prefix: &str) {
    let (dbs, roles) = leftovers(prefix);
    for d in dbs {
        let _ = psql_admin(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{d}\" WITH (FORCE)"),
        );
    }
    for r in roles {
        let _ = psql_admin("postgres", &format!("DROP ROLE IF EXISTS \"{r}\""));
    }
}

fn tenants(prefix: &str, n: usize, protect: bool) -> String {
    let mut hcl = provider_block();
    for i in 0..n {
        hcl.push_str(&format!(
            "resource \"dbaas_shared_postgres_database\" \"t{i}\" {{\n  name = \"{prefix}_{i}\"\n  deletion_protection = {protect}\n}}\n"
        ));
    }
    hcl
}

/// PostgreSQL restarted (`pg_ctl restart -m fast`) while an apply creates 40 tenant
/// databases at `-parallelism=10`: the apply may fail, the next one converges with no
/// manual step (creates cut off are tainted and replaced, or resumed from their markers),
/// the plan is then empty, and destroy leaves no database and no role behind.
#[test]
fn postgres_restart_during_apply_then_the_next_apply_converges() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for tf in fixture::each_terraform() {
        let [prefix] = fixture::tagged(&tf, ["acc_flt"]);
        sweep(&prefix);
        let w = Workdir::new(&tf, &tenants(&prefix, 40, true));
        // Restart once the apply is well under way.
        restart_during_apply(&w, "postgres", 20, || leftovers(&prefix).0.len() >= 6);
        assert_converges(&w, w.apply_parallel(10));
        assert_eq!(leftovers(&prefix).0.len(), 40, "all 40 databases exist");
        w.write(&tenants(&prefix, 40, false));
        w.apply_parallel(10).ok();
        w.destroy_parallel(10).ok();
        let (dbs, roles) = leftovers(&prefix);
        sweep(&prefix);
        assert!(dbs.is_empty(), "destroy left databases: {dbs:?}");
        assert!(roles.is_empty(), "destroy left roles: {roles:?}");
    }
}

fn mariadb_databases(prefix: &str) -> Vec<String> {
    let start = Instant::now();
    loop {
        match fixture::mysql_try_admin(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{}\\_%' ORDER BY 1",
            prefix.replace('_', "\\_")
        )) {
            Ok(v) => return v.lines().map(str::to_string).collect(),
            Err(e) if start.elapsed() > Duration::from_secs(60) => panic!("{e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Starts `terraform apply -parallelism=10` in the background, restarts `service` once
/// `under_way` holds (polled every `poll_ms`, for up to 60 s), and waits for that apply,
/// whose outcome is only reported: it may fail.
fn restart_during_apply(
    w: &Workdir,
    service: &str,
    poll_ms: u64,
    mut under_way: impl FnMut() -> bool,
) {
    let mut apply = spawn_apply(w);
    let start = Instant::now();
    while !under_way() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(poll_ms));
    }
    restart(service);
    let status = apply.wait().expect("apply ends");
    eprintln!("apply during the restart: {status}");
}

/// The apply after the fault, `r`, converged with no manual step, and the plan is then
/// empty.
fn assert_converges(w: &Workdir, r: harness::Run) {
    assert_eq!(
        r.code, 0,
        "the apply after the restart converges with no manual step\n{}\n{}",
        r.stdout, r.stderr
    );
    assert!(w.plan_is_empty(), "then the plan is empty");
}

fn spawn_apply(w: &Workdir) -> std::process::Child {
    Command::new(&w.tf.bin)
        .args([
            "apply",
            "-auto-approve",
            "-no-color",
            "-input=false",
            "-parallelism=10",
        ])
        .current_dir(w.path())
        .env("TF_CLI_CONFIG_FILE", w.path().join("cli.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("terraform starts")
}

/// MariaDB restarted while an apply creates 20 protected databases: the next apply
/// converges, the plan is empty, destroy leaves nothing.
#[test]
fn mariadb_restart_during_apply_then_the_next_apply_converges() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for tf in fixture::each_terraform() {
        let [prefix] = fixture::tagged(&tf, ["acc_flt_my"]);
        for d in mariadb_databases(&prefix) {
            let _ = fixture::mysql_try_admin(&format!("DROP DATABASE IF EXISTS `{d}`"));
        }
        let body = |protect: bool| {
            let mut hcl = provider_block();
            for i in 0..20 {
                hcl.push_str(&format!(
                    "resource \"dbaas_shared_mysql_database\" \"t{i}\" {{\n  name = \"{prefix}_{i}\"\n  deletion_protection = {protect}\n}}\n"
                ));
            }
            hcl
        };
        let w = Workdir::new(&tf, &body(true));
        restart_during_apply(&w, "mariadb", 10, || mariadb_databases(&prefix).len() >= 3);
        assert_converges(&w, w.apply());
        assert_eq!(mariadb_databases(&prefix).len(), 20);
        w.write(&body(false));
        w.apply().ok();
        w.destroy().ok();
        let left = mariadb_databases(&prefix);
        for d in &left {
            let _ = fixture::mysql_try_admin(&format!("DROP DATABASE IF EXISTS `{d}`"));
        }
        assert!(left.is_empty(), "destroy left {left:?}");
    }
}

/// Redis (no persistence) restarted while an apply creates 20 namespaces: every ACL user
/// is gone afterwards, and the next apply recreates exactly what is missing; destroy then
/// leaves no user behind.
#[test]
fn redis_restart_during_apply_then_the_next_apply_converges() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // Right after the restart the server may refuse for a moment: no users then.
    let users = |prefix: &str| -> Vec<String> {
        fixture::redis_try_admin(&["ACL", "USERS"])
            .unwrap_or_default()
            .lines()
            .filter(|u| u.starts_with(prefix))
            .map(str::to_string)
            .collect()
    };
    for tf in fixture::each_terraform() {
        let [prefix] = fixture::tagged(&tf, ["acc_flt_rd"]);
        let mut hcl = provider_block();
        for i in 0..20 {
            hcl.push_str(&format!(
                "resource \"dbaas_shared_redis_namespace\" \"n{i}\" {{\n  name = \"{prefix}_{i}\"\n}}\n"
            ));
        }
        let w = Workdir::new(&tf, &hcl);
        restart_during_apply(&w, "redis", 10, || users(&prefix).len() >= 3);
        assert_converges(&w, w.apply());
        assert_eq!(
            users(&prefix).len(),
            20,
            "every namespace user exists again"
        );
        w.destroy().ok();
        assert!(
            users(&prefix).is_empty(),
            "destroy left {:?}",
            users(&prefix)
        );
    }
}
