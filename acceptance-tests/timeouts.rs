//! `timeouts { create, update, delete }` (issue 21, item 5), from the side of a
//! configuration author whose destroy meets a PgBouncer replica that accepts connections
//! and never answers (a [`Forwarder`] in front of one admin host, frozen: nothing shared
//! is stopped). With `timeouts { delete = "8s" }`, the destroy fails after about 8 s
//! with an error naming the timeout and how to raise it, the database stays in state and
//! on the server, and once the replica answers again a second destroy succeeds.

use std::time::{Duration, Instant};

use crate::fixture::{
    apply_clean, apply_in_place, create_login, each_terraform, flat, points_at, tagged, Cleanup,
    PGDB,
};
use crate::harness::{pgbouncer_admin, provider_block, psql_admin, stack, Workdir};
use crate::interrupt::Forwarder;

/// The short `timeouts.delete` the destroys below meet. Long enough for every step before
/// the silent replica to finish on a loaded 2-core machine running the suite's cases at once
/// (3 s was not, at 8 cases at a time), short against the 10 m default.
const DEADLINE: &str = "8s";
/// [`DEADLINE`] in seconds.
const DEADLINE_SECS: u64 = 8;

/// The dev stack's provider block with PgBouncer's first admin host reached through
/// `port` (the others as they are).
fn provider_through_admin_host(port: u16) -> String {
    provider_through_admin_host_at(0, port)
}

/// The dev stack's PgBouncer admin hosts (`host:port`).
fn admin_hosts() -> Vec<String> {
    stack("DBAAS_PGBOUNCER_ADMIN_HOSTS")
        .split(',')
        .map(str::to_string)
        .collect()
}

/// The dev stack's provider block with PgBouncer's admin host number `idx` reached
/// through `port` (the others as they are).
fn provider_through_admin_host_at(idx: usize, port: u16) -> String {
    let mut hosts = admin_hosts();
    hosts[idx] = format!("127.0.0.1:{port}");
    let list = hosts
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let line = format!(
        "admin_hosts    = split(\",\", \"{}\")",
        stack("DBAAS_PGBOUNCER_ADMIN_HOSTS")
    );
    let block = provider_block();
    assert!(
        block.contains(&line),
        "the pgbouncer block lists the admin hosts"
    );
    block.replacen(&line, &format!("admin_hosts    = [{list}]"), 1)
}

/// An unprotected PostgreSQL database `name` with `timeouts { delete = <delete> }`.
fn database_with_delete_timeout(name: &str, delete: &str) -> String {
    format!(
        "resource \"{PGDB}\" \"t\" {{\n  name                = \"{name}\"\n  deletion_protection = false\n  timeouts {{\n    delete = \"{delete}\"\n  }}\n}}\n"
    )
}

/// Whether database `name` exists on the server.
fn database_exists(name: &str) -> bool {
    let sql = format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'");
    psql_admin("postgres", &sql).expect("admin query").trim() == "1"
}

#[test]
fn a_destroy_stuck_on_a_silent_pgbouncer_stops_at_its_delete_timeout_and_keeps_the_database() {
    for tf in each_terraform() {
        let [name] = tagged(&tf, ["i21to"]);
        let _guard = Cleanup::tenants(&[&name]);
        let first = stack("DBAAS_PGBOUNCER_ADMIN_HOSTS");
        let first = first.split(',').next().expect("an admin host").to_string();
        let replica = Forwarder::frozen(first);
        replica.thaw();
        let provider = provider_through_admin_host(replica.port);
        let w = Workdir::new(
            &tf,
            &format!("{provider}\n{}", database_with_delete_timeout(&name, "10m")),
        );
        apply_clean(&w, "the create with timeouts");

        // Only `timeouts` changes: an update in place with nothing unknown, applied
        // without touching the database.
        w.write(&format!(
            "{provider}\n{}",
            database_with_delete_timeout(&name, DEADLINE)
        ));
        let p = crate::fixture::assert_plan_in_place(
            &w,
            &["timeouts", &format!("\"10m\" -> \"{DEADLINE}\"")],
        );
        assert!(
            !p.contains("known after apply"),
            "nothing becomes unknown:\n{p}"
        );
        apply_in_place(&w, &["timeouts"], "the timeouts change");

        replica.freeze();
        let started = Instant::now();
        let run = w.destroy();
        let took = started.elapsed();
        let out = run.all();
        eprintln!("terraform {}: destroy stopped after {took:?}", tf.version);
        assert_ne!(run.code, 0, "the destroy fails at its timeout\n{out}");
        assert!(
            replica.holding() > 0,
            "the destroy reached the silent replica\n{out}"
        );
        assert!(
            took >= Duration::from_secs(DEADLINE_SECS)
                && took < Duration::from_secs(DEADLINE_SECS + 27),
            "terraform {} took {took:?} (timeouts.delete = {DEADLINE})\n{out}",
            tf.version
        );
        let text = flat(&out);
        for says in [
            &format!("Timeout: {PGDB} delete did not finish within {DEADLINE}"),
            "`timeouts.delete`",
            "kept in the state",
            "delete = \"30m\"",
            "`timeouts` deadline passed",
        ] {
            assert!(text.contains(says), "the error says {says:?}\n{out}");
        }
        assert!(
            !text.contains("Ctrl-C)"),
            "a deadline is not reported as Ctrl-C\n{out}"
        );
        assert!(
            w.run(&["state", "list"])
                .ok()
                .stdout
                .contains(&format!("{PGDB}.t")),
            "the database stays in state"
        );
        assert!(database_exists(&name), "the database is kept");

        // The replica answers again: the same destroy goes through within its deadline.
        replica.thaw();
        w.destroy().ok();
        assert!(!database_exists(&name), "the second destroy dropped it");
    }
}

