//! Upgrading the provider never replaces a database. The newest release recorded in
//! `RELEASES` is built from git (its tree exported with `git archive`, built once and cached
//! under `target/upgrade-base/`), a tenant set with every resource type is applied with it,
//! then the same directory is switched to this build: `plan` must show no change at all
//! (or only the in-place updates listed in [`ANNOUNCED_IN_PLACE`], which the CHANGELOG
//! announces for this release), and `apply` and `destroy` must succeed. The set includes
//! lists that later became sets (`allowed_roles`, `channels`), written out of order, so the
//! state upgraders that turn them into sets are crossed too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::fixture::{connection, name_of, resource, role, MYDB, PGDB, RNS};
use crate::harness::{provider_block, psql_admin, run_ok, terraforms, version_tag, Workdir};

/// In-place updates this release announces for state written by the previous release,
/// as `(resource type, attribute)`. Any other change in the upgrade plan fails the test;
/// a replacement always does.
const ANNOUNCED_IN_PLACE: &[(&str, &str)] = &[
    // New guard rules (issue 10): every namespace is re-applied once with them; `acl`
    // is recomputed by that apply. (`allow_keyspace_scan` is filled by the schema
    // version 0 -> 1 state upgrader, so it plans no change.)
    ("dbaas_shared_redis_namespace", "acl"),
    // Redis rotation roles' generated rules gain the same guard rules.
    ("dbaas_vault_rotation_role", "creation_statements"),
    // Issue 11: the MySQL connection URL defaulted from the provider's `mysql` block
    // carries its TLS mode (`?tls=preferred` for the default `preferred`).
    ("dbaas_vault_database_connection", "connection_url"),
];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `(version, commit)` of the newest release in `RELEASES`.
fn previous_release() -> (String, String) {
    let text = std::fs::read_to_string(repo_root().join("RELEASES")).expect("RELEASES");
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('#'))
        .expect("RELEASES names at least one release");
    let mut parts = line.split_whitespace();
    let version = parts.next().expect("version").to_string();
    let commit = parts.next().expect("commit").to_string();
    assert!(
        commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "RELEASES: {version} needs a full 40-digit commit, got {commit:?}"
    );
    (version, commit)
}

fn git(args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("git runs")
}

/// The previous release's provider binary, built from its recorded commit (cached), or
/// `None` with a printed note when this clone holds no history to build it from.
fn previous_binary() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let (version, commit) = previous_release();
        let base = repo_root().join("target/upgrade-base").join(&commit);
        let bin = base.join("target/debug/terraform-provider-dbaas");
        if bin.exists() {
            return Some(bin);
        }
        if !git(&["cat-file", "-e", &format!("{commit}^{{commit}}")])
            .status
            .success()
        {
            // A shallow clone: try to deepen it once before giving up.
            let _ = git(&["fetch", "--quiet", "--unshallow"]);
            if !git(&["cat-file", "-e", &format!("{commit}^{{commit}}")])
                .status
                .success()
            {
                eprintln!(
                    "note: commit {commit} of {version} is not in this clone (shallow?); the upgrade test cannot build it and is skipped"
                );
                return None;
            }
        }
        let src = base.join("src");
        let _ = std::fs::remove_dir_all(&src);
        std::fs::create_dir_all(&src).expect("create upgrade-base dir");
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "git -C '{}' archive --format=tar {commit} | tar -x -C '{}'",
                repo_root().display(),
                src.display()
            ))
            .status()
            .expect("git archive runs");
        assert!(status.success(), "git archive {commit} failed");
        eprintln!("building {version} ({commit}) for the upgrade test");
        run_ok(
            Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--locked", "--bin", "terraform-provider-dbaas"])
                .current_dir(&src)
                .env("CARGO_TARGET_DIR", base.join("target"))
                .env_remove("RUSTFLAGS"),
        );
        assert!(bin.exists(), "{} was not built", bin.display());
        Some(bin)
    })
    .clone()
}

