//! The audit log as a Merkle tree with signed checkpoints (R10,
//! R20).
//!
//! Each audit row is a leaf of an RFC 6962 tree: its canonical bytes are
//! [`leaf_bytes`], its index is `seq - 1`. The table
//! `audit_tree (level, idx, hash)` keeps every perfect aligned subtree
//! (`level` 0 = leaf hashes), written by [`push`] in the transaction that
//! appends the row, so the tree and the log commit together. Any root,
//! inclusion or consistency proof then takes O(log n) lookups.
//!
//! The station's Ed25519 key (`<store>/checkpoint.key`, mode 0400, a
//! signed-note private key string naming the log) signs a checkpoint
//! (C2SP `tlog-checkpoint`) of the tree at the end of every transaction that
//! grew it ([`seal`]); `checkpoints` keeps every one. Its verifier key is
//! `<store>/checkpoint.pub`.

use std::cell::RefCell;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use vigil_tlog::note::{Checkpoint, Signer, Verifier};
use vigil_tlog::{Hash, Leaves};

use crate::error::{IoContext, Result, StoreError};

/// The station's private key, in the store.
pub const KEY_FILE: &str = "checkpoint.key";
/// Its verifier key (public), beside it.
pub const PUBLIC_KEY_FILE: &str = "checkpoint.pub";

/// The log's name when none is configured: `vigil/<host name>`.
pub fn default_origin() -> String {
    let uname = rustix::system::uname();
    let host = uname.nodename().to_string_lossy();
    let host: String = host
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '+')
        .collect();
    format!("vigil/{}", if host.is_empty() { "station" } else { &host })
}

static ORIGIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub use vigil_tlog::row_leaf as leaf_bytes;

/// Names the log of a store whose key is made in this process (vigild's
/// `station` setting); call before the first open. Later calls are
/// ignored.
pub fn set_origin(name: &str) -> std::result::Result<(), vigil_tlog::note::NoteError> {
    check_origin(name)?;
    let _ = ORIGIN.set(name.to_owned());
    Ok(())
}

/// Whether `name` can name a log (a signed-note key name: no spaces, no
/// `+`).
pub fn check_origin(name: &str) -> std::result::Result<(), vigil_tlog::note::NoteError> {
    Signer::from_seed(name, [0; 32]).map(drop)
}

/// Loads the station key of the store at `root`, making it (named
/// `origin`, the name given to [`set_origin`], or [`default_origin`]) when
/// there is none. A key that exists is
/// never replaced: its name is the log's name for good, and a different
/// `origin` is only warned about.
pub fn ensure_key(root: &Path, origin: Option<&str>) -> Result<Signer> {
    let path = root.join(KEY_FILE);
    let origin = origin.or(ORIGIN.get().map(String::as_str));
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let signer = Signer::from_key_string(text.trim()).map_err(|e| bad_key(&path, e))?;
            if let Some(o) = origin.filter(|o| *o != signer.verifier().name()) {
                tracing::warn!(key = %path.display(), configured = o, log = signer.verifier().name(),
                    "the station key names another log; a log keeps its name, the configured one is not used");
            }
            write_public(root, &signer)?;
            Ok(signer)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let name = origin.map_or_else(default_origin, str::to_owned);
            let signer = Signer::generate(&name).map_err(|e| bad_key(&path, e))?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o400)
                .open(&path)
                .io("create the station key", &path)?;
            f.write_all(format!("{}\n", signer.to_key_string()).as_bytes())
                .and_then(|()| f.sync_all())
                .io("write the station key", &path)?;
            std::fs::File::open(root)
                .and_then(|d| d.sync_all())
                .io("fsync", root)?;
            tracing::info!(key = %path.display(), log = name, "station checkpoint key made");
            write_public(root, &signer)?;
            Ok(signer)
        }
        Err(e) => Err(e).io("read the station key", &path),
    }
}

/// The store's verifier key, from `checkpoint.pub` (readable by anyone who
/// can read the store).
pub fn public_key(root: &Path) -> Result<Verifier> {
    let path = root.join(PUBLIC_KEY_FILE);
    let text = std::fs::read_to_string(&path).io("read the station's public key", &path)?;
    Verifier::from_key_string(text.trim()).map_err(|e| bad_key(&path, e))
}

