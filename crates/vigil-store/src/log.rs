//! The audit log as a domain: its rows (`audit.rs`), the Merkle tree over
//! them, the signed checkpoints and the proofs served from them
//! (`tlog.rs`), and the rows of actions that change nothing else.

use std::ops::{Deref, DerefMut};

use crate::audit;
use crate::domains::Log;
use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::timefmt::now_rfc3339;
use crate::tlog;

impl<I: Deref<Target = Index>> Log<I> {
    /// The newest `limit` rows of the audit log, newest first.
    pub fn audit_newest(&self, limit: u64) -> Result<Vec<audit::AuditEntry>> {
        audit::newest(&self.ix.conn, limit).map_err(|e| self.ix.err(e))
    }

    /// The whole audit log, oldest first.
    pub fn audit_entries(&self) -> Result<Vec<audit::AuditEntry>> {
        audit::entries(&self.ix.conn).map_err(|e| self.ix.err(e))
    }

    /// The audit rows `filter` asks for (action prefix, subject, a page),
    /// oldest first.
    pub fn audit_select(&self, f: &audit::AuditFilter) -> Result<Vec<audit::AuditEntry>> {
        audit::select(&self.ix.conn, f).map_err(|e| self.ix.err(e))
    }

    /// The newest checkpoint the station signed (none before the first
    /// audit row).
    pub fn checkpoint(&self) -> Result<Option<tlog::Kept>> {
        tlog::latest(&self.ix.conn).map_err(|e| self.ix.err(e))
    }

    /// The kept checkpoint of tree size `size`, when the station signed one.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<tlog::Kept>> {
        tlog::at_size(&self.ix.conn, size).map_err(|e| self.ix.err(e))
    }

    /// The station's verifier key (signed-note key string).
    pub fn station_key(&self) -> Result<vigil_tlog::note::Verifier> {
        match &self.ix.signer {
            Some(s) => Ok(s.verifier()),
            None => tlog::public_key(self.ix.root()),
        }
    }

    /// Leaves in the audit log's Merkle tree.
    pub fn log_size(&self) -> Result<u64> {
        tlog::size(&self.ix.conn).map_err(|e| self.ix.err(e))
    }

    /// The root of the log's first `size` rows, from the stored tree.
    pub fn log_root(&self, size: u64) -> Result<vigil_tlog::Hash> {
        self.with_tree(|t| {
            if size > vigil_tlog::Leaves::len(t) {
                return Err(vigil_tlog::ProofError::OutOfRange {
                    index: size,
                    size: vigil_tlog::Leaves::len(t),
                });
            }
            Ok(vigil_tlog::root(t, size))
        })
    }

    /// The consistency proof from the log's first `old` rows to its first
    /// `new` (RFC 9162 §2.1.4).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<vigil_tlog::Hash>> {
        self.with_tree(|t| vigil_tlog::consistency_proof(t, old, new))
    }

    /// The inclusion proof of audit row `seq` in the log's first `size`
    /// rows (RFC 9162 §2.1.3).
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<vigil_tlog::Hash>> {
        if seq == 0 {
            return Err(StoreError::Refused("audit rows are numbered from 1".into()));
        }
        self.with_tree(|t| vigil_tlog::inclusion_proof(t, seq - 1, size))
    }

    /// The first thing that no longer holds between the audit rows and the
    /// stored Merkle tree (a row changed or deleted, a leaf or subtree that
    /// the rows do not make), or `None`: proofs are served only from a
    /// tree the rows still make.
    pub fn log_mismatch(&self) -> Result<Option<String>> {
        let e = |e| self.ix.err(e);
        let snapshot = self.ix.conn.unchecked_transaction().map_err(e)?;
        let (problems, _) = tlog::check_rows(&snapshot).map_err(e)?;
        Ok(problems.into_iter().next().map(|(_, _, detail)| detail))
    }

    fn with_tree<T>(
        &self,
        f: impl FnOnce(&tlog::Stored<'_>) -> std::result::Result<T, vigil_tlog::ProofError>,
    ) -> Result<T> {
        let e = |e| self.ix.err(e);
        // One snapshot: a commit meanwhile cannot mix two trees.
        let snapshot = self.ix.conn.unchecked_transaction().map_err(e)?;
        let tree = tlog::Stored::new(&snapshot).map_err(e)?;
        let out = f(&tree);
        let out = tree.finish(out).map_err(e)?;
        drop(snapshot);
        out.map_err(|p| StoreError::Refused(format!("the audit log cannot prove that: {p}")))
    }
}

impl<I: DerefMut<Target = Index>> Log<I> {
    /// Appends an audit row for an action that changes no other table
    /// (e.g. a file erased from a recorder after it was verified).
    pub fn record_event(
        &mut self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let now = now_rfc3339();
        self.ix
            .write(|tx| audit::append(tx, &now, actor, action, subject, detail))?;
        Ok(())
    }

    /// Audits a read (a listing, a report, the audit log, R20), through
    /// the server's grouped writer when there is one. On a
    /// read-only store there is nowhere to write it: the read goes ahead
    /// unrecorded (the caller has told the user so).
    pub fn record_read(
        &mut self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        if self.ix.read_only {
            tracing::warn!(
                action,
                "read-only store: this read is not recorded in its audit log"
            );
            return Ok(());
        }
        if let Some(reads) = &self.ix.reads {
            return reads.append(actor, action, subject, detail);
        }
        self.record_event(actor, action, subject, detail)
    }
}
