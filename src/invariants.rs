//! Invariants of the whole source tree, checked by reading it: no `unwrap()`/`expect()`
//! outside tests (outside data gets a diagnostic, never a panic; an impossible case is
//! written as one, with a reason, not as an unwrap).

use std::path::{Path, PathBuf};

/// The source roots checked: this crate's and the protocol crate's.
fn roots() -> Vec<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![here.join("src"), here.join("crates/tfplugin/src")]
}

/// Whether a file is test code as a whole (a `tests` module file or directory, the
/// protocol crate's test kit, or a check like this one).
fn is_test_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name == "tests.rs"
        || name.ends_with("_tests.rs")
        || name == "layering.rs"
        || name == "invariants.rs"
        || p.components()
            .any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "testing")))
}

/// The files of the modules a file declares as test-only (`#[cfg(test)]` on the line
/// before `mod name;`): `name.rs` or `name/**` in the declaring module's directory.
fn test_modules_declared_in(file: &Path, text: &str) -> Vec<PathBuf> {
    let Some(parent) = file.parent() else {
        return Vec::new();
    };
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let dir = match stem {
        "mod" | "lib" | "main" => parent.to_path_buf(),
        _ => parent.join(stem),
    };
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .windows(2)
        .filter(|w| w[0] == "#[cfg(test)]")
        .filter_map(|w| w[1].strip_prefix("mod ")?.strip_suffix(';'))
        .flat_map(|name| [dir.join(format!("{name}.rs")), dir.join(name)])
        .collect()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for p in entries.filter_map(Result::ok).map(|e| e.path()) {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The lines (1-based) before the file's first `#[cfg(test)]` that unwrap or expect.
fn panicking_lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| l.contains(".unwrap()") || l.contains(".expect("))
        .map(|(i, l)| (i + 1, l.trim()))
        .collect()
}

#[test]
fn no_unwrap_or_expect_outside_tests() {
    let mut files = Vec::new();
    for root in roots() {
        rust_files(&root, &mut files);
    }
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut test_modules = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        test_modules.extend(test_modules_declared_in(f, &text));
    }
    let declared_test = |f: &Path| test_modules.iter().any(|t| f.starts_with(t));
    let mut offences = Vec::new();
    for f in files
        .iter()
        .filter(|f| !is_test_file(f) && !declared_test(f))
    {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (line, code) in panicking_lines(&text) {
            offences.push(format!("{}:{line}: {code}", f.display()));
        }
    }
    assert!(
        offences.is_empty(),
        "unwrap/expect outside tests:\n{}",
        offences.join("\n")
    );
}

#[test]
fn unwraps_are_found_before_the_test_module_and_not_after() {
    let text = "fn a() {\n    x.unwrap();\n    // y.unwrap() in a comment\n    z.expect(\"no\");\n}\n#[cfg(test)]\nmod tests { fn t() { w.unwrap(); } }\n";
    let lines: Vec<usize> = panicking_lines(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(lines, vec![2, 4]);
}

#[test]
fn test_files_are_told_apart_from_code() {
    assert!(is_test_file(Path::new("src/resources/x/tests/destroy.rs")));
    assert!(is_test_file(Path::new(
        "src/resources/role_guard/verdict_tests.rs"
    )));
    assert!(is_test_file(Path::new(
        "crates/tfplugin/src/testing/mod.rs"
    )));
    assert!(!is_test_file(Path::new("src/resources/x/decide.rs")));
}

#[test]
fn modules_declared_test_only_are_found_beside_their_declaration() {
    let text = "mod a;\n#[cfg(test)]\nmod probe;\n#[cfg(test)]\nmod tests {\n}\n";
    let found = test_modules_declared_in(Path::new("src/backends/mod.rs"), text);
    assert_eq!(
        found,
        vec![
            PathBuf::from("src/backends/probe.rs"),
            PathBuf::from("src/backends/probe")
        ]
    );
    let found = test_modules_declared_in(Path::new("src/backends/redis.rs"), text);
    assert_eq!(found[0], PathBuf::from("src/backends/redis/probe.rs"));
}