fn write_public(root: &Path, signer: &Signer) -> Result<()> {
    let path = root.join(PUBLIC_KEY_FILE);
    let text = format!("{}\n", signer.verifier().to_key_string());
    if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    let tmp: PathBuf = path.with_extension("pub.tmp");
    std::fs::write(&tmp, &text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .io("write the station's public key", &path)
}

fn bad_key(path: &Path, e: vigil_tlog::note::NoteError) -> StoreError {
    StoreError::BadRow {
        table: "station key",
        key: path.display().to_string(),
        problem: e.to_string(),
    }
}

/// Appends leaf `index`'s hash and every subtree it completes.
pub(crate) fn push(conn: &Connection, index: u64, leaf: Hash) -> rusqlite::Result<()> {
    let mut insert =
        conn.prepare_cached("INSERT INTO audit_tree (level, idx, hash) VALUES (?1, ?2, ?3)")?;
    insert.execute(params![0, index as i64, &leaf[..]])?;
    let (mut level, mut i, mut h) = (0i64, index, leaf);
    while !i.is_multiple_of(2) {
        let left = node(conn, level, i - 1)?;
        h = vigil_tlog::node_hash(&left, &h);
        level += 1;
        i /= 2;
        insert.execute(params![level, i as i64, &h[..]])?;
    }
    Ok(())
}

fn node(conn: &Connection, level: i64, idx: u64) -> rusqlite::Result<Hash> {
    let blob: Vec<u8> = conn
        .prepare_cached("SELECT hash FROM audit_tree WHERE level = ?1 AND idx = ?2")?
        .query_row(params![level, idx as i64], |r| r.get(0))?;
    blob.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Blob,
            format!("audit_tree ({level}, {idx}) is not a 32-byte hash").into(),
        )
    })
}

/// Leaves in the stored tree.
pub(crate) fn size(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_tree WHERE level = 0",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

/// The stored tree as a proof source: lookups of the subtrees it keeps.
/// The trait returns hashes, so the first failed lookup is kept and
/// returned by [`Stored::finish`].
#[derive(Debug)]
pub struct Stored<'a> {
    conn: &'a Connection,
    size: u64,
    error: RefCell<Option<rusqlite::Error>>,
}

impl<'a> Stored<'a> {
    pub(crate) fn new(conn: &'a Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            conn,
            size: size(conn)?,
            error: RefCell::new(None),
        })
    }

    fn get(&self, level: u32, idx: u64) -> Hash {
        match node(self.conn, level.into(), idx) {
            Ok(h) => h,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                [0; 32]
            }
        }
    }

    pub(crate) fn finish<T>(self, value: T) -> rusqlite::Result<T> {
        match self.error.into_inner() {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

impl Leaves for Stored<'_> {
    fn len(&self) -> u64 {
        self.size
    }
    fn leaf(&self, i: u64) -> Hash {
        self.get(0, i)
    }
    fn subtree(&self, start: u64, end: u64) -> Hash {
        let n = end - start;
        if n.is_power_of_two() && start.is_multiple_of(n) {
            return self.get(n.trailing_zeros(), start / n);
        }
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        vigil_tlog::node_hash(
            &self.subtree(start, start + k),
            &self.subtree(start + k, end),
        )
    }
}

/// Brings the tree up to the audit log: every row without a leaf gets one
/// (a store made before its log had a tree, on its first open).
pub(crate) fn catch_up(conn: &Connection) -> rusqlite::Result<u64> {
    let have = size(conn)?;
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, subject, detail FROM audit WHERE seq > ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([have as i64])?;
    let mut added = 0;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        if seq != (have + added) as i64 + 1 {
            // Rows missing from the log: `verify` names them; the tree is
            // not built over the hole.
            tracing::error!(
                seq,
                expected = have + added + 1,
                "the audit log skips rows; its Merkle tree is not extended"
            );
            break;
        }
        let leaf = leaf_bytes(
            seq,
            &r.get::<_, String>(1)?,
            &r.get::<_, String>(2)?,
            &r.get::<_, String>(3)?,
            &r.get::<_, String>(4)?,
            &r.get::<_, String>(5)?,
        );
        push(conn, (seq - 1) as u64, vigil_tlog::leaf_hash(&leaf))?;
        added += 1;
    }
    Ok(added)
}

