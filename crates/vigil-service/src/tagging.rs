//! Naming and classifying clips (R6, R11) and what is past its deadline:
//! clips untagged two working days after ingest (R11), interruptions
//! unexplained (R9), cases closed but not filed (R12). Served by vigild and
//! run in-process alike.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, Weekday};
use vigil_store::tags::Tag;
use vigil_store::{ClipFilter, GapFilter, Store};

use crate::error::ServiceError;
use crate::identity::Identity;

/// A tagging (`vigil tag`, `POST /api/v1/tags`): clips named, and/or every
/// clip of an officer recorded in `[from, to)` (RFC 3339 UTC).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TagRequest {
    /// Clips by id.
    #[serde(default)]
    pub clips: Vec<String>,
    /// Bulk: every clip of this (registered) officer...
    pub officer: Option<String>,
    /// ...recorded at or after this...
    pub from: Option<String>,
    /// ...and before this.
    pub to: Option<String>,
    /// The inspected unit or place.
    pub site: Option<String>,
    /// Case number.
    pub case: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Description of the content.
    pub note: Option<String>,
}

/// Tags clips (audited; unset fields keep their value): `{"tagged": N,
/// "skipped": [{"clip", "path", "ingested_at", "reason"}]}`. A bulk tagging
/// by recording period cannot place an officer's recordings that have no
/// usable clock: those that came in with the recordings it tagged
/// (ingested within an hour of them; with none tagged, from the period's
/// start until two days after its end) are named as skipped, never left
/// out in silence; a bulk tagging without a period takes them.
pub(crate) fn tag(
    store: &mut Store,
    id: &Identity,
    r: &TagRequest,
) -> Result<serde_json::Value, ServiceError> {
    let t = Tag {
        site: r.site.clone(),
        case: r.case.clone(),
        category: r.category.clone(),
        note: r.note.clone(),
    };
    if t == Tag::default() {
        return Err(ServiceError::bad_request(
            "nothing to tag with: give --site, --case, --category or --note".into(),
        ));
    }
    crate::custody::known_clips(store, &r.clips)?;
    let mut skipped = Vec::new();
    let mut clips: BTreeSet<String> = r.clips.iter().cloned().collect();
    if let Some(officer) = &r.officer {
        if !store.people().officer_exists(officer)? {
            return Err(ServiceError::refused(format!(
                "officer {officer:?} is not registered (see `vigil officers list`)"
            )));
        }
        // The recording period is the store's filter (an index), not a
        // pass over every clip of the officer.
        let period = r.from.is_some() || r.to.is_some();
        let mut came_in: Option<(String, String)> = None;
        for c in store.recordings().clips(&ClipFilter {
            officer: Some(officer.clone()),
            recorded_from: r.from.clone(),
            recorded_until: r.to.clone(),
            ..Default::default()
        })? {
            if c.recorded_start.is_some() || !period {
                came_in = Some(match came_in {
                    None => (c.ingested_at.clone(), c.ingested_at.clone()),
                    Some((a, b)) => (a.min(c.ingested_at.clone()), b.max(c.ingested_at.clone())),
                });
                clips.insert(c.clip);
            }
        }
        if period {
            skipped = undated_alongside(store, officer, came_in, r)?
                .into_iter()
                .filter(|c| !clips.contains(&c.clip))
                .map(|c| {
                    serde_json::json!({
                        "clip": c.clip,
                        "path": c.path,
                        "ingested_at": c.ingested_at,
                        "reason": "no usable recording time: it cannot be placed in the period; tag it by name",
                    })
                })
                .collect();
        }
    }
    if clips.is_empty() && skipped.is_empty() {
        return Err(ServiceError::bad_request(
            "no clips to tag: name clips, or --officer with a time range that holds some".into(),
        ));
    }
    let clips: Vec<String> = clips.into_iter().collect();
    let n = if clips.is_empty() {
        0
    } else {
        store.custody_mut().tag(&id.actor(), &clips, &t)?
    };
    Ok(serde_json::json!({ "tagged": n, "skipped": skipped }))
}

/// The officer's recordings with no usable recording time that came in
/// with those a period selected (ingested in `came_in`, the first and last
/// ingest times, widened by an hour each way), or, when it selected none,
/// ingested from the period's start until two days after its end.
fn undated_alongside(
    store: &Store,
    officer: &str,
    came_in: Option<(String, String)>,
    r: &TagRequest,
) -> Result<Vec<vigil_store::Clip>, ServiceError> {
    let shifted = |t: &str, hours: i64| {
        OffsetDateTime::parse(t, &Rfc3339)
            .ok()
            .and_then(|t| t.checked_add(time::Duration::hours(hours)))
            .map(vigil_store::rfc3339)
    };
    let (from, until) = match &came_in {
        Some((a, b)) => (shifted(a, -1), shifted(b, 1)),
        None => (r.from.clone(), r.to.as_deref().and_then(|t| shifted(t, 48))),
    };
    let mut undated = store.recordings().clips(&ClipFilter {
        officer: Some(officer.to_owned()),
        ingested: Some((
            from.unwrap_or_else(|| "0000".into()),
            until.unwrap_or_else(|| "9999".into()),
        )),
        ..Default::default()
    })?;
    undated.retain(|c| c.recorded_start.is_none());
    Ok(undated)
}

/// The end of the `n`-th working day after `day` (UTC).
pub fn working_deadline(day: Date, n: u32, holidays: &BTreeSet<Date>) -> OffsetDateTime {
    let mut d = day;
    let mut left = n;
    while left > 0 {
        d = d.next_day().unwrap_or(d);
        let weekend = matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday);
        if !weekend && !holidays.contains(&d) {
            left -= 1;
        }
    }
    d.next_day().unwrap_or(d).midnight().assume_utc()
}

