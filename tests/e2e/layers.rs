//! The crate graph keeps its layers (docs/ARCHITECTURE.md, "Layers"): each
//! workspace crate depends only on the crates below it, read off
//! `cargo metadata`. A dependency not in the table fails the test: the API
//! and the CLI reach the store only through `vigil-service`.
//! Inside each crate, no files import each other in a circle.

use std::collections::{BTreeMap, BTreeSet};

/// Who may depend on whom (normal dependencies; tests and tools aside).
const ALLOWED: &[(&str, &[&str])] = &[
    ("vigil-tlog", &[]),
    ("vigil-media", &[]),
    ("vigil-i18n", &[]),
    ("vigil-dock-proto", &[]),
    ("vigil-dock-core", &["vigil-dock-proto"]),
    ("dock-sim", &["vigil-dock-core", "vigil-dock-proto"]),
    ("vigil-store", &["vigil-tlog"]),
    ("vigil-sync", &["vigil-tlog"]),
    ("vigil-ingest", &["vigil-media", "vigil-store"]),
    (
        "vigil-dock",
        &[
            "vigil-dock-core",
            "vigil-dock-proto",
            "vigil-ingest",
            "vigil-store",
        ],
    ),
    (
        "vigil-service",
        &[
            "vigil-dock",
            "vigil-i18n",
            "vigil-ingest",
            "vigil-media",
            "vigil-store",
            "vigil-sync",
            "vigil-tlog",
        ],
    ),
    ("vigil-desk", &["vigil-i18n", "vigil-service"]),
    (
        "vigil-api",
        &[
            "vigil-desk",
            "vigil-dock-proto",
            "vigil-i18n",
            "vigil-media",
            "vigil-service",
        ],
    ),
    (
        "vigil-cli",
        &[
            "vigil-api",
            "vigil-desk",
            "vigil-dock",
            "vigil-i18n",
            "vigil-ingest",
            "vigil-media",
            "vigil-service",
            "vigil-tlog",
        ],
    ),
    (
        "vigild",
        &[
            "vigil-api",
            "vigil-dock",
            "vigil-i18n",
            "vigil-ingest",
            "vigil-service",
            "vigil-store",
            "vigil-sync",
            "vigil-tlog",
        ],
    ),
    (
        "vigil-centre",
        &[
            "vigil-api",
            "vigil-desk",
            "vigil-i18n",
            "vigil-service",
            "vigil-sync",
            "vigil-tlog",
        ],
    ),
    ("vigil-guest", &[]),
];

/// Crates that are tools or tests of the others, not layers.
const OUTSIDE: &[&str] = &["vigil-e2e", "xtask"];

#[test]
fn each_crate_depends_only_on_the_layers_below_it() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = doc["packages"].as_array().unwrap();
    let ours: BTreeSet<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        if OUTSIDE.contains(&name) {
            continue;
        }
        let Some(may) = allowed.get(name) else {
            wrong.push(format!("{name}: a crate with no place in the layers"));
            continue;
        };
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            if !ours.contains(dep) || !d["kind"].is_null() {
                continue;
            }
            if !may.contains(&dep) {
                wrong.push(format!("{name} -> {dep}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the crate graph breaks its layers:\n{}",
        wrong.join("\n")
    );
}

/// A source file's module path inside its crate (`src/desk/page.rs` →
/// `desk::page`; `lib.rs`, `main.rs` and `mod.rs` name their directory).
fn module_of(src: &std::path::Path, file: &std::path::Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// The paths a file names as `crate::a::b` or `super::a`, as module paths
/// (comments and its `#[cfg(test)] mod tests` aside).
fn named_paths(module: &[String], text: &str) -> Vec<Vec<String>> {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", module[..module.len().saturating_sub(1)].to_vec()),
    ] {
        for (at, _) in code.match_indices(prefix) {
            if code[..at].ends_with(|c: char| word(c) || c == ':') {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            let mut path = base.clone();
            let mut s = rest;
            if let Some(inner) = s.strip_prefix('{') {
                // `use crate::{a, b::c}`: each item.
                for item in inner.split('}').next().unwrap_or("").split(',') {
                    let mut p = base.clone();
                    p.extend(item.trim().split("::").map(|w| w.trim().to_owned()));
                    out.push(p);
                }
                continue;
            }
            loop {
                let end = s.find(|c: char| !word(c)).unwrap_or(s.len());
                if end == 0 {
                    break;
                }
                path.push(s[..end].to_owned());
                match s[end..].strip_prefix("::") {
                    Some(next) => s = next,
                    None => break,
                }
            }
            out.push(path);
        }
    }
    out
}

/// No two files of a crate import each other, directly or around a circle
/// (docs/ARCHITECTURE.md, invariant 17): each file can be read knowing only
/// the ones below it.
#[test]
fn no_files_import_each_other_in_a_circle() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut circles = Vec::new();
    for dir in std::fs::read_dir(root.join("crates")).unwrap() {
        let src = dir.unwrap().path().join("src");
        let mut files = Vec::new();
        let mut todo = vec![src.clone()];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    todo.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        let modules: BTreeMap<Vec<String>, std::path::PathBuf> = files
            .iter()
            .map(|f| (module_of(&src, f), f.clone()))
            .collect();
        let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (m, f) in &modules {
            let text = std::fs::read_to_string(f).unwrap();
            for path in named_paths(m, &text) {
                // The longest prefix that is a module of this crate.
                let to = (1..=path.len())
                    .rev()
                    .map(|n| path[..n].to_vec())
                    .find(|p| modules.contains_key(p));
                if let Some(to) = to.filter(|to| to != m) {
                    edges.entry(m.clone()).or_default().insert(to);
                }
            }
        }
        // A module that reaches itself again is on a circle.
        for start in modules.keys() {
            let mut stack: Vec<Vec<Vec<String>>> = vec![vec![start.clone()]];
            let mut seen = BTreeSet::new();
            while let Some(trail) = stack.pop() {
                let last = trail.last().unwrap();
                for next in edges.get(last).into_iter().flatten() {
                    if next == start {
                        let names: Vec<String> = trail.iter().map(|m| m.join("::")).collect();
                        circles.push(format!(
                            "{}: {} -> {}",
                            src.display(),
                            names.join(" -> "),
                            start.join("::")
                        ));
                    } else if seen.insert(next.clone()) {
                        let mut t = trail.clone();
                        t.push(next.clone());
                        stack.push(t);
                    }
                }
            }
        }
    }
    circles.sort();
    circles.dedup();
    assert!(
        circles.is_empty(),
        "files that import each other:\n{}",
        circles.join("\n")
    );
}
