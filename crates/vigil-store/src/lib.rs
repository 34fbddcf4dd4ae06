//! Vigil's evidence store: the one place evidence lives.
//!
//! A store is a directory:
//!
//! ```text
//! <store>/vigil.db          SQLite index (WAL): devices, officers, objects,
//!                           clips, ingest runs, audit log
//! <store>/objects/ab/ab…    content-addressed object files, read-only
//! <store>/tmp/              temp files of writes in progress
//! <store>/vigild.lock       held (flock) by the vigild serving the store
//! ```
//!
//! Invariants (see docs/ARCHITECTURE.md):
//! - an object file is complete and never changes once it has its name;
//! - a row in `objects`/`clips` exists only after its object is durable;
//! - every state change appends an audit row in the same transaction.

pub mod audit;
mod clips;
pub mod erasures;
mod error;
mod explanations;
pub mod failpoint;
pub mod gaps;
mod index;
pub mod objects;
mod open;
pub mod oversight;
pub mod people;
mod pipeline;
mod query;
pub mod requests;
pub mod retention;
mod schema;
pub mod served;
mod sessions;
pub mod stats;
pub mod tags;
mod timefmt;
pub mod tlog;
mod verify;

pub use clips::{
    Clip, ClipFilter, ClipGap, ClipKind, ClipState, ClipStatus, NewClip, RecordedClip, RunCounts,
    RunFailure,
};
pub use error::{Result, StoreError};
pub use gaps::{
    Explanation, Gap, GapFilter, GapKind, NewExplanation, NewGap, Signature, Signed, TimelineClip,
};
pub use objects::{Digests, ObjectStore, PendingObject, StoredObject};
pub use timefmt::{now_rfc3339, rfc3339};
pub use verify::{Problem, VerifyReport};

use std::path::{Path, PathBuf};

/// File name of the index inside a store.
pub const INDEX_FILE: &str = "vigil.db";
/// The marker file that makes a directory a store.
pub const MARKER_FILE: &str = "VIGIL-STORE";
/// The store format this build reads and writes (in the marker).
pub const FORMAT: u32 = 1;

/// A recorder docked: what the dock said about it.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Docking {
    /// Dock serial.
    pub dock: String,
    /// Slot.
    pub slot: u8,
    /// Recorder serial.
    pub device: String,
    /// Officer it is bound to.
    pub officer: Option<String>,
    /// Recorder clock minus host clock at docking, ms (before it was set).
    pub drift_ms: Option<i64>,
    /// Battery, percent.
    pub battery_pct: u8,
    /// Free storage, bytes.
    pub storage_free: u64,
    /// Fault codes reported.
    pub faults: Vec<u16>,
    /// The dock's number for this docking (protocol version 2), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docking: Option<u32>,
}

/// An open store: object tree plus index.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    objects: ObjectStore,
    index: index::Index,
}

impl Store {
    /// Opens the store at `root`, creating it when `root` is missing or
    /// empty, bringing the index schema up to date and removing temp files
    /// of dead writers. Refused: a directory that is not a store (no
    /// `VIGIL-STORE` marker), an index missing where evidence is, an index
    /// behind its `audit.head` anchor. A store that cannot be written (a
    /// read-only mount, another user's copy) is opened read-only: reads
    /// work, changes fail with [`StoreError::ReadOnly`].
    pub fn open(root: &Path) -> Result<Self> {
        Self::open_checked(root)
    }

    /// [`Self::open`] for `verify`: an index behind its anchor is opened
    /// (read-only) so that `verify` can report what differs.
    pub fn open_for_verify(root: &Path) -> Result<Self> {
        match Self::open_checked(root) {
            Err(StoreError::IndexBehind { .. }) => Ok(Self {
                root: root.to_owned(),
                objects: ObjectStore::existing(root),
                index: index::Index::open_read_only(&root.join(INDEX_FILE))?,
            }),
            other => other,
        }
    }

