//! The home page: each role's queues ([`vigil_service::queues`]) as sections.

use super::page::*;
use super::status;

/// The queues of `id`'s role ([`vigil_service::queues`]), each its first
/// [`PAGE`] rows, as sections of the home page.
pub(super) fn sections(
    store: &mut Station,
    id: &Identity,
    lang: Lang,
    zone: &vigil_i18n::Zone,
    board: &serde_json::Value,
) -> Result<Vec<view::Section>, ServiceError> {
    let now = vigil_service::model::now_rfc3339();
    let today = zone
        .day_utc(zone.local(&now).get(..10).unwrap_or_default())
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let mut q = vigil_service::queues::of(store, id, today, &now, PAGE)?;
    let names = Names::of(store, lang)?;
    let heads = |m: &[Msg]| m.iter().map(|m| m.text(lang).to_owned()).collect();
    let gap_section = |id: &'static str, title: Msg, gaps: &[Gap]| view::Section {
        id,
        title: title.text(lang).into(),
        head: gap_head(lang),
        rows: gaps
            .iter()
            .map(|g| gap_row(g, lang, zone, &names))
            .collect(),
    };
    let mut out = Vec::new();
    if let Some(g) = &q.open {
        out.push(gap_section("open", Msg::QueueOpen, g));
    }
    if let Some(g) = &q.waiting {
        out.push(gap_section("waiting", Msg::QueueWaiting, g));
    }
    if let Some(g) = &q.to_sign {
        out.push(gap_section("to-sign", Msg::QueueToSign, g));
    }
    if let Some(untagged) = q.untagged {
        out.push(view::Section {
            id: "untagged",
            title: Msg::QueueUntagged.text(lang).into(),
            head: heads(&[Msg::File, Msg::Recorder, Msg::Ingested]),
            rows: untagged
                .into_iter()
                .map(|u| view::Row {
                    href: format!("/desk/clips/{}", encode(&u.clip)),
                    cells: vec![
                        u.path,
                        u.device.unwrap_or_default(),
                        zone.local(&u.ingested_at),
                    ],
                    thumb: None,
                })
                .collect(),
        });
    }
    if let Some(g) = &q.to_review {
        out.push(gap_section("to-review", Msg::QueueToReview, g));
    }
    if let Some(requests) = q.to_approve {
        out.push(view::Section {
            id: "to-approve",
            title: Msg::QueueToApprove.text(lang).into(),
            head: heads(&[
                Msg::Seq,
                Msg::Requester,
                Msg::Requested,
                Msg::Recordings,
                Msg::RequestReason,
            ]),
            rows: requests
                .into_iter()
                .map(|r| view::Row {
                    href: format!("/desk/requests#req-{}", r.id),
                    cells: vec![
                        r.id,
                        r.requester,
                        zone.local(&r.created_at),
                        r.clips.len().to_string(),
                        r.reason,
                    ],
                    thumb: None,
                })
                .collect(),
        });
    }
    if q.station {
        // The station's board, as on the status page.
        let (_, rows) = status::rows(board, lang, zone, &names);
        out.push(view::Section {
            id: "station",
            title: Msg::StationStatus.text(lang).into(),
            head: status::head(lang),
            rows: rows
                .into_iter()
                .map(|cells| view::Row {
                    href: "/desk/status".into(),
                    cells,
                    thumb: None,
                })
                .collect(),
        });
    }
    if let Some(clips) = q.today.take() {
        let clips = vigil_service::queries::listed(store, clips)?;
        out.push(view::Section {
            id: "today",
            title: Msg::QueueToday.text(lang).into(),
            head: clip_head(lang),
            rows: clips
                .iter()
                .map(|c| clip_row(c, lang, zone, &names))
                .collect(),
        });
    }
    if let Some(g) = &q.overdue {
        out.push(gap_section("overdue", Msg::QueueOverdue, g));
    }
    if let Some(g) = &q.gap_log {
        out.push(gap_section("gap-log", Msg::QueueGapLog, g));
    }
    if let Some(entries) = q.audit {
        out.push(view::Section {
            id: "audit",
            title: Msg::QueueAudit.text(lang).into(),
            head: heads(&[Msg::Seq, Msg::When, Msg::Who, Msg::Action, Msg::Subject]),
            rows: entries
                .into_iter()
                .map(|e| view::Row {
                    href: super::audit::trail_of(&e.subject, e.action.starts_with("clip.")),
                    cells: vec![
                        e.seq.to_string(),
                        zone.local(&e.at),
                        e.actor,
                        vigil_i18n::actions::said(&e.action, lang),
                        e.subject,
                    ],
                    thumb: None,
                })
                .collect(),
        });
    }
    if let Some(doc) = &q.checkpoint {
        out.push(view::Section {
            id: "checkpoint",
            title: Msg::QueueCheckpoint.text(lang).into(),
            head: heads(&[Msg::LogSize, Msg::Root, Msg::StationKey]),
            rows: vec![view::Row {
                href: "/desk/checkpoint".into(),
                cells: vec![
                    doc["size"].to_string(),
                    doc["root"].as_str().unwrap_or_default().to_owned(),
                    doc["key"].as_str().unwrap_or_default().to_owned(),
                ],
                thumb: None,
            }],
        });
    }
    Ok(out)
}

