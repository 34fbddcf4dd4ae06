//! Reads that the CLI (in-process, on a store its user owns) and `vigild`
//! (for socket and desk clients) both serve, written once: role checks,
//! confidentiality (R17) and the audit row of the read itself (R20). Each
//! returns the JSON document `vigil ... --json` prints.

use serde::{Deserialize, Serialize};
use vigil_store::{ClipFilter, Store};

use crate::error::ServiceError;
use crate::identity::{Identity, Role};
use crate::station::Station;

/// Which clips (`vigil clips`, `GET /api/v1/clips`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClipQuery {
    /// Only this officer's.
    pub officer: Option<String>,
    /// Only this recorder's.
    pub device: Option<String>,
    /// Hours after recording within which ingest is on time (R1; 24).
    pub late_after: Option<u64>,
    /// Words to search for: officer name or number, recorder, site, case,
    /// tag note, explanation text (any substring, Chinese included).
    #[serde(default)]
    pub search: Option<String>,
    /// Only this station's (the agency centre holds many; a station is
    /// one, and names none but itself).
    #[serde(default)]
    pub station: Option<String>,
}

/// Whether `role` may see a clip marked `kind` (R17).
pub fn may_see(role: Role, kind: Option<&str>) -> bool {
    match kind {
        None => true,
        Some("state_secret") => matches!(role, Role::Supervisor | Role::Admin),
        Some(_) => matches!(role, Role::Supervisor | Role::Admin | Role::Custodian),
    }
}

/// The confidentiality kinds `role` may not see (R17), for a store filter:
/// the kinds [`may_see`] refuses.
pub fn hidden_from(role: Role) -> Vec<String> {
    ["state_secret", "trade_secret", "privacy"]
        .into_iter()
        .filter(|k| !may_see(role, Some(k)))
        .map(str::to_owned)
        .collect()
}

/// One page of the recordings `id` may see (R17) that match `filter`,
/// newest first, `per_page` to a page; and whether a next page exists. A
/// page of a list is not audited (it shows what is stored, not evidence);
/// opening, playing or downloading a recording is, once each (R20). The
/// whole catalogue read through the API (`vigil clips`) still is.
pub fn browse(
    station: &mut Station,
    id: &Identity,
    filter: ClipFilter,
    page: usize,
    per_page: usize,
) -> Result<(Vec<Listed>, bool), ServiceError> {
    let store = &mut station.store;
    let mut rows = store.recordings().clips(&ClipFilter {
        hide_confidential: hidden_from(id.role),
        newest_first: true,
        // One more than a page: whether there is a next one.
        limit: Some(per_page as u64 + 1),
        offset: (page * per_page) as u64,
        ..filter
    })?;
    let more = rows.len() > per_page;
    rows.truncate(per_page);
    Ok((listed(station, rows)?, more))
}

/// A recording as a list shows it: with its case number, the column a bulk
/// tagging changes.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The recording.
    pub clip: vigil_store::Clip,
    /// Its current case number, when it is tagged with one.
    pub case: Option<String>,
}

/// `clips`, each with its current case number.
pub fn listed(
    station: &Station,
    clips: Vec<vigil_store::Clip>,
) -> Result<Vec<Listed>, ServiceError> {
    let custody = station.store.custody();
    clips
        .into_iter()
        .map(|clip| {
            let case = custody.tag_of(&clip.clip)?.and_then(|t| t.case);
            Ok(Listed { clip, case })
        })
        .collect()
}

/// A recording its reader may see (R17): made only by [`seen_clip`], so a
/// read that takes one needs no second check.
#[derive(Debug, Clone)]
pub struct Seen(vigil_store::Clip);

impl std::ops::Deref for Seen {
    type Target = vigil_store::Clip;
    fn deref(&self) -> &vigil_store::Clip {
        &self.0
    }
}

impl Seen {
    /// The recording's row.
    pub fn into_clip(self) -> vigil_store::Clip {
        self.0
    }
}

/// The clip `clip` if `id` may see it (R17): not found, or refused for a
/// confidential recording the role may not see.
pub fn seen_clip(station: &Station, id: &Identity, clip: &str) -> Result<Seen, ServiceError> {
    let store = &station.store;
    let c = store
        .recordings()
        .clip(clip)?
        .ok_or_else(|| ServiceError::not_found(format!("no recording {clip:?}")))?;
    if !may_see(
        id.role,
        store.custody().confidentiality(&c.clip)?.as_deref(),
    ) {
        return Err(ServiceError::refused(format!(
            "recording {clip} is confidential; {} may not see it (R17)",
            id.user
        )));
    }
    Ok(Seen(c))
}