/// Signs a checkpoint of the tree as it stands, unless one of this size is
/// kept already: call before the commit of a transaction that appended
/// rows, so the checkpoint lands with them.
pub(crate) fn seal(conn: &Connection, signer: &Signer, now: &str) -> rusqlite::Result<()> {
    let stored = Stored::new(conn)?;
    let size = stored.size;
    if size == 0 {
        return Ok(());
    }
    let known: Option<i64> = conn
        .prepare_cached("SELECT size FROM checkpoints WHERE size = ?1")?
        .query_row([size as i64], |r| r.get(0))
        .optional()?;
    if known.is_some() {
        return Ok(());
    }
    let root = vigil_tlog::root(&stored, size);
    let root = stored.finish(root)?;
    let cp = Checkpoint {
        origin: signer.verifier().name().to_owned(),
        size,
        root,
    };
    let note = cp
        .sign(signer)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    conn.prepare_cached(
        "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![size as i64, &root[..], note, now])?;
    Ok(())
}

/// [`seal`] when there is a key.
pub(crate) fn seal_with(
    conn: &Connection,
    signer: Option<&Signer>,
    now: &str,
) -> rusqlite::Result<()> {
    signer.map_or(Ok(()), |s| seal(conn, s, now))
}

/// A kept checkpoint.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Kept {
    /// Tree size.
    pub size: u64,
    /// The signed note.
    pub note: String,
    /// When it was signed, RFC 3339 UTC.
    pub signed_at: String,
}

/// The newest kept checkpoint.
pub(crate) fn latest(conn: &Connection) -> rusqlite::Result<Option<Kept>> {
    conn.query_row(
        "SELECT size, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1",
        [],
        kept,
    )
    .optional()
}

/// The kept checkpoint of `size`.
pub(crate) fn at_size(conn: &Connection, size: u64) -> rusqlite::Result<Option<Kept>> {
    conn.query_row(
        "SELECT size, note, signed_at FROM checkpoints WHERE size = ?1",
        [size as i64],
        kept,
    )
    .optional()
}

/// Every kept checkpoint, oldest first.
#[cfg(test)]
pub(crate) fn all(conn: &Connection) -> rusqlite::Result<Vec<Kept>> {
    let mut stmt = conn.prepare("SELECT size, note, signed_at FROM checkpoints ORDER BY size")?;
    let rows = stmt.query_map([], kept)?;
    rows.collect()
}

fn kept(r: &rusqlite::Row<'_>) -> rusqlite::Result<Kept> {
    Ok(Kept {
        size: r.get::<_, i64>(0)? as u64,
        note: r.get(1)?,
        signed_at: r.get(2)?,
    })
}

/// Recomputes every leaf from its row, the whole tree from the leaves, and
/// checks the stored tree and every kept checkpoint (its root and its
/// signature by `key`) against it. Returns what does not hold, as
/// (kind, subject, detail).
pub(crate) fn check(
    conn: &Connection,
    key: Option<&Verifier>,
) -> rusqlite::Result<Vec<(&'static str, String, String)>> {
    let (mut problems, tree) = check_rows(conn)?;
    check_kept(conn, key, &tree, &mut problems)?;
    Ok(problems)
}

