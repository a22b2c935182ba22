//! Issue 23, item 2: PostgreSQL sessions are a budget. A provider configured with
//! `postgres.max_connections = N` never has more than N sessions of its admin role open at
//! once, admin pool and tenant databases together, and work beyond the budget waits
//! instead of failing. The case's own admin role's sessions are sampled from
//! pg_stat_activity every 10 ms while Terraform runs.

use crate::fixture::*;
use crate::harness::{provider_block, psql_admin, stack, Terraform, Workdir};

/// A sampler of `role`'s sessions: one psql session of the stack's admin printing
/// `count(*)` of pg_stat_activity for `role` every 10 ms (psql `\watch`) into `out`.
fn start_sampler(role: &str, out: &std::path::Path) -> std::process::Child {
    use std::io::Write;
    let mut child = crate::harness::psql_command(
        &stack("PGHOST"),
        &stack("PGPORT"),
        "postgres",
        &stack("PGUSER"),
        &stack("PGPASSWORD"),
    )
    .args(["-q", "-f", "-"])
    .stdin(std::process::Stdio::piped())
    .stdout(std::fs::File::create(out).unwrap_or_else(|e| panic!("sample file: {e}")))
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap_or_else(|e| panic!("cannot start psql: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(
            stdin,
            "SELECT count(*) FROM pg_stat_activity WHERE usename = '{role}';\n\\watch 0.01"
        );
    }
    child
}

/// The most sessions any sample saw, and how many samples there were.
fn peak_sessions(mut sampler: std::process::Child, out: &std::path::Path) -> (usize, usize) {
    let _ = sampler.kill();
    let _ = sampler.wait();
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let counts: Vec<usize> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
    (counts.iter().copied().max().unwrap_or(0), counts.len())
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
/// a provider with `max_connections = max`; returns the peak sessions and the samples.
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
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"
        ),
    )
    .unwrap_or_else(|e| panic!("creating the case's admin role: {e}"));
    let hcl = format!(
        "{}resource \"{PGDB}\" \"many\" {{\n  count               = {n}\n  name                = format(\"{prefix}%02d\", count.index)\n  extensions          = [\"pgcrypto\"]\n  schemas             = [\"reports\"]\n  deletion_protection = false\n}}\n",
        budget_provider(&role, &password, max)
    );
    let w = Workdir::new(tf, &hcl);
    let samples = w.path().join("sessions.samples");
    let sampler = start_sampler(&role, &samples);
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
    let counted = peak_sessions(sampler, &samples);
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