/// How a person at the desk reads a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Its page: facts, interruptions, custody (`clip.viewed`).
    Page,
    /// Its bytes in the player, once per viewing, not per range request
    /// (`clip.played`; `preview`: a transcoded copy was asked for).
    Play {
        /// The preview, not the original, was played.
        preview: bool,
    },
    /// Its bytes saved as a file (`clip.downloaded`).
    Download,
}

/// Leaves the read row of `reading` of `clip` by `id` (R16, R20): evidence
/// read by a person at the desk is audited each time, named by how.
pub fn read_at_desk(
    station: &mut Station,
    id: &Identity,
    clip: &str,
    reading: Reading,
) -> Result<(), ServiceError> {
    let store = &mut station.store;
    let (action, detail) = match reading {
        Reading::Page => ("clip.viewed", serde_json::json!({"desk": true})),
        Reading::Play { preview } => (
            "clip.played",
            serde_json::json!({"desk": true, "preview": preview}),
        ),
        Reading::Download => ("clip.downloaded", serde_json::json!({"desk": true})),
    };
    store
        .log_mut()
        .record_read(&id.actor(), action, clip, &detail)?;
    Ok(())
}

/// The clips `id` may see, each with its current tag: `{"clips": [...]}`.
pub(crate) fn clips(
    store: &mut Store,
    id: &Identity,
    q: &ClipQuery,
) -> Result<serde_json::Value, ServiceError> {
    let all = if crate::station::is_here(store, q.station.as_deref())? {
        store.recordings().clips(&ClipFilter {
            officer: q.officer.clone(),
            device: q.device.clone(),
            text: q.search.clone(),
            late_after_h: Some(q.late_after.unwrap_or(24)),
            ..Default::default()
        })?
    } else {
        Vec::new()
    };
    let mut shown = Vec::with_capacity(all.len());
    let mut hidden = 0;
    for c in all {
        if may_see(
            id.role,
            store.custody().confidentiality(&c.clip)?.as_deref(),
        ) {
            shown.push(c);
        } else {
            hidden += 1;
        }
    }
    store.log_mut().record_read(
        &id.actor(),
        "clips.listed",
        "clips",
        &serde_json::json!({"shown": shown.len(), "hidden": hidden}),
    )?;
    let mut list = Vec::with_capacity(shown.len());
    for c in &shown {
        let mut v =
            serde_json::to_value(c).map_err(|e| ServiceError::bad_request(e.to_string()))?;
        v["tag"] = serde_json::to_value(store.custody().tag_of(&c.clip)?)
            .map_err(|e| ServiceError::bad_request(e.to_string()))?;
        list.push(v);
    }
    Ok(serde_json::json!({ "clips": list }))
}

/// Which audit rows (`vigil audit`, `GET /api/v1/audit`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only rows whose action starts with this.
    pub action: Option<String>,
    /// Only rows about this subject (a clip, gap, request or user id).
    #[serde(default)]
    pub subject: Option<String>,
    /// With `subject` a recording: its interruptions' rows too (detected,
    /// explained, co-signed, reviewed), its whole trail.
    #[serde(default)]
    pub related: Option<bool>,
    /// Only rows by this person (a user name).
    #[serde(default)]
    pub actor: Option<String>,
    /// Only rows written at or after this time (RFC 3339). The audit log
    /// goes by when each row was written.
    #[serde(default)]
    pub since: Option<String>,
    /// Only rows written before this time (RFC 3339).
    #[serde(default)]
    pub until: Option<String>,
    /// Only rows after this sequence number (the `next` of the page before).
    #[serde(default)]
    pub after: Option<i64>,
    /// At most this many rows (1–100000); `next` then names the last one.
    #[serde(default)]
    pub limit: Option<u64>,
    /// Only this station's log (at the agency centre; a station's log is
    /// only its own).
    #[serde(default)]
    pub station: Option<String>,
}

/// The audit log (R20), read on the record: `{"audit": [...]}`.
pub(crate) fn audit(
    store: &mut Store,
    id: &Identity,
    q: &AuditQuery,
) -> Result<serde_json::Value, ServiceError> {
    let (rows, next) = audit_rows(store, id, q)?;
    Ok(serde_json::json!({ "audit": rows, "next": next }))
}

