//! The gap log and its explanations (R7–R9), served by vigild and run
//! in-process alike: listing interruptions, explaining one (spoken: the
//! audio where it is said is measured; written: filed and signed by the
//! acting officer), a second officer's signature, a supervisor's review.
//! Every step is in the audit log with the caller as the actor.

use serde::{Deserialize, Serialize};
use vigil_store::{GapFilter, NewExplanation, Store};

use crate::error::ServiceError;
use crate::identity::Identity;

/// Audio quieter than this at the stated offset is taken as silence.
pub const SILENCE_DBFS: f64 = -50.0;
/// Seconds of audio measured from the stated offset.
pub const WINDOW_S: f64 = 3.0;
/// Default hours after which an open interruption is overdue.
pub const DEFAULT_DEADLINE_H: i64 = 24;

/// Which interruptions (`vigil gaps`, `GET /api/v1/gaps`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GapQuery {
    /// Only those not explained (open, or awaiting signatures).
    #[serde(default)]
    pub open: bool,
    /// Only this officer's.
    pub officer: Option<String>,
    /// Only this recorder's.
    pub device: Option<String>,
    /// Only those at or after this date or RFC 3339 time.
    pub since: Option<String>,
    /// Hours after which an open one is overdue.
    pub deadline: Option<i64>,
    /// Only this station's (the agency centre holds many; a station is
    /// one, and names none but itself).
    #[serde(default)]
    pub station: Option<String>,
}

/// The gap log, overdue first: `{"gaps": [...]}`.
pub(crate) fn gaps(
    store: &mut Store,
    id: &Identity,
    q: &GapQuery,
) -> Result<serde_json::Value, ServiceError> {
    let deadline = q.deadline.unwrap_or(DEFAULT_DEADLINE_H);
    if !(0..=24 * 366).contains(&deadline) {
        return Err(ServiceError::bad_request(format!(
            "deadline {deadline} h: expected 0 to 8784 hours"
        )));
    }
    let mut gaps = if crate::station::is_here(store, q.station.as_deref())? {
        store.gap_log().gaps(&GapFilter {
            open_only: q.open,
            officer: q.officer.clone(),
            device: q.device.clone(),
            since: q.since.clone(),
            overdue_after_s: deadline * 3600,
            ..Default::default()
        })?
    } else {
        Vec::new()
    };
    gaps.sort_by_key(|g| !g.overdue);
    store.log_mut().record_read(
        &id.actor(),
        "gaps.listed",
        "gaps",
        &serde_json::json!({"shown": gaps.len()}),
    )?;
    Ok(serde_json::json!({ "gaps": gaps }))
}

/// An explanation to give (`vigil explain`, `POST /api/v1/gaps/{gap}/explanations`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Explain {
    /// Spoken in the footage when recording resumed.
    Spoken {
        /// Seconds from the start of the clip.
        at: f64,
        /// The clip holding it (default: where recording resumed).
        clip: Option<String>,
        /// The registered officer who spoke it.
        by: String,
    },
    /// Written: filed and signed by the acting officer.
    Written {
        /// The text.
        text: String,
    },
}

