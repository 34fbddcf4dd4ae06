//! The desk's retrieval requests (R16): the agency's list, one request
//! with what it would release, and a supervisor's approval (confirmed)
//! or turning down, sent to the request's station as the API sends it
//! (`crate::requests`).

use axum::extract::{Form, Path, Query, State as Axum};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use vigil_desk::centre::{CentreRequest, CentreRequests};
use vigil_desk::Row;
use vigil_i18n::Msg;
use vigil_service::ops;

use super::{chrome, csrf_of, enc, page, posted, reader};
use crate::error::CentreError;
use crate::requests::{request_rows, send_decision, Decision, RequestFilter};
use crate::state::Centre;
use crate::stations::audit;

/// How many requests a page shows.
const SHOWN: i64 = 200;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ListQuery {
    station: Option<String>,
    #[serde(default)]
    undecided: bool,
}

/// The state of a request's object: its words and class.
fn state_of(lang: vigil_i18n::Lang, r: &serde_json::Value) -> (String, &'static str) {
    match (r["approved_by"].as_str(), r["rejected_by"].as_str()) {
        (Some(who), _) => (Msg::ReqApproved.fmt(lang, &[("who", who)]), "approved"),
        (None, Some(who)) => (
            Msg::ReqRejected.fmt(
                lang,
                &[
                    ("who", who),
                    ("why", r["reject_reason"].as_str().unwrap_or("")),
                ],
            ),
            "rejected",
        ),
        (None, None) => (Msg::ReqPending.text(lang).to_owned(), "pending"),
    }
}

