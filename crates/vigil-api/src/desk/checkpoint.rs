//! The audit log's checkpoint on the desk (R10, R20): what it means, the
//! newest one to save, and a check of a kept one against today's log that
//! answers yes or no in words ([`vigil_service::checkpoints::check`]).

use super::page::*;
use vigil_service::checkpoints::{Failure, Kept};
use vigil_service::{op, ops};

/// The page, with the outcome of a check when `kept` was checked.
fn render(
    st: &ApiState,
    d: &Desk,
    s: &mut Station,
    id: &Identity,
    kept: Option<String>,
) -> Result<Out, ServiceError> {
    let lang = d.lang;
    let newest = match op::call::<ops::Checkpoint>(s, id, (), op::Empty {}) {
        Ok(doc) => Some(doc),
        Err(e) if e.kind == Kind::NotFound => None,
        Err(e) => return Err(e),
    };
    let facts = newest
        .as_ref()
        .map(|doc| {
            let text = |k: &str| doc[k].as_str().unwrap_or_default().to_owned();
            vec![
                (Msg::LogSize.text(lang).to_owned(), doc["size"].to_string()),
                (Msg::Root.text(lang).to_owned(), text("root")),
                (
                    Msg::CheckpointSignedAt.text(lang).to_owned(),
                    st.zone.local(&text("signed_at")),
                ),
                (Msg::StationKey.text(lang).to_owned(), text("key")),
            ]
        })
        .unwrap_or_default();
    let mut results = Vec::new();
    if let Some(text) = &kept {
        let doc = op::call::<ops::CheckpointCheck>(
            s,
            id,
            (),
            Kept {
                checkpoint: text.clone(),
            },
        )?;
        for c in doc["checkpoints"].as_array().into_iter().flatten() {
            let holds = c["holds"] == true;
            let verdict = if holds {
                Msg::CheckHolds.fmt(lang, &[("size", &c["size"].to_string())])
            } else {
                let failure: Option<Failure> = serde_json::from_value(c["failure"].clone()).ok();
                let why = match failure {
                    Some(Failure::NotACheckpoint) | None => Msg::FailNotACheckpoint,
                    Some(Failure::OtherKey) => Msg::FailOtherKey,
                    Some(Failure::LogShorter) => Msg::FailLogShorter,
                    Some(Failure::Rewritten) => Msg::FailRewritten,
                    Some(Failure::Tampered) => Msg::FailTampered,
                };
                Msg::CheckFails.fmt(lang, &[("why", why.text(lang))])
            };
            results.push(view::CheckView {
                holds,
                verdict,
                detail: c["problem"].as_str().map(str::to_owned),
            });
        }
    }
    Ok(Out::Page(view::render(&view::CheckpointPage {
        chrome: chrome(
            st,
            d,
            Some(id),
            Msg::QueueCheckpoint.text(lang).into(),
            "audit",
        ),
        facts,
        note: newest
            .as_ref()
            .and_then(|doc| doc["checkpoint"].as_str())
            .unwrap_or_default()
            .to_owned(),
        checked: kept.unwrap_or_default(),
        results,
    })))
}

/// `GET /desk/checkpoint`.
pub(super) async fn page(State(state): State<ApiState>, desk: Desk) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| render(&st, &d, s, id, None)).await
}

#[derive(serde::Deserialize)]
pub(super) struct CheckForm {
    csrf: String,
    checkpoint: String,
}

/// `POST /desk/checkpoint`: checks the pasted (or chosen) checkpoint.
pub(super) async fn check(
    State(state): State<ApiState>,
    desk: Desk,
    Form(f): Form<CheckForm>,
) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        render(&st, &d, s, id, Some(f.checkpoint))
    })
    .await
}

/// `GET /desk/checkpoint.txt`: the newest checkpoint as a file to keep.
pub(super) async fn file(State(state): State<ApiState>, desk: Desk) -> Response {
    as_user(&state, &desk, move |s, id| {
        let doc = op::call::<ops::Checkpoint>(s, id, (), op::Empty {})?;
        let note = doc["checkpoint"].as_str().unwrap_or_default().to_owned();
        let name = format!("checkpoint-{}.txt", doc["size"]);
        let mut resp = (StatusCode::OK, note).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        Ok(Out::Raw(resp))
    })
    .await
}