/// Attaches an explanation to `gap`; returns it (with its id).
pub(crate) fn explain(
    store: &mut Store,
    id: &Identity,
    gap: &str,
    how: &Explain,
) -> Result<serde_json::Value, ServiceError> {
    let g = store.gap_log().gap(gap)?.ok_or_else(|| {
        ServiceError::not_found(format!("no interruption {gap:?} (see `vigil gaps`)"))
    })?;
    let new = match how {
        Explain::Spoken { at, clip, by } => {
            let clip_id = clip.clone().unwrap_or_else(|| g.clip.clone());
            let c = store
                .recordings()
                .clip(&clip_id)?
                .ok_or_else(|| ServiceError::not_found(format!("no clip {clip_id:?}")))?;
            let duration = c.duration_s.unwrap_or(0.0);
            if !at.is_finite() || !(0.0..=duration).contains(at) {
                return Err(ServiceError::refused(format!(
                    "clip {clip_id} ({}) is {duration:.3} s long; offset {at} s is not in it",
                    c.path
                )));
            }
            let object = store.objects().object_path(&c.blake3);
            let level = vigil_media::audio_level_dbfs(&object, *at, WINDOW_S).map_err(|e| {
                ServiceError::bad_request(format!("measuring the audio of clip {clip_id}: {e}"))
            })?;
            let Some(level) = level else {
                return Err(ServiceError::refused(format!(
                    "clip {clip_id} ({}) has no audio at {at} s to hold a spoken explanation",
                    c.path
                )));
            };
            if level < SILENCE_DBFS {
                return Err(ServiceError::refused(format!(
                    "the audio of clip {clip_id} ({}) is silent at {at} s ({level:.1} dBFS over {WINDOW_S} s, below {SILENCE_DBFS} dBFS)",
                    c.path
                )));
            }
            NewExplanation::Spoken {
                clip: clip_id,
                at_s: *at,
                level_dbfs: (level * 10.0).round() / 10.0,
                by: by.clone(),
            }
        }
        Explain::Written { text } => {
            if text.trim().is_empty() {
                return Err(ServiceError::refused(
                    "the written explanation is empty".into(),
                ));
            }
            let Some(officer) = id.officer.clone() else {
                return Err(ServiceError::refused(format!(
                    "{} has no officer id, so cannot sign a written explanation (R8); an officer files it in their own session (an admin maps the account with `vigil user add NAME --role officer --officer ID`)",
                    id.user
                )));
            };
            NewExplanation::Written {
                text: text.clone(),
                by: officer,
                user: id.user.clone(),
            }
        }
    };
    let e = store.gap_log_mut().explain(&id.actor(), &g.id, &new)?;
    let mut doc = serde_json::to_value(&e).map_err(|e| ServiceError::bad_request(e.to_string()))?;
    doc["gap"] = serde_json::json!(g.id);
    doc["status"] = serde_json::json!(vigil_store::gaps::status_of(Some(&e)));
    Ok(doc)
}

/// The acting officer signs a written explanation (R8).
pub(crate) fn sign(
    store: &mut Store,
    id: &Identity,
    explanation: &str,
) -> Result<serde_json::Value, ServiceError> {
    let Some(officer) = id.officer.clone() else {
        return Err(ServiceError::refused(format!(
            "{} has no officer id, so cannot sign (R8); only an officer signs, in their own session",
            id.user
        )));
    };
    let signed = store
        .gap_log_mut()
        .sign(&id.actor(), &id.user, &officer, explanation)?;
    serde_json::to_value(&signed).map_err(|e| ServiceError::bad_request(e.to_string()))
}

/// What `id` would sign with `explanation`, shown before they sign: the
/// interruption it explains (with that explanation current and waiting for
/// signatures) and its recording, which `id` may see (R17). Refused for one
/// who is not an officer, has signed already, or when the explanation is
/// not the current one waiting for signatures.
pub fn to_sign(
    station: &crate::Station,
    id: &Identity,
    explanation: &str,
) -> Result<(vigil_store::Gap, crate::queries::Seen), ServiceError> {
    let Some(me) = id.officer.as_deref() else {
        return Err(ServiceError::refused(format!(
            "{} has no officer id, so cannot sign (R8); only an officer signs, in their own session",
            id.user
        )));
    };
    let g = station
        .store
        .gap_log()
        .gap_of_explanation(explanation)?
        .ok_or_else(|| ServiceError::not_found(format!("no explanation {explanation:?}")))?;
    let clip = crate::queries::seen_clip(station, id, &g.clip)?;
    let waiting = g.status == "awaiting_signatures"
        && g.explanation.as_ref().is_some_and(|e| e.id == explanation);
    if !waiting {
        return Err(ServiceError::refused(format!(
            "explanation {explanation} is not waiting for signatures (it was replaced, or is signed already)"
        )));
    }
    if g.explanation
        .as_ref()
        .is_some_and(|e| e.signatures.iter().any(|s| s.officer == me))
    {
        return Err(ServiceError::refused(format!(
            "officer {me} has signed explanation {explanation} already"
        )));
    }
    Ok((g, clip))
}

