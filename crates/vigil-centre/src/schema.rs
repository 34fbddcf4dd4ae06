//! The centre's PostgreSQL schema, as versioned migrations: each runs
//! once, in order, in one transaction with the version it brings
//! (`schema_version`), as the station's SQLite schema does.
//!
//! Every row a station sends carries `station`, and `seq`: the station
//! log entry it came from (a clip's or interruption's row is the state
//! the station sent with the newest entry naming it). The station logs
//! (`entries`), the cosigned checkpoints and the centre's own audit log
//! are append-only, enforced by triggers.

/// The migrations, oldest first; migration `i` brings version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: enrolled stations, what the centre holds of each log (the
    // witness's state and the entries applied), the logs themselves,
    // the clips and interruptions they name, the centre's audit log.
    r#"
CREATE FUNCTION vigil_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;

CREATE TABLE stations (
    name         TEXT PRIMARY KEY,
    key          TEXT NOT NULL,
    enrolled_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    enrolled_by  TEXT NOT NULL,
    revoked_at   TIMESTAMPTZ,
    last_contact TIMESTAMPTZ,
    flagged_at   TIMESTAMPTZ,
    flag         TEXT
);

CREATE TABLE logs (
    station        TEXT PRIMARY KEY REFERENCES stations (name),
    applied        BIGINT NOT NULL DEFAULT 0,
    frontier       BYTEA NOT NULL DEFAULT '\x',
    witnessed      BIGINT NOT NULL DEFAULT 0,
    witnessed_root BYTEA,
    checkpoint     TEXT,
    cosigned_at    TIMESTAMPTZ
);

CREATE TABLE cosigned (
    station     TEXT NOT NULL REFERENCES stations (name),
    size        BIGINT NOT NULL,
    root        BYTEA NOT NULL,
    checkpoint  TEXT NOT NULL,
    cosignature TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (station, size)
);
CREATE TRIGGER cosigned_append_only BEFORE UPDATE OR DELETE ON cosigned
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();

CREATE TABLE entries (
    station     TEXT NOT NULL REFERENCES stations (name),
    seq         BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq)
);
CREATE INDEX entries_subject ON entries (station, subject);
CREATE INDEX entries_action ON entries (action, at);
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();

CREATE TABLE clips (
    station        TEXT NOT NULL REFERENCES stations (name),
    id             TEXT NOT NULL,
    path           TEXT NOT NULL,
    officer        TEXT,
    device         TEXT,
    kind           TEXT NOT NULL,
    recorded_start TIMESTAMPTZ,
    recorded_end   TIMESTAMPTZ,
    duration_s     DOUBLE PRECISION,
    damaged        BOOLEAN NOT NULL,
    blake3         TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    bytes          BIGINT NOT NULL,
    ingested_at    TIMESTAMPTZ NOT NULL,
    data           JSONB NOT NULL,
    seq            BIGINT NOT NULL,
    PRIMARY KEY (station, id)
);
CREATE INDEX clips_recorded ON clips (recorded_start);
CREATE INDEX clips_officer ON clips (officer, recorded_start);

CREATE TABLE gaps (
    station     TEXT NOT NULL REFERENCES stations (name),
    id          TEXT NOT NULL,
    clip        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    officer     TEXT,
    device      TEXT,
    wall_start  TIMESTAMPTZ,
    duration_s  DOUBLE PRECISION NOT NULL,
    status      TEXT NOT NULL,
    detected_at TIMESTAMPTZ NOT NULL,
    data        JSONB NOT NULL,
    seq         BIGINT NOT NULL,
    PRIMARY KEY (station, id)
);
CREATE INDEX gaps_status ON gaps (status, wall_start);
CREATE INDEX gaps_officer ON gaps (officer, wall_start);

CREATE TABLE audit (
    seq     BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  JSONB NOT NULL
);
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();
"#,
    // 2: the board: how big each station says its log is (the outbox is
    // that past `applied`), and since when it has been out of touch
    // (reported once per silence).
    r#"
