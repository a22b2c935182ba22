//! The documentation as a user follows it.
//!
//! - Runnable snippets: every ```` ```hcl ```` / ```` ```terraform ```` block of README.md and
//!   templates/guides/*.md (the sources of docs/guides/) preceded by the line
//!   `<!-- runnable -->` is applied against the dev stack on each Terraform, planned (empty)
//!   and destroyed. The snippet's `provider "dbaas"` block is replaced by the dev stack's,
//!   and every `name = "..."` gets a prefix unique to the case (`fh<version>b<n>_`), so a
//!   snippet must reference what it creates rather than repeat a name. Databases get
//!   `deletion_protection = false` through an override file before the destroy.
//! - The migration guide: a tenant made by hand the way examples/tenant-stack/hand-written.tf.txt
//!   makes it (SQL and Vault API calls standing in for the postgresql and vault providers),
//!   taken over with the guide's own commands, read from templates/guides/migrating.md, until
//!   the plan is empty.

use std::path::{Path, PathBuf};

use crate::harness::{
    provider_block, psql_admin, terraforms, vault_delete, vault_list, vault_request, version_tag,
    Run, Workdir, REQUIRED_PROVIDERS,
};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The line that marks the next fenced block as runnable.
pub const RUNNABLE: &str = "<!-- runnable -->";

/// `(file, first line, text)` of every runnable block in README.md and the guide sources.
fn runnable_blocks() -> Vec<(PathBuf, usize, String)> {
    let mut files = vec![root().join("README.md")];
    let mut guides: Vec<PathBuf> = std::fs::read_dir(root().join("templates/guides"))
        .expect("templates/guides")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.sort();
    files.extend(guides);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read markdown");
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            if lines[i].trim() != RUNNABLE {
                i += 1;
                continue;
            }
            let fence = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
            assert!(
                fence == "```hcl" || fence == "```terraform",
                "{}:{}: {RUNNABLE} must be followed by a ```hcl or ```terraform fence, found {fence:?}",
                file.display(),
                i + 1
            );
            let indent = lines[i + 1].len() - lines[i + 1].trim_start().len();
            let mut body = Vec::new();
            let mut j = i + 2;
            while j < lines.len() && lines[j].trim() != "```" {
                body.push(lines[j].get(indent..).unwrap_or("").to_string());
                j += 1;
            }
            out.push((file.clone(), i + 2, body.join("\n") + "\n"));
            i = j + 1;
        }
    }
    out
}

/// `hcl` without its top-level `provider "dbaas" { ... }` blocks.
fn strip_dbaas_provider(hcl: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut skipping = false;
    for line in hcl.lines() {
        if depth == 0 && line.trim_start().starts_with("provider \"dbaas\"") {
            skipping = true;
        }
        let code = line.split('#').next().unwrap_or("");
        depth += code.matches('{').count();
        depth = depth.saturating_sub(code.matches('}').count());
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
        if skipping && depth == 0 {
            skipping = false;
        }
    }
    out
}