/// One of every resource type, and the data sources, named uniquely per Terraform.
fn tenant_set(v: &str) -> String {
    let name = format!("acc_upg_{v}");
    let mut hcl = format!(
        "{}\ndata \"dbaas_endpoints\" \"e\" {{}}\n\n{}{}{}",
        provider_block(),
        resource(
            PGDB,
            "pg",
            &name,
            "  deletion_protection = false\n  extensions          = [\"pgcrypto\"]"
        ),
        resource(MYDB, "my", &name, "  deletion_protection = false"),
        // Lists out of order (issue 21): sets from this release on, upgraded by a state
        // upgrader; the plan after the upgrade must not see a change in them.
        resource(
            RNS,
            "rd",
            &name,
            &format!("  channels = [\"{name}:b\", \"{name}:a*\"]"),
        ),
    );
    for (label, engine, ty) in [
        ("pg", "postgres", PGDB),
        ("my", "mysql", MYDB),
        ("rd", "redis", RNS),
    ] {
        let conn = format!("{label}upg_{v}");
        let roles = format!("  allowed_roles = [\"{conn}-app\", \"{conn}-*\"]\n");
        hcl.push_str(&connection(label, &conn, engine, &roles));
        hcl.push_str(&role(
            label,
            &format!("{conn}-app"),
            label,
            &name_of(ty, label),
            "",
        ));
    }
    hcl.push_str(&role(
        "pg_ro",
        &format!("pgupg_{v}-ro"),
        "pg",
        &name_of(PGDB, "pg"),
        "  access     = \"readonly\"\n",
    ));
    hcl.push_str("output \"pg_host\" { value = data.dbaas_endpoints.e.postgres_host }\n");
    hcl
}

/// The resource changes of a saved plan, as `(address, type, actions, changed attributes)`.
fn planned_changes(w: &Workdir) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    w.run(&["plan", "-no-color", "-input=false", "-out=upgrade.tfplan"])
        .ok();
    let r = w.run(&["show", "-json", "upgrade.tfplan"]).ok();
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).expect("plan JSON");
    let mut out = Vec::new();
    for rc in plan["resource_changes"].as_array().into_iter().flatten() {
        let actions: Vec<String> = rc["change"]["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        if actions == ["no-op"] || actions == ["read"] {
            continue;
        }
        let before = &rc["change"]["before"];
        let after = &rc["change"]["after"];
        let mut changed = Vec::new();
        if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
            for (k, bv) in b {
                if a.get(k) != Some(bv) {
                    changed.push(k.clone());
                }
            }
            for k in a.keys() {
                if !b.contains_key(k) {
                    changed.push(k.clone());
                }
            }
        }
        out.push((
            rc["address"].as_str().unwrap_or_default().to_string(),
            rc["type"].as_str().unwrap_or_default().to_string(),
            actions,
            changed,
        ));
    }
    out
}

/// Destroys whatever the case made, with this build and then with the previous one.
struct Cleanup<'a> {
    w: &'a Workdir,
    previous: &'a Path,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.w.destroy().code != 0 {
            self.w.switch_provider(self.previous);
            let _ = self.w.destroy();
        }
    }
}

#[test]
fn upgrade_from_the_previous_release_plans_no_replacement_and_no_change() {
    let Some(previous) = previous_binary() else {
        return;
    };
    let (version, _) = previous_release();
    for tf in terraforms() {
        eprintln!(
            "running on terraform {} (upgrade from {version})",
            tf.version
        );
        let v = version_tag(&tf);
        let w = Workdir::with_provider(&tf, &tenant_set(&v), &previous);
        let _cleanup = Cleanup {
            w: &w,
            previous: &previous,
        };
        w.apply().ok();
        let db = format!("acc_upg_{v}");
        let oid_before = psql_admin(
            "postgres",
            &format!("SELECT oid FROM pg_database WHERE datname = '{db}'"),
        )
        .expect("database oid");
        assert!(!oid_before.is_empty(), "{version} created {db}");

        w.switch_provider(&crate::harness::provider_binary());
        let changes = planned_changes(&w);
        for (address, ty, actions, changed) in &changes {
            assert!(
                actions.iter().all(|a| a == "update"),
                "upgrading from {version} plans {actions:?} for {address} (changed: {changed:?}): an upgrade must never replace or delete"
            );
            for attr in changed {
                assert!(
                    ANNOUNCED_IN_PLACE
                        .iter()
                        .any(|(t, a)| t == ty && a == attr),
                    "upgrading from {version} plans an unannounced in-place change of {address}.{attr}; announce it in CHANGELOG.md and ANNOUNCED_IN_PLACE, or keep the old state readable"
                );
            }
        }
        w.apply().ok();
        crate::fixture::assert_plan_empty(&w, "the upgrade apply");
        let oid_after = psql_admin(
            "postgres",
            &format!("SELECT oid FROM pg_database WHERE datname = '{db}'"),
        )
        .expect("database oid");
        assert_eq!(
            oid_before, oid_after,
            "the tenant database survived the upgrade (same oid)"
        );
        w.destroy().ok();
        assert_eq!(
            psql_admin(
                "postgres",
                &format!("SELECT count(*) FROM pg_database WHERE datname = '{db}'"),
            )
            .expect("count"),
            "0",
            "destroy after the upgrade removed the database"
        );
    }
}
