//! Each station's log at the centre: the witness (C2SP `tlog-witness`
//! `add-checkpoint`, answered with a `cosignature/v1` line) and the
//! batches a station pushes (`vigil_sync::Batch`), both checked against
//! what the centre holds of that log and applied in one transaction
//! that holds the log's row locked: the check of the old size and the
//! saving of the new state are atomic, and the new state is committed
//! before the answer leaves.
//!
//! A batch whose entries the centre already holds (sent twice, or resent
//! after a push killed halfway) is answered with the cosignature given
//! the first time and changes nothing. A checkpoint that does not extend
//! what the witness holds (the station's history was rewritten) is
//! refused, and the station is flagged and audited; what it sent before
//! is kept and served.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use deadpool_postgres::{GenericClient, Pool};
use vigil_sync::{Action, Answer, Batch, BatchError, Report, RequestSignature, State, StateReply};
use vigil_tlog::cosignature::{note_body, Cosigner};
use vigil_tlog::note::{Checkpoint, Verifier};
use vigil_tlog::witness::{AddCheckpoint, WitnessError};
use vigil_tlog::{Compact, Hash};

use crate::error::CentreError;
use crate::stations;

/// Seconds since the epoch.
pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What the centre holds of one station's log.
struct Held {
    applied: u64,
    tree: Compact,
    witnessed: u64,
    root: Option<Hash>,
}

impl Held {
    fn state(&self) -> State {
        State {
            applied: self.applied,
            witnessed: self.witnessed,
        }
    }

    fn witnessed(&self) -> Option<(u64, Hash)> {
        self.root.map(|r| (self.witnessed, r))
    }
}

async fn held(c: &impl GenericClient, station: &str, lock: bool) -> Result<Held, CentreError> {
    let sql = if lock {
        "SELECT applied, frontier, witnessed, witnessed_root FROM logs WHERE station = $1 FOR UPDATE"
    } else {
        "SELECT applied, frontier, witnessed, witnessed_root FROM logs WHERE station = $1"
    };
    let row = c
        .query_opt(sql, &[&station])
        .await?
        .ok_or_else(|| CentreError::Unknown(station.to_owned()))?;
    let applied = row.get::<_, i64>(0) as u64;
    let frontier: Vec<u8> = row.get(1);
    let hashes = frontier
        .chunks(32)
        .map(|c| Hash::try_from(c).map_err(|_| ()))
        .collect::<Result<Vec<_>, _>>();
    let tree = hashes
        .ok()
        .and_then(|h| Compact::from_frontier(applied, h))
        .ok_or_else(|| {
            CentreError::Config(format!("{station}: the kept tree frontier is damaged"))
        })?;
    let root: Option<Vec<u8>> = row.get(3);
    Ok(Held {
        applied,
        tree,
        witnessed: row.get::<_, i64>(2) as u64,
        root: root.and_then(|r| Hash::try_from(r.as_slice()).ok()),
    })
}

/// Whether a refusal means the station's history no longer extends what
/// the witness holds (rewritten), and so flags it.
fn rewritten(e: &BatchError) -> Option<String> {
    match e {
        BatchError::Witness(WitnessError::BadProof(p)) => Some(format!(
            "its checkpoint does not extend the one the witness cosigned: {p}"
        )),
        BatchError::Witness(WitnessError::Conflict {
            held,
            same_size: true,
        }) => Some(format!(
            "it signed another root for size {held}, which the witness had cosigned"
        )),
        BatchError::Entries { seq, why } => Some(format!("entry {seq}: {why}")),
        _ => None,
    }
}

/// Records the newly cosigned checkpoint in the transaction `tx`.
async fn save_cosigned(
    tx: &impl GenericClient,
    station: &str,
    cp: &Checkpoint,
    note: &str,
    cosignature: &str,
) -> Result<(), CentreError> {
    tx.execute(
        "UPDATE logs SET witnessed = $2, witnessed_root = $3, checkpoint = $4, cosigned_at = now() WHERE station = $1",
        &[&station, &(cp.size as i64), &&cp.root[..], &note],
    )
    .await?;
    tx.execute(
        "INSERT INTO cosigned (station, size, root, checkpoint, cosignature) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (station, size) DO NOTHING",
        &[&station, &(cp.size as i64), &&cp.root[..], &note, &cosignature],
    )
    .await?;
    tx.execute(
        "UPDATE stations SET last_contact = now() WHERE name = $1",
        &[&station],
    )
    .await?;
    stations::in_touch(tx, station).await?;
    Ok(())
}

