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

use crate::fixture::{each_terraform, Case, Cleanup};
use crate::harness::{
    provider_block, psql_admin, stack, vault_post, version_tag, Run, Terraform, Workdir,
    REQUIRED_PROVIDERS,
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
    for tf in each_terraform() {
        for (n, (file, line, hcl)) in blocks.iter().enumerate() {
            let at = format!(
                "{}:{line} on {}",
                file.strip_prefix(root()).unwrap_or(file).display(),
                tf.version
            );
            let prefix = format!("fh{}b{n}_", version_tag(&tf));
            let mut body = prefix_names(&strip_dbaas_provider(hcl), &prefix);
            if !body.contains("required_providers") {
                body = format!("{REQUIRED_PROVIDERS}\n{body}");
            }
            // Destroyed, then everything named with `prefix` removed, on every exit (and
            // now, for leftovers of an earlier run).
            let mut g = Case::new(&tf, "");
            g.name_prefixes.push(prefix);
            g.sweep();
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

/// The hand-made tenant of the migration case; removed on every exit (the database keeps
/// `deletion_protection`, as the guide leaves it, so no `terraform destroy`).
struct Migration {
    w: Workdir,
    app: String,
    guard: Cleanup,
}

impl Migration {
    /// The case's directory and its guard; sweeps leftovers of an earlier, interrupted run.
    fn new(tf: &Terraform, app: &str) -> Migration {
        let mut m = Migration {
            w: Workdir::new(tf, ""),
            app: app.to_string(),
            guard: Cleanup::default(),
        };
        let (conn, role) = (m.connection(), m.role());
        m.guard.track(&[app], &[&conn], &[&role]);
        m.guard.sweep();
        m
    }

    fn connection(&self) -> String {
        format!("postgres-{}", self.app)
    }

    fn role(&self) -> String {
        format!("postgres-{}-role", self.app)
    }
}

/// Makes the tenant `app` the way examples/tenant-stack/hand-written.tf.txt does, with SQL
/// standing in for the postgresql provider and the Vault API for the vault provider.
fn hand_make_tenant(app: &str) {
    let run = |db: &str, sql: &str| {
        psql_admin(db, sql).unwrap_or_else(|e| panic!("hand-made tenant, in {db}: {sql}\n{e}"));
    };
    // postgresql_role.owner/readwrite/readonly, postgresql_database.app
    run(
        "postgres",
        &format!(
            "CREATE ROLE \"{app}_owner\" NOLOGIN; CREATE ROLE \"{app}_readwrite\" NOLOGIN; CREATE ROLE \"{app}_readonly\" NOLOGIN"
        ),
    );
    run(
        "postgres",
        &format!("CREATE DATABASE \"{app}\" OWNER \"{app}_owner\""),
    );
    let (o, rw, ro) = (
        format!("\"{app}_owner\""),
        format!("\"{app}_readwrite\""),
        format!("\"{app}_readonly\""),
    );
    let statements = [
        // revoke_public_connect, revoke_public_create
        format!("REVOKE ALL ON DATABASE \"{app}\" FROM PUBLIC"),
        "REVOKE ALL ON SCHEMA public FROM PUBLIC".to_string(),
        // connect (for_each), schema_usage
        format!("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE \"{app}\" TO {o}"),
        format!("GRANT CONNECT ON DATABASE \"{app}\" TO {rw}, {ro}"),
        format!("GRANT USAGE ON SCHEMA public TO {rw}, {ro}"),
        // readwrite_tables, readwrite_sequences, readonly_tables
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {rw}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {rw}"),
        format!("ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public GRANT SELECT ON TABLES TO {ro}"),
        // postgresql_schema.pgbouncer, postgresql_function.get_auth and its grants
        "CREATE SCHEMA pgbouncer AUTHORIZATION postgres".to_string(),
        "CREATE FUNCTION pgbouncer.get_auth(p_usename text) RETURNS TABLE(usename name, passwd text) \
         LANGUAGE sql SECURITY DEFINER AS $$ SELECT usename, passwd FROM pg_catalog.pg_shadow \
         WHERE usename = p_usename AND (valuntil IS NULL OR valuntil > pg_catalog.now()); $$"
            .to_string(),
        format!("GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO \"{}\"", stack("DBAAS_PGBOUNCER_AUTH_USER")),
        format!("GRANT CONNECT ON DATABASE \"{app}\" TO \"{}\"", stack("DBAAS_PGBOUNCER_AUTH_USER")),
    ];
    run(app, &statements.join(";\n"));
    // vault_database_secret_backend_connection.app: the stack's own connection.
    vault_post(
        &format!("database/config/postgres-{app}"),
        &serde_json::json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": format!(
                "postgresql://{{{{username}}}}:{{{{password}}}}@{}:{}/postgres?sslmode=disable",
                stack("PGHOST"),
                stack("PGPORT")
            ),
            "username": stack("PGUSER"),
            "password": stack("PGPASSWORD"),
            "allowed_roles": [format!("postgres-{app}-role")],
        }),
    );
    // vault_database_secret_backend_role.app, its statements as written there.
    vault_post(
        &format!("database/roles/postgres-{app}-role"),
        &serde_json::json!({
            "db_name": format!("postgres-{app}"),
            "default_ttl": 86400,
            "max_ttl": 86400,
            "creation_statements": [
                format!("CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' VALID UNTIL '{{{{expiration}}}}' IN ROLE \"{app}_owner\";"),
                format!("ALTER ROLE \"{{{{name}}}}\" SET role = '{app}_owner';"),
            ],
            "revocation_statements": [
                "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = '{{name}}';",
                "DROP ROLE IF EXISTS \"{{name}}\";",
            ],
        }),
    );
}

