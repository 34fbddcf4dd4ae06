//! The SQLite index: opening and migrating it, the one write path every
//! change takes ([`Index::transact`]: the change, its audit rows, their log
//! leaves and a signed checkpoint in one transaction, then the anchor), and
//! the store's own check (`verify.rs`). The domains over it are types of
//! their own (`domains.rs`).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::failpoint;
use crate::schema::MIGRATIONS;
use crate::timefmt::now_rfc3339;

/// The audit anchor's file name, beside the index.
pub const ANCHOR_FILE: &str = "audit.head";

/// The anchor's (seq, hash), when it can be read.
pub(crate) fn read_anchor(root: &Path) -> Option<(i64, String)> {
    let text = std::fs::read_to_string(root.join(ANCHOR_FILE)).ok()?;
    let (s, h) = text.trim().split_once(' ')?;
    Some((s.parse().ok()?, h.to_owned()))
}

/// A file's (device, inode), to tell whether a path still names it.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The open index: its connection, where it is, whether it may be
/// written, and the key that signs its checkpoints. Outside this crate it
/// is only named, as what a domain ([`crate::Recordings`], ...) is over.
#[derive(Debug)]
pub struct Index {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    /// Opened read-only: nothing is written, not even the anchor.
    pub(crate) read_only: bool,
    /// The station key that signs a checkpoint at each commit (none: no
    /// checkpoints are signed, e.g. a store whose key cannot be read).
    pub(crate) signer: Option<vigil_tlog::note::Signer>,
    /// Where reads' audit rows go when a server groups them
    /// ([`crate::ReadLog`]); none: this index writes them itself.
    pub(crate) reads: Option<crate::ReadLog>,
    /// The index file's (device, inode) when it was opened.
    pub(crate) file_id: Option<(u64, u64)>,
}

impl Index {
    /// The store directory the index is in.
    pub(crate) fn root(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub(crate) fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        let mut index = Self {
            conn,
            path: path.to_owned(),
            read_only: false,
            signer: None,
            reads: None,
            file_id: file_id(path),
        };
        index.configure().map_err(|e| sql(path, e))?;
        index.migrate()?;
        Ok(index)
    }