#[test]
fn a_timeout_that_is_not_a_duration_is_refused_by_validate() {
    for tf in each_terraform() {
        let w = Workdir::new(
            &tf,
            &format!(
                "{}\n{}",
                provider_block(),
                database_with_delete_timeout("i21to_never_made", "3 seconds")
            ),
        );
        let run = w.run(&["validate", "-no-color"]);
        let out = run.all();
        assert_ne!(run.code, 0, "validate refuses it\n{out}");
        assert!(
            flat(&out).contains("\"3 seconds\" is not a duration"),
            "the error says why\n{out}"
        );
        assert!(points_at(&out, "delete"), "at timeouts.delete\n{out}");
    }
}

/// A destroy stopped by its deadline after PgBouncer's `KILL` went through on some
/// replicas and hung on the last one: the database is kept, so no replica may be left
/// holding it paused (its clients would wait until the next destroy); `RESUME` is not
/// cut short by the deadline.
#[test]
fn a_destroy_stopped_by_its_deadline_after_kill_leaves_no_replica_paused() {
    for tf in each_terraform() {
        let [name] = tagged(&tf, ["i21rs"]);
        let mut guard = Cleanup::tenants(&[&name]);
        let hosts = admin_hosts();
        let last = hosts.len() - 1;
        assert!(last >= 1, "the dev stack runs several PgBouncer replicas");
        let replica = Forwarder::frozen(hosts[last].clone());
        replica.thaw();
        let provider = provider_through_admin_host_at(last, replica.port);
        let w = Workdir::new(
            &tf,
            &format!(
                "{provider}\n{}",
                database_with_delete_timeout(&name, DEADLINE)
            ),
        );
        apply_clean(&w, "the create with timeouts");
        // A client through the first replica, so that PgBouncer knows the database.
        let login = format!("{name}_app");
        let group = format!("{name}_readwrite");
        create_login(&mut guard, &login, "app-pass-1", Some(&group));
        let pooled = pgbouncer_reaches_soon(&hosts[0], &name, &login);
        assert!(
            pooled.is_ok(),
            "the database is reachable first: {pooled:?}"
        );

        replica.freeze();
        let run = w.destroy();
        let out = run.all();
        assert_ne!(run.code, 0, "the destroy fails at its timeout\n{out}");
        assert!(
            flat(&out).contains(&format!("did not finish within {DEADLINE}")),
            "the error names the deadline\n{out}"
        );
        assert!(database_exists(&name), "the database is kept");
        for host in &hosts[..last] {
            let port = host.rsplit(':').next().expect("host:port");
            let rows = pgbouncer_admin(port, "SHOW DATABASES").expect("SHOW DATABASES");
            for row in rows.iter().filter(|r| r.get("name") == Some(&name)) {
                assert_eq!(
                    row.get("paused").map(String::as_str),
                    Some("0"),
                    "{name} left paused on PgBouncer {host} after the deadline: {row:?}\n{out}"
                );
            }
        }
        let after = pgbouncer_reaches(&hosts[0], &name, &login);
        assert!(
            after.is_ok(),
            "clients reach the kept database again: {after:?}"
        );

        replica.thaw();
        w.destroy().ok();
        assert!(!database_exists(&name), "the second destroy dropped it");
    }
}

/// Whether `login` (password `app-pass-1`) reaches database `name` through the PgBouncer
/// whose admin console is `admin_host` (the same port serves clients).
fn pgbouncer_reaches(admin_host: &str, name: &str, login: &str) -> Result<String, String> {
    let port = admin_host.rsplit(':').next().unwrap_or_default();
    crate::harness::psql(name, login, "app-pass-1", port, "SELECT 1")
}

/// [`pgbouncer_reaches`], waiting out PgBouncer's `server_login_retry` (15 s) when an
/// earlier run's database of the same name left its pool's last server login failed.
fn pgbouncer_reaches_soon(admin_host: &str, name: &str, login: &str) -> Result<String, String> {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let got = pgbouncer_reaches(admin_host, name, login);
        match &got {
            Err(e) if e.contains("server_login_retry") && Instant::now() < until => {
                std::thread::sleep(Duration::from_secs(1));
            }
            _ => return got,
        }
    }
}
