//! The index schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied; opening an
//! index applies the missing ones in one transaction. Migrations are only
//! ever appended to [`MIGRATIONS`], never edited, so every store can be
//! brought forward from any earlier release.

/// Each entry takes the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: devices, officers, objects, ingest runs, clips, audit log.
    r#"
CREATE TABLE officers (
    id          TEXT PRIMARY KEY,
    name        TEXT,
    created_at  TEXT NOT NULL
);
CREATE TABLE devices (
    serial      TEXT PRIMARY KEY,
    model       TEXT,
    officer_id  TEXT REFERENCES officers(id),
    first_seen  TEXT NOT NULL
);
-- One row per durable object file; written only after the file and its
-- directory are fsynced (invariant: a row here means the bytes are safe).
CREATE TABLE objects (
    blake3      TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    stored_at   TEXT NOT NULL
);
CREATE TABLE ingest_runs (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    device_serial TEXT,
    officer_id  TEXT,
    actor       TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    stored      INTEGER NOT NULL DEFAULT 0,
    duplicates  INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete'))
);
CREATE TABLE clips (
    id              TEXT PRIMARY KEY,
    object          TEXT NOT NULL REFERENCES objects(blake3),
    path            BLOB NOT NULL,   -- original path relative to the recorder root, raw bytes
    path_display    TEXT NOT NULL,   -- the same, printable (non-UTF-8 bytes as \xNN)
    device_serial   TEXT REFERENCES devices(serial),
    officer_id      TEXT REFERENCES officers(id),
    kind            TEXT NOT NULL CHECK (kind IN ('video', 'audio', 'photo', 'other')),
    recorded_start  TEXT,
    recorded_end    TEXT,
    time_source     TEXT,
    source_mtime    TEXT,
    ingested_at     TEXT NOT NULL,
    ingest_run      TEXT REFERENCES ingest_runs(id),
    status          TEXT NOT NULL CHECK (status IN ('ok', 'damaged')),
    damage_reason   TEXT
);
CREATE UNIQUE INDEX clips_identity ON clips (COALESCE(device_serial, ''), path, object);
CREATE INDEX clips_officer ON clips (officer_id);
CREATE INDEX clips_device ON clips (device_serial);

-- Append-only, hash-chained (R10, R20): each row's hash covers its content
-- and the previous row's hash. The triggers stop accidental edits through
-- SQL; `vigil verify` catches deliberate ones by recomputing the chain.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER objects_no_update BEFORE UPDATE ON objects
BEGIN SELECT RAISE(ABORT, 'stored objects are immutable'); END;
"#,
    // 2: continuity (R7, R8): analysis results on clips, the gap log and
    // explanations. Explanations are never edited, only superseded.
    r#"
ALTER TABLE clips ADD COLUMN duration_s REAL;
ALTER TABLE clips ADD COLUMN video_start_s REAL;
ALTER TABLE clips ADD COLUMN audio_start_s REAL;
ALTER TABLE clips ADD COLUMN dropped_frames INTEGER;
ALTER TABLE clips ADD COLUMN seq INTEGER;
ALTER TABLE clips ADD COLUMN analysis TEXT;
CREATE TABLE gaps (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('within_clip', 'between_clips', 'missing_file')),
    clip            TEXT NOT NULL REFERENCES clips(id),
    previous_clip   TEXT REFERENCES clips(id),
    stream          TEXT CHECK (stream IN ('video', 'audio')),
    offset_s        REAL,
    duration_s      REAL NOT NULL,
    wall_start      TEXT,
    device_serial   TEXT,
    officer_id      TEXT,
    missing         TEXT,
    detected_at     TEXT NOT NULL
);
CREATE INDEX gaps_clip ON gaps (clip);
CREATE TABLE explanations (
    id              TEXT PRIMARY KEY,
    gap             TEXT NOT NULL REFERENCES gaps(id),
    kind            TEXT NOT NULL CHECK (kind IN ('spoken', 'written')),
    clip            TEXT REFERENCES clips(id),
    at_s            REAL,
    level_dbfs      REAL,
    text            TEXT,
    officers        TEXT NOT NULL,
    actor           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    supersedes      TEXT REFERENCES explanations(id)
);
CREATE INDEX explanations_gap ON explanations (gap);
CREATE TRIGGER explanations_no_update BEFORE UPDATE ON explanations
BEGIN SELECT RAISE(ABORT, 'explanations are never edited; add a new one'); END;
CREATE TRIGGER explanations_no_delete BEFORE DELETE ON explanations
BEGIN SELECT RAISE(ABORT, 'explanations are never deleted; add a new one'); END;
CREATE TRIGGER gaps_no_delete BEFORE DELETE ON gaps
BEGIN SELECT RAISE(ABORT, 'interruptions are never deleted'); END;
"#,
    // 3: dockings (R4, R5): each time a recorder is docked, its clock drift
    // and health as the dock reported them.
    r#"
