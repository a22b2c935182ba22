//! The layering test: `backends/` and `sql/` depend on nothing of Terraform, the provider
//! or the resources, directly or through a module of this crate they name (`crate::enums`
//! must not itself import `tfplugin`). It reads the source files, follows every
//! `crate::<module>` they name (re-exports in `lib.rs` included) and lists each offending
//! file and line.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// What the lower layers must never name.
const FORBIDDEN: [&str; 3] = ["tfplugin", "crate::provider", "crate::resources"];

/// The lower layers: every file under them, and every module they reach, is checked.
const LOWER: [&str; 2] = ["backends", "sql"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The files of module `crate::<name>`: `src/<name>.rs` and `src/<name>/**`, or where a
/// `pub use a::b::<name>;` in `lib.rs` points.
fn module_files(root: &Path, name: &str, lib: &str) -> Vec<PathBuf> {
    let at = |segments: &[&str]| {
        let base = segments.iter().fold(root.to_path_buf(), |p, s| p.join(s));
        let mut files = rust_files(&base);
        let file = base.with_extension("rs");
        if file.is_file() {
            files.push(file);
        }
        files
    };
    let direct = at(&[name]);
    if !direct.is_empty() {
        return direct;
    }
    let reexport = lib.lines().find_map(|l| {
        let path = l.trim().strip_prefix("pub use ")?.strip_suffix(';')?;
        let path = path.strip_prefix("crate::").unwrap_or(path);
        path.rsplit_once("::")
            .filter(|(_, last)| *last == name)
            .map(|_| path.split("::").collect::<Vec<_>>())
    });
    reexport.map(|segments| at(&segments)).unwrap_or_default()
}

/// Whether a line is only a comment (a comment names no dependency).
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with("//")
}

/// The top-level modules of this crate a source text names: `crate::x::...` and each
/// item of `use crate::{x, y::z}`.
fn crate_modules_named(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for line in text.lines().filter(|l| !is_comment(l)) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = group.split('}').next().unwrap_or_default();
                out.extend(group.split(',').map(|item| ident(item.trim())));
            } else {
                out.insert(ident(rest));
            }
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// The lines of `text` (numbered from 1) that name something forbidden.
fn offending_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !is_comment(l) && FORBIDDEN.iter().any(|f| l.contains(f)))
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

/// Every offence in the lower layers and the modules they reach: `file:line: text`, with
/// the module through which a file was reached.
fn offences(root: &Path) -> Vec<String> {
    let lib = std::fs::read_to_string(root.join("lib.rs")).unwrap_or_default();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut queue: VecDeque<(PathBuf, String)> = VecDeque::new();
    let mut modules: BTreeSet<String> = BTreeSet::new();
    for layer in LOWER {
        modules.insert(layer.to_string());
        for f in module_files(root, layer, &lib) {
            queue.push_back((f, format!("crate::{layer}")));
        }
    }
    let mut out = Vec::new();
    while let Some((file, via)) = queue.pop_front() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in offending_lines(&text) {
            out.push(format!("src/{shown}:{n}: {line} (reached as {via})"));
        }
        for m in crate_modules_named(&text) {
            if modules.insert(m.clone()) {
                for f in module_files(root, &m, &lib) {
                    queue.push_back((f, format!("crate::{m}")));
                }
            }
        }
    }
    out
}

#[test]
fn backends_and_sql_know_nothing_of_terraform_the_provider_or_resources() {
    let found = offences(&src());
    assert!(
        found.is_empty(),
        "backends/ and sql/ (and the modules they use) must not name {FORBIDDEN:?}:\n{}",
        found.join("\n")
    );
}

#[test]
fn resources_ask_the_settings_never_the_defaults() {
    // `Settings::vault_mount()`, `pgbouncer_auth_user()`, ... answer resolved values; a
    // resource reading a default would miss what the provider block configured.
    let mut found = Vec::new();
    for layer in ["resources", "data_sources", "ephemeral_resources"] {
        for file in rust_files(&src().join(layer)) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                if !is_comment(line) && line.contains("defaults::") {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_lower_layers_reach_the_word_enums_through_the_domain() {
    // The test follows `crate::enums` to `src/domain/enums.rs` (a re-export in lib.rs);
    // were it to stop following, a tfplugin import there would pass unseen.
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap_or_default();
    let files = module_files(&src(), "enums", &lib);
    assert!(
        files.iter().any(|f| f.ends_with("domain/enums.rs")),
        "{files:?}"
    );
}

#[test]
fn crate_modules_are_named_in_paths_and_use_groups() {
    let text = "use crate::{enums::SslMode, sql};\nlet x = crate::domain::facts::PgLoginFacts::default();\n// crate::resources in a comment\n";
    let named: Vec<String> = crate_modules_named(text).into_iter().collect();
    assert_eq!(named, ["domain", "enums", "sql"]);
}

#[test]
fn offending_lines_are_numbered_and_comments_are_not_dependencies() {
    let text = "//! Unlike crate::resources, this ...\nuse tfplugin::Value;\nfn f() {}\nlet r = crate::provider::defaults::SSLMODE;\n";
    let lines: Vec<usize> = offending_lines(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, [2, 4]);
}

#[test]
fn a_forbidden_name_reached_through_an_imported_module_is_reported_with_its_path() {
    let root = tempfile::tempdir().unwrap();
    let write = |p: &str, text: &str| {
        let path = root.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod words;\npub use words::enums;\n");
    write("backends/mod.rs", "use crate::enums::Engine;\n");
    write("sql/mod.rs", "pub fn q() {}\n");
    write(
        "words/enums.rs",
        "pub fn v() -> tfplugin::Validator { todo!() }\n",
    );
    let found = offences(root.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/words/enums.rs:1: ") && found[0].contains("crate::enums"),
        "{found:?}"
    );
}