ALTER TABLE stations ADD COLUMN reported_size BIGINT;
ALTER TABLE stations ADD COLUMN out_of_touch_since TIMESTAMPTZ;
"#,
    // 3: the agency's own users (each a role, an agency-wide one or one
    // station's), their desk sessions (kept by the token's SHA-256), what
    // decides who may see a clip (R17), and trigram search (pg_trgm) over
    // what names a clip: Chinese substrings included.
    r#"
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    station    TEXT REFERENCES stations (name),
    password   TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by TEXT NOT NULL
);
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_name    TEXT NOT NULL REFERENCES users (name),
    expires_at   TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE clips ADD COLUMN confidential TEXT;
ALTER TABLE clips ADD COLUMN words TEXT GENERATED ALWAYS AS (
    coalesce(officer, '') || ' ' || coalesce(device, '') || ' ' || path || ' ' ||
    coalesce(data #>> '{tag,site}', '') || ' ' || coalesce(data #>> '{tag,case}', '') || ' ' ||
    coalesce(data #>> '{tag,note}', '')) STORED;
CREATE INDEX clips_words ON clips USING gin (words gin_trgm_ops);
CREATE INDEX clips_ingested ON clips (ingested_at DESC);
"#,
    // 4: actions taken at the centre on a station's evidence records (a
    // review), waiting for the station to record them in its own log:
    // applied when the station's log entry naming the action arrives
    // (`applied_seq`), or refused by the station with why.
    r#"
CREATE TABLE actions (
    id          BIGSERIAL PRIMARY KEY,
    station     TEXT NOT NULL REFERENCES stations (name),
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        JSONB NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_seq BIGINT,
    refused     TEXT,
    settled_at  TIMESTAMPTZ
);
CREATE INDEX actions_pending ON actions (station) WHERE applied_seq IS NULL AND refused IS NULL;
"#,
    // 5: explanations found by their words as the recordings are
    // (trigrams: Chinese substrings too).
    r#"
CREATE INDEX gaps_explanation_words ON gaps USING gin ((data #>> '{explanation,text}') gin_trgm_ops);
"#,
    // 6: the statistics (R19) summed from indexes alone: when each
    // interruption's current explanation was recorded, when a station
    // purged a recording (its `clip.purged` entry), and covering indexes
    // over what a period's totals read of the recordings kept (by
    // recording time) and of the interruptions (by when they happened,
    // else were found).
    r#"
ALTER TABLE gaps ADD COLUMN explained_at TIMESTAMPTZ;
UPDATE gaps SET explained_at = (data #>> '{explanation,created_at}')::timestamptz;
ALTER TABLE clips ADD COLUMN purged_at TIMESTAMPTZ;
UPDATE clips c SET purged_at = e.at FROM entries e
    WHERE e.station = c.station AND e.subject = c.id AND e.action = 'clip.purged';
CREATE INDEX clips_totals ON clips (recorded_start)
    INCLUDE (station, officer, duration_s, ingested_at, recorded_end) WHERE purged_at IS NULL;
CREATE INDEX clips_undated ON clips (ingested_at)
    INCLUDE (station, officer, duration_s) WHERE recorded_start IS NULL AND purged_at IS NULL;
CREATE INDEX gaps_totals ON gaps ((COALESCE(wall_start, detected_at)))
    INCLUDE (station, officer, explained_at, detected_at);
"#,
    // 7: the statistics' daily totals, kept by statement triggers as rows
    // change (a station's batch is one statement): per station, officer
    // and UTC day (of recording, else ingest, for a recording kept; of
    // happening, else finding, for an interruption).
    // A period's whole days are summed from them, its edges from the rows
    // (`stats.rs`). 24 h is the late-ingest bound (`stats::LATE_AFTER_H`).
    r#"
CREATE TABLE clip_days (
    station  TEXT NOT NULL,
    officer  TEXT NOT NULL,
    day      DATE NOT NULL,
    clips    BIGINT NOT NULL,
    seconds  DOUBLE PRECISION NOT NULL,
    late     BIGINT NOT NULL,
    undated  BIGINT NOT NULL,
    PRIMARY KEY (station, day, officer)
);
CREATE INDEX clip_days_day ON clip_days (day) INCLUDE (station, officer, clips, seconds, late, undated);
CREATE TABLE gap_days (
    station         TEXT NOT NULL,
    officer         TEXT NOT NULL,
    day             DATE NOT NULL,
    gaps            BIGINT NOT NULL,
    explained       BIGINT NOT NULL,
    explain_hours   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (station, day, officer)
);
CREATE INDEX gap_days_day ON gap_days (day) INCLUDE (station, officer, gaps, explained, explain_hours);

-- One statement's rows at a time (a station's batch is one statement):
-- the rows it removed or replaced count no more, the rows it added or
-- wrote count (a row written unchanged nets to nothing).
CREATE FUNCTION vigil_clip_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO clip_days (station, officer, day, clips, seconds, late, undated)
        SELECT station, COALESCE(officer, '-'),
               (COALESCE(recorded_start, ingested_at) AT TIME ZONE 'UTC')::date, count(*),
               COALESCE(sum(duration_s), 0),
               count(*) FILTER (WHERE ingested_at - recorded_end > interval '24 hours'),
               count(*) FILTER (WHERE recorded_start IS NULL)
        FROM new_rows WHERE purged_at IS NULL GROUP BY 1, 2, 3
        ON CONFLICT (station, day, officer) DO UPDATE SET clips = clip_days.clips + EXCLUDED.clips,
            seconds = clip_days.seconds + EXCLUDED.seconds, late = clip_days.late + EXCLUDED.late,
            undated = clip_days.undated + EXCLUDED.undated;
    ELSE
        INSERT INTO clip_days (station, officer, day, clips, seconds, late, undated)
        SELECT station, COALESCE(officer, '-'),
               (COALESCE(recorded_start, ingested_at) AT TIME ZONE 'UTC')::date, sum(sign),
               COALESCE(sum(sign * duration_s), 0),
               COALESCE(sum(sign) FILTER (WHERE ingested_at - recorded_end > interval '24 hours'), 0),
               COALESCE(sum(sign) FILTER (WHERE recorded_start IS NULL), 0)
        FROM (SELECT -1 AS sign, o.* FROM old_rows o
              WHERE o.purged_at IS NULL
              UNION ALL
              SELECT 1, n.* FROM new_rows n
              WHERE TG_OP = 'UPDATE' AND n.purged_at IS NULL) c
        GROUP BY 1, 2, 3
        ON CONFLICT (station, day, officer) DO UPDATE SET clips = clip_days.clips + EXCLUDED.clips,
            seconds = clip_days.seconds + EXCLUDED.seconds, late = clip_days.late + EXCLUDED.late,
            undated = clip_days.undated + EXCLUDED.undated;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER clips_days_inserted AFTER INSERT ON clips REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_clip_days();
CREATE TRIGGER clips_days_updated AFTER UPDATE ON clips REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_clip_days();
CREATE TRIGGER clips_days_deleted AFTER DELETE ON clips REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_clip_days();

CREATE FUNCTION vigil_gap_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO gap_days (station, officer, day, gaps, explained, explain_hours)
        SELECT station, COALESCE(officer, '-'),
               (COALESCE(wall_start, detected_at) AT TIME ZONE 'UTC')::date, count(*),
               count(explained_at),
               COALESCE(sum(extract(epoch FROM explained_at - detected_at) / 3600.0), 0)
        FROM new_rows GROUP BY 1, 2, 3
        ON CONFLICT (station, day, officer) DO UPDATE SET gaps = gap_days.gaps + EXCLUDED.gaps,
            explained = gap_days.explained + EXCLUDED.explained,
            explain_hours = gap_days.explain_hours + EXCLUDED.explain_hours;
    ELSE
        INSERT INTO gap_days (station, officer, day, gaps, explained, explain_hours)
        SELECT station, COALESCE(officer, '-'),
               (COALESCE(wall_start, detected_at) AT TIME ZONE 'UTC')::date, sum(sign),
               COALESCE(sum(sign) FILTER (WHERE explained_at IS NOT NULL), 0),
               COALESCE(sum(sign * extract(epoch FROM explained_at - detected_at) / 3600.0), 0)
        FROM (SELECT -1 AS sign, o.* FROM old_rows o
              UNION ALL
              SELECT 1, n.* FROM new_rows n
              WHERE TG_OP = 'UPDATE') g
        GROUP BY 1, 2, 3
        ON CONFLICT (station, day, officer) DO UPDATE SET gaps = gap_days.gaps + EXCLUDED.gaps,
            explained = gap_days.explained + EXCLUDED.explained,
            explain_hours = gap_days.explain_hours + EXCLUDED.explain_hours;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER gaps_days_inserted AFTER INSERT ON gaps REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_gap_days();
CREATE TRIGGER gaps_days_updated AFTER UPDATE ON gaps REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_gap_days();
CREATE TRIGGER gaps_days_deleted AFTER DELETE ON gaps REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_gap_days();

INSERT INTO clip_days (station, officer, day, clips, seconds, late, undated)
SELECT station, COALESCE(officer, '-'), (COALESCE(recorded_start, ingested_at) AT TIME ZONE 'UTC')::date,
       count(*), COALESCE(sum(duration_s), 0),
       count(*) FILTER (WHERE ingested_at - recorded_end > interval '24 hours'),
       count(*) FILTER (WHERE recorded_start IS NULL)
FROM clips WHERE purged_at IS NULL GROUP BY 1, 2, 3;
INSERT INTO gap_days (station, officer, day, gaps, explained, explain_hours)
SELECT station, COALESCE(officer, '-'), (COALESCE(wall_start, detected_at) AT TIME ZONE 'UTC')::date,
       count(*), count(explained_at),
       COALESCE(sum(extract(epoch FROM explained_at - detected_at) / 3600.0), 0)
FROM gaps GROUP BY 1, 2, 3;
"#,
    // 8: the stations' retrieval requests (R16), each row the state the
    // station sent with the newest entry naming it; a centre user's
    // officer number, which a station's separation of duties compares
    // with its own accounts'; failed logins found by user and time (the
    // lockout); explanations waiting for a review (the home's queue);
    // English full-text search (stems: "running" finds "run") beside the
    // trigrams' substrings.
    r#"
CREATE TABLE requests (
    station       TEXT NOT NULL REFERENCES stations (name),
    id            TEXT NOT NULL,
    requester     TEXT NOT NULL,
    reason        TEXT NOT NULL,
    outsider      TEXT,
    case_no       TEXT,
    clips         TEXT[] NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    approved_by   TEXT,
    approved_at   TIMESTAMPTZ,
    rejected_by   TEXT,
    rejected_at   TIMESTAMPTZ,
    reject_reason TEXT,
    data          JSONB NOT NULL,
    seq           BIGINT NOT NULL,
    PRIMARY KEY (station, id),
    FOREIGN KEY (station, seq) REFERENCES entries (station, seq)
);
CREATE INDEX requests_newest ON requests (created_at DESC);
CREATE INDEX requests_undecided ON requests (created_at DESC)
    WHERE approved_by IS NULL AND rejected_by IS NULL;
ALTER TABLE users ADD COLUMN officer TEXT;
ALTER TABLE actions ADD COLUMN officer TEXT;
CREATE INDEX audit_logins_refused ON audit (subject, at) WHERE action = 'session.refused';
CREATE INDEX gaps_to_review ON gaps (COALESCE(wall_start, detected_at))
    WHERE jsonb_typeof(data -> 'explanation') = 'object' AND (data #>> '{explanation,review}') IS NULL;
CREATE INDEX clips_words_english ON clips USING gin (to_tsvector('english', words));
CREATE INDEX gaps_explained_english ON gaps
    USING gin (to_tsvector('english', COALESCE(data #>> '{explanation,text}', '')));
"#,
    // 9: the ingest report: a recording's interruptions found from it,
    // and each recorder's last docking at its station.
    r#"
CREATE INDEX gaps_clip ON gaps (station, clip);
CREATE INDEX entries_docked ON entries (station, subject, seq DESC) WHERE action = 'device.docked';
"#,
    // 10: the interruptions not yet explained in the order they happened:
    // the first page of the overdue ones (a home's queue, `vigil
    // overdue`) read off the index.
    r#"
CREATE INDEX gaps_open ON gaps ((COALESCE(wall_start, detected_at)), station, id)
    WHERE status <> 'explained';
"#,
];
