//! `docs/` must be exactly what the schemas and `examples/` render (`tfplugin::docs`).
//! With `UPDATE_DOCS=1` (what `make docs` sets) the test rewrites `docs/` instead,
//! removing files nothing renders, and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use terraform_provider_dbaas::provider::DbaasProvider;
use tfplugin::docs::Docs;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file of `docs/` as the schemas and `examples/` render it.
fn render_all() -> Vec<(PathBuf, String)> {
    let docs = Docs {
        name: "dbaas",
        repo: "terraform-provider-dbaas",
    };
    docs.render_all(&DbaasProvider, root())
}

/// Every file under `dir`, as paths relative to the repository root.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("read docs/ entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root()) {
                out.insert(rel.to_path_buf());
            }
        }
    }
    out
}

/// Where two texts first differ, for the failure message.
fn first_difference(want: &str, have: &str) -> String {
    let (mut w, mut h) = (want.lines(), have.lines());
    let mut n = 1;
    loop {
        match (w.next(), h.next()) {
            (Some(a), Some(b)) if a == b => n += 1,
            (None, None) => return "line endings or trailing newline differ".into(),
            (a, b) => {
                return format!(
                    "line {n}: rendered {:?}, on disk {:?}",
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>")
                )
            }
        }
    }
}

#[test]
fn docs_match_the_schemas() {
    let docs = root().join("docs");
    let rendered: BTreeMap<PathBuf, String> = render_all().into_iter().collect();
    let on_disk = files_under(&docs);
    let extra: Vec<&PathBuf> = on_disk
        .iter()
        .filter(|p| !rendered.contains_key(*p))
        .collect();

    if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
        let mut changed = 0;
        for (rel, text) in &rendered {
            let path = root().join(rel);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
            }
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", rel.display()));
            eprintln!("docs: wrote {}", rel.display());
            changed += 1;
        }
        for rel in &extra {
            std::fs::remove_file(root().join(rel))
                .unwrap_or_else(|e| panic!("remove {}: {e}", rel.display()));
            eprintln!("docs: removed {} (nothing renders it)", rel.display());
            changed += 1;
        }
        remove_empty_dirs(&docs);
        eprintln!("docs: {} files rendered, {changed} changed", rendered.len());
        return;
    }

    let mut problems = Vec::new();
    for (rel, text) in &rendered {
        match std::fs::read_to_string(root().join(rel)) {
            Ok(have) if have == *text => {}
            Ok(have) => problems.push(format!(
                "  differs: {} ({})",
                rel.display(),
                first_difference(text, &have)
            )),
            Err(_) => problems.push(format!("  missing: {}", rel.display())),
        }
    }
    for rel in extra {
        problems.push(format!(
            "  extra:   {} (not rendered from any schema or template)",
            rel.display()
        ));
    }
    assert!(
        problems.is_empty(),
        "docs/ is out of date with the schemas and examples/:\n{}\n\
         Run `make docs` to regenerate it (docs/ is generated; never edit it by hand).",
        problems.join("\n")
    );
}

/// Removes directories under `dir` (not `dir` itself) left empty by removals.
fn remove_empty_dirs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_empty_dirs(&path);
            // Fails harmlessly when the directory still holds files.
            let _ = std::fs::remove_dir(&path);
        }
    }
}

/// Every `(#anchor)` link on a page points at an `<a id="anchor">` on the same page.
#[test]
fn nested_schema_links_resolve() {
    for (rel, text) in render_all() {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](#") {
            rest = &rest[at + 3..];
            let anchor = &rest[..rest.find(')').unwrap_or(rest.len())];
            assert!(
                text.contains(&format!("<a id=\"{anchor}\"></a>")),
                "{}: link to #{anchor} has no anchor",
                rel.display()
            );
        }
    }
}

/// Every page names what it documents and ends with exactly one newline.
#[test]
fn pages_are_well_formed() {
    for (rel, text) in render_all() {
        assert!(
            text.ends_with('\n') && !text.ends_with("\n\n"),
            "{}: must end with one newline",
            rel.display()
        );
        if rel.starts_with("docs/guides") {
            continue;
        }
        assert!(text.starts_with("---\npage_title: "), "{}", rel.display());
        assert!(text.contains("\n## Schema\n"), "{}", rel.display());
    }
}

/// The provider's own definition passes the self-check `serve` runs at start-up (no
/// duplicate type names, no contradictory schema flags), which would otherwise fail
/// every Terraform command with its diagnostics.
#[test]
fn the_provider_passes_its_start_up_self_check() {
    let problems = tfplugin::check_provider(DbaasProvider);
    assert!(problems.0.is_empty(), "{:#?}", problems.0);
}

/// Defaults and replacement are said once on a page, as the schema renders them
/// ("Default: `x`.", "Changing it forces replacement."), never again in the description.
#[test]
fn descriptions_leave_defaults_and_replacement_to_the_schema() {
    let docs = Docs {
        name: "dbaas",
        repo: "terraform-provider-dbaas",
    };
    let problems = docs.restated_facts(&DbaasProvider);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