/// The rows `q` asks for and the `after` of the next page when there may be
/// one, the reading itself audited (`audit.read`).
pub(crate) fn audit_rows(
    store: &mut Store,
    id: &Identity,
    q: &AuditQuery,
) -> Result<(Vec<vigil_store::audit::AuditEntry>, Option<i64>), ServiceError> {
    if let Some(l) = q.limit {
        if !(1..=100_000).contains(&l) {
            return Err(ServiceError::bad_request(format!(
                "limit {l} is out of range: 1 to 100000 rows a page"
            )));
        }
    }
    if !crate::station::is_here(store, q.station.as_deref().filter(|s| !s.is_empty()))? {
        return Err(ServiceError::not_found(format!(
            "this station's audit log is its own, not {:?}'s: the agency centre holds every station's",
            q.station.as_deref().unwrap_or_default()
        )));
    }
    // An empty field (a form left blank) is no bound.
    let time = |flag, t: &Option<String>| {
        let t = t.clone().filter(|t| !t.is_empty());
        Ok::<_, ServiceError>(crate::reports::time_arg(flag, &t)?.map(vigil_store::rfc3339))
    };
    let (since, until) = (time("since", &q.since)?, time("until", &q.until)?);
    // A recording's trail: the rows about it and about its interruptions.
    let related = match (&q.subject, q.related) {
        (Some(clip), Some(true)) => store
            .gap_log()
            .gaps(&vigil_store::GapFilter {
                clip: Some(clip.clone()),
                ..Default::default()
            })?
            .into_iter()
            .map(|g| g.id)
            .collect(),
        _ => Vec::new(),
    };
    let rows = store.log().audit_select(&vigil_store::audit::AuditFilter {
        action: q.action.clone().filter(|a| !a.is_empty()),
        subject: q.subject.clone().filter(|a| !a.is_empty()),
        related,
        actor: q.actor.clone().filter(|a| !a.is_empty()),
        since: since.clone(),
        until: until.clone(),
        after: q.after,
        limit: q.limit,
    })?;
    // A full page may have more after it: its last row is where the next
    // one starts.
    let next = match q.limit {
        Some(l) if rows.len() as u64 == l => rows.last().map(|e| e.seq),
        _ => None,
    };
    store.log_mut().record_read(
        &id.actor(),
        "audit.read",
        "audit",
        &serde_json::json!({"rows": rows.len(), "action": q.action, "subject": q.subject, "related": q.related, "actor": q.actor, "since": since, "until": until, "after": q.after, "limit": q.limit}),
    )?;
    Ok((rows, next))
}

/// Who the caller is, as the service sees them (`GET /api/v1/whoami`).
pub fn whoami(id: &Identity) -> serde_json::Value {
    serde_json::json!({
        "user": id.user, "role": id.role.as_str(), "unix": id.unix,
        "via_as": id.via_as, "officer": id.officer, "actor": id.actor(),
    })
}

/// The file of a recording `id` may see ([`seen_clip`]): its original in
/// the store, for the desk's player to serve byte ranges from.
pub fn original_path(station: &Station, c: &vigil_store::Clip) -> std::path::PathBuf {
    station.store.objects().object_path(&c.blake3)
}

/// A GPS track the recorder stored beside a recording, in the recording's
/// time: seconds from its start, latitude, longitude.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// The track file's original path.
    pub file: String,
    /// Its fixes within the recording (a few seconds either side), in
    /// order.
    pub points: Vec<(f64, f64, f64)>,
}

/// The largest track file read (a day of one fix a second is ~6 MiB).
const TRACK_MAX: u64 = 32 << 20;

/// The GPS track stored beside `c` (`NAME.NMEA` or `NAME.GPS` from the same
/// recorder, a file `id` may see too), when it has fixes within the
/// recording; none for a recording without a known start.
pub fn track_of(station: &Station, id: &Identity, c: &Seen) -> Result<Option<Track>, ServiceError> {
    let (Some(start), Some(stem)) = (
        c.recorded_start.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        }),
        c.path.rsplit_once('.').map(|(s, _)| s),
    ) else {
        return Ok(None);
    };
    let duration = c.duration_s.unwrap_or(0.0);
    let found = station.store.recordings().clips(&vigil_store::ClipFilter {
        device: c.device.clone(),
        paths: ["NMEA", "nmea", "GPS", "gps"]
            .iter()
            .map(|ext| format!("{stem}.{ext}"))
            .collect(),
        limit: Some(1),
        ..Default::default()
    })?;
    let Some(side) = found.into_iter().next() else {
        return Ok(None);
    };
    let side = seen_clip(station, id, &side.clip)?;
    if side.bytes > TRACK_MAX {
        return Ok(None);
    }
    let path = original_path(station, &side);
    let text = std::fs::read(&path)
        .map_err(|e| ServiceError::bad_request(format!("reading the track {}: {e}", side.path)))?;
    let points: Vec<(f64, f64, f64)> = vigil_media::nmea::fixes(&text)
        .into_iter()
        .map(|f| ((f.at - start).as_seconds_f64(), f.lat, f.lon))
        .filter(|(t, _, _)| (-5.0..=duration + 5.0).contains(t))
        .collect();
    Ok((!points.is_empty()).then(|| Track {
        file: side.path.clone(),
        points,
    }))
}

