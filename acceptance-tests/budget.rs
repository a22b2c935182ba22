//! Issue 23, item 2: PostgreSQL sessions are a budget. A provider configured with
//! `postgres.max_connections = N` never has more than N sessions of its admin role open at
//! once, admin pool and tenant databases together, and work beyond the budget waits
//! instead of failing. The sessions are counted exactly from the server log: the case's
//! own admin role logs its connections (the dev stack's `log_connections = on`) and, by
//! a setting on that role alone, its disconnections; walking the log in order gives the
//! sessions open after every event.

use crate::fixture::*;
use crate::harness::{provider_block, psql_admin, stack, Terraform, Workdir};

/// The server log's size now (where a case's slice starts).
fn log_size() -> u64 {
    std::fs::metadata(log_path()).map(|m| m.len()).unwrap_or(0)
}

fn log_path() -> std::path::PathBuf {
    std::path::Path::new(&stack("DBAAS_RUN_DIR")).join("pg/postgres.log")
}

/// The most sessions of `role` open at once in the log since byte `from`, and how many
/// it opened: +1 at each `connection authorized`, -1 at each `disconnection` of a
/// backend of `role` (lines `<ts> [pid] role@db LOG:  ...`).
fn peak_sessions(role: &str, from: u64) -> (usize, usize) {
    let text = std::fs::read(log_path()).unwrap_or_default();
    let start = usize::try_from(from).unwrap_or(0).min(text.len());
    let text = String::from_utf8_lossy(&text[start..]);
    let who = format!(" {role}@");
    let (mut open, mut peak, mut opened) = (0usize, 0usize, 0usize);
    for line in text.lines().filter(|l| l.contains(&who)) {
        if line.contains("LOG:  connection authorized:") {
            open += 1;
            opened += 1;
            peak = peak.max(open);
        } else if line.contains("LOG:  disconnection:") {
            open = open.saturating_sub(1);
        }
    }
    (peak, opened)
}

/// The dev stack's provider block, logging in to PostgreSQL as `role` with `max` sessions.
fn budget_provider(role: &str, password: &str, max: u32) -> String {
    let block = provider_block();
    let user = format!("username = \"{}\"", stack("PGUSER"));
    let pass = format!("password = \"{}\"", stack("PGPASSWORD"));
    let replaced = block
        .replacen(&user, &format!("username = \"{role}\""), 1)
        .replacen(&pass, &format!("password = \"{password}\""), 1)
        .replacen(
            "sslmode  = \"disable\"",
            &format!("sslmode  = \"disable\"\n    max_connections = {max}"),
            1,
        );
    assert!(
        replaced.contains(&format!("username = \"{role}\""))
            && replaced.contains("max_connections"),
        "the provider block changed shape:\n{block}"
    );
    replaced
}

/// `n` databases with an extension and an extra schema each (sessions into every tenant
/// database, to install, read and revoke), applied and destroyed at `-parallelism=10` by
/// a provider with `max_connections = max`; returns the peak sessions and the logins.
fn apply_and_destroy_within(tf: &Terraform, tag: &str, n: usize, max: u32) -> (usize, usize) {
    let [prefix, role] = tagged(
        tf,
        [&format!("acc_bud{tag}_"), &format!("acc_bud{tag}_admin")],
    );
    let password = format!("budget-{}-{tag}", std::process::id());
    let names = counted_names(&prefix, n);
    let mut guard = Cleanup::default();
    guard.tenants.extend(names.iter().cloned());
    guard.pg_roles.push(role.clone());
    psql_admin(
        "postgres",
        &format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'; ALTER ROLE {role} SET log_disconnections = on"
        ),
    )
    .unwrap_or_else(|e| panic!("creating the case's admin role: {e}"));
    let hcl = format!(
        "{}resource \"{PGDB}\" \"many\" {{\n  count               = {n}\n  name                = format(\"{prefix}%02d\", count.index)\n  extensions          = [\"pgcrypto\"]\n  schemas             = [\"reports\"]\n  deletion_protection = false\n}}\n",
        budget_provider(&role, &password, max)
    );
    let w = Workdir::new(tf, &hcl);
    let from = log_size();
    w.apply_parallel(10).ok();
    let have = psql_admin(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname LIKE '{prefix}%'"),
    )
    .unwrap_or_default();
    assert_eq!(
        have,
        n.to_string(),
        "all {n} databases exist after the apply"
    );
    assert_plan_empty(&w, "the databases just applied under a budget");
    w.destroy_parallel(10).ok();
    // The last provider's sessions end as it exits: give the log a moment.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let counted = peak_sessions(&role, from);
    drop(guard);
    counted
}

#[test]
fn budget_postgres_sessions_never_exceed_max_connections() {
    for tf in each_terraform() {
        let (peak, opened) = apply_and_destroy_within(&tf, "2", 12, 2);
        eprintln!("max_connections = 2: {opened} sessions opened, at most {peak} at once");
        assert!(
            opened > 2,
            "the server log shows the case's sessions ({opened} opened)"
        );
        assert!(
            peak <= 2,
            "max_connections = 2, yet {peak} sessions of the admin role were open at once"
        );
    }
}

#[test]
fn budget_of_one_session_finishes_without_deadlock() {
    // Every path that held a pooled session while opening a tenant one would wait for
    // itself here (and fail at the acquire timeout).
    for tf in each_terraform() {
        let (peak, opened) = apply_and_destroy_within(&tf, "1", 4, 1);
        eprintln!("max_connections = 1: {opened} sessions opened, at most {peak} at once");
        assert!(
            opened > 1,
            "the server log shows the case's sessions ({opened} opened)"
        );
        assert_eq!(peak, 1, "max_connections = 1 holds");
    }
}
