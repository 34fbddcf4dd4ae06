//! The crate graph keeps its layers (docs/ARCHITECTURE.md, "Layers"): each
//! workspace crate depends only on the crates below it, read off
//! `cargo metadata`. A dependency not in the table fails the test; so does
//! an edge still listed as to go once it is gone (strike it from the list).

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
    ("vigil-desk", &["vigil-i18n"]),
    (
        "vigil-service",
        &[
            "vigil-dock",
            "vigil-i18n",
            "vigil-ingest",
            "vigil-media",
            "vigil-store",
            "vigil-tlog",
        ],
    ),
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
        ],
    ),
    ("vigil-guest", &[]),
];

/// Edges that break the layers today and are on their way out: clients
/// reaching the store past the service, the service rendering pages.
const STILL_TO_GO: &[(&str, &str)] = &[
    ("vigil-api", "vigil-store"),
    ("vigil-cli", "vigil-store"),
    ("vigil-service", "vigil-desk"),
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
    let mut seen = BTreeSet::new();
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
            if STILL_TO_GO.contains(&(name, dep)) {
                seen.insert((name, dep));
            } else if !may.contains(&dep) {
                wrong.push(format!("{name} -> {dep}"));
            }
        }
    }
    for edge in STILL_TO_GO {
        if !seen.contains(edge) {
            wrong.push(format!(
                "{} -> {} is gone: strike it from STILL_TO_GO",
                edge.0, edge.1
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the crate graph breaks its layers:\n{}",
        wrong.join("\n")
    );
}
