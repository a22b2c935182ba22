//! Issue 23, item 2: PostgreSQL sessions are a budget. A provider configured with
//! `postgres.max_connections = N` never has more than N sessions of its admin role open at
//! once, admin pool and tenant databases together, and work beyond the budget waits
//! instead of failing. Each provider process's connections to PostgreSQL are sampled from
//! /proc every 5 ms while Terraform runs.

use crate::fixture::*;
use crate::harness::{provider_block, psql_admin, stack, Terraform, Workdir};

/// Samples, every 5 ms until stopped, the TCP connections to PostgreSQL's `port` that each
/// provider process started in `workdir` holds (its open sockets, from /proc), and keeps
/// the most any one process held. Counted on the client side, per process: the budget
/// is a promise about what one process holds, and the server may still list a session for
/// a moment after the provider closed it (its backend exiting), or the session of a
/// provider process Terraform has just stopped while the next one starts.
struct Sampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Sampled>,
}

/// What a [`Sampler`] saw.
#[derive(Debug, Default)]
struct Sampled {
    /// The most connections one provider process held in one sample.
    peak: usize,
    /// Samples taken.
    samples: usize,
    /// Provider processes seen.
    processes: std::collections::BTreeSet<u32>,
}

impl Sampler {
    fn start(workdir: &std::path::Path, port: u16) -> Sampler {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = std::fs::canonicalize(workdir).unwrap_or_else(|e| panic!("workdir: {e}"));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = Sampled::default();
            while !flag.load(Ordering::Relaxed) {
                let held = held_per_process(&dir, port);
                seen.samples += 1;
                for (pid, n) in held {
                    seen.processes.insert(pid);
                    seen.peak = seen.peak.max(n);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            seen
        });
        Sampler { stop, thread }
    }

    fn finish(self) -> Sampled {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .join()
            .unwrap_or_else(|_| panic!("the sampler panicked"))
    }
}

/// For every running `terraform-provider-dbaas*` process whose working directory is `dir`:
/// its pid and how many of its sockets are TCP connections to `port`.
fn held_per_process(dir: &std::path::Path, port: u16) -> Vec<(u32, usize)> {
    let mut providers: Vec<(u32, Vec<u64>)> = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let base = e.path();
        if std::fs::read_link(base.join("cwd")).ok().as_deref() != Some(dir) {
            continue;
        }
        let cmdline = std::fs::read(base.join("cmdline")).unwrap_or_default();
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let name = String::from_utf8_lossy(argv0);
        if !name
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .starts_with("terraform-provider-dbaas")
        {
            continue;
        }
        let sockets = std::fs::read_dir(base.join("fd"))
            .map(|fds| {
                fds.flatten()
                    .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                    .filter_map(|l| {
                        let l = l.to_string_lossy().into_owned();
                        l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        providers.push((pid, sockets));
    }
    if providers.is_empty() {
        return Vec::new();
    }
    let to_port = tcp_inodes_to(port);
    providers
        .into_iter()
        .map(|(pid, sockets)| (pid, sockets.iter().filter(|i| to_port.contains(i)).count()))
        .collect()
}

/// The inodes of the TCP sockets (v4 and v6) whose remote port is `port`.
fn tcp_inodes_to(port: u16) -> std::collections::HashSet<u64> {
    let hex = format!(":{port:04X}");
    let mut inodes = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[2].ends_with(&hex) {
                if let Ok(inode) = f[9].parse() {
                    inodes.insert(inode);
                }
            }
        }
    }
    inodes
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
/// a provider with `max_connections = max`; returns what the sampler saw.
fn apply_and_destroy_within(tf: &Terraform, tag: &str, n: usize, max: u32) -> Sampled {
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
    let port: u16 = stack("PGPORT")
        .parse()
        .unwrap_or_else(|e| panic!("PGPORT: {e}"));
    let sampler = Sampler::start(w.path(), port);
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
    let seen = sampler.finish();
    drop(guard);
    seen
}

/// What a case with `max_connections = max` must see: the sampler watched the provider
/// processes (more than one: Terraform starts one per command), and none of them ever held
/// more than `max` connections; with far more work than sessions, the budget is used up.
fn assert_within(seen: &Sampled, max: usize) {
    eprintln!(
        "max_connections = {max}: {} provider processes, {} samples, at most {} connections held by one",
        seen.processes.len(),
        seen.samples,
        seen.peak
    );
    assert!(
        seen.processes.len() > 1 && seen.samples > 10,
        "the sampler saw the provider processes: {seen:?}"
    );
    assert!(
        seen.peak <= max,
        "max_connections = {max}, yet one provider process held {} connections to PostgreSQL at once",
        seen.peak
    );
    assert_eq!(
        seen.peak, max,
        "with more work than sessions the budget is used up (or the sampler sees nothing)"
    );
}

#[test]
fn budget_postgres_sessions_never_exceed_max_connections() {
    for tf in each_terraform() {
        assert_within(&apply_and_destroy_within(&tf, "2", 12, 2), 2);
    }
}

#[test]
fn budget_of_one_session_finishes_without_deadlock() {
    // Every path that held a pooled session while opening a tenant one would wait for
    // itself here (and fail at the acquire timeout).
    for tf in each_terraform() {
        assert_within(&apply_and_destroy_within(&tf, "1", 4, 1), 1);
    }
}
