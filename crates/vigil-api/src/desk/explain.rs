//! The interruption forms: an explanation filed, co-signed, reviewed (R8, R9).

use super::page::*;
use vigil_service::{op, ops};

#[derive(serde::Deserialize)]
pub(super) struct ExplainForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    /// `spoken` (at `at` seconds, by the acting officer) or written.
    #[serde(default)]
    how: String,
    #[serde(default)]
    at: String,
    back: Option<String>,
}

pub(super) async fn explain(
    State(state): State<ApiState>,
    desk: Desk,
    Path(gap): Path<String>,
    Form(mut f): Form<ExplainForm>,
) -> Response {
    let back = safe_back(f.back.as_deref());
    let csrf = std::mem::take(&mut f.csrf);
    posted(&state, &desk, &csrf, move |s, id| {
        let how = if f.how == "spoken" {
            let at: f64 = f.at.trim().parse().map_err(|_| {
                ServiceError::bad_request(format!(
                    "{:?} is not a number of seconds into the recording",
                    f.at
                ))
            })?;
            let by = id.officer.clone().ok_or_else(|| {
                ServiceError::refused(format!(
                    "{} is not an officer: only the officer who spoke explains aloud",
                    id.user
                ))
            })?;
            vigil_service::explanations::Explain::Spoken { at, clip: None, by }
        } else {
            vigil_service::explanations::Explain::Written { text: f.text }
        };
        op::call::<ops::Explain>(s, id, gap.clone(), how)?;
        Ok(Out::Redirect(format!("{back}#gap-{gap}")))
    })
    .await
}

pub(super) async fn sign(
    State(state): State<ApiState>,
    desk: Desk,
    Path(explanation): Path<String>,
    Form(mut f): Form<ExplainForm>,
) -> Response {
    let back = safe_back(f.back.as_deref());
    let csrf = std::mem::take(&mut f.csrf);
    posted(&state, &desk, &csrf, move |s, id| {
        op::call::<ops::Sign>(s, id, explanation, op::Empty {})?;
        Ok(Out::Redirect(back))
    })
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct ReviewForm {
    #[serde(default)]
    csrf: String,
    verdict: String,
    note: Option<String>,
    back: Option<String>,
}

pub(super) async fn review(
    State(state): State<ApiState>,
    desk: Desk,
    Path(gap): Path<String>,
    Form(mut f): Form<ReviewForm>,
) -> Response {
    let back = safe_back(f.back.as_deref());
    let csrf = std::mem::take(&mut f.csrf);
    posted(&state, &desk, &csrf, move |s, id| {
        op::call::<ops::Review>(
            s,
            id,
            gap.clone(),
            vigil_service::explanations::Review {
                verdict: f.verdict,
                note: f.note.filter(|n| !n.trim().is_empty()),
            },
        )?;
        Ok(Out::Redirect(format!("{back}#gap-{gap}")))
    })
    .await
}