CREATE TABLE dockings (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    dock            TEXT NOT NULL,
    slot            INTEGER NOT NULL,
    device_serial   TEXT NOT NULL,
    officer_id      TEXT,
    drift_ms        INTEGER,
    battery_pct     INTEGER,
    storage_free    INTEGER,
    faults          TEXT NOT NULL
);
CREATE INDEX dockings_device ON dockings (device_serial);
"#,
    // 4: people and registry (R3, R16, R20): Vigil users with roles mapped
    // to Unix users; officers' units; recorder-to-officer bindings with
    // their history (a clip's officer is the one bound when it was recorded).
    r#"
CREATE TABLE users (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('officer', 'custodian', 'auditor', 'supervisor', 'admin')),
    unix_user   TEXT UNIQUE,
    officer_id  TEXT,
    created_at  TEXT NOT NULL
);
ALTER TABLE officers ADD COLUMN unit TEXT;
CREATE TABLE bindings (
    id              INTEGER PRIMARY KEY,
    device_serial   TEXT NOT NULL,
    officer_id      TEXT NOT NULL,
    from_ts         TEXT NOT NULL,
    to_ts           TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX bindings_device ON bindings (device_serial, from_ts);
"#,
    // 5: tags (R6, R11): site, case, category, note per clip; history kept,
    // the newest row is the clip's tag.
    r#"
CREATE TABLE tags (
    id          INTEGER PRIMARY KEY,
    clip        TEXT NOT NULL REFERENCES clips(id),
    site        TEXT,
    case_no     TEXT,
    category    TEXT,
    note        TEXT,
    tagged_at   TEXT NOT NULL,
    actor       TEXT NOT NULL
);
CREATE INDEX tags_clip ON tags (clip, id);
CREATE TRIGGER tags_no_update BEFORE UPDATE ON tags
BEGIN SELECT RAISE(ABORT, 'tags are never edited; tag again'); END;
CREATE TRIGGER tags_no_delete BEFORE DELETE ON tags
BEGIN SELECT RAISE(ABORT, 'tags are never deleted; tag again'); END;
"#,
    // 6: retrieval requests (R16): the 调用单. Approved by a supervisor
    // other than the requester; outsiders get copies only.
    r#"
CREATE TABLE requests (
    id          TEXT PRIMARY KEY,
    requester   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    outsider    TEXT,
    case_no     TEXT,
    clips       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT
);
"#,
    // 7: retention (R12, R13): retention classes per clip, holds, cases
    // (open/closed/filed) and the purge queue with its recovery window.
    r#"
CREATE TABLE retention (
    clip        TEXT NOT NULL REFERENCES clips(id),
    class       TEXT NOT NULL CHECK (class IN ('ordinary', 'evidence', 'long_term')),
    set_at      TEXT NOT NULL,
    PRIMARY KEY (clip, class)
);
CREATE TABLE holds (
    id          INTEGER PRIMARY KEY,
    clip        TEXT NOT NULL REFERENCES clips(id),
    reason      TEXT NOT NULL CHECK (reason IN ('dispute', 'complaint', 'obstruction', 'mass_incident', 'compulsory_measure')),
    note        TEXT,
    placed_at   TEXT NOT NULL,
    placed_by   TEXT NOT NULL,
    released_at TEXT,
    released_by TEXT
);
CREATE TABLE cases (
    case_no     TEXT PRIMARY KEY,
    closed_at   TEXT,
    filed_at    TEXT
);
CREATE TABLE purge_queue (
    clip            TEXT PRIMARY KEY REFERENCES clips(id),
    proposed_at     TEXT NOT NULL,
    proposed_by     TEXT NOT NULL,
    approved_at     TEXT,
    approved_by     TEXT,
    delete_after    TEXT,
    cancelled_at    TEXT,
    deleted_at      TEXT
);
ALTER TABLE clips ADD COLUMN purged_at TEXT;
CREATE TABLE purged_objects (
    blake3      TEXT PRIMARY KEY,
    purged_at   TEXT NOT NULL
);
"#,
    // 8: spot checks (R18) and confidentiality (R17).
    r#"
CREATE TABLE spotchecks (
    id          INTEGER PRIMARY KEY,
    clip        TEXT NOT NULL REFERENCES clips(id),
    drawn_at    TEXT NOT NULL,
    seed        TEXT NOT NULL,
    reviewer    TEXT,
    finding     TEXT,
    reviewed_at TEXT
);
CREATE TABLE confidential (
    clip        TEXT PRIMARY KEY REFERENCES clips(id),
    kind        TEXT NOT NULL CHECK (kind IN ('state_secret', 'trade_secret', 'privacy')),
    marked_at   TEXT NOT NULL
);
"#,
    // 9: reviews of explanations (R8, R9): a supervisor or auditor accepts
    // or rejects an explanation; the newest review counts.
    r#"
CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    explanation TEXT NOT NULL REFERENCES explanations(id),
    reviewer    TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    note        TEXT,
    at          TEXT NOT NULL
);
"#,
    // 10: finding audit rows by action (erase intents reconciled at each
    // docking).
    r#"