    fn open_checked(root: &Path) -> Result<Self> {
        let read_only =
            root.exists() && rustix::fs::access(root, rustix::fs::Access::WRITE_OK).is_err();
        open::recognise(root, read_only)?;
        if read_only {
            let index = index::Index::open_read_only(&root.join(INDEX_FILE))?;
            index.check_not_behind(root)?;
            return Ok(Self {
                root: root.to_owned(),
                objects: ObjectStore::existing(root),
                index,
            });
        }
        open::check_index_present(root)?;
        let objects = ObjectStore::open(root)?;
        let mut index = index::Index::open(&root.join(INDEX_FILE))?;
        index.check_not_behind(root)?;
        objects.sweep_temp()?;
        index.signer = Some(tlog::ensure_key(root, None)?);
        index.seal()?;
        Ok(Self {
            root: root.to_owned(),
            objects,
            index,
        })
    }

    /// Whether the store was opened read-only.
    pub fn read_only(&self) -> bool {
        self.index.read_only
    }

    /// Audits a read (a listing, a report, the audit log, R20). On a
    /// read-only store there is nowhere to write it: the read goes ahead
    /// unrecorded (the caller has told the user so).
    pub fn record_read(
        &mut self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        if self.read_only() {
            tracing::warn!(
                action,
                "read-only store: this read is not recorded in its audit log"
            );
            return Ok(());
        }
        self.record_event(actor, action, subject, detail)
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The object tree.
    pub fn objects(&self) -> &ObjectStore {
        &self.objects
    }

    /// Starts an ingest run and audits it; returns the run id.
    pub fn begin_run(
        &mut self,
        actor: &str,
        source: &str,
        device: Option<&str>,
        officer: Option<&str>,
    ) -> Result<String> {
        self.index.begin_run(actor, source, device, officer)
    }

    /// Closes an ingest run with its counts and audits it.
    pub fn finish_run(&mut self, actor: &str, run: &str, counts: &RunCounts) -> Result<()> {
        self.index.finish_run(actor, run, counts)
    }

    /// Closes the ingest runs an earlier process left running (it was
    /// killed, or the power was cut): each is marked incomplete and an
    /// `ingest.interrupted` audit row says so (R6). Only the process that
    /// serves the store calls this, once it holds the store's claim, so no
    /// run it closes is still going. Returns the runs closed.
    pub fn close_interrupted_runs(&mut self, actor: &str) -> Result<Vec<String>> {
        self.index.close_interrupted_runs(actor)
    }

    /// Indexes a clip whose object is already durable (it must come from
    /// [`ObjectStore::put`]). Idempotent: the same device, path and content
    /// give the same clip id and no new row.
    pub fn record_clip(
        &mut self,
        actor: &str,
        run: Option<&str>,
        clip: &NewClip,
    ) -> Result<RecordedClip> {
        self.index.record_clip(actor, run, clip)
    }

    /// Indexes clips whose objects are already durable in one transaction
    /// (each as [`Self::record_clip`]): one commit and one checkpoint for
    /// many files.
    pub fn record_clips(
        &mut self,
        actor: &str,
        run: Option<&str>,
        clips: &[NewClip],
    ) -> Result<Vec<RecordedClip>> {
        self.index.record_clips(actor, run, clips)
    }

    /// Per officer totals over the clips ingested in `[since, until)`
    /// (RFC 3339), counted by SQLite (R19).
    pub fn officer_totals(
        &self,
        since: &str,
        until: &str,
        late_after_h: u64,
    ) -> Result<Vec<stats::OfficerTotals>> {
        self.index.officer_totals(since, until, late_after_h)
    }

    /// How many gaps are open, awaiting signatures, explained, and overdue
    /// (open longer than `overdue_after_s`).
    pub fn gap_counts(&self, overdue_after_s: i64) -> Result<(u64, u64, u64, u64)> {
        self.index.gap_counts(overdue_after_s)
    }

    /// Clips matching the filter, oldest recording first.
    pub fn clips(&self, filter: &ClipFilter) -> Result<Vec<Clip>> {
        self.index.clips(filter)
    }

    /// The newest `limit` rows of the audit log, newest first.
    pub fn audit_newest(&self, limit: u64) -> Result<Vec<audit::AuditEntry>> {
        self.index.audit_newest(limit)
    }

    /// The whole audit log, oldest first.
    pub fn audit_entries(&self) -> Result<Vec<audit::AuditEntry>> {
        self.index.audit_entries()
    }

    /// The audit rows `filter` asks for (action prefix, subject, a page),
    /// oldest first.
    pub fn audit_select(&self, filter: &audit::AuditFilter) -> Result<Vec<audit::AuditEntry>> {
        self.index.audit_select(filter)
    }

    /// Re-reads every object and checks it, every clip and the audit chain.
    /// `progress` gets bytes re-read so far. The check itself is audited.
    pub fn verify(&mut self, actor: &str, progress: &mut dyn FnMut(u64)) -> Result<VerifyReport> {
        self.verify_with(actor, progress, |_, _| Ok(()))
    }

    /// [`Self::verify`] with more checks by the caller (`more`, e.g. the
    /// continuity of every stored recording) before the check is recorded.
    pub fn verify_with<E: From<StoreError>>(
        &mut self,
        actor: &str,
        progress: &mut dyn FnMut(u64),
        more: impl FnOnce(&Self, &mut VerifyReport) -> std::result::Result<(), E>,
    ) -> std::result::Result<VerifyReport, E> {
        let mut report = self.index.verify(&self.objects, progress)?;
        more(self, &mut report)?;
        report.ok = report.problems.is_empty();
        let detail = serde_json::json!({
            "ok": report.ok, "objects": report.objects_checked, "bytes": report.bytes_checked,
            "problems": report.problems.len(),
        });
        self.record_read(actor, "store.verified", "store", &detail)?;
        Ok(report)
    }

    /// The newest checkpoint the station signed (none before the first
    /// audit row).
    pub fn checkpoint(&self) -> Result<Option<tlog::Kept>> {
        tlog::latest(&self.index.conn).map_err(|e| self.index.err(e))
    }

    /// The kept checkpoint of tree size `size`, when the station signed one.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<tlog::Kept>> {
        tlog::at_size(&self.index.conn, size).map_err(|e| self.index.err(e))
    }

