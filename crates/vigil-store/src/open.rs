//! Recognising a store before anything in it is touched.
//!
//! A store is a directory holding the marker file `VIGIL-STORE`
//! (`vigil-store format 1`). Opening
//!
//! - a missing or empty directory makes a new store (marker first);
//! - a directory with the marker opens it (a newer format is refused);
//! - a store made before the marker existed (a `vigil.db` with a schema) is
//!   given its marker;
//! - anything else is refused: a directory that is not a store is never
//!   adopted, and nothing in it is swept or written.
//!
//! Then, for a writable store: an index is never created where evidence
//! already is (objects, or an `audit.head` anchor), and an index whose audit
//! log is behind its anchor is refused (replaced, rolled back, truncated).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::error::{IoContext, Result, StoreError};
use crate::index::{read_anchor, ANCHOR_FILE};
use crate::{FORMAT, INDEX_FILE, MARKER_FILE};

/// What a directory turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// Missing or empty: a new store is made.
    New,
    /// A store (marker present, or a pre-marker store now given one).
    Store,
}

/// Looks at `root` and decides, creating the marker for a new store.
pub(crate) fn recognise(root: &Path, read_only: bool) -> Result<Found> {
    let marker = root.join(MARKER_FILE);
    match fs::read_to_string(&marker) {
        Ok(text) => {
            check_marker(root, &text)?;
            return Ok(Found::Store);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).io("read the store marker", &marker),
    }
    let entries: Vec<String> = match fs::read_dir(root) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).io("list the store directory", root),
    };
    let legacy = entries.iter().any(|e| e == INDEX_FILE) && has_schema(&root.join(INDEX_FILE));
    if !entries.is_empty() && !legacy {
        let mut shown: Vec<&str> = entries.iter().map(String::as_str).take(5).collect();
        shown.sort_unstable();
        let more = entries.len().saturating_sub(5);
        return Err(StoreError::NotAStore {
            root: root.to_owned(),
            found: if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            },
        });
    }
    if read_only {
        return if legacy {
            Ok(Found::Store)
        } else {
            Err(StoreError::ReadOnly {
                root: root.to_owned(),
                action: "create a store",
            })
        };
    }
    // The store is its owner's alone (0700): nobody else may open the index
    // or the objects, whatever their modes.
    if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).io("create the parent of", root)?;
    }
    match fs::create_dir(root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).io("create store directory", root),
    }
    if !legacy {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root, fs::Permissions::from_mode(0o700)).io("make private", root)?;
    }
    write_marker(root)?;
    Ok(if legacy { Found::Store } else { Found::New })
}

fn check_marker(root: &Path, text: &str) -> Result<()> {
    let bad = |problem: String| StoreError::BadMarker {
        root: root.to_owned(),
        problem,
    };
    let format = text
        .trim()
        .strip_prefix("vigil-store format ")
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            bad(format!(
                "{MARKER_FILE} does not read `vigil-store format N`"
            ))
        })?;
    if format > FORMAT {
        return Err(bad(format!(
            "format {format} is newer than this build understands ({FORMAT}); upgrade Vigil"
        )));
    }
    Ok(())
}

fn write_marker(root: &Path) -> Result<()> {
    let path = root.join(MARKER_FILE);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o444)
        .open(&path)
        .io("create the store marker", &path)?;
    f.write_all(format!("vigil-store format {FORMAT}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .io("write the store marker", &path)?;
    crate::objects::fsync_dir(root)
}

/// Whether `path` is an SQLite file with a Vigil schema (user_version ≥ 1).
fn has_schema(path: &Path) -> bool {
    rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)))
        .is_ok_and(|v| v >= 1)
}

/// Refuses to create an index where evidence already is.
pub(crate) fn check_index_present(root: &Path) -> Result<()> {
    let index = root.join(INDEX_FILE);
    let state = match fs::metadata(&index) {
        Ok(m) if m.len() > 0 => return Ok(()),
        Ok(_) => "empty (0 bytes)",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "missing",
        Err(e) => return Err(e).io("stat the index", &index),
    };
    let mut evidence = Vec::new();
    let objects = count_objects(&root.join("objects"));
    if objects > 0 {
        evidence.push(format!("{objects} object files"));
    }
    if let Some((seq, _)) = read_anchor(root) {
        evidence.push(format!("{ANCHOR_FILE} records {seq} audit rows"));
    } else if root.join(ANCHOR_FILE).exists() {
        evidence.push(format!("an {ANCHOR_FILE} anchor"));
    }
    if evidence.is_empty() {
        return Ok(());
    }
    Err(StoreError::IndexMissing {
        root: root.to_owned(),
        state,
        evidence: evidence.join(", "),
    })
}

fn count_objects(objects: &Path) -> usize {
    let Ok(fans) = fs::read_dir(objects) else {
        return 0;
    };
    fans.filter_map(|f| f.ok())
        .filter_map(|f| fs::read_dir(f.path()).ok())
        .map(|d| d.count())
        .sum()
}