/// What does not hold between the rows and the stored tree (every leaf and
/// every stored subtree recomputed from the rows, and the rows numbered
/// without a hole), first problem first; and the tree the rows make.
pub(crate) fn check_rows(conn: &Connection) -> rusqlite::Result<(Problems, vigil_tlog::Levels)> {
    let mut problems = Vec::new();
    let mut tree = vigil_tlog::Levels::new();
    let mut expected: i64 = 1;
    {
        let mut stmt = conn.prepare(
            "SELECT a.seq, a.at, a.actor, a.action, a.subject, a.detail, t.hash
               FROM audit a LEFT JOIN audit_tree t ON t.level = 0 AND t.idx = a.seq - 1
              ORDER BY a.seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            if seq != expected {
                problems.push((
                    "audit_tree",
                    format!("audit row {expected}"),
                    format!(
                        "audit rows {expected}..{} are missing: the log skips from row {} to row {seq} (rows were deleted)",
                        seq - 1,
                        expected - 1
                    ),
                ));
            }
            expected = seq + 1;
            let leaf = leaf_bytes(
                seq,
                &r.get::<_, String>(1)?,
                &r.get::<_, String>(2)?,
                &r.get::<_, String>(3)?,
                &r.get::<_, String>(4)?,
                &r.get::<_, String>(5)?,
            );
            let hash = vigil_tlog::leaf_hash(&leaf);
            let stored: Option<Vec<u8>> = r.get(6)?;
            match stored {
                None => problems.push((
                    "audit_tree",
                    format!("audit row {seq}"),
                    format!("row {seq} has no leaf in the Merkle tree"),
                )),
                Some(h) if h != hash => problems.push((
                    "audit_tree",
                    format!("audit row {seq}"),
                    format!("row {seq} does not match its Merkle leaf (the row was changed)"),
                )),
                Some(_) => {}
            }
            tree.push(hash);
        }
    }
    let rows = tree.len();
    let leaves = size(conn)?;
    if leaves != rows {
        problems.push((
            "audit_tree",
            "audit_tree".into(),
            format!("the Merkle tree has {leaves} leaves but the log has {rows} rows"),
        ));
    }
    {
        let mut stmt = conn.prepare(
            "SELECT level, idx, hash FROM audit_tree WHERE level > 0 ORDER BY level, idx",
        )?;
        let mut nodes = stmt.query([])?;
        let mut wrong = 0u64;
        let mut first = None;
        while let Some(r) = nodes.next()? {
            let (level, idx): (i64, i64) = (r.get(0)?, r.get(1)?);
            let h: Vec<u8> = r.get(2)?;
            let start = (idx as u64) << level;
            let end = start + (1u64 << level);
            if end > rows || tree.subtree(start, end)[..] != h[..] {
                wrong += 1;
                first.get_or_insert((level, idx));
            }
        }
        if let Some((level, idx)) = first {
            problems.push((
                "audit_tree",
                format!("audit_tree ({level}, {idx})"),
                format!("{wrong} subtree hashes of the Merkle tree do not match the rows, the first at level {level}, index {idx}"),
            ));
        }
    }
    Ok((problems, tree))
}