CREATE INDEX audit_action ON audit (action, subject);
"#,
    // 11: signatures of written explanations (R8): each officer signs in
    // their own session; an explanation counts once two distinct officers
    // have signed. Append-only like the explanations themselves.
    r#"
CREATE TABLE signatures (
    explanation TEXT NOT NULL REFERENCES explanations(id),
    officer     TEXT NOT NULL REFERENCES officers(id),
    user_name   TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (explanation, officer)
);
CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are never edited'); END;
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
BEGIN SELECT RAISE(ABORT, 'signatures are never deleted'); END;
"#,
    // 12: desk logins: a password hash per user (argon2id, PHC
    // string), sessions by the SHA-256 of their token (the token itself is
    // never stored), failed attempts for the lockout.
    r#"
CREATE TABLE passwords (
    user_name   TEXT PRIMARY KEY REFERENCES users(name),
    hash        TEXT NOT NULL,
    set_at      TEXT NOT NULL
);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL REFERENCES users(name),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    ended_at     TEXT
);
CREATE TABLE login_failures (
    id          INTEGER PRIMARY KEY,
    user_name   TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX login_failures_user ON login_failures (user_name, at);
"#,
    // 13: interruptions seen in real recordings (R7): a restart
    // inside a clip, a stream that stops early, an edit-list cut. Widening
    // a CHECK changes nothing on disk, so the table's definition is edited
    // in place (SQLite's documented procedure; the schema version is
    // bumped after the batch, see `Index::migrate`).
    r#"
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql,
       'CHECK (kind IN (''within_clip'', ''between_clips'', ''missing_file''))',
       'CHECK (kind IN (''within_clip'', ''between_clips'', ''missing_file'', ''restart'', ''stream_stopped'', ''edit_list_cut''))')
 WHERE type = 'table' AND name = 'gaps';