    /// Opens an index that cannot be written (a read-only mount, another
    /// user's copy). A WAL index whose `-shm` cannot be created is opened as
    /// immutable (nothing else can be writing a read-only file system).
    pub(crate) fn open_read_only(path: &Path) -> Result<Self> {
        use rusqlite::OpenFlags;
        let probe = |c: &Connection| {
            c.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
        };
        let plain = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| probe(&c).map(|()| c));
        let conn = match plain {
            Ok(c) => c,
            Err(_) => {
                let uri = format!("file:{}?immutable=1", path.display());
                Connection::open_with_flags(
                    uri,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
                )
                .and_then(|c| probe(&c).map(|()| c))
                .map_err(|e| sql(path, e))?
            }
        };
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| sql(path, e))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| sql(path, e))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::SchemaTooNew {
                path: path.to_owned(),
                found: version,
                supported,
            });
        }
        Ok(Self {
            conn,
            path: path.to_owned(),
            read_only: true,
            signer: None,
            reads: None,
            file_id: file_id(path),
        })
    }

    /// Refuses an index whose audit log is behind, or differs from, the
    /// anchor `audit.head`: a replaced, rolled-back or truncated
    /// index is never written to.
    pub(crate) fn check_not_behind(&self, root: &Path) -> Result<()> {
        let Some((seq, hash)) = read_anchor(root) else {
            return Ok(());
        };
        let row: Option<String> = self
            .conn
            .query_row("SELECT hash FROM audit WHERE seq = ?1", [seq], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        let detail = match row {
            Some(h) if h == hash => return Ok(()),
            Some(_) => format!("audit row {seq} differs from the one {ANCHOR_FILE} recorded"),
            None => {
                let last: i64 = self
                    .conn
                    .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))
                    .map_err(|e| self.err(e))?;
                format!("the audit log ends at row {last}, but {ANCHOR_FILE} records row {seq}")
            }
        };
        Err(StoreError::IndexBehind {
            root: root.to_owned(),
            detail,
        })
    }

    /// Whether this open index can serve another request: the file at its
    /// path is still the one it opened (`false`: open it again), and its
    /// audit log is not behind the anchor (refused, as at opening).
    pub(crate) fn still_current(&self, root: &Path) -> Result<bool> {
        if self.file_id.is_none() || file_id(&self.path) != self.file_id {
            return Ok(false);
        }
        self.check_not_behind(root)?;
        Ok(true)
    }

    fn configure(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // WAL with synchronous=FULL: a commit is on disk when COMMIT returns.
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
    }

    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| sql(&path, e))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::SchemaTooNew {
                path,
                found: version,
                supported,
            });
        }
        for m in MIGRATIONS.iter().skip(version as usize) {
            tx.execute_batch(m).map_err(|e| sql(&path, e))?;
            if m.contains("writable_schema") {
                // A definition edited in place: every connection must
                // read the schema again.
                let v: i64 = tx
                    .query_row("PRAGMA schema_version", [], |r| r.get(0))
                    .map_err(|e| sql(&path, e))?;
                tx.pragma_update(None, "schema_version", v + 1)
                    .map_err(|e| sql(&path, e))?;
            }
        }
        if version < supported {
            tracing::info!(index = %path.display(), from = version, to = supported, "index schema migrated");
        }
        tx.pragma_update(None, "user_version", supported)
            .map_err(|e| sql(&path, e))?;
        let leaves = crate::tlog::catch_up(&tx).map_err(|e| sql(&path, e))?;
        if leaves > 0 {
            tracing::info!(index = %path.display(), leaves, "audit rows given their Merkle leaves");
        }
        // A store from before schema 15 gets its interruptions' state once.
        let states = if version < 15 {
            crate::explanations::catch_up(&tx).map_err(|e| sql(&path, e))?
        } else {
            0
        };
        if states > 0 {
            tracing::info!(index = %path.display(), states, "interruptions given their derived state");
        }
        tx.commit().map_err(|e| sql(&path, e))
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        sql(&self.path, e)
    }

    /// Writes the audit log's newest row (seq and hash) to `audit.head`
    /// beside the index. Deleting the newest rows leaves a shorter chain that
    /// is valid in itself; the anchor lets `verify` see it is shorter than it
    /// was. It only moves forward (a head behind it is never written: the
    /// index is then refused at the next open), is written under a lock on
    /// the store directory (concurrent writers cannot move it back), and is
    /// fsynced with its directory. Best effort: a crash can leave it one
    /// write behind, never ahead.
    pub(crate) fn anchor(&self) {
        if self.read_only {
            return;
        }
        let head: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ok()
            .flatten();
        let Some((seq, hash)) = head else { return };
        let Some(dir) = self.path.parent() else {
            return;
        };
        let file = self.path.with_file_name(ANCHOR_FILE);
        let write = || -> std::io::Result<()> {
            let lock = std::fs::File::open(dir)?;
            rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)?;
            if let Some((current, _)) = read_anchor(dir) {
                if current > seq {
                    tracing::error!(path = %file.display(), current, head = seq, "the audit log is behind its anchor; the anchor is not moved back");
                    return Ok(());
                }
                if current == seq {
                    return Ok(());
                }
            }
            let tmp = file.with_extension("tmp");
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, format!("{seq} {hash}\n").as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &file)?;
            std::fs::File::open(dir)?.sync_all()
        };
        if let Err(e) = write() {
            tracing::warn!(path = %file.display(), error = %e, "cannot write the audit anchor");
        }
    }

    /// Signs a checkpoint of the tree when rows have none yet (rows given
    /// their leaves by a migration, a key made since).
    pub(crate) fn seal(&mut self) -> Result<()> {
        let path = self.path.clone();
        let Some(signer) = &self.signer else {
            return Ok(());
        };
        let size = crate::tlog::size(&self.conn).map_err(|e| sql(&path, e))?;
        let latest = crate::tlog::latest(&self.conn).map_err(|e| sql(&path, e))?;
        if size == 0 || latest.is_some_and(|k| k.size == size) {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        crate::tlog::seal(&tx, signer, &now_rfc3339()).map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))
    }

    /// The one write path: refuses on a read-only store (`action` says
    /// what was refused), runs `f` in an IMMEDIATE transaction with the
    /// time of the change, signs a checkpoint over the audit rows `f`
    /// appended (their log leaves are added with them), commits, and moves
    /// the anchor. The state change, its audit rows and the log land
    /// together or not at all; an error from `f` (a refusal) rolls all of it
    /// back.
    pub(crate) fn transact<T>(
        &mut self,
        action: &'static str,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &str) -> Result<T>,
    ) -> Result<T> {
        self.transact_marked(action, None, f)
    }

    /// [`Self::transact`] with named crash points just before and just
    /// after the commit (for the crash tests, `failpoint`).
    pub(crate) fn transact_marked<T>(
        &mut self,
        action: &'static str,
        marks: Option<(&'static str, &'static str)>,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &str) -> Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        if self.read_only {
            return Err(StoreError::ReadOnly {
                root: path.parent().unwrap_or(&path).to_owned(),
                action,
            });
        }
        let now = now_rfc3339();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        let out = f(&tx, &now)?;
        crate::tlog::seal_with(&tx, self.signer.as_ref(), &now).map_err(|e| sql(&path, e))?;
        if let Some((before, _)) = marks {
            failpoint::hit(before);
        }
        tx.commit().map_err(|e| sql(&path, e))?;
        if let Some((_, after)) = marks {
            failpoint::hit(after);
        }
        self.anchor();
        Ok(out)
    }

    /// [`Self::transact`] for a change that is SQL alone.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        self.transact("record a change", |tx, _| f(tx).map_err(|e| sql(&path, e)))
    }
}

impl Index {
    /// A change that is not the station's evidence and so not in its log:
    /// what the centre answered (how far it holds the log, its
    /// cosignatures). Refused on a read-only store like every write.
    pub(crate) fn write_unlogged<T>(
        &mut self,
        action: &'static str,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let path = self.path.clone();
        if self.read_only {
            return Err(StoreError::ReadOnly {
                root: path.parent().unwrap_or(&path).to_owned(),
                action,
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        let out = f(&tx).map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))?;
        Ok(out)
    }
}

pub(crate) fn sql(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sql {
        path: path.to_owned(),
        source,
    }
}
