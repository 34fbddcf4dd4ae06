//! The stations' logs at the centre, in words (R20): one subject (a
//! recording with its interruptions, an interruption, a request, a user),
//! person, action or period across the stations the reader may see, each
//! entry with its station and a link to what it is about; paged through
//! one station's log. Every recording's and interruption's page links
//! here; reading it is audited (`audit.read`, via the desk).

use axum::extract::{Query, State as Axum};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use vigil_desk::centre::CentreAudit;
use vigil_desk::{TrailFilterView, TrailRow};
use vigil_i18n::Msg;
use vigil_service::ops;

use super::{chrome, enc, page, reader};
use crate::agency::{audit_page, stations_in_scope};
use crate::error::CentreError;
use crate::state::Centre;

/// The entries one page shows.
const PAGE: u64 = 200;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct TrailQuery {
    #[serde(default)]
    station: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    related: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    after: Option<i64>,
}

/// The trail of `subject` at `station` (`related`: a recording with its
/// interruptions).
pub(super) fn trail_of(station: &str, subject: &str, related: bool) -> String {
    format!(
        "/desk/audit?station={}&subject={}{}",
        enc(station),
        enc(subject),
        if related { "&related=1" } else { "" }
    )
}

/// `GET /desk/audit`.
pub(super) async fn trail(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<TrailQuery>,
) -> Result<Response, CentreError> {
    let (user, lang) = match reader::<ops::Audit>(&c, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let filled = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let day = |date: &str, end: bool| -> Result<Option<String>, CentreError> {
        filled(date)
            .map(|d| {
                c.zone
                    .day_utc(&d)
                    .map(|(a, b)| if end { b } else { a })
                    .map_err(|e| CentreError::BadRequest(e.to_string()))
            })
            .transpose()
    };
    let related = !q.related.is_empty();
    let query = vigil_service::queries::AuditQuery {
        action: filled(&q.action),
        subject: filled(&q.subject),
        related: Some(related),
        actor: filled(&q.actor),
        since: day(&q.from, false)?,
        until: day(&q.until, true)?,
        after: q.after.filter(|_| !q.station.is_empty()),
        limit: Some(PAGE),
        station: filled(&q.station),
    };
    let client = c.pool.get().await?;
    let found = audit_page(&client, &user, &query, Some("desk")).await?;
    let t = |m: Msg| m.text(lang).to_owned();
    let rows = found
        .rows
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            let (station, action, subject, actor) = (
                text("station"),
                text("action"),
                text("subject"),
                text("actor"),
            );
            // A recording's, an interruption's or a request's page at the
            // centre, by what the action is about.
            let of = |kind: &str| format!("/desk/{kind}/{}/{}", enc(&station), enc(&subject));
            let href = match action.split('.').next().unwrap_or_default() {
                "clip" => Some(of("clips")),
                "gap" | "explanation" => Some(of("gaps")),
                "request" => Some(of("requests")),
                _ => None,
            };
            let who = vigil_service::identity::Identity::user_of(&actor).to_owned();
            let row = TrailRow {
                seq: r["seq"].as_i64().unwrap_or_default(),
                at: c.zone.local(&text("at")),
                actor: (
                    actor,
                    format!("/desk/audit?station={}&actor={}", enc(&station), enc(&who)),
                ),
                action: vigil_i18n::actions::said(&action, lang),
                code: action.clone(),
                trail: trail_of(&station, &subject, action.starts_with("clip.")),
                about: (subject, href),
                details: vigil_service::trail::details(&r["detail"]),
            };
            (station, row)
        })
        .collect();
    let heading = match (filled(&q.station), filled(&q.subject)) {
        (Some(station), Some(subject)) => {
            let mut what = named(&client, lang, &station, &subject).await?;
            if related {
                what = format!("{what} ({})", t(Msg::AuditAllOfRecording));
            }
            Msg::AuditTrailOf.fmt(lang, &[("what", &what)])
        }
        (None, Some(subject)) => Msg::AuditTrailOf.fmt(lang, &[("what", &subject)]),
        _ => t(Msg::AgencyAudit),
    };
    let asked = filled(&q.station);
    let filter = TrailFilterView {
        subject: q.subject.clone(),
        related,
        action: q.action.clone(),
        actor: q.actor.clone(),
        from: q.from.clone(),
        until: q.until.clone(),
    };
    let link = |after: Option<i64>| filter.link(asked.as_deref(), after);
    let here = link(q.after);
    let body = CentreAudit {
        chrome: chrome(&c, lang, heading.clone(), Some(&user), "audit", &here),
        heading,
        station: q.station.clone(),
        filter: filter.clone(),
        stations: stations_in_scope(&client, &user, None)
            .await?
            .into_iter()
            .map(|s| {
                let chosen = asked.as_deref() == Some(s.as_str());
                (s, chosen)
            })
            .collect(),
        actions: vigil_i18n::actions::actions(lang).collect(),
        rows,
        more: (found.more && found.next.is_none())
            .then(|| Msg::MoreThanShown.fmt(lang, &[("n", &PAGE.to_string())])),
        first: q.after.map(|_| link(None)),
        next: found.next.map(|n| link(Some(n))),
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}

/// A subject of `station`'s log as people know it: a recording by its
/// file, an interruption by its recording's file; anything else by its id.
async fn named(
    client: &impl deadpool_postgres::GenericClient,
    lang: vigil_i18n::Lang,
    station: &str,
    subject: &str,
) -> Result<String, CentreError> {
    let found = client
        .query_opt(
            "SELECT 'clip', path FROM clips WHERE station = $1 AND id = $2
             UNION ALL
             SELECT 'gap', c.path FROM gaps g JOIN clips c ON c.station = g.station AND c.id = g.clip
             WHERE g.station = $1 AND g.id = $2
             LIMIT 1",
            &[&station, &subject],
        )
        .await?;
    Ok(match found {
        Some(r) => {
            let (kind, path): (String, String) = (r.get(0), r.get(1));
            let what = if kind == "clip" {
                Msg::Recording
            } else {
                Msg::Interruption
            };
            format!("{} {path} ({station})", what.text(lang))
        }
        None => format!("{subject} ({station})"),
    })
}
