//! Every resource, data source and ephemeral resource has an example under `examples/`
//! that is rendered into its docs page; every resource page has an Import section with
//! the ID format and an example.
//!
//! The set of types is the set of pages under `docs/` (tests/docs.rs keeps those equal
//! to the schemas). As on the registry, a type's rendered example shows the type only;
//! the `terraform` block that makes its directory a configuration of its own lives beside
//! it in `versions.tf`, which is not rendered.
//!
//! Every directory under `examples/` holding a `.tf` file is copied alone into an empty
//! directory and must `terraform init` and `terraform validate` there, with nothing added:
//! the provider is installed from a filesystem mirror holding this build (named by the CLI
//! config, as on a user's machine), and no dev-stack variable is set. It runs on Terraform
//! v1.0.3 (`DBAAS_TERRAFORM`, from `scripts/dev-stack env`) and on the newer Terraform
//! when present. A directory that needs a newer Terraform (ephemeral blocks: 1.10;
//! write-only `password_wo`: 1.11; `import` blocks: 1.5) must be refused by an older one
//! with the diagnostic that says so (and, for `import.tf`, the rest must work there).

#[path = "../acceptance-tests/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use harness::{terraforms, Terraform};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `(kind dir, example file name)` for each kind of page.
const KINDS: [(&str, &str); 3] = [
    ("resources", "resource.tf"),
    ("data-sources", "data-source.tf"),
    ("ephemeral-resources", "ephemeral-resource.tf"),
];