/// C2SP `add-checkpoint`: the cosignature line, or the refusal with its
/// status (409 carries the held size).
pub async fn add_checkpoint(
    pool: &Pool,
    witness: &Cosigner,
    body: &str,
) -> Result<String, (CentreError, Option<u64>)> {
    let req = AddCheckpoint::parse(body).map_err(|e| (BatchError::from(e).into(), None))?;
    let origin = req
        .origin()
        .map_err(|e| (BatchError::from(e).into(), None))?
        .to_owned();
    let no = |e: CentreError| (e, None);
    let mut client = pool.get().await.map_err(|e| no(e.into()))?;
    let key = stations::key_of(&client, &origin).await.map_err(no)?;
    let tx = client.transaction().await.map_err(|e| no(e.into()))?;
    let held = held(&tx, &origin, true).await.map_err(no)?;
    match vigil_tlog::witness::check(held.witnessed(), &req, &key) {
        Ok(cp) => {
            let note_text = note_body(&req.checkpoint)
                .map_err(|e| no(CentreError::BadRequest(e.to_string())))?;
            let line = witness.cosign(note_text, now_s());
            save_cosigned(&tx, &origin, &cp, &req.checkpoint, &line)
                .await
                .map_err(no)?;
            tx.commit().await.map_err(|e| no(e.into()))?;
            Ok(line)
        }
        Err(e) => {
            drop(tx);
            let e = BatchError::from(e);
            if let Some(why) = rewritten(&e) {
                stations::flag(&client, &origin, &why).await.map_err(no)?;
            }
            let held_size = matches!(e, BatchError::Witness(WitnessError::Conflict { .. }))
                .then_some(held.witnessed);
            Err((e.into(), held_size))
        }
    }
}

