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

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct SignQuery {
    back: Option<String>,
}

/// The confirmation page of a co-signature: the interruption, its
/// recording, the text as it will be signed, who filed it and who signed
/// so far; the password is asked again (R9).
fn sign_page(
    st: &ApiState,
    d: &Desk,
    s: &Station,
    id: &Identity,
    explanation: &str,
    back: String,
    wrong: bool,
) -> Result<Out, ServiceError> {
    let lang = d.lang;
    let (g, clip) = vigil_service::explanations::to_sign(s, id, explanation)?;
    let names = Names::of(s, lang)?;
    let c = clip.into_clip();
    let e = g.explanation.as_ref().ok_or_else(|| {
        ServiceError::not_found(format!("interruption {} has no explanation", g.id))
    })?;
    let when = |t: Option<&str>| {
        t.map(|t| st.zone.local(t))
            .unwrap_or_else(|| Msg::TimeUnknown.text(lang).into())
    };
    let facts = vec![
        (
            Msg::SignInterruption.text(lang).to_owned(),
            format!(
                "{} · {} · {}",
                vigil_service::printed::kind_msg(g.kind).text(lang),
                vigil_service::printed::place(&g, lang),
                when(g.wall_start.as_deref())
            ),
        ),
        (
            Msg::Recording.text(lang).to_owned(),
            format!(
                "{} · {} · {}",
                &c.path,
                names.show(c.officer.as_deref()),
                when(c.recorded_start.as_deref())
            ),
        ),
        (
            Msg::SignFiledBy.text(lang).to_owned(),
            format!(
                "{} · {}",
                Identity::user_of(&e.recorded_by),
                st.zone.local(&e.created_at)
            ),
        ),
        (
            Msg::SignSignedSoFar.text(lang).to_owned(),
            e.signatures
                .iter()
                .map(|x| {
                    format!(
                        "{} ({}) · {}",
                        x.user,
                        names.show(Some(&x.officer)),
                        st.zone.local(&x.at)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ];
    let me = names.show(id.officer.as_deref());
    Ok(Out::Page(view::render(&view::SignPage {
        chrome: chrome(st, d, Some(id), Msg::SignTitle.text(lang).into(), "home"),
        what: Msg::SignWhat.fmt(lang, &[("officer", &me)]),
        facts,
        text: e.text.clone().unwrap_or_default(),
        explanation: explanation.to_owned(),
        back,
        wrong,
    })))
}

/// `GET /desk/explanations/{explanation}/sign`: what would be signed.
pub(super) async fn sign_form(
    State(state): State<ApiState>,
    desk: Desk,
    Path(explanation): Path<String>,
    Query(q): Query<SignQuery>,
) -> Response {
    let back = safe_back(q.back.as_deref());
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        sign_page(&st, &d, s, id, &explanation, back, false)
    })
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct SignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    back: Option<String>,
}

/// `POST /desk/explanations/{explanation}/sign`: the password again, then
/// the signature; a wrong password shows the page again, nothing signed.
pub(super) async fn sign(
    State(state): State<ApiState>,
    desk: Desk,
    Path(explanation): Path<String>,
    Form(mut f): Form<SignForm>,
) -> Response {
    let back = safe_back(f.back.as_deref());
    let csrf = std::mem::take(&mut f.csrf);
    let (st, d) = (state.clone(), desk.clone());
    let peer = desk.remote.clone().unwrap_or_default();
    posted(&state, &desk, &csrf, move |s, id| {
        let admitted = vigil_service::auth::admit()?;
        if !vigil_service::auth::confirm(s, &admitted, id, &f.password, &peer, &st.policy)? {
            return sign_page(&st, &d, s, id, &explanation, back, true);
        }
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
