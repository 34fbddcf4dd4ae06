//! The desk's home at the centre: what waits for the signed-in user across
//! the stations they see, queue by queue as their role has them (the
//! station's home, agency-wide): retrieval requests to decide (R16),
//! explanations to review, interruptions past their deadline (R9) and
//! recordings not tagged in time (R11). Each queue shows its oldest
//! [`SHOWN`] rows and says when more wait. Read at the centre, it lists
//! the stations' records: audited (`queues.read`).

use axum::extract::State as Axum;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use vigil_desk::centre::CentreHome;
use vigil_desk::{Row, Section};
use vigil_i18n::Msg;
use vigil_service::identity::{AUDIT, CUSTODY, REVIEW};
use vigil_service::ops;

use super::{chrome, enc, kind_word, lang_of, page, seconds, signed_in};
use crate::agency::{gap_rows, untagged_rows, GapFilter, GapRow};
use crate::error::CentreError;
use crate::requests::{request_rows, RequestFilter};
use crate::state::Centre;
use crate::stations::audit;

/// Rows shown of each queue.
const SHOWN: i64 = 20;

/// `GET /desk/`.
pub(super) async fn home(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
) -> Result<Response, CentreError> {
    let user = match signed_in(&c, &headers).await {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let lang = lang_of(&headers);
    let t = |m: Msg| m.text(lang).to_owned();
    let client = c.pool.get().await?;
    let station = user.station.clone();
    let count = |n: usize, more: bool| {
        if more {
            format!("{n}+")
        } else {
            n.to_string()
        }
    };
    let local = |v: &serde_json::Value| v.as_str().map(|w| c.zone.local(w)).unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    let seen = crate::agency::stations_in_scope(&client, &user, None).await?;
    let names = crate::officers::Names::of(&client, &seen, lang).await?;
    let gap_row = |g: &GapRow| Row {
        href: format!(
            "/desk/gaps/{}/{}",
            enc(&g.station),
            enc(text(&g.data["id"]).as_str())
        ),
        cells: vec![
            g.data["wall_start"]
                .as_str()
                .or(g.data["detected_at"].as_str())
                .map(|w| c.zone.local(w))
                .unwrap_or_default(),
            g.station.clone(),
            names.show(&g.station, g.data["officer"].as_str()),
            t(kind_word(g.data["kind"].as_str().unwrap_or_default())),
            seconds(lang, g.data["duration_s"].as_f64().unwrap_or(0.0)),
        ],
        thumb: None,
    };
    let gap_head = || {
        [
            Msg::Start,
            Msg::Station,
            Msg::Officer,
            Msg::ColKind,
            Msg::Duration,
        ]
        .iter()
        .map(|m| t(*m))
        .collect::<Vec<_>>()
    };
    let mut sections = Vec::new();
    let mut shown = serde_json::Map::new();
    if user.may::<ops::Approve>().is_ok() {
        // Undecided, filed by someone else, no decision on its way.
        let (mine, more) = request_rows(
            &client,
            &RequestFilter {
                station: station.clone(),
                undecided: true,
                decidable_by: Some(user.name.clone()),
                limit: SHOWN,
                ..Default::default()
            },
        )
        .await?;
        shown.insert("requests".into(), mine.len().into());
        sections.push((
            Section {
                id: "to-approve",
                title: t(Msg::QueueToApprove),
                head: [
                    Msg::ColRequest,
                    Msg::Requested,
                    Msg::Station,
                    Msg::Requester,
                    Msg::Reason,
                ]
                .iter()
                .map(|m| t(*m))
                .collect(),
                rows: mine
                    .iter()
                    .map(|r| Row {
                        href: format!(
                            "/desk/requests/{}/{}",
                            enc(&text(&r["station"])),
                            enc(&text(&r["id"]))
                        ),
                        cells: vec![
                            text(&r["id"]),
                            local(&r["created_at"]),
                            text(&r["station"]),
                            text(&r["requester"]),
                            text(&r["reason"]),
                        ],
                        thumb: None,
                    })
                    .collect(),
            },
            count(mine.len(), more),
        ));
    }
    if REVIEW.contains(&user.role) {
        let (rows, more, _) = gap_rows(
            &client,
            &GapFilter {
                station: station.clone(),
                to_review: true,
                limit: Some(SHOWN),
                ..Default::default()
            },
        )
        .await?;
        shown.insert("to_review".into(), rows.len().into());
        sections.push((
            Section {
                id: "to-review",
                title: t(Msg::QueueToReview),
                head: gap_head(),
                rows: rows.iter().map(gap_row).collect(),
            },
            count(rows.len(), more),
        ));
    }
    if AUDIT.contains(&user.role) {
        let (rows, more, _) = gap_rows(
            &client,
            &GapFilter {
                station: station.clone(),
                open: true,
                overdue_only: true,
                limit: Some(SHOWN),
                ..Default::default()
            },
        )
        .await?;
        shown.insert("overdue".into(), rows.len().into());
        sections.push((
            Section {
                id: "overdue",
                title: t(Msg::QueueOverdueGaps),
                head: gap_head(),
                rows: rows.iter().map(gap_row).collect(),
            },
            count(rows.len(), more),
        ));
    }
    if CUSTODY.contains(&user.role) {
        let within = vigil_service::tagging::DEFAULT_TAG_WITHIN;
        let cutoff = vigil_service::tagging::untagged_cutoff(
            time::OffsetDateTime::now_utc(),
            within,
            &Default::default(),
        );
        let (rows, more) =
            untagged_rows(&client, &cutoff, station.as_deref(), user.role, SHOWN).await?;
        shown.insert("untagged".into(), rows.len().into());
        sections.push((
            Section {
                id: "untagged",
                title: Msg::OverdueUntagged.fmt(
                    lang,
                    &[
                        ("days", &within.to_string()),
                        ("n", &count(rows.len(), more)),
                    ],
                ),
                head: [
                    Msg::Ingested,
                    Msg::Station,
                    Msg::Officer,
                    Msg::Recorder,
                    Msg::File,
                ]
                .iter()
                .map(|m| t(*m))
                .collect(),
                rows: rows
                    .iter()
                    .map(|r| Row {
                        href: format!(
                            "/desk/clips/{}/{}",
                            enc(&text(&r["station"])),
                            enc(&text(&r["clip"]))
                        ),
                        cells: vec![
                            local(&r["ingested_at"]),
                            text(&r["station"]),
                            names.show(&text(&r["station"]), r["officer"].as_str()),
                            text(&r["device"]),
                            text(&r["path"]),
                        ],
                        thumb: None,
                    })
                    .collect(),
            },
            count(rows.len(), more),
        ));
    }
    audit(
        &client,
        &user.name,
        "queues.read",
        "queues",
        serde_json::json!({"station": station, "shown": shown, "via": "desk"}),
    )
    .await?;
    let body = CentreHome {
        chrome: chrome(&c, lang, t(Msg::Home), Some(&user), "home", "/desk/"),
        sections,
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}