/// What a check finds: (kind, subject, detail).
pub(crate) type Problems = Vec<(&'static str, String, String)>;

/// Checks every kept checkpoint (its root and its signature by `key`)
/// against the tree the rows make.
fn check_kept(
    conn: &Connection,
    key: Option<&Verifier>,
    tree: &vigil_tlog::Levels,
    problems: &mut Problems,
) -> rusqlite::Result<()> {
    let rows = tree.len();
    // Streamed: a station keeps one checkpoint per write.
    let mut stmt = conn.prepare("SELECT size, note, signed_at FROM checkpoints ORDER BY size")?;
    let mut kept_rows = stmt.query([])?;
    while let Some(row) = kept_rows.next()? {
        let k = kept(row)?;
        let subject = format!("checkpoint {}", k.size);
        let opened = match key {
            Some(v) => Checkpoint::open(&k.note, v).map_err(|e| e.to_string()),
            None => Err("the station's public key cannot be read".into()),
        };
        match opened {
            Err(e) => problems.push((
                "checkpoint",
                subject,
                format!("the checkpoint of size {} does not verify: {e}", k.size),
            )),
            Ok(cp) if cp.size != k.size => problems.push((
                "checkpoint",
                subject,
                format!("kept as size {} but signs size {}", k.size, cp.size),
            )),
            Ok(cp) if cp.size > rows => problems.push((
                "checkpoint",
                subject,
                format!(
                    "the station signed a log of {} rows; it now has {rows}: rows are missing from its end",
                    cp.size
                ),
            )),
            Ok(cp) if vigil_tlog::root(tree, cp.size) != cp.root => problems.push((
                "checkpoint",
                subject,
                format!(
                    "the first {} rows are not the ones the station signed (a row was changed, removed or inserted)",
                    cp.size
                ),
            )),
            Ok(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(rows: usize) -> (Connection, Signer) {
        let c = Connection::open_in_memory().unwrap();
        for m in crate::schema::MIGRATIONS {
            c.execute_batch(m).unwrap();
        }
        let key = Signer::from_seed("vigil.test/station-1", [3; 32]).unwrap();
        for i in 0..rows {
            crate::audit::append(
                &c,
                "2026-12-02T08:00:00Z",
                "custodian",
                "clip.ingested",
                &format!("c{i}"),
                &serde_json::json!({"i": i, "name": "张三"}),
            )
            .unwrap();
            if i % 7 == 6 {
                seal(&c, &key, "2026-12-02T08:00:00Z").unwrap();
            }
        }
        seal(&c, &key, "2026-12-02T08:00:00Z").unwrap();
        (c, key)
    }

    /// The leaves, recomputed from the rows alone as an outside auditor
    /// would (the definition in [`leaf_bytes`]).
    fn independent_leaves(c: &Connection) -> Vec<Hash> {
        crate::audit::entries(c)
            .unwrap()
            .iter()
            .map(|e| vigil_tlog::leaf_hash(&e.leaf()))
            .collect()
    }

    #[test]
    fn stored_tree_proves_what_the_rows_say() {
        let (c, key) = log(37);
        let leaves = independent_leaves(&c);
        let stored = Stored::new(&c).unwrap();
        assert_eq!(stored.len(), 37);
        for n in 1..=37u64 {
            assert_eq!(vigil_tlog::root(&stored, n), vigil_tlog::root(&leaves, n));
            for m in [1, n / 2, n] {
                let p = vigil_tlog::consistency_proof(&stored, m.max(1), n).unwrap();
                vigil_tlog::verify_consistency(
                    m.max(1),
                    n,
                    &vigil_tlog::root(&leaves, m.max(1)),
                    &vigil_tlog::root(&leaves, n),
                    &p,
                )
                .unwrap();
            }
            let p = vigil_tlog::inclusion_proof(&stored, n - 1, n).unwrap();
            vigil_tlog::verify_inclusion(
                n - 1,
                n,
                &leaves[(n - 1) as usize],
                &p,
                &vigil_tlog::root(&leaves, n),
            )
            .unwrap();
        }
        stored.finish(()).unwrap();
        // Checkpoints at 7, 14, ... 35 and 37; each verifies.
        let kept = all(&c).unwrap();
        assert_eq!(
            kept.iter().map(|k| k.size).collect::<Vec<_>>(),
            [7, 14, 21, 28, 35, 37]
        );
        assert!(check(&c, Some(&key.verifier())).unwrap().is_empty());
    }

    #[test]
    fn a_changed_row_and_a_rebuilt_tree_are_caught() {
        let (c, key) = log(20);
        c.execute_batch("DROP TRIGGER audit_no_update;").unwrap();
        c.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 9", [])
            .unwrap();
        let p = check(&c, Some(&key.verifier())).unwrap();
        assert!(
            p.iter()
                .any(|(k, s, _)| *k == "audit_tree" && s == "audit row 9"),
            "{p:?}"
        );
        // Rebuilding the tree over the changed row still contradicts every
        // checkpoint signed after it.
        c.execute_batch("DROP TRIGGER audit_tree_no_delete; DELETE FROM audit_tree;")
            .unwrap();
        catch_up(&c).unwrap();
        let p = check(&c, Some(&key.verifier())).unwrap();
        let named: Vec<&str> = p.iter().map(|(_, s, _)| s.as_str()).collect();
        assert_eq!(named, ["checkpoint 14", "checkpoint 20"], "{p:?}");
        // A checkpoint signed by another key is named too.
        let other = Signer::from_seed("vigil.test/station-1", [4; 32]).unwrap();
        let p = check(&c, Some(&other.verifier())).unwrap();
        assert_eq!(p.len(), 3, "{p:?}");
    }
}