/// `(kind dir, example file, type name, docs page path)` for every documented type.
fn documented_types() -> Vec<(&'static str, &'static str, String, PathBuf)> {
    let mut out = Vec::new();
    for (dir, file) in KINDS {
        let docs = root().join("docs").join(dir);
        let Ok(entries) = std::fs::read_dir(&docs) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".md"))
            {
                out.push((dir, file, format!("dbaas_{stem}"), path.clone()));
            }
        }
    }
    out.sort_by(|a, b| a.2.cmp(&b.2));
    assert!(
        out.len() >= 8,
        "expected every type's page under docs/: {out:?}"
    );
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn every_type_has_a_rendered_example_and_every_resource_an_import_section() {
    let mut problems = Vec::new();
    let mut known = Vec::new();
    for (dir, file, type_name, page_path) in documented_types() {
        let examples = root().join("examples").join(dir).join(&type_name);
        known.push(examples.clone());
        let page = read(&page_path);
        let example_path = examples.join(file);
        let example = read(&example_path);
        let rel = format!("examples/{dir}/{type_name}/{file}");
        if example.trim().is_empty() {
            problems.push(format!("{type_name}: no example ({rel})"));
        } else {
            if !page.contains("\n## Example Usage\n") || !page.contains(example.trim_end()) {
                problems.push(format!(
                    "{type_name}: {rel} is not rendered into {} (run `make docs`)",
                    page_path.display()
                ));
            }
            if example.contains("required_providers") || example.contains("provider \"dbaas\"") {
                problems.push(format!(
                    "{type_name}: {rel} repeats the provider configuration (the rendered example shows the type; the `terraform` block goes in versions.tf beside it)"
                ));
            }
            let kind_word = match dir {
                "resources" => "resource",
                "data-sources" => "data",
                _ => "ephemeral",
            };
            if !example.contains(&format!("{kind_word} \"{type_name}\"")) {
                problems.push(format!("{type_name}: {rel} never uses {type_name}"));
            }
        }
        if dir != "resources" {
            continue;
        }
        let cli = read(&examples.join("import.sh"));
        let block = read(&examples.join("import.tf"));
        if !cli.contains(&format!("terraform import {type_name}.")) {
            problems.push(format!(
                "{type_name}: examples/resources/{type_name}/import.sh has no `terraform import {type_name}.<label> <id>`"
            ));
        }
        // The ID format, said in words in the comment above the command.
        if !cli
            .lines()
            .any(|l| l.starts_with('#') && l.contains("imported by"))
        {
            problems.push(format!(
                "{type_name}: import.sh does not say what the ID is (a `# ... imported by <format>` comment)"
            ));
        }
        if !block.contains(&format!("to = {type_name}.")) {
            problems.push(format!(
                "{type_name}: examples/resources/{type_name}/import.tf has no import block"
            ));
        }
        if !page.contains("\n## Import\n") || !page.contains(cli.trim_end()) {
            problems.push(format!(
                "{type_name}: {} has no Import section with import.sh (run `make docs`)",
                page_path.display()
            ));
        }
    }
    // No example for a type that does not exist (a rename left it behind).
    for (dir, _) in KINDS {
        if let Ok(entries) = std::fs::read_dir(root().join("examples").join(dir)) {
            for e in entries.flatten() {
                if !known.contains(&e.path()) {
                    problems.push(format!(
                        "{}: no such type is documented",
                        e.path().display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `v1.11.4` → `(1, 11)`.
fn minor(tf: &Terraform) -> (u32, u32) {
    let mut parts = tf
        .version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Every directory under `examples/` holding a `.tf` file: each is one configuration,
/// as a reader copies it.
fn example_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut stack = vec![root().join("examples")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut has_tf = false;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().and_then(|e| e.to_str()) == Some("tf") {
                has_tf = true;
            }
        }
        if has_tf {
            dirs.push(dir);
        }
    }
    dirs.sort();
    assert!(
        dirs.len() >= 10,
        "expected the example directories: {dirs:?}"
    );
    dirs
}

/// The files directly in `dir` (not its subdirectories, which Terraform does not read).
fn files_of(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("example dir")
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| (e.file_name().to_string_lossy().to_string(), read(&e.path())))
        .collect();
    files.sort();
    files
}

/// What a configuration needs that `tf` lacks, as `(Terraform version, a word of the older
/// Terraform's refusal)`: the first unmet need in the order Terraform checks them (blocks it
/// cannot parse first, then what the provider refuses).
fn unmet_need(text: &str, tf: &Terraform) -> Option<((u32, u32), &'static str)> {
    let needs = [
        (
            text.lines().any(|l| l.starts_with("ephemeral \"")),
            (1, 10),
            "Unsupported block type",
        ),
        (
            text.lines().any(|l| l.trim_end() == "import {"),
            (1, 5),
            "Unsupported block type",
        ),
        (text.contains("password_wo"), (1, 11), "1.11"),
    ];
    needs
        .into_iter()
        .find(|(used, min, _)| *used && minor(tf) < *min)
        .map(|(_, min, why)| (min, why))
}

/// A filesystem mirror holding this build as the provider's release (the unpacked layout
/// `terraform providers mirror` and `make install` use), and a CLI config that installs
/// `infra/dbaas` from it and nothing from anywhere else: the way a user's machine holds
/// the provider, so the example directory itself gets nothing added.
struct Mirror {
    dir: tempfile::TempDir,
}

impl Mirror {
    fn new() -> Mirror {
        let dir = tempfile::Builder::new()
            .prefix("dbaas-examples-")
            .tempdir()
            .expect("temp dir");
        let platform = format!(
            "{}_{}",
            std::env::consts::OS,
            match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                other => other,
            }
        );
        let version = env!("CARGO_PKG_VERSION");
        let pkg = dir
            .path()
            .join("mirror/registry.terraform.io/infra/dbaas")
            .join(version)
            .join(platform);
        std::fs::create_dir_all(&pkg).expect("mirror dir");
        std::os::unix::fs::symlink(
            harness::provider_binary(),
            pkg.join(format!("terraform-provider-dbaas_v{version}")),
        )
        .expect("symlink provider");
        let cli = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"infra/dbaas\"]\n  }}\n}}\n",
            dir.path().join("mirror").display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli).expect("cli config");
        Mirror { dir }
    }

    /// `terraform <args>` in `work`, with an environment holding nothing of the dev
    /// stack (no PG*, VAULT_*, DBAAS_* variable): only PATH, HOME and the CLI config.
    fn run(&self, tf: &Terraform, work: &Path, args: &[&str]) -> harness::Run {
        let out = std::process::Command::new(&tf.bin)
            .args(args)
            .current_dir(work)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", work)
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", tf.bin.display()));
        harness::Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }

    /// Copies `files` into a fresh empty directory and runs `init` then `validate`;
    /// the first that fails, or `validate`'s result.
    fn init_and_validate(&self, tf: &Terraform, files: &[(String, String)]) -> harness::Run {
        let work = tempfile::Builder::new()
            .prefix("dbaas-example-")
            .tempdir()
            .expect("temp dir");
        for (name, text) in files {
            std::fs::write(work.path().join(name), text).expect("copy example file");
        }
        let init = self.run(tf, work.path(), &["init", "-no-color", "-input=false"]);
        if init.code != 0 {
            return init;
        }
        self.run(tf, work.path(), &["validate", "-no-color"])
    }
}

#[test]
fn every_example_directory_inits_and_validates_alone_on_every_terraform() {
    let mirror = Mirror::new();
    let mut problems = Vec::new();
    for tf in terraforms() {
        for dir in example_dirs() {
            let rel = dir
                .strip_prefix(root())
                .unwrap_or(&dir)
                .display()
                .to_string();
            check(&mirror, &tf, &rel, files_of(&dir), &mut problems);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Copies `files` alone, runs `init` and `validate` on `tf`: they must pass, or, when the
/// files need a newer Terraform, be refused saying why; after an `import` block's refusal
/// the rest of the directory (without `import.tf`) is checked the same way.
fn check(
    mirror: &Mirror,
    tf: &Terraform,
    rel: &str,
    files: Vec<(String, String)>,
    problems: &mut Vec<String>,
) {
    let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
    let r = mirror.init_and_validate(tf, &files);
    let Some((min, why)) = unmet_need(&all, tf) else {
        if r.code != 0 {
            problems.push(format!(
                "{rel} does not init and validate alone on {}:\n{}",
                tf.version,
                r.all()
            ));
        }
        return;
    };
    if r.code == 0 || !r.all().contains(why) {
        problems.push(format!(
            "{rel} on {}: needs Terraform {}.{}, expected a refusal mentioning {why:?}:\n{}",
            tf.version,
            min.0,
            min.1,
            r.all()
        ));
        return;
    }
    eprintln!(
        "note: {rel} needs Terraform {}.{}: {} refuses it as expected",
        min.0, min.1, tf.version
    );
    if min == (1, 5) {
        let rest = files
            .into_iter()
            .filter(|(n, _)| n != "import.tf")
            .collect();
        check(
            mirror,
            tf,
            &format!("{rel} without import.tf"),
            rest,
            problems,
        );
    }
}

/// The text of every `.tf` file under `examples/` and every guide source
/// (`templates/guides/*.md`), with its path relative to the repository root.
fn examples_and_guides() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("examples"), root().join("templates/guides")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let ext = path.extension().and_then(|e| e.to_str());
            if path.is_dir() {
                stack.push(path);
            } else if matches!(ext, Some("tf" | "md")) {
                let rel = path
                    .strip_prefix(root())
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                out.push((rel, read(&path)));
            }
        }
    }
    out.sort();
    out
}

/// A configuration copied from the docs reads its admin passwords from paths the shipped
/// policy (`policies/dbaas-provider.hcl`) lets the provider read.
#[test]
fn every_password_vault_path_shown_is_granted_by_the_shipped_policy() {
    let policy = read(&root().join("policies/dbaas-provider.hcl"));
    let mut problems = Vec::new();
    for (rel, text) in examples_and_guides() {
        for line in text.lines() {
            let Some(value) = line
                .trim()
                .strip_prefix("password_vault_path")
                .and_then(|rest| rest.trim_start().strip_prefix('='))
                .map(str::trim)
                .and_then(|v| v.strip_prefix('"'))
                .and_then(|v| v.split('"').next())
            else {
                continue;
            };
            if !policy.contains(&format!("path \"{value}\"")) {
                problems.push(format!(
                    "{rel}: password_vault_path {value:?} is not granted by policies/dbaas-provider.hcl"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `pgbouncer` provider block shown lists `admin_hosts`: destroy pauses and ends a
/// database's connections on every replica, and one left out keeps them
/// (guides/platform-prerequisites).
#[test]
fn every_pgbouncer_block_shown_lists_every_admin_host() {
    let mut problems = Vec::new();
    for (rel, text) in examples_and_guides() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim() != "pgbouncer {" {
                continue;
            }
            let indent = &line[..line.len() - line.trim_start().len()];
            let close = format!("{indent}}}");
            let block: Vec<&str> = lines[i..]
                .iter()
                .take_while(|l| **l != close)
                .copied()
                .collect();
            if !block
                .iter()
                .any(|l| l.trim_start().starts_with("admin_hosts"))
            {
                problems.push(format!(
                    "{rel}:{}: the pgbouncer block has no admin_hosts",
                    i + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The guides recommend a version constraint that takes patch releases only
/// (`~> 0.1.0`, not `~> 0.1`, which allows 0.2), and the CI pipeline logs in to Vault with
/// the provider's own login block: the Terraform image has no `vault` CLI.
#[test]
fn guides_pin_patch_releases_and_the_pipeline_needs_no_vault_cli() {
    let mut problems = Vec::new();
    for (rel, text) in examples_and_guides() {
        for (i, line) in text.lines().enumerate() {
            if let Some(at) = line.find("version = \"~> ") {
                let constraint = line[at + 14..].split('"').next().unwrap_or("");
                if constraint.split('.').count() < 3 {
                    problems.push(format!(
                        "{rel}:{}: `~> {constraint}` allows the next minor release",
                        i + 1
                    ));
                }
            }
        }
        if rel.ends_with("running-in-ci.md")
            && text
                .lines()
                .any(|l| l.contains("$(vault ") || l.contains("vault write"))
        {
            problems.push(format!("{rel}: the pipeline calls the `vault` CLI"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