/// A recording's interruptions.
pub fn clip_gaps(station: &Station, c: &Seen) -> Result<Vec<vigil_store::Gap>, ServiceError> {
    Ok(station.store.gap_log().gaps(&vigil_store::GapFilter {
        clip: Some(c.clip.clone()),
        ..Default::default()
    })?)
}

/// An interruption between two recordings (a pause, a missing file) with
/// the recording before it and the one after, both of which `id` may see
/// (R17), to play across it.
#[derive(Debug, Clone)]
pub struct Across {
    /// The interruption.
    pub gap: vigil_store::Gap,
    /// The recording that stopped.
    pub before: Seen,
    /// The recording that started again.
    pub after: Seen,
}

/// The interruption `gap` with its recordings on either side, each viewed
/// (`clip.viewed`, R20, once per recording); refused for an interruption
/// inside one recording (its own page plays it).
pub fn across(station: &mut Station, id: &Identity, gap: &str) -> Result<Across, ServiceError> {
    let g = station
        .store
        .gap_log()
        .gap(gap)?
        .ok_or_else(|| ServiceError::not_found(format!("no interruption {gap:?}")))?;
    let Some(previous) = g.previous_clip.clone() else {
        return Err(ServiceError::bad_request(format!(
            "interruption {gap} is inside one recording: play it on the recording's page"
        )));
    };
    let before = seen_clip(station, id, &previous)?;
    let after = seen_clip(station, id, &g.clip)?;
    for c in [&before, &after] {
        read_at_desk(station, id, &c.clip, Reading::Page)?;
    }
    Ok(Across {
        gap: g,
        before,
        after,
    })
}

/// A recording's continuity analysis as recorded at ingest (JSON).
pub fn analysis_of(station: &Station, c: &Seen) -> Result<Option<String>, ServiceError> {
    Ok(station.store.recordings().analysis_of(&c.clip)?)
}

/// A recording's tag, retention classes and holds (newest first).
pub fn custody_of(station: &Station, c: &Seen) -> Result<crate::model::Custody, ServiceError> {
    let custody = station.store.custody();
    let (classes, holds) = custody.retention_of(&c.clip)?;
    Ok(crate::model::Custody {
        tag: custody.tag_of(&c.clip)?.unwrap_or_default(),
        classes,
        holds,
    })
}

/// Every explanation of one of the recording's interruptions ([`clip_gaps`]),
/// oldest first, each with its reviews.
pub fn explanation_history(
    station: &Station,
    c: &Seen,
    gap: &vigil_store::Gap,
) -> Result<Vec<(crate::model::Explanation, Vec<crate::model::ReviewEntry>)>, ServiceError> {
    if gap.clip != c.clip {
        return Err(ServiceError::not_found(format!(
            "no interruption {:?} in recording {}",
            gap.id, c.clip
        )));
    }
    Ok(station.store.gap_log().explanation_history(&gap.id)?)
}

/// The officers registry, for showing names beside ids (every role's
/// pages name officers).
pub fn officers(station: &Station) -> Result<Vec<crate::model::Officer>, ServiceError> {
    Ok(station.store.people().officers()?)
}

/// How long the store's free space lasts at the pace of the last week.
#[derive(Debug, Clone, PartialEq)]
pub struct Outlook {
    /// When the newest recording was ingested (RFC 3339 UTC).
    pub last_ingest: Option<String>,
    /// Bytes a day ingested over the last [`PACE_DAYS`] days.
    pub bytes_per_day: u64,
    /// Days until `free` bytes are used at that pace; `None` with no ingest
    /// in those days.
    pub days_left: Option<f64>,
}

/// The days the ingest pace is measured over.
pub const PACE_DAYS: i64 = 7;

/// The store's outlook with `free` bytes left.
pub fn outlook(station: &Station, free: u64) -> Result<Outlook, ServiceError> {
    let since =
        vigil_store::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::days(PACE_DAYS));
    let (bytes, last_ingest) = station.store.recordings().ingest_pace(&since)?;
    let bytes_per_day = bytes / PACE_DAYS as u64;
    Ok(Outlook {
        last_ingest,
        bytes_per_day,
        days_left: (bytes > 0).then(|| free as f64 / (bytes as f64 / PACE_DAYS as f64)),
    })
}