PRAGMA writable_schema = OFF;
"#,
    // 14: the audit log as a Merkle tree (R10, R20): every
    // perfect aligned subtree of the RFC 6962 tree over the audit rows
    // (level 0 = leaf hashes, leaf i = row i + 1), appended with each row;
    // and every checkpoint the station signed. Both append-only. Rows of an
    // older store get their leaves on this open (`tlog::catch_up`).
    r#"
CREATE TABLE audit_tree (
    level       INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER audit_tree_no_update BEFORE UPDATE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_tree_no_delete BEFORE DELETE ON audit_tree
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE checkpoints (
    size        INTEGER PRIMARY KEY,
    root        BLOB NOT NULL,
    note        TEXT NOT NULL,
    signed_at   TEXT NOT NULL
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are kept as signed'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'signed checkpoints are kept as signed'); END;
"#,
    // 15: agency scale: indexes for the desk's lists and the
    // reports' periods, and two tables of derived state kept in the same
    // transaction as the change they follow, so a list or a queue never
    // works out every interruption's explanation or every clip's tags:
    // `gap_state` (each interruption's status and current explanation;
    // filled for an older store on this open, `gaps::catch_up`) and
    // `untagged` (clips not yet named with a site or a description, R11).
    // `vigil verify` recomputes both.
    r#"
CREATE INDEX clips_ingested ON clips (ingested_at, officer_id, purged_at, duration_s, recorded_end);
CREATE INDEX clips_recorded ON clips (recorded_start);
CREATE INDEX clips_officer_recorded ON clips (officer_id, recorded_start);
CREATE INDEX clips_device_recorded ON clips (device_serial, recorded_start);
CREATE INDEX clips_late ON clips ((julianday(ingested_at) - julianday(recorded_end)) * 24.0);
CREATE INDEX explanations_supersedes ON explanations (supersedes);
CREATE INDEX reviews_explanation ON reviews (explanation, id);
CREATE INDEX tags_case ON tags (case_no);
CREATE INDEX tags_site ON tags (site);
CREATE INDEX tags_category ON tags (category);
CREATE INDEX dockings_device_id ON dockings (device_serial, id);
-- `start`: the gap's wall-clock start, else when it was found (the lists'
-- order); `clip_ingested` and `officer`: its clip's (the reports' period).
CREATE TABLE gap_state (
    gap           TEXT PRIMARY KEY REFERENCES gaps(id),
    status        TEXT NOT NULL CHECK (status IN ('open', 'awaiting_signatures', 'explained')),
    explanation   TEXT REFERENCES explanations(id),
    explained_at  TEXT,
    reviewed      INTEGER NOT NULL DEFAULT 0,
    detected_at   TEXT NOT NULL,
    start         TEXT NOT NULL,
    clip_ingested TEXT NOT NULL,
    officer       TEXT
) WITHOUT ROWID;
CREATE INDEX gap_state_start ON gap_state (start);
CREATE INDEX gap_state_status ON gap_state (status, start);
CREATE INDEX gap_state_unexplained ON gap_state (start) WHERE status != 'explained';
CREATE INDEX gap_state_unreviewed ON gap_state (reviewed, start) WHERE explanation IS NOT NULL;
CREATE INDEX gap_state_officer ON gap_state (officer, status, start);
CREATE INDEX gap_state_ingested ON gap_state (clip_ingested, officer, explained_at, detected_at);
CREATE TABLE untagged (
    clip        TEXT PRIMARY KEY REFERENCES clips(id),
    ingested_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX untagged_ingested ON untagged (ingested_at);
INSERT INTO untagged (clip, ingested_at)
SELECT id, ingested_at FROM clips c
 WHERE kind IN ('video', 'audio', 'photo')
   AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.clip = c.id AND (t.site IS NOT NULL OR t.note IS NOT NULL));
