//! The audit rows of reads, committed in groups (R20: a person viewing or
//! downloading evidence is recorded). A server's request threads hand
//! their read rows to one writer thread with a connection of its own; the
//! writer appends every row that arrived together in one transaction (one
//! WAL fsync, one checkpoint, one anchor write) and only then answers each
//! sender, so a read is never served before its audit row is durable. A
//! store opened by one process for one command writes its rows itself.

use std::path::Path;
use std::sync::mpsc;

use crate::audit;
use crate::error::{Result, StoreError};
use crate::Store;

/// The most rows one transaction takes: a queue longer than this is
/// committed in more than one.
const GROUP: usize = 512;

/// One read's row, and where to say it is durable.
struct Pending {
    actor: String,
    action: String,
    subject: String,
    detail: serde_json::Value,
    done: mpsc::SyncSender<std::result::Result<(), String>>,
}

/// The writer of a store's read rows: cloned into every store a server
/// opens ([`Store::group_reads`]).
#[derive(Debug, Clone)]
pub struct ReadLog {
    tx: mpsc::Sender<Pending>,
}

impl ReadLog {
    /// Opens the store at `root` for the writer and starts it; it stops
    /// when the last clone is dropped.
    pub fn start(root: &Path) -> Result<Self> {
        let store = Store::open(root)?;
        let (tx, rx) = mpsc::channel::<Pending>();
        std::thread::Builder::new()
            .name("vigil-read-audit".into())
            .spawn(move || write_groups(store, &rx))
            .map_err(|e| StoreError::Refused(format!("cannot start the audit writer: {e}")))?;
        Ok(Self { tx })
    }

    /// Appends a read's row and waits until it is committed.
    pub(crate) fn append(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let (done, answer) = mpsc::sync_channel(1);
        let stopped = || StoreError::Refused("the station's audit writer has stopped".into());
        self.tx
            .send(Pending {
                actor: actor.to_owned(),
                action: action.to_owned(),
                subject: subject.to_owned(),
                detail: detail.clone(),
                done,
            })
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?.map_err(|e| {
            StoreError::Refused(format!("the audit row of this read was not written: {e}"))
        })
    }
}

/// The writer's loop: waits for a row, takes every row queued behind it,
/// commits them together and answers each.
fn write_groups(mut store: Store, rx: &mpsc::Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match rx.try_recv() {
                Ok(p) => group.push(p),
                Err(_) => break,
            }
        }
        let path = store.index.path.clone();
        let done = store
            .index
            .transact("record a read", |tx, now| {
                for p in &group {
                    audit::append(tx, now, &p.actor, &p.action, &p.subject, &p.detail)
                        .map_err(|e| crate::index::sql(&path, e))?;
                }
                Ok(())
            })
            .map_err(|e| e.to_string());
        if let Err(e) = &done {
            tracing::error!(rows = group.len(), error = %e, "audit rows of reads not written");
        }
        for p in group {
            let _ = p.done.send(done.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    fn count(conn: &rusqlite::Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// While another writer holds the index, no read is answered; the rows
    /// that queued meanwhile land in one transaction with one checkpoint,
    /// and the chain holds.
    #[test]
    fn reads_are_answered_only_when_committed_and_queued_rows_share_a_commit() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let mut store = Store::open(&root).unwrap();
        store
            .log_mut()
            .record_event("test", "store.opened", "store", &serde_json::json!({}))
            .unwrap();
        let reads = ReadLog::start(&root).unwrap();
        let other = rusqlite::Connection::open(root.join(crate::INDEX_FILE)).unwrap();
        let (rows, signed) = (count(&other, "audit"), count(&other, "checkpoints"));
        other.execute_batch("BEGIN IMMEDIATE").unwrap();

        let answered = Arc::new(AtomicUsize::new(0));
        let readers: Vec<_> = (0..10)
            .map(|i| {
                let (reads, answered) = (reads.clone(), Arc::clone(&answered));
                std::thread::spawn(move || {
                    let done = reads.append(
                        "ann",
                        "clip.viewed",
                        &format!("clip{i}"),
                        &serde_json::json!({}),
                    );
                    answered.fetch_add(1, Ordering::SeqCst);
                    done
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(answered.load(Ordering::SeqCst), 0, "answered before commit");
        other.execute_batch("COMMIT").unwrap();
        for r in readers {
            r.join().unwrap().unwrap();
        }
        assert_eq!(count(&other, "audit") - rows, 10);
        let groups = count(&other, "checkpoints") - signed;
        assert!(
            (1..=2).contains(&groups),
            "{groups} commits for 10 queued rows"
        );
        assert!(crate::audit::verify_chain(&other).unwrap().is_empty());
        drop(reads);
    }
}