/// A review of a gap's current explanation (`POST /api/v1/gaps/{gap}/reviews`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    /// `accepted` or `rejected`.
    pub verdict: String,
    /// Why.
    pub note: Option<String>,
}

/// Refuses a review of one's own work (separation of duties, R8, R16),
/// whatever roles the reviewer holds: the reviewer filed or signed the
/// current explanation, or is the officer (under any of their accounts)
/// whose recording was interrupted or who is named in the explanation.
fn own_work(id: &Identity, g: &vigil_store::Gap) -> Result<(), ServiceError> {
    let refuse = |why: &str| {
        Err(ServiceError::refused(format!(
            "{} may not review the explanation of interruption {}: {why}; another supervisor or auditor must (separation of duties, R16)",
            id.user, g.id
        )))
    };
    let mine = |officer: &str| id.officer.as_deref() == Some(officer);
    if g.officer.as_deref().is_some_and(mine) {
        return refuse("it interrupts their own recording");
    }
    let Some(e) = &g.explanation else {
        return Ok(());
    };
    let filer = crate::Identity::user_of(&e.recorded_by);
    if filer == id.user {
        return refuse("they filed it");
    }
    if e.signatures
        .iter()
        .any(|s| s.user == id.user || mine(&s.officer))
    {
        return refuse("they signed it");
    }
    if e.officers.iter().any(|o| mine(o)) {
        return refuse("it is their own explanation");
    }
    Ok(())
}

/// A supervisor or auditor accepts or rejects a gap's current explanation;
/// a rejection reopens the gap.
pub(crate) fn review(
    store: &mut Store,
    id: &Identity,
    gap: &str,
    r: &Review,
) -> Result<serde_json::Value, ServiceError> {
    if !matches!(r.verdict.as_str(), "accepted" | "rejected") {
        return Err(ServiceError::bad_request(format!(
            "verdict {:?}: expected accepted or rejected",
            r.verdict
        )));
    }
    if let Some(g) = store.gap_log().gap(gap)? {
        own_work(id, &g)?;
    }
    store
        .gap_log_mut()
        .review(&id.actor(), &id.user, gap, &r.verdict, r.note.as_deref())
        .map_err(ServiceError::doing(format!("reviewing {gap}")))?;
    let g = store.gap_log().gap(gap)?;
    Ok(serde_json::json!({
        "gap": gap, "verdict": r.verdict, "reviewer": id.user,
        "status": g.map(|g| g.status),
    }))
}

/// Records a review taken at the agency centre (R16, R18): the same
/// checks as a review at the station (`id` is the centre's user, as
/// [`crate::centre_actions`] makes it), its audit row naming the action
/// (`key`, `CENTRE#ID`).
pub(crate) fn review_from_centre(
    store: &mut Store,
    id: &Identity,
    key: &str,
    gap: &str,
    r: &Review,
) -> Result<(), ServiceError> {
    if !matches!(r.verdict.as_str(), "accepted" | "rejected") {
        return Err(ServiceError::bad_request(format!(
            "verdict {:?}: expected accepted or rejected",
            r.verdict
        )));
    }
    if let Some(g) = store.gap_log().gap(gap)? {
        own_work(id, &g)?;
    } else {
        return Err(ServiceError::not_found(format!(
            "no interruption {gap} at this station"
        )));
    }
    store
        .gap_log_mut()
        .review_from(
            &id.actor(),
            &id.user,
            gap,
            &r.verdict,
            r.note.as_deref(),
            Some(key),
        )
        .map_err(ServiceError::doing(format!("reviewing {gap}")))?;
    Ok(())
}