"#,
    // 16: a retrieval request can be turned down, with the reason (R16).
    r#"
ALTER TABLE requests ADD COLUMN rejected_by TEXT;
ALTER TABLE requests ADD COLUMN rejected_at TEXT;
ALTER TABLE requests ADD COLUMN reject_reason TEXT;
CREATE INDEX requests_created ON requests (created_at);
"#,
    // 17: a subject's rows of the audit log (an export's custody trails)
    // found by index, not by reading the whole log.
    r#"
CREATE INDEX audit_subject ON audit (subject, seq);
"#,
    // 18: a lockout is per user and source address: a stranger's wrong
    // passwords do not lock the user out everywhere.
    r#"
ALTER TABLE login_failures ADD COLUMN source TEXT;
CREATE INDEX login_failures_source ON login_failures (user_name, source, at);
"#,
    // 19: the statistics go by when recordings were made and when
    // interruptions happened, each read from one covering index.
    r#"
CREATE INDEX clips_recorded_totals ON clips (recorded_start, purged_at, officer_id, duration_s, recorded_end, ingested_at);
CREATE INDEX gap_state_start_totals ON gap_state (start, officer, explained_at, detected_at);
"#,
    // 20: one person's rows of the audit log (the audit trail by person)
    // found by index.
    r#"
CREATE INDEX audit_actor ON audit (actor, seq);
"#,
    // 21: the search box's words found by index (trigram full-text,
    // Chinese substrings included): a tag's site, case and note, and an
    // explanation's text with the recording of its interruption. Tags and
    // explanations are never edited or deleted, so an insert trigger keeps
    // each index whole.
    r#"
CREATE VIRTUAL TABLE tag_words USING fts5(
    site, case_no, note, content = 'tags', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO tag_words (tag_words) VALUES ('rebuild');
CREATE TRIGGER tags_words AFTER INSERT ON tags
BEGIN
    INSERT INTO tag_words (rowid, site, case_no, note) VALUES (new.id, new.site, new.case_no, new.note);
END;
CREATE VIRTUAL TABLE explanation_words USING fts5(text, clip UNINDEXED, tokenize = 'trigram');
INSERT INTO explanation_words (text, clip)
SELECT e.text, g.clip FROM explanations e JOIN gaps g ON g.id = e.gap WHERE e.text IS NOT NULL;
CREATE TRIGGER explanations_words AFTER INSERT ON explanations WHEN new.text IS NOT NULL
BEGIN
    INSERT INTO explanation_words (text, clip)
    SELECT new.text, g.clip FROM gaps g WHERE g.id = new.gap;
END;
"#,
    // 22: a user's e-mail address, where the station's notices of what
    // waits for them are sent (when it names an SMTP server).
    r#"
ALTER TABLE users ADD COLUMN email TEXT;
"#,
    // 23: the station's link to its agency centre (`vigil centre join`),
    // how far the centre holds its log (the outbox is the log past
    // `applied`), and every cosignature the centre's witness gave.
    r#"
CREATE TABLE centre_link (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    url         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    witness     TEXT NOT NULL,
    joined_at   TEXT NOT NULL
);
CREATE TABLE centre_outbox (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    applied      INTEGER NOT NULL,
    witnessed    INTEGER NOT NULL,
    last_contact TEXT,
    last_error   TEXT,
    error_at     TEXT
);
CREATE TABLE cosigned (
    size        INTEGER PRIMARY KEY,
    note        TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TRIGGER cosigned_no_update BEFORE UPDATE ON cosigned
BEGIN SELECT RAISE(ABORT, 'cosigned checkpoints are kept as cosigned'); END;
CREATE TRIGGER cosigned_no_delete BEFORE DELETE ON cosigned
BEGIN SELECT RAISE(ABORT, 'cosigned checkpoints are kept as cosigned'); END;
"#,
];