    /// The station's verifier key (signed-note key string).
    pub fn station_key(&self) -> Result<vigil_tlog::note::Verifier> {
        match &self.index.signer {
            Some(s) => Ok(s.verifier()),
            None => tlog::public_key(&self.root),
        }
    }

    /// Leaves in the audit log's Merkle tree.
    pub fn log_size(&self) -> Result<u64> {
        tlog::size(&self.index.conn).map_err(|e| self.index.err(e))
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
        let e = |e| self.index.err(e);
        let snapshot = self.index.conn.unchecked_transaction().map_err(e)?;
        let (problems, _) = tlog::check_rows(&snapshot).map_err(e)?;
        Ok(problems.into_iter().next().map(|(_, _, detail)| detail))
    }

    fn with_tree<T>(
        &self,
        f: impl FnOnce(&tlog::Stored<'_>) -> std::result::Result<T, vigil_tlog::ProofError>,
    ) -> Result<T> {
        let e = |e| self.index.err(e);
        // One snapshot: a commit meanwhile cannot mix two trees.
        let snapshot = self.index.conn.unchecked_transaction().map_err(e)?;
        let tree = tlog::Stored::new(&snapshot).map_err(e)?;
        let out = f(&tree);
        let out = tree.finish(out).map_err(e)?;
        drop(snapshot);
        out.map_err(|p| StoreError::Refused(format!("the audit log cannot prove that: {p}")))
    }

    /// One clip by id.
    pub fn clip(&self, id: &str) -> Result<Option<Clip>> {
        let filter = ClipFilter {
            clip: Some(id.to_owned()),
            ..Default::default()
        };
        Ok(self.index.clips(&filter)?.into_iter().next())
    }

    /// Records interruptions found across clips (new ones only; each audited).
    pub fn record_gaps(&mut self, actor: &str, gaps: &[NewGap]) -> Result<Vec<String>> {
        self.index.record_gaps(actor, gaps)
    }

    /// A recorder's clips with known recording times, in recording order.
    pub fn timeline(&self, device: Option<&str>) -> Result<Vec<TimelineClip>> {
        self.index.timeline(device)
    }

    /// The gap log.
    pub fn gaps(&self, filter: &GapFilter) -> Result<Vec<Gap>> {
        self.index.gaps(filter)
    }

    /// One gap by id.
    pub fn gap(&self, id: &str) -> Result<Option<Gap>> {
        self.index.gap(id)
    }

    /// Attaches an explanation to a gap (superseding any earlier one) and
    /// audits it. Validation of what is explained is the caller's.
    pub fn explain(&mut self, actor: &str, gap: &str, new: &NewExplanation) -> Result<Explanation> {
        self.index.explain(actor, gap, new)
    }

    /// Adds `officer`'s signature, given in Vigil user `user`'s own
    /// session, to a written explanation (R8); audited.
    pub fn sign(
        &mut self,
        actor: &str,
        user: &str,
        officer: &str,
        explanation: &str,
    ) -> Result<Signed> {
        self.index.sign(actor, user, officer, explanation)
    }

    /// Sets a user's password hash (argon2id PHC string); ends their
    /// sessions. Audited.
    pub fn set_password(&mut self, actor: &str, user: &str, hash: &str) -> Result<()> {
        self.index.set_password(actor, user, hash)
    }

    /// A user's password hash, if one is set.
    pub fn password_hash(&self, user: &str) -> Result<Option<String>> {
        self.index.password_hash(user)
    }

    /// Failed logins of `user` at or after `since` (RFC 3339).
    pub fn login_failures_since(&self, user: &str, source: &str, since: &str) -> Result<u32> {
        self.index.login_failures_since(user, source, since)
    }

    /// Records a failed login (audited, counted for the lockout).
    pub fn record_login_failure(
        &mut self,
        actor: &str,
        user: &str,
        why: &str,
        peer: &str,
        source: &str,
    ) -> Result<()> {
        self.index
            .record_login_failure(actor, user, why, peer, source)
    }

    /// Opens a session (audited as the user's login).
    pub fn open_session(
        &mut self,
        user: &str,
        token_sha256: &str,
        expires_at: &str,
        peer: &str,
    ) -> Result<()> {
        self.index
            .open_session(user, token_sha256, expires_at, peer)
    }

    /// The user of a live session.
    pub fn session_user(&self, token_sha256: &str, now: &str) -> Result<Option<String>> {
        self.index.session_user(token_sha256, now)
    }

    /// Ends a session (audited); false if there was none.
    pub fn end_session(&mut self, actor: &str, token_sha256: &str) -> Result<bool> {
        self.index.end_session(actor, token_sha256)
    }

    /// Whether `id` is a registered officer.
    pub fn officer_exists(&self, id: &str) -> Result<bool> {
        self.index.officer_exists(id)
    }

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
        self.index
            .write(|tx| audit::append(tx, &now, actor, action, subject, detail))?;
        Ok(())
    }