pub(super) async fn home(State(state): State<ApiState>, desk: Desk) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let sections = sections(s, id, d.lang, &st.zone, &(st.status)())?;
        Ok(Out::Page(view::render(&view::HomePage {
            chrome: chrome(&st, &d, Some(id), Msg::Home.text(d.lang).into(), "home"),
            sections,
        })))
    })
    .await
}

/// What waits for the session's user ([`vigil_service::queues::waiting`])
/// as JSON for the header's counter: the total, each queue with its words
/// and where it is on the home page, and one sentence saying it all. Not
/// audited (what waits, not evidence).
pub(super) async fn waiting(State(state): State<ApiState>, desk: Desk) -> Response {
    let lang = desk.lang;
    as_user(&state, &desk, move |s, id| {
        let w = vigil_service::queues::waiting(s, id)?;
        let shown = |n: usize| {
            if n > vigil_service::queues::COUNTED {
                format!("{}+", vigil_service::queues::COUNTED)
            } else {
                n.to_string()
            }
        };
        let parts: Vec<serde_json::Value> = [
            (Msg::QueueOpen, w.explain, "open"),
            (Msg::QueueToSign, w.sign, "to-sign"),
            (Msg::QueueToReview, w.review, "to-review"),
            (Msg::QueueToApprove, w.approve, "to-approve"),
            (Msg::QueueOverdue, w.overdue, "overdue"),
        ]
        .into_iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(m, n, at)| {
            serde_json::json!({"label": m.text(lang), "n": shown(n), "href": format!("/desk/#{at}")})
        })
        .collect();
        let said = parts
            .iter()
            .map(|p| {
                Msg::WaitingPart.fmt(
                    lang,
                    &[
                        ("what", p["label"].as_str().unwrap_or_default()),
                        ("n", p["n"].as_str().unwrap_or_default()),
                    ],
                )
            })
            .collect::<Vec<_>>()
            .join(Msg::ListSeparator.text(lang));
        let label = if parts.is_empty() {
            Msg::WaitingNone.text(lang).to_owned()
        } else {
            Msg::WaitingSome.fmt(lang, &[("n", &shown(w.total())), ("what", &said)])
        };
        Ok(Out::Raw(
            (
                [(header::CACHE_CONTROL, "private, no-store")],
                axum::Json(serde_json::json!({
                    "total": w.total(), "shown": shown(w.total()), "label": label, "parts": parts,
                })),
            )
                .into_response(),
        ))
    })
    .await
}