/// The caller's station, from its signed request.
pub async fn caller(
    pool: &Pool,
    sig: &RequestSignature,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Verifier, CentreError> {
    let client = pool.get().await?;
    let key = stations::key_of(&client, &sig.station)
        .await
        .map_err(|e| match e {
            CentreError::Unknown(name) => {
                CentreError::Refused(format!("no station {name:?} is enrolled at this centre"))
            }
            e => e,
        })?;
    if let Err(e) = sig.verify(&key, method, path, body, now_s()) {
        stations::audit(
            &client,
            &sig.station,
            "station.refused",
            &sig.station,
            serde_json::json!({ "why": e.to_string() }),
        )
        .await?;
        return Err(CentreError::Refused(format!("{}: {e}", sig.station)));
    }
    Ok(key)
}

/// Takes a station's report of itself (its log's size, the actions it
/// refused); answers what the centre holds of its log and the actions
/// waiting for it.
pub async fn state(pool: &Pool, station: &str, report: &Report) -> Result<StateReply, CentreError> {
    let client = pool.get().await?;
    client
        .execute(
            "UPDATE stations SET last_contact = now(), reported_size = $2 WHERE name = $1",
            &[&station, &(report.log_size as i64)],
        )
        .await?;
    stations::in_touch(&client, station).await?;
    for r in &report.refused {
        let n = client
            .execute(
                "UPDATE actions SET refused = $3, settled_at = now()
                 WHERE id = $1 AND station = $2 AND applied_seq IS NULL AND refused IS NULL",
                &[&r.id, &station, &r.why],
            )
            .await?;
        if n > 0 {
            stations::audit(
                &client,
                station,
                "action.refused",
                &r.id.to_string(),
                serde_json::json!({"why": r.why}),
            )
            .await?;
        }
    }
    let actions = client
        .query(
            "SELECT id, kind, subject, body, actor, role, officer FROM actions
             WHERE station = $1 AND applied_seq IS NULL AND refused IS NULL ORDER BY id",
            &[&station],
        )
        .await?
        .iter()
        .map(|r| Action {
            id: r.get(0),
            kind: r.get(1),
            subject: r.get(2),
            body: r.get(3),
            actor: r.get(4),
            role: r.get(5),
            officer: r.get(6),
        })
        .collect();
    Ok(StateReply {
        state: held(&client, station, false).await?.state(),
        actions,
    })
}

/// Applies a station's batch.
pub async fn push(
    pool: &Pool,
    witness: &Cosigner,
    key: &Verifier,
    batch: &Batch,
) -> Result<Answer, CentreError> {
    let station = key.name();
    let last = batch
        .entries
        .last()
        .ok_or_else(|| CentreError::BadRequest("the batch has no entries".into()))?
        .seq;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let held = held(&tx, station, true).await?;
    if last <= held.applied {
        return replayed(&tx, station, key, batch, last, held.state()).await;
    }
    let (cp, tree) = match batch.check(held.witnessed(), &held.tree, key) {
        Ok(v) => v,
        Err(e) => {
            drop(tx);
            if let Some(why) = rewritten(&e) {
                stations::flag(&client, station, &why).await?;
            }
            return Err(match e {
                BatchError::Gap { .. }
                | BatchError::Witness(WitnessError::Conflict {
                    same_size: false, ..
                }) => CentreError::Conflict {
                    message: e.to_string(),
                    state: held.state(),
                },
                e => e.into(),
            });
        }
    };
    let fresh: Vec<&vigil_sync::Entry> = batch.entries.iter().collect();
    insert_entries(&tx, station, &fresh).await?;
    let named: HashMap<&str, u64> = batch
        .entries
        .iter()
        .map(|e| (e.subject.as_str(), e.seq))
        .collect();
    upsert_rows(&tx, station, &batch.clips, "clip", &named, CLIPS).await?;
    upsert_rows(&tx, station, &batch.gaps, "id", &named, GAPS).await?;
    upsert_rows(&tx, station, &batch.requests, "id", &named, REQUESTS).await?;
    // The recordings these entries purge (R12): kept at the centre, no
    // longer counted.
    tx.execute(
        "UPDATE clips c SET purged_at = e.at
         FROM entries e
         WHERE e.station = $1 AND e.seq BETWEEN $2 AND $3 AND e.action = 'clip.purged'
           AND c.station = $1 AND c.id = e.subject AND c.purged_at IS NULL",
        &[&station, &(batch.entries[0].seq as i64), &(last as i64)],
    )
    .await?;
    // The centre's actions these entries record.
    tx.execute(
        "UPDATE actions a SET applied_seq = e.seq, settled_at = now()
         FROM entries e
         WHERE a.station = $1 AND a.applied_seq IS NULL AND e.station = $1
           AND e.seq BETWEEN $2 AND $3
           AND e.action IN ('gap.reviewed', 'request.approved', 'request.rejected')
           AND (e.detail::jsonb)->>'centre_action' = $4 || '#' || a.id::text",
        &[
            &station,
            &(batch.entries[0].seq as i64),
            &(last as i64),
            &witness.name(),
        ],
    )
    .await?;
    let frontier: Vec<u8> = tree.frontier().concat();
    tx.execute(
        "UPDATE logs SET applied = $2, frontier = $3 WHERE station = $1",
        &[&station, &(tree.size() as i64), &frontier],
    )
    .await?;
    let body = note_body(&batch.checkpoint).map_err(|e| CentreError::BadRequest(e.to_string()))?;
    let line = witness.cosign(body, now_s());
    save_cosigned(&tx, station, &cp, &batch.checkpoint, &line).await?;
    tx.commit().await?;
    Ok(Answer {
        state: State {
            applied: tree.size(),
            witnessed: cp.size,
        },
        cosignature: line,
        replayed: false,
    })
}

/// A batch the centre already applied: the first answer again, when the
/// checkpoint is the one it cosigned then.
async fn replayed(
    tx: &impl GenericClient,
    station: &str,
    key: &Verifier,
    batch: &Batch,
    last: u64,
    state: State,
) -> Result<Answer, CentreError> {
    let cp = Checkpoint::open(&batch.checkpoint, key)
        .map_err(|e| BatchError::from(WitnessError::BadSignature(e)))?;
    let row = tx
        .query_opt(
            "SELECT root, cosignature FROM cosigned WHERE station = $1 AND size = $2",
            &[&station, &(last as i64)],
        )
        .await?;
    match row {
        Some(r) if r.get::<_, Vec<u8>>(0) == cp.root && cp.size == last => {
            tracing::info!(
                station,
                size = last,
                "a batch sent again: answered as before"
            );
            Ok(Answer {
                state,
                cosignature: r.get(1),
                replayed: true,
            })
        }
        _ => Err(CentreError::Conflict {
            message: format!(
                "the centre holds {} entries of {station}'s log; this batch ends at {last}",
                state.applied
            ),
            state,
        }),
    }
}

async fn insert_entries(
    tx: &impl GenericClient,
    station: &str,
    entries: &[&vigil_sync::Entry],
) -> Result<(), CentreError> {
    let seq: Vec<i64> = entries.iter().map(|e| e.seq as i64).collect();
    let at: Vec<&str> = entries.iter().map(|e| e.at.as_str()).collect();
    let actor: Vec<&str> = entries.iter().map(|e| e.actor.as_str()).collect();
    let action: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    let subject: Vec<&str> = entries.iter().map(|e| e.subject.as_str()).collect();
    let detail: Vec<&str> = entries.iter().map(|e| e.detail.as_str()).collect();
    tx.execute(
        "INSERT INTO entries (station, seq, at, actor, action, subject, detail)
         SELECT $1, s, a::timestamptz, ac, act, su, d
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
              AS u(s, a, ac, act, su, d)",
        &[&station, &seq, &at, &actor, &action, &subject, &detail],
    )
    .await?;
    Ok(())
}

/// The clip rows from a batch's JSON objects (the station's own).
const CLIPS: &str =
    "INSERT INTO clips (station, id, path, officer, device, kind, recorded_start, recorded_end,
        duration_s, damaged, blake3, sha256, bytes, ingested_at, confidential, data, seq)
    SELECT $1, o->>'clip', o->>'path', o->>'officer', o->>'device', o->>'kind',
        (o->>'recorded_start')::timestamptz, (o->>'recorded_end')::timestamptz,
        (o->>'duration_s')::float8, (o->>'damaged')::boolean, o->>'blake3', o->>'sha256',
        (o->>'bytes')::bigint, (o->>'ingested_at')::timestamptz, o->>'confidential',
        o - '_seq' - 'confidential', (o->>'_seq')::bigint
    FROM jsonb_array_elements($2::text::jsonb) AS e(o)
    ON CONFLICT (station, id) DO UPDATE SET path = EXCLUDED.path, officer = EXCLUDED.officer,
        device = EXCLUDED.device, kind = EXCLUDED.kind, recorded_start = EXCLUDED.recorded_start,
        recorded_end = EXCLUDED.recorded_end, duration_s = EXCLUDED.duration_s,
        damaged = EXCLUDED.damaged, confidential = EXCLUDED.confidential, data = EXCLUDED.data,
        seq = EXCLUDED.seq";