/// `GET /desk/requests`: newest first, by station, undecided only.
pub(super) async fn list(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Response, CentreError> {
    let (user, lang) = match reader::<ops::Requests>(&c, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let t = |m: Msg| m.text(lang).to_owned();
    let asked = q.station.clone().filter(|s| !s.is_empty());
    let station = user.scope(asked.as_deref())?;
    let client = c.pool.get().await?;
    let (rows, more) = request_rows(
        &client,
        &RequestFilter {
            station: station.clone(),
            id: None,
            undecided: q.undecided,
            decidable_by: None,
            limit: SHOWN,
        },
    )
    .await?;
    audit(
        &client,
        &user.name,
        "requests.listed",
        "requests",
        serde_json::json!({"shown": rows.len(), "station": station, "undecided": q.undecided, "more": more, "via": "desk"}),
    )
    .await?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    let list: Vec<Row> = rows
        .iter()
        .map(|r| {
            let s = text(&r["station"]);
            let (state, _) = state_of(lang, r);
            let state = if r["sent"].as_array().is_some_and(|a| !a.is_empty()) {
                format!("{state} · {}", t(Msg::SentToStation))
            } else {
                state
            };
            Row {
                href: format!("/desk/requests/{}/{}", enc(&s), enc(&text(&r["id"]))),
                cells: vec![
                    text(&r["id"]),
                    r["created_at"]
                        .as_str()
                        .map(|w| c.zone.local(w))
                        .unwrap_or_default(),
                    s,
                    text(&r["requester"]),
                    r["clips"].as_array().map_or(0, Vec::len).to_string(),
                    state,
                    text(&r["reason"]),
                ],
                thumb: None,
            }
        })
        .collect();
    let here = format!(
        "/desk/requests?station={}&undecided={}",
        enc(asked.as_deref().unwrap_or("")),
        q.undecided
    );
    let body = CentreRequests {
        chrome: chrome(
            &c,
            lang,
            t(Msg::AgencyRequests),
            Some(&user),
            "requests",
            &here,
        ),
        stations: crate::agency::stations_in_scope(&client, &user, None)
            .await?
            .into_iter()
            .map(|s| {
                let chosen = asked.as_deref() == Some(s.as_str());
                (s, chosen)
            })
            .collect(),
        undecided: q.undecided,
        count: Msg::CountRequests.fmt(lang, &[("n", &list.len().to_string())]),
        more,
        more_text: Msg::MoreThanShown.fmt(lang, &[("n", &SHOWN.to_string())]),
        head: [
            Msg::ColRequest,
            Msg::Requested,
            Msg::Station,
            Msg::Requester,
            Msg::Recordings,
            Msg::State,
            Msg::Reason,
        ]
        .iter()
        .map(|m| t(*m))
        .collect(),
        rows: list,
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}

/// `GET /desk/requests/{station}/{request}`.
pub(super) async fn one(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Path((station, id)): Path<(String, String)>,
) -> Result<Response, CentreError> {
    let (user, lang) = match reader::<ops::Requests>(&c, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    user.scope(Some(&station))?;
    let t = |m: Msg| m.text(lang).to_owned();
    let client = c.pool.get().await?;
    let r = crate::requests::one(&client, &station, &id)
        .await?
        .ok_or_else(|| {
            CentreError::NotFound(format!(
                "no retrieval request {id} of {station} at the centre"
            ))
        })?;
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let names: Vec<String> = r["clips"]
        .as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default();
    let seen = client
        .query(
            "SELECT id, data FROM clips
             WHERE station = $1 AND id = ANY($2)
               AND (confidential IS NULL OR NOT (confidential = ANY($3)))",
            &[
                &station,
                &names,
                &vigil_service::queries::hidden_from(user.role),
            ],
        )
        .await?;
    let officers =
        crate::officers::Names::of(&client, std::slice::from_ref(&station), lang).await?;
    let mut clips: Vec<Row> = Vec::new();
    for name in &names {
        if let Some(row) = seen.iter().find(|row| row.get::<_, String>(0) == *name) {
            let d: serde_json::Value = row.get(1);
            clips.push(Row {
                href: format!("/desk/clips/{}/{}", enc(&station), enc(name)),
                cells: vec![
                    text(&d["path"]),
                    officers.show(&station, d["officer"].as_str()),
                    text(&d["device"]),
                    d["recorded_start"]
                        .as_str()
                        .map(|w| c.zone.local(w))
                        .unwrap_or_else(|| t(Msg::TimeUnknown)),
                ],
                thumb: None,
            });
        }
    }
    let hidden = names.len() - clips.len();
    let (state, state_class) = state_of(lang, &r);
    let sent = r["sent"].as_array().and_then(|a| a.first()).map(|a| {
        let what = if a["kind"] == "approve" {
            t(Msg::Approve)
        } else {
            t(Msg::TurnDown)
        };
        Msg::DecisionSent.fmt(
            lang,
            &[
                ("who", a["actor"].as_str().unwrap_or("-")),
                ("what", &what),
                ("station", &station),
            ],
        )
    });
    let refused: Option<String> = client
        .query_opt(
            "SELECT refused FROM actions WHERE station = $1 AND subject = $2 AND refused IS NOT NULL
             ORDER BY id DESC LIMIT 1",
            &[&station, &id],
        )
        .await?
        .map(|row| row.get(0));
    let may_decide = state_class == "pending"
        && sent.is_none()
        && user.may::<ops::Approve>().is_ok()
        && r["requester"] != user.name.as_str();
    let outsider = text(&r["outsider"]);
    let to = if outsider.is_empty() {
        t(Msg::ReleaseNobody)
    } else {
        outsider.clone()
    };
    let mut facts = vec![
        (t(Msg::Station), station.clone()),
        (t(Msg::Requester), text(&r["requester"])),
        (
            t(Msg::Requested),
            r["created_at"]
                .as_str()
                .map(|w| c.zone.local_with_offset(w))
                .unwrap_or_default(),
        ),
        (t(Msg::Case), text(&r["case"])),
        (t(Msg::RequestReason), text(&r["reason"])),
        (t(Msg::Outsider), outsider),
    ];
    if let Some(why) = refused.filter(|_| state_class == "pending") {
        facts.push((
            t(Msg::State),
            Msg::DecisionRefused.fmt(lang, &[("station", &station), ("why", &why)]),
        ));
    }
    facts.push((t(Msg::State), state));
    audit(
        &client,
        &user.name,
        "request.viewed",
        &id,
        serde_json::json!({"station": station, "via": "desk"}),
    )
    .await?;
    let action = format!("/desk/requests/{}/{}", enc(&station), enc(&id));
    let mut chrome = chrome(
        &c,
        lang,
        Msg::RequestTitle1.fmt(lang, &[("id", &id)]),
        Some(&user),
        "requests",
        &action,
    );
    chrome.csrf = csrf_of(&headers);
    let body = CentreRequest {
        chrome,
        facts,
        state_class,
        release_title: Msg::ReleaseTitle.fmt(lang, &[("n", &clips.len().to_string())]),
        head: [Msg::File, Msg::Officer, Msg::Recorder, Msg::Start]
            .iter()
            .map(|m| t(*m))
            .collect(),
        rows: clips,
        hidden: (hidden > 0).then(|| Msg::ReleaseHidden.fmt(lang, &[("n", &hidden.to_string())])),
        sent,
        may_decide,
        confirm: Msg::ReleaseConfirm.fmt(lang, &[("to", &to)]),
        action,
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    /// The approver ticked that they checked what the request releases.
    #[serde(default)]
    confirmed: String,
}

/// `POST /desk/requests/{station}/{request}/approve` and `/reject`: the
/// decision sent to the station, as the API sends it; back to the
/// request's page, which says it was sent.
pub(super) async fn decide(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Path((station, id, verb)): Path<(String, String, String)>,
    Form(f): Form<DecideForm>,
) -> Result<Response, CentreError> {
    let user = match posted(&c, &headers, &f.csrf).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let decision = match verb.as_str() {
        "approve" => {
            user.may::<ops::Approve>()?;
            if f.confirmed.is_empty() {
                return Err(CentreError::BadRequest(format!(
                    "request {id} was not approved: approving needs the confirmation that the recordings it releases were checked"
                )));
            }
            Decision::Approve
        }
        "reject" => {
            user.may::<ops::Reject>()?;
            let reason = f.reason.trim();
            if reason.is_empty() {
                return Err(CentreError::BadRequest(
                    "say why the request is turned down".into(),
                ));
            }
            Decision::Reject(reason.to_owned())
        }
        other => return Err(CentreError::NotFound(format!("no form {other:?}"))),
    };
    let client = c.pool.get().await?;
    let (station, _) =
        send_decision(&client, &user, &id, Some(&station), &decision, Some("desk")).await?;
    Ok(Redirect::to(&format!("/desk/requests/{}/{}", enc(&station), enc(&id))).into_response())
}