    /// Erases asked of a recorder's dock whose outcome was never recorded
    /// (the host died between `Erase` and its audit row), oldest first.
    pub fn pending_erases(&self, device: &str) -> Result<Vec<erasures::PendingErase>> {
        self.index.pending_erases(device)
    }

    /// Records a docking: the recorder's clock drift and health (R4, R5).
    pub fn record_docking(&mut self, actor: &str, d: &Docking) -> Result<()> {
        let now = now_rfc3339();
        let faults = serde_json::to_string(&d.faults).unwrap_or_else(|_| "[]".into());
        self.index.write(|tx| {
            tx.execute(
                "INSERT INTO dockings (at, dock, slot, device_serial, officer_id, drift_ms, battery_pct, storage_free, faults)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![now, d.dock, d.slot, d.device, d.officer, d.drift_ms, d.battery_pct, d.storage_free as i64, faults],
            )?;
            audit::append(tx, &now, actor, "device.docked", &d.device, &serde_json::to_value(d).unwrap_or_default())
        })?;
        Ok(())
    }

    /// The officer a recorder is bound to, if it is registered.
    pub fn device_officer(&self, serial: &str) -> Result<Option<String>> {
        self.index.device_officer(serial)
    }

    /// Registers a Vigil user (audited).
    pub fn add_user(&mut self, actor: &str, user: &people::User) -> Result<()> {
        self.index.add_user(actor, user)
    }

    /// All Vigil users.
    pub fn users(&self) -> Result<Vec<people::User>> {
        self.index.users()
    }

    /// Registers or updates an officer (audited).
    pub fn upsert_officer(&mut self, actor: &str, officer: &people::Officer) -> Result<()> {
        self.index.upsert_officer(actor, officer)
    }

