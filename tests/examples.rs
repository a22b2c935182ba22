//! Every resource, data source and ephemeral resource has an example under `examples/`
//! that is rendered into its docs page and `terraform validate`s (with the provider's example); every
//! resource page has an Import section with the ID format and an example.
//!
//! The set of types is the set of pages under `docs/` (tests/docs.rs keeps those equal
//! to the schemas). As on the registry, the provider's own example
//! (`examples/provider/provider.tf`) carries the `terraform` and `provider` blocks, once;
//! a type's example shows the type and is validated together with that file. The other
//! provider examples (rendered under the same Example Usage) are provider blocks alone and
//! validate with `provider.tf`'s `terraform` block.
//! Validation runs each example directory alone, with a CLI config whose
//! `dev_overrides` points at this build (no `init`, so nothing is downloaded), on
//! Terraform v1.0.3 (`DBAAS_TERRAFORM`, from `scripts/dev-stack env`) and on the newer
//! Terraform when present. An example that needs a newer Terraform (ephemeral blocks:
//! 1.10; write-only `password_wo`: 1.11; `import` blocks: 1.5) must fail on an older one
//! with the diagnostic that says so.

#[path = "../acceptance-tests/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use harness::{terraforms, Terraform, Workdir};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The provider's example: its `terraform` and `provider` blocks serve every type's example.
const PROVIDER_EXAMPLE: &str = "examples/provider/provider.tf";

/// The `terraform { ... }` block of the provider's example (from its `terraform {` line to
/// the first `}` at the start of a line).
fn terraform_block() -> String {
    let text = read(&root().join(PROVIDER_EXAMPLE));
    let start = text
        .find("\nterraform {")
        .expect("provider.tf has a terraform block")
        + 1;
    let end = start
        + text[start..]
            .find("\n}")
            .expect("the terraform block closes")
        + 3;
    text[start..end].to_string()
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
                    "{type_name}: {rel} repeats the provider configuration (it belongs to {PROVIDER_EXAMPLE} only)"
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

/// Every directory whose `.tf` files form one example.
fn example_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![
        root().join("examples/provider"),
        root().join("examples/demo"),
        root().join("examples/tenant-stack"),
    ];
    for (dir, _) in KINDS {
        if let Ok(entries) = std::fs::read_dir(root().join("examples").join(dir)) {
            dirs.extend(entries.flatten().map(|e| e.path()));
        }
    }
    dirs.sort();
    dirs
}

/// Every example with its `.tf` files (name, text), sorted: one per directory, except
/// `examples/provider`, where each file is a whole configuration of its own (one
/// provider block each) and validates alone.
fn example_units() -> Vec<(PathBuf, Vec<(String, String)>)> {
    let mut units = Vec::new();
    for dir in example_dirs() {
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .expect("example dir")
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.ends_with(".tf").then(|| (name, read(&e.path())))
            })
            .collect();
        // A type's example runs with the provider's example beside it.
        if KINDS
            .iter()
            .any(|(kind, _)| dir.parent() == Some(&root().join("examples").join(kind)))
        {
            files.push(("provider.tf".into(), read(&root().join(PROVIDER_EXAMPLE))));
        }
        files.sort();
        if dir.ends_with("examples/provider") {
            // Each alone, the others with provider.tf's `terraform` block beside them.
            units.extend(files.into_iter().map(|f| {
                let mut unit = vec![f.clone()];
                if f.0 != "provider.tf" {
                    assert!(
                        !f.1.contains("required_providers"),
                        "examples/provider/{}: the terraform block belongs to provider.tf only",
                        f.0
                    );
                    unit.push(("versions.tf".into(), terraform_block()));
                }
                (dir.join(&f.0), unit)
            }));
        } else {
            units.push((dir, files));
        }
    }
    units
}

/// The lowest Terraform `(major, minor)` an example's text needs, and why.
fn needs(text: &str) -> Option<((u32, u32), &'static str)> {
    if text.contains("password_wo") {
        Some(((1, 11), "1.11"))
    } else if text.lines().any(|l| l.starts_with("ephemeral \"")) {
        Some(((1, 10), "Unsupported block type"))
    } else {
        None
    }
}

#[test]
fn examples_validate_on_their_own_on_every_terraform() {
    let mut problems = Vec::new();
    for tf in terraforms() {
        for (dir, files) in example_units() {
            let mut files = files;
            // `import` blocks are Terraform 1.5+: older ones validate the rest.
            if minor(&tf) < (1, 5) {
                files.retain(|(name, _)| name != "import.tf");
            }
            let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
            let w = Workdir::new(&tf, "");
            std::fs::remove_file(w.path().join("main.tf")).expect("remove main.tf");
            for (name, text) in &files {
                std::fs::write(w.path().join(name), text).expect("write example");
            }
            let r = w.run(&["validate", "-no-color"]);
            let rel = dir
                .strip_prefix(root())
                .unwrap_or(&dir)
                .display()
                .to_string();
            match needs(&all) {
                Some((min, why)) if minor(&tf) < min => {
                    if r.code == 0 || !r.all().contains(why) {
                        problems.push(format!(
                            "{rel} on {}: needs Terraform {}.{}, expected a failure mentioning {why:?}:\n{}",
                            tf.version,
                            min.0,
                            min.1,
                            r.all()
                        ));
                    } else {
                        eprintln!(
                            "note: {rel} needs Terraform {}.{}: on {} it fails as expected",
                            min.0, min.1, tf.version
                        );
                    }
                }
                _ => {
                    if r.code != 0 {
                        problems.push(format!(
                            "{rel} does not validate on {}:\n{}",
                            tf.version,
                            r.all()
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