/// The interruption rows from a batch's JSON objects.
const GAPS: &str =
    "INSERT INTO gaps (station, id, clip, kind, officer, device, wall_start, duration_s,
        status, detected_at, explained_at, data, seq)
    SELECT $1, o->>'id', o->>'clip', o->>'kind', o->>'officer', o->>'device',
        (o->>'wall_start')::timestamptz, (o->>'duration_s')::float8, o->>'status',
        (o->>'detected_at')::timestamptz, (o #>> '{explanation,created_at}')::timestamptz,
        o - '_seq', (o->>'_seq')::bigint
    FROM jsonb_array_elements($2::text::jsonb) AS e(o)
    ON CONFLICT (station, id) DO UPDATE SET officer = EXCLUDED.officer, device = EXCLUDED.device,
        status = EXCLUDED.status, explained_at = EXCLUDED.explained_at, data = EXCLUDED.data,
        seq = EXCLUDED.seq";

/// The retrieval request rows (R16).
const REQUESTS: &str =
    "INSERT INTO requests (station, id, requester, reason, outsider, case_no, clips, created_at,
        approved_by, approved_at, rejected_by, rejected_at, reject_reason, data, seq)
    SELECT $1, o->>'id', o->>'requester', o->>'reason', o->>'outsider', o->>'case',
        ARRAY(SELECT jsonb_array_elements_text(COALESCE(o->'clips', '[]'))),
        (o->>'created_at')::timestamptz, o->>'approved_by', (o->>'approved_at')::timestamptz,
        o->>'rejected_by', (o->>'rejected_at')::timestamptz, o->>'reject_reason',
        o - '_seq', (o->>'_seq')::bigint
    FROM jsonb_array_elements($2::text::jsonb) AS e(o)
    ON CONFLICT (station, id) DO UPDATE SET approved_by = EXCLUDED.approved_by,
        approved_at = EXCLUDED.approved_at, rejected_by = EXCLUDED.rejected_by,
        rejected_at = EXCLUDED.rejected_at, reject_reason = EXCLUDED.reject_reason,
        data = EXCLUDED.data, seq = EXCLUDED.seq";

/// Upserts the rows a batch carries, each traced to the newest entry of
/// the batch that names it (`_seq`); a row no entry names is refused.
async fn upsert_rows(
    tx: &impl GenericClient,
    station: &str,
    rows: &[serde_json::Value],
    id_field: &str,
    named: &HashMap<&str, u64>,
    sql: &str,
) -> Result<(), CentreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut out = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let id = r[id_field].as_str().ok_or_else(|| {
            CentreError::BadRequest(format!("row {} of the batch has no {id_field:?}", i + 1))
        })?;
        let seq = named.get(id).ok_or_else(|| {
            CentreError::BadRequest(format!(
                "the batch carries {id:?}, which none of its entries names"
            ))
        })?;
        let mut r = r.clone();
        r["_seq"] = serde_json::json!(seq);
        out.push(r);
    }
    tx.execute(sql, &[&station, &serde_json::Value::Array(out).to_string()])
        .await?;
    Ok(())
}