    /// All officers.
    pub fn officers(&self) -> Result<Vec<people::Officer>> {
        self.index.officers()
    }

    /// Registers a recorder (audited).
    pub fn register_device(
        &mut self,
        actor: &str,
        serial: &str,
        model: Option<&str>,
    ) -> Result<()> {
        self.index.register_device(actor, serial, model)
    }

    /// Binds a recorder to an officer from `from` on (audited; history kept).
    pub fn bind(&mut self, actor: &str, serial: &str, officer: &str, from: &str) -> Result<()> {
        self.index.bind(actor, serial, officer, from)
    }

    /// The registry with binding history.
    pub fn devices(&self) -> Result<Vec<people::Device>> {
        self.index.devices()
    }

    /// The officer a recorder was bound to at a time (R3).
    pub fn bound_at(&self, serial: &str, at: &str) -> Result<Option<String>> {
        self.index.bound_at(serial, at)
    }

    /// Tags clips (audited; unset fields keep their value). Returns how many.
    pub fn tag(&mut self, actor: &str, clips: &[String], tag: &tags::Tag) -> Result<usize> {
        self.index.tag(actor, clips, tag)
    }

    /// A clip's current tag.
    pub fn tag_of(&self, clip: &str) -> Result<Option<tags::Tag>> {
        self.index.tag_of(clip)
    }

    /// Media clips ingested before `cutoff` (RFC 3339) that still have no
    /// site or description (R11).
    pub fn untagged_before(&self, cutoff: &str) -> Result<Vec<tags::Untagged>> {
        self.index.untagged_ingested_before(cutoff, None, None)
    }

    /// One officer's untagged clips ingested before `cutoff`, at most
    /// `limit`, oldest first.
    pub fn untagged_of(
        &self,
        officer: &str,
        cutoff: &str,
        limit: u64,
    ) -> Result<Vec<tags::Untagged>> {
        self.index
            .untagged_ingested_before(cutoff, Some(officer), Some(limit))
    }

    /// Files a retrieval request; returns its id (audited).
    pub fn add_request(
        &mut self,
        actor: &str,
        requester: &str,
        reason: &str,
        outsider: Option<&str>,
        case: Option<&str>,
        clips: &[String],
    ) -> Result<String> {
        self.index
            .add_request(actor, requester, reason, outsider, case, clips)
    }

    /// A retrieval request.
    pub fn request(&self, id: &str) -> Result<Option<requests::Request>> {
        self.index.request(id)
    }

    /// The newest retrieval requests first, at most `limit`.
    pub fn requests(&self, limit: u64) -> Result<Vec<requests::Request>> {
        self.index.requests(limit)
    }

    /// Turns a request down with the reason; refused for its own requester
    /// and for a request already decided (audited).
    pub fn reject_request(&mut self, actor: &str, by: &str, id: &str, reason: &str) -> Result<()> {
        self.index.reject(actor, by, id, reason)
    }

    /// Approves a request; refused for its own requester (audited).
    pub fn approve(&mut self, actor: &str, approver: &str, id: &str) -> Result<()> {
        self.index.approve(actor, approver, id)
    }

    /// Clips whose current tag names this case.
    pub fn clips_of_case(&self, case: &str) -> Result<Vec<String>> {
        self.index.clips_of_case(case)
    }

    /// Audit rows about these subjects (clip ids, gap ids), oldest first.
    pub fn audit_about(&self, subjects: &[String]) -> Result<Vec<audit::AuditEntry>> {
        self.index.audit_about(subjects)
    }

    /// Every explanation of a gap, oldest first, each with its reviews.
    pub fn explanation_history(
        &self,
        gap: &str,
    ) -> Result<Vec<(Explanation, Vec<gaps::ReviewEntry>)>> {
        self.index.explanation_history(gap)
    }

    /// A clip's continuity analysis as recorded at ingest (JSON), if any.
    pub fn analysis_of(&self, clip: &str) -> Result<Option<String>> {
        self.index.analysis_of(clip)
    }

    /// A clip's retention classes and holds (newest first).
    pub fn retention_of(&self, clip: &str) -> Result<(Vec<String>, Vec<retention::HoldRow>)> {
        self.index.retention_of(clip)
    }