/// Working days after ingest within which a clip is tagged, unless told
/// otherwise (R11).
pub const DEFAULT_TAG_WITHIN: u32 = 2;

/// The cutoff of "untagged too long" at `now`: a clip ingested before it
/// (RFC 3339) is past `tag_within` working days.
pub fn untagged_cutoff(now: OffsetDateTime, tag_within: u32, holidays: &BTreeSet<Date>) -> String {
    let last = last_overdue_day(now, tag_within, holidays);
    crate::model::rfc3339(last.next_day().unwrap_or(last).midnight().assume_utc())
}

/// What to check (`vigil overdue`, `GET /api/v1/overdue`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverdueQuery {
    /// Working days after ingest within which a clip must be tagged (R11).
    pub tag_within: u32,
    /// Hours within which an interruption must be explained (R9).
    pub explain_within: i64,
    /// Public holidays, `YYYY-MM-DD`, comma-separated.
    #[serde(default)]
    pub holidays: String,
    /// Only this station's (at the agency centre; a station's work is
    /// only its own).
    #[serde(default)]
    pub station: Option<String>,
}

impl OverdueQuery {
    /// Checks the limits; returns the holidays.
    pub fn checked(&self) -> Result<BTreeSet<Date>, ServiceError> {
        if self.tag_within > 366 || !(0..=24 * 366).contains(&self.explain_within) {
            return Err(ServiceError::bad_request(
                "tag_within is at most 366 working days, explain_within 0 to 8784 hours".into(),
            ));
        }
        let mut holidays = BTreeSet::new();
        for d in self
            .holidays
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            holidays.insert(
                Date::parse(d, &time::format_description::well_known::Iso8601::DATE).map_err(
                    |_| {
                        ServiceError::bad_request(format!("holiday {d:?} is not a YYYY-MM-DD date"))
                    },
                )?,
            );
        }
        Ok(holidays)
    }
}

/// The last day (UTC) whose ingests are past their tagging deadline at
/// `now`: a recording ingested on it or before is overdue (R11). The
/// deadline only moves later with the day, so the day is found by
/// stepping back from `now`'s.
pub fn last_overdue_day(now: OffsetDateTime, n: u32, holidays: &BTreeSet<Date>) -> Date {
    let mut d = now.date();
    while working_deadline(d, n, holidays) >= now {
        match d.previous_day() {
            Some(p) => d = p,
            None => break,
        }
    }
    d
}

/// Days after a case is closed within which its recordings are filed
/// into the case file (R12).
pub const FILE_WITHIN_DAYS: i64 = 30;

/// What is past its deadline: `{"untagged", "unexplained", "unfiled_cases"}`.
pub(crate) fn overdue(store: &Store, q: &OverdueQuery) -> Result<serde_json::Value, ServiceError> {
    let holidays = q.checked()?;
    if !crate::station::is_here(store, q.station.as_deref().filter(|s| !s.is_empty()))? {
        return Err(ServiceError::not_found(format!(
            "this station's overdue work is its own, not {:?}'s: the agency centre lists every station's",
            q.station.as_deref().unwrap_or_default()
        )));
    }
    let now = OffsetDateTime::now_utc();
    let untagged: Vec<_> = store
        .custody()
        .untagged_ingested_before(&vigil_store::rfc3339(now), None, None)?
        .into_iter()
        .filter(|c| {
            OffsetDateTime::parse(
                &c.ingested_at,
                &time::format_description::well_known::Rfc3339,
            )
            .is_ok_and(|t| working_deadline(t.date(), q.tag_within, &holidays) < now)
        })
        .collect();
    let gaps = store.gap_log().gaps(&GapFilter {
        overdue_only: true,
        overdue_after_s: q.explain_within * 3600,
        ..Default::default()
    })?;
    let cutoff = vigil_store::rfc3339(now.saturating_sub(time::Duration::days(FILE_WITHIN_DAYS)));
    let unfiled: Vec<serde_json::Value> = store
        .custody()
        .unfiled_cases(&cutoff)?
        .into_iter()
        .map(|(case, closed)| serde_json::json!({"case": case, "closed_at": closed}))
        .collect();
    Ok(serde_json::json!({ "untagged": untagged, "unexplained": gaps, "unfiled_cases": unfiled }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn deadlines_skip_weekends_and_holidays() {
        let none = BTreeSet::new();
        // Thursday + 2 working days = end of Monday.
        assert_eq!(
            working_deadline(date!(2026 - 11 - 19), 2, &none).date(),
            date!(2026 - 11 - 24)
        );
        // Monday + 2 = end of Wednesday.
        assert_eq!(
            working_deadline(date!(2026 - 11 - 23), 2, &none).date(),
            date!(2026 - 11 - 26)
        );
        // With Tuesday a holiday: end of Thursday.
        let h = BTreeSet::from([date!(2026 - 11 - 24)]);
        assert_eq!(
            working_deadline(date!(2026 - 11 - 23), 2, &h).date(),
            date!(2026 - 11 - 27)
        );
    }

    #[test]
    fn the_last_overdue_day_splits_the_days_as_their_deadlines_do() {
        let h = BTreeSet::from([date!(2026 - 12 - 31), date!(2027 - 01 - 01)]);
        for hours in 0..24 * 30 {
            let now = date!(2026 - 12 - 15).midnight().assume_utc() + time::Duration::hours(hours);
            for n in [0, 1, 2, 5] {
                let last = last_overdue_day(now, n, &h);
                for back in 0..40 {
                    let d = now.date() - time::Duration::days(back);
                    assert_eq!(
                        d <= last,
                        working_deadline(d, n, &h) < now,
                        "now {now}, {n} working days, ingested {d}"
                    );
                }
            }
        }
    }
}