/// Every `name = "x"` becomes `name = "<prefix>x"`.
fn prefix_names(hcl: &str, prefix: &str) -> String {
    hcl.lines()
        .map(|line| {
            let t = line.trim_start();
            match t.strip_prefix("name").map(str::trim_start) {
                Some(rest) if rest.starts_with('=') => {
                    let indent = &line[..line.len() - t.len()];
                    let value = rest[1..].trim_start();
                    match value.strip_prefix('"') {
                        Some(v) => format!("{indent}name = \"{prefix}{v}"),
                        None => line.to_string(),
                    }
                }
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Labels of the database resources in `hcl` that carry `deletion_protection`.
fn protected_databases(hcl: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in hcl.lines() {
        let parts: Vec<&str> = line.split('"').collect();
        if line.starts_with("resource \"")
            && parts.len() >= 4
            && (parts[1] == "dbaas_shared_postgres_database"
                || parts[1] == "dbaas_shared_mysql_database")
        {
            out.push((parts[1].to_string(), parts[3].to_string()));
        }
    }
    out
}

/// Removes everything named with `prefix` from PostgreSQL, MySQL, Vault and Redis.
fn cleanup_prefix(prefix: &str) {
    let like = prefix.replace('_', "\\_");
    // Vault names a login `v-<display name, 8>-<role name, 8>-...`.
    let login_like: String = prefix
        .chars()
        .take(8)
        .collect::<String>()
        .replace('_', "\\_");
    if let Ok(dbs) = psql_admin(
        "postgres",
        &format!("SELECT datname FROM pg_database WHERE datname LIKE '{like}%'"),
    ) {
        for db in dbs.lines().filter(|l| !l.is_empty()) {
            let _ = psql_admin(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"),
            );
        }
    }
    if let Ok(roles) = psql_admin(
        "postgres",
        &format!("SELECT rolname FROM pg_roles WHERE rolname LIKE '{like}%' OR rolname LIKE 'v-%-{login_like}-%'"),
    ) {
        for role in roles.lines().filter(|l| !l.is_empty()) {
            let _ = psql_admin("postgres", &format!("DROP ROLE IF EXISTS \"{role}\""));
        }
    }
    for role in vault_list("database/roles") {
        if role.starts_with(prefix) {
            let _ = vault_request(
                "PUT",
                &format!("sys/leases/revoke-prefix/database/creds/{role}"),
                Some(&serde_json::json!({})),
            );
            let _ = vault_delete(&format!("database/roles/{role}"));
        }
    }
    for conn in vault_list("database/config") {
        if conn.starts_with(prefix) {
            let _ = vault_delete(&format!("database/config/{conn}"));
        }
    }
}

/// A case's directory: destroyed, then everything named with `prefix` removed, on every exit.
struct Guard {
    w: Workdir,
    prefix: String,
    destroyed: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.destroyed {
            let r = self.w.destroy();
            if r.code != 0 {
                eprintln!("cleanup: terraform destroy failed:\n{}", r.all());
            }
        }
        cleanup_prefix(&self.prefix);
    }
}

fn plan_is_empty(w: &Workdir) -> Result<(), String> {
    let r = w.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"]);
    match r.code {
        0 => Ok(()),
        _ => Err(r.all()),
    }
}

#[test]
fn runnable_snippets_of_the_readme_and_guides_apply_plan_empty_and_destroy() {
    let blocks = runnable_blocks();
    assert!(
        blocks.iter().any(|(f, _, _)| f.ends_with("README.md")),
        "README.md's first example is marked {RUNNABLE}"
    );
    for tf in terraforms() {
        eprintln!("running on terraform {}", tf.version);
        for (n, (file, line, hcl)) in blocks.iter().enumerate() {
            let at = format!(
                "{}:{line} on {}",
                file.strip_prefix(root()).unwrap_or(file).display(),
                tf.version
            );
            let prefix = format!("fh{}b{n}_", version_tag(&tf));
            cleanup_prefix(&prefix);
            let mut body = prefix_names(&strip_dbaas_provider(hcl), &prefix);
            if !body.contains("required_providers") {
                body = format!("{REQUIRED_PROVIDERS}\n{body}");
            }
            let mut g = Guard {
                w: Workdir::new(&tf, ""),
                prefix,
                destroyed: false,
            };
            std::fs::write(g.w.path().join("main.tf"), &body).expect("main.tf");
            std::fs::write(g.w.path().join("provider.tf"), provider_block()).expect("provider.tf");
            let r = g.w.apply();
            assert_eq!(
                r.code,
                0,
                "{at}: apply failed:\n{}\n--- as run:\n{body}",
                r.all()
            );
            if let Err(e) = plan_is_empty(&g.w) {
                panic!("{at}: the plan after apply is not empty:\n{e}");
            }
            let mut overrides = String::new();
            for (ty, label) in protected_databases(&body) {
                overrides.push_str(&format!(
                    "resource \"{ty}\" \"{label}\" {{\n  deletion_protection = false\n}}\n"
                ));
            }
            if !overrides.is_empty() {
                std::fs::write(g.w.path().join("zz_override.tf"), overrides).expect("override");
                g.w.apply().ok();
            }
            let r: Run = g.w.destroy();
            g.destroyed = true;
            assert_eq!(r.code, 0, "{at}: destroy failed:\n{}", r.all());
        }
    }
}

#[test]
fn runnable_marker_parsing_strips_the_provider_and_prefixes_names() {
    let hcl = "provider \"dbaas\" {\n  vault { address = \"x\" } # {\n}\nresource \"a\" \"b\" {\n  name = \"shop\"\n  database_name = \"x\"\n}\n";
    let out = prefix_names(&strip_dbaas_provider(hcl), "p_");
    assert_eq!(
        out,
        "resource \"a\" \"b\" {\n  name = \"p_shop\"\n  database_name = \"x\"\n}\n"
    );
}