    /// Gives clips a retention class (the longest of a clip's classes wins).
    pub fn set_class(&mut self, actor: &str, clips: &[String], class: &str) -> Result<()> {
        self.index.set_class(actor, clips, class)
    }

    /// Places holds; returns their ids.
    pub fn hold(
        &mut self,
        actor: &str,
        clips: &[String],
        reason: &str,
        note: Option<&str>,
    ) -> Result<Vec<i64>> {
        self.index.hold(actor, clips, reason, note)
    }

    /// Releases a hold.
    pub fn release(&mut self, actor: &str, hold: i64) -> Result<()> {
        self.index.release(actor, hold)
    }

    /// Records a case closed and/or filed.
    pub fn case_event(
        &mut self,
        actor: &str,
        case: &str,
        closed: Option<&str>,
        filed: Option<&str>,
    ) -> Result<()> {
        self.index.case_event(actor, case, closed, filed)
    }

    /// Cases closed before `cutoff` and not filed (R12).
    pub fn unfiled_cases(&self, cutoff: &str) -> Result<Vec<(String, String)>> {
        self.index.unfiled_cases(cutoff)
    }

    /// Clips due for removal at `now`.
    pub fn due(
        &self,
        now: time::OffsetDateTime,
        policy: &retention::Policy,
    ) -> Result<Vec<retention::Due>> {
        self.index.due(now, policy)
    }

    /// Proposes clips for removal.
    pub fn propose_purge(&mut self, actor: &str, clips: &[String]) -> Result<usize> {
        self.index.propose_purge(actor, clips)
    }

    /// Approves pending proposals (not one's own).
    pub fn approve_purge(
        &mut self,
        actor: &str,
        approver: &str,
        window_days: i64,
    ) -> Result<usize> {
        self.index.approve_purge(actor, approver, window_days)
    }

    /// Takes a clip off the purge queue.
    pub fn cancel_purge(&mut self, actor: &str, clip: &str) -> Result<()> {
        self.index.cancel_purge(actor, clip)
    }

    /// The purge queue.
    pub fn purge_queue(&self) -> Result<Vec<retention::Queued>> {
        self.index.queue()
    }

    /// Deletes approved entries past their recovery window that are still
    /// due; returns the clips removed.
    pub fn run_purge(
        &mut self,
        actor: &str,
        now: time::OffsetDateTime,
        policy: &retention::Policy,
    ) -> Result<Vec<String>> {
        let objects = self.objects.clone();
        self.index.run_purge(actor, &objects, now, policy)
    }

    /// Draws a reproducible spot-check sample (R18).
    pub fn draw_spotcheck(
        &mut self,
        actor: &str,
        n: usize,
        seed: &str,
        since: &str,
        until: &str,
    ) -> Result<Vec<oversight::Spotcheck>> {
        self.index.draw(actor, n, seed, since, until)
    }

    /// Records a reviewer's finding on a spot-check entry.
    pub fn review_spotcheck(
        &mut self,
        actor: &str,
        entry: i64,
        reviewer: &str,
        finding: &str,
    ) -> Result<()> {
        self.index.review(actor, entry, reviewer, finding)
    }

    /// The spot-check ledger.
    pub fn spotchecks(&self) -> Result<Vec<oversight::Spotcheck>> {
        self.index.spotchecks()
    }

    /// Marks clips confidential (R17).
    pub fn mark_confidential(&mut self, actor: &str, clips: &[String], kind: &str) -> Result<()> {
        self.index.mark_confidential(actor, clips, kind)
    }

    /// A clip's confidentiality, if marked.
    pub fn confidentiality(&self, clip: &str) -> Result<Option<String>> {
        self.index.confidentiality(clip)
    }

    /// The latest docking of each recorder.
    pub fn dockings(&self) -> Result<Vec<Docking>> {
        self.index.dockings()
    }

    /// Records a review (accepted/rejected) of a gap's current explanation.
    pub fn review(
        &mut self,
        actor: &str,
        reviewer: &str,
        gap: &str,
        verdict: &str,
        note: Option<&str>,
    ) -> Result<()> {
        self.index
            .review_explanation(actor, reviewer, gap, verdict, note)
    }

    /// Total bytes of all indexed objects (for progress bars).
    pub fn indexed_bytes(&self) -> Result<u64> {
        self.index.indexed_bytes()
    }
}