/// A state holding every resource of hand-written.tf.txt but `vault_policy.app` (which the
/// guide keeps), as the hand-written stack left it; attributes do not matter to `state rm`.
fn hand_written_state() -> (serde_json::Value, Vec<String>) {
    let text = std::fs::read_to_string(root().join("examples/tenant-stack/hand-written.tf.txt"))
        .expect("hand-written.tf.txt");
    let mut resources = Vec::new();
    let mut addresses = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let parts: Vec<&str> = line.split('"').collect();
        if !line.starts_with("resource \"") || parts.len() < 4 {
            continue;
        }
        let (ty, name) = (parts[1].to_string(), parts[3].to_string());
        let mut for_each = false;
        for l in lines.by_ref() {
            for_each |= l.trim_start().starts_with("for_each");
            if l == "}" {
                break;
            }
        }
        if ty == "vault_policy" {
            continue;
        }
        let provider = if ty.starts_with("vault_") {
            "provider[\"registry.terraform.io/hashicorp/vault\"]"
        } else {
            "provider[\"registry.terraform.io/cyrilgdn/postgresql\"]"
        };
        let instance = |key: Option<&str>| {
            let mut i = serde_json::json!({
                "schema_version": 0,
                "attributes": { "id": format!("{ty}.{name}") },
                "sensitive_attributes": [],
            });
            if let Some(k) = key {
                i["index_key"] = serde_json::json!(k);
            }
            i
        };
        let instances = if for_each {
            vec![instance(Some("first")), instance(Some("second"))]
        } else {
            vec![instance(None)]
        };
        addresses.push(format!("{ty}.{name}"));
        resources.push(serde_json::json!({
            "mode": "managed", "type": ty, "name": name, "provider": provider,
            "instances": instances,
        }));
    }
    assert!(
        addresses.len() >= 15,
        "parsed hand-written.tf.txt: {addresses:?}"
    );
    let state = serde_json::json!({
        "version": 4, "terraform_version": "1.0.3", "serial": 1,
        "lineage": "hand-written-tenant-stack", "outputs": {}, "resources": resources,
    });
    (state, addresses)
}

/// The guide's blocks: `(language, text)` of every fenced block, indentation removed.
fn fenced_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize, Vec<String>)> = None;
    for line in markdown.lines() {
        let t = line.trim_start();
        match current.take() {
            None => {
                if let Some(lang) = t.strip_prefix("```") {
                    current = Some((lang.to_string(), line.len() - t.len(), Vec::new()));
                }
            }
            Some((lang, indent, mut body)) => {
                if t == "```" {
                    out.push((lang, body.join("\n") + "\n"));
                } else {
                    body.push(line.get(indent..).unwrap_or("").to_string());
                    current = Some((lang, indent, body));
                }
            }
        }
    }
    out
}

#[test]
fn migration_guide_takes_over_a_hand_made_tenant_with_its_own_commands_to_an_empty_plan() {
    let guide = std::fs::read_to_string(root().join("templates/guides/migrating.md"))
        .expect("migrating.md");
    let blocks = fenced_blocks(&guide);
    let config = &blocks
        .iter()
        .find(|(lang, _)| lang == "terraform")
        .expect("the guide's first terraform block: the new resources")
        .1;
    let commands: Vec<&str> = blocks
        .iter()
        .filter(|(lang, _)| lang == "shell")
        .flat_map(|(_, text)| text.lines())
        .filter(|l| l.starts_with("terraform state rm ") || l.starts_with("terraform import "))
        .collect();
    assert!(
        commands.iter().any(|c| c.starts_with("terraform state rm"))
            && commands.iter().any(|c| c.starts_with("terraform import")),
        "{commands:?}"
    );
    for tf in each_terraform() {
        let app = format!("acc_fh_mig_{}", version_tag(&tf));
        let m = Migration::new(&tf, &app);
        hand_make_tenant(&app);

        // The stack as the hand-written one left it: its state, the new blocks written.
        let (state, addresses) = hand_written_state();
        std::fs::write(
            m.w.path().join("terraform.tfstate"),
            serde_json::to_string_pretty(&state).unwrap(),
        )
        .expect("state");
        std::fs::write(
            m.w.path().join("main.tf"),
            format!("{REQUIRED_PROVIDERS}\n{}", config.replace("shop", &app)),
        )
        .expect("main.tf");
        std::fs::write(m.w.path().join("provider.tf"), provider_block()).expect("provider.tf");

        for command in &commands {
            let command = command.replace("shop", &app);
            let args: Vec<&str> = command.split_whitespace().skip(1).collect();
            let r = m.w.run(&args);
            assert_eq!(r.code, 0, "`{command}` on {}:\n{}", tf.version, r.all());
        }
        let listed = m.w.run(&["state", "list"]).ok().stdout;
        for address in &addresses {
            assert!(
                !listed.lines().any(|l| l.starts_with(address.as_str())),
                "the guide's `state rm` leaves {address} in state:\n{listed}"
            );
        }
        let mut listed: Vec<&str> = listed.lines().collect();
        listed.sort();
        assert_eq!(
            listed,
            [
                "dbaas_shared_postgres_database.app",
                "dbaas_vault_database_connection.app",
                "dbaas_vault_rotation_role.app"
            ]
        );
        if let Err(plan) = plan_is_empty(&m.w) {
            panic!(
                "after the guide's commands on {}, the plan is not empty:\n{plan}",
                tf.version
            );
        }
    }
}
