//! The custodian's desk: a clip's tag, retention class and
//! holds (R6, R11, R13); tagging many clips at once and case events (R12);
//! retrieval requests, their approval or refusal with a reason, and the
//! approved package downloaded as tar or as a disc image (R14, R16). Every
//! form posts to the same `vigil-service` function the CLI and the API
//! call, so roles, checks and audit rows are theirs.

use axum::extract::{Form, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use vigil_desk as view;
use vigil_i18n::{Lang, Msg};
use vigil_service::custody::{self, CLASSES, REASONS};
use vigil_service::identity::Identity;
use vigil_service::tagging as custody_tag;
use vigil_service::ServiceError;
use vigil_service::Station;
use vigil_service::{op, ops};

use view::custody::{class_label, hold_label};

use super::page::{
    as_user, chrome, clip_head, clip_row, encode, filled, posted, safe_back, Desk, Names, Out,
    SKIPPED_SHOWN,
};
use crate::context::ApiState;

/// A clip's tag, classes and holds for its page.
pub(super) fn view_of(
    store: &Station,
    id: &Identity,
    clip: &vigil_service::queries::Seen,
    lang: Lang,
    zone: &vigil_i18n::Zone,
) -> Result<view::CustodyView, ServiceError> {
    let vigil_service::model::Custody {
        tag,
        classes,
        holds,
    } = vigil_service::queries::custody_of(store, clip)?;
    let may_hold = vigil_service::op::may::<vigil_service::ops::Hold>(id);
    Ok(view::CustodyView {
        may_tag: vigil_service::op::may::<vigil_service::ops::Tag>(id),
        may_hold,
        site: tag.site.unwrap_or_default(),
        case: tag.case.unwrap_or_default(),
        category: tag.category.unwrap_or_default(),
        note: tag.note.unwrap_or_default(),
        classes: classes
            .iter()
            .map(|c| class_label(c, lang).to_owned())
            .collect(),
        class_choices: CLASSES.iter().map(|c| (*c, class_label(c, lang))).collect(),
        hold_choices: REASONS.iter().map(|r| (*r, hold_label(r, lang))).collect(),
        holds: holds
            .into_iter()
            .map(|h| view::HoldView {
                text: view::custody::hold_text(&h, lang, zone),
                release: (may_hold && h.released_at.is_none()).then_some(h.id),
            })
            .collect(),
    })
}

#[derive(serde::Deserialize)]
pub(super) struct TagForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    officer: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

impl TagForm {
    fn request(&self) -> custody_tag::TagRequest {
        custody_tag::TagRequest {
            site: filled(&self.site),
            case: filled(&self.case),
            category: filled(&self.category),
            note: filled(&self.note),
            ..Default::default()
        }
    }
}

/// `POST /desk/clips/{clip}/tag`.
pub(super) async fn tag_clip(
    State(state): State<ApiState>,
    desk: Desk,
    Path(clip): Path<String>,
    Form(f): Form<TagForm>,
) -> Response {
    let back = format!("/desk/clips/{}#tag", encode(&clip));
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        let mut r = f.request();
        r.clips = vec![clip];
        op::call::<ops::Tag>(s, id, (), r)?;
        Ok(Out::Redirect(back))
    })
    .await
}

/// `GET /desk/tagging`: bulk tagging and case events.
pub(super) async fn tagging(State(state): State<ApiState>, desk: Desk) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let names = Names::of(s, d.lang)?;
        let officers = vigil_service::queries::officers(s)?
            .into_iter()
            .map(|o| {
                let shown = names.show(Some(&o.id));
                (o.id, shown)
            })
            .collect();
        Ok(Out::Page(view::render(&view::TaggingPage {
            chrome: chrome(
                &st,
                &d,
                Some(id),
                Msg::Tagging.text(d.lang).into(),
                "tagging",
            ),
            officers,
            may_case: vigil_service::op::may::<vigil_service::ops::Case>(id),
        })))
    })
    .await
}

/// `POST /desk/tagging`: every clip of an officer recorded in the local
/// dates `[from, until]`.
pub(super) async fn tag_bulk(
    State(state): State<ApiState>,
    desk: Desk,
    Form(f): Form<TagForm>,
) -> Response {
    let zone = state.zone.clone();
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        let day = |d: &str| {
            zone.day_utc(d)
                .map_err(|e| ServiceError::bad_request(e.to_string()))
        };
        let mut r = f.request();
        r.officer = filled(&f.officer);
        r.from = Some(day(&f.from)?.0);
        r.to = Some(day(&f.until)?.1);
        let done = op::call::<ops::Tag>(s, id, (), r)?;
        // What was skipped goes with the list: the first recordings by id
        // (the page names each), and how many in all.
        let skipped: Vec<&str> = done["skipped"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["clip"].as_str())
            .collect();
        Ok(Out::Redirect(format!(
            "/desk/clips?officer={}&from={}&until={}&tagged={}&skipped={}&skipped_n={}",
            encode(&f.officer),
            encode(&f.from),
            encode(&f.until),
            done["tagged"],
            encode(
                &skipped
                    .iter()
                    .take(SKIPPED_SHOWN)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            skipped.len()
        )))
    })
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct CaseForm {
    #[serde(default)]
    csrf: String,
    case: String,
    #[serde(default)]
    closed: String,
    #[serde(default)]
    filed: String,
}

/// `POST /desk/cases`: a case closed or filed on a local date.
pub(super) async fn case_event(
    State(state): State<ApiState>,
    desk: Desk,
    Form(f): Form<CaseForm>,
) -> Response {
    let zone = state.zone.clone();
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        let at = |d: &str| -> Result<Option<String>, ServiceError> {
            filled(d)
                .map(|d| {
                    zone.day_utc(&d)
                        .map(|(a, _)| a)
                        .map_err(|e| ServiceError::bad_request(e.to_string()))
                })
                .transpose()
        };
        op::call::<ops::Case>(
            s,
            id,
            (),
            custody::CaseEvent {
                case: f.case.trim().to_owned(),
                closed_at: at(&f.closed)?,
                filed_at: at(&f.filed)?,
            },
        )?;
        Ok(Out::Redirect(format!(
            "/desk/clips?case={}",
            encode(f.case.trim())
        )))
    })
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct ClassForm {
    #[serde(default)]
    csrf: String,
    class: String,
}

/// `POST /desk/clips/{clip}/class`.
pub(super) async fn set_class(
    State(state): State<ApiState>,
    desk: Desk,
    Path(clip): Path<String>,
    Form(f): Form<ClassForm>,
) -> Response {
    let back = format!("/desk/clips/{}#custody", encode(&clip));
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        op::call::<ops::Retain>(
            s,
            id,
            (),
            custody::Retain {
                clips: vec![clip],
                class: f.class,
            },
        )?;
        Ok(Out::Redirect(back))
    })
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct HoldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    back: Option<String>,
}

/// `POST /desk/clips/{clip}/hold`.
pub(super) async fn hold(
    State(state): State<ApiState>,
    desk: Desk,
    Path(clip): Path<String>,
    Form(f): Form<HoldForm>,
) -> Response {
    let back = format!("/desk/clips/{}#custody", encode(&clip));
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        op::call::<ops::Hold>(
            s,
            id,
            (),
            custody::Hold {
                clips: vec![clip],
                reason: f.reason,
                note: filled(&f.note),
            },
        )?;
        Ok(Out::Redirect(back))
    })
    .await
}

/// `POST /desk/holds/{hold}/release`.
pub(super) async fn release(
    State(state): State<ApiState>,
    desk: Desk,
    Path(hold): Path<i64>,
    Form(f): Form<HoldForm>,
) -> Response {
    let back = format!("{}#custody", safe_back(f.back.as_deref()));
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        op::call::<ops::Release>(s, id, hold, op::Empty {})?;
        Ok(Out::Redirect(back))
    })
    .await
}

/// `GET /desk/requests`: the newest requests, with what the reader may do.
/// A request as the list and its page show it.
fn request_view(
    r: &vigil_service::model::Request,
    id: &Identity,
    lang: Lang,
    zone: &vigil_i18n::Zone,
) -> view::RequestView {
    let (state, class) = match (&r.approved_by, &r.rejected_by) {
        (Some(who), _) => (Msg::ReqApproved.fmt(lang, &[("who", who)]), "approved"),
        (None, Some(who)) => (
            Msg::ReqRejected.fmt(
                lang,
                &[
                    ("who", who),
                    ("why", r.reject_reason.as_deref().unwrap_or("")),
                ],
            ),
            "rejected",
        ),
        (None, None) => (Msg::ReqPending.text(lang).to_owned(), "pending"),
    };
    view::RequestView {
        may_decide: !r.decided()
            && vigil_service::op::may::<vigil_service::ops::Approve>(id)
            && r.requester != id.user,
        may_export: class == "approved" && vigil_service::op::may::<vigil_service::ops::Export>(id),
        at: zone.local(&r.created_at),
        case: r.case.clone().unwrap_or_default(),
        clips: r.clips.len(),
        outsider: r.outsider.clone().unwrap_or_default(),
        state,
        state_class: class,
        id: r.id.clone(),
        requester: r.requester.clone(),
        reason: r.reason.clone(),
    }
}

pub(super) async fn requests(State(state): State<ApiState>, desk: Desk) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let lang = d.lang;
        let rows = vigil_service::custody::request_list(s, id)?
            .into_iter()
            .map(|r| request_view(&r, id, lang, &st.zone))
            .collect();
        Ok(Out::Page(view::render(&view::RequestsPage {
            chrome: chrome(
                &st,
                &d,
                Some(id),
                Msg::Requests.text(lang).into(),
                "requests",
            ),
            rows,
        })))
    })
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    clip: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    outsider: String,
}

/// `POST /desk/requests`: a retrieval of one clip or of a case's clips.
pub(super) async fn new_request(
    State(state): State<ApiState>,
    desk: Desk,
    Form(f): Form<RequestForm>,
) -> Response {
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        let done = op::call::<ops::Request>(
            s,
            id,
            (),
            custody::NewRequest {
                clips: filled(&f.clip).into_iter().collect(),
                case: filled(&f.case),
                reason: f.reason.trim().to_owned(),
                outsider: filled(&f.outsider),
            },
        )?;
        Ok(Out::Redirect(format!(
            "/desk/requests#req-{}",
            done["request"].as_str().unwrap_or_default()
        )))
    })
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    /// The approver ticked that they checked what the request releases.
    #[serde(default)]
    confirmed: String,
}

/// `GET /desk/requests/{request}`: the request, what it would release
/// (each recording by name, officer, recorder and time, with a link), and
/// for one who may decide it the approval (confirmed) and the turning down.
pub(super) async fn request_page(
    State(state): State<ApiState>,
    desk: Desk,
    Path(r): Path<String>,
) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let lang = d.lang;
        let rel = vigil_service::custody::what_it_releases(s, id, &r)?;
        let names = Names::of(s, lang)?;
        let listed = vigil_service::queries::listed(s, rel.clips)?;
        let req = request_view(&rel.request, id, lang, &st.zone);
        let to = if req.outsider.is_empty() {
            Msg::ReleaseNobody.text(lang).to_owned()
        } else {
            req.outsider.clone()
        };
        Ok(Out::Page(view::render(&view::RequestPage {
            chrome: chrome(
                &st,
                &d,
                Some(id),
                Msg::RequestTitle1.fmt(lang, &[("id", &rel.request.id)]),
                "requests",
            ),
            release_title: Msg::ReleaseTitle.fmt(lang, &[("n", &listed.len().to_string())]),
            head: clip_head(lang),
            rows: listed
                .iter()
                .map(|c| clip_row(c, lang, &st.zone, &names))
                .collect(),
            hidden: (rel.hidden > 0)
                .then(|| Msg::ReleaseHidden.fmt(lang, &[("n", &rel.hidden.to_string())])),
            confirm: Msg::ReleaseConfirm.fmt(lang, &[("to", &to)]),
            request: req,
        })))
    })
    .await
}

/// `POST /desk/requests/{request}/approve`.
pub(super) async fn approve(
    State(state): State<ApiState>,
    desk: Desk,
    Path(r): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        if f.confirmed.is_empty() {
            return Err(ServiceError::bad_request(format!(
                "request {r} was not approved: approving needs the confirmation that the recordings it releases were checked"
            )));
        }
        op::call::<ops::Approve>(s, id, r.clone(), op::Empty {})?;
        Ok(Out::Redirect(format!("/desk/requests#req-{r}")))
    })
    .await
}

/// `POST /desk/requests/{request}/reject`, with the reason.
pub(super) async fn reject(
    State(state): State<ApiState>,
    desk: Desk,
    Path(r): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    posted(&state, &desk, &f.csrf.clone(), move |s, id| {
        op::call::<ops::Reject>(s, id, r.clone(), custody::Rejection { reason: f.reason })?;
        Ok(Out::Redirect(format!("/desk/requests#req-{r}")))
    })
    .await
}

/// `GET /desk/requests/{request}/package.tar`: the approved package as the
/// API streams it (every check before the first byte; a stream that breaks
/// off is not a package). `package.iso`: the same, imaged by xorriso in a
/// temporary directory outside the store, then sent.
pub(super) async fn package(
    State(state): State<ApiState>,
    desk: Desk,
    Path((r, file)): Path<(String, String)>,
) -> Response {
    let iso = match file.as_str() {
        "package.tar" => false,
        "package.iso" => true,
        _ => {
            return super::page::message(
                &state,
                &desk,
                &ServiceError::not_found(format!("no {file:?}: package.tar or package.iso")),
            )
        }
    };
    let zone = state.zone.clone();
    as_user(&state, &desk, move |s, id| {
        let plan = ops::Export::prepare(s, id, &r)?;
        let name = format!(
            "{}.{}",
            vigil_service::export::safe(&r),
            if iso { "iso" } else { "tar" }
        );
        let disposition = format!("attachment; filename=\"{name}\"");
        if iso {
            let work = tempfile::Builder::new()
                .prefix("vigil-iso-")
                .tempdir()
                .map_err(|e| ServiceError::bad_request(format!("a temporary directory: {e}")))?;
            let image = vigil_service::export::iso_in(s, id, &plan, &zone, work.path())?;
            let file = std::fs::File::open(&image)
                .map_err(|e| ServiceError::bad_request(format!("reading the image: {e}")))?;
            // Sent 64 KiB at a time; the directory goes once it is sent.
            let (tx, rx) = tokio::sync::mpsc::channel(16);
            std::thread::spawn(move || {
                let _work = work;
                send_file(file, &tx);
            });
            let body =
                axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
            return Ok(Out::Raw(
                (
                    [
                        (
                            header::CONTENT_TYPE,
                            "application/x-iso9660-image".to_owned(),
                        ),
                        (header::CONTENT_DISPOSITION, disposition),
                    ],
                    body,
                )
                    .into_response(),
            ));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let (root, who) = (s.root().to_owned(), id.clone());
        std::thread::spawn(move || {
            let mut out = crate::export::ChannelWriter::new(tx.clone());
            let done = Station::open(&root, vigil_service::Opening::Normal)
                .map_err(ServiceError::from)
                .and_then(|mut store| {
                    vigil_service::export::write(&mut store, &who, &plan, &zone, &mut out)
                });
            let done = done.and_then(|_| {
                std::io::Write::flush(&mut out)
                    .map_err(|e| ServiceError::bad_request(format!("sending the package: {e}")))
            });
            if let Err(e) = done {
                tracing::warn!(request = plan.request(), error = %e, "desk export stopped");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        });
        let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
        Ok(Out::Raw(
            (
                [
                    (header::CONTENT_TYPE, "application/x-tar".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                body,
            )
                .into_response(),
        ))
    })
    .await
}

/// Sends `file` into the response body `tx` in 64 KiB chunks; a read error
/// breaks the response off.
fn send_file(mut file: std::fs::File, tx: &crate::context::BodyTx) {
    use std::io::Read as _;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let chunk = axum::body::Bytes::copy_from_slice(&buf[..n]);
                if tx.blocking_send(Ok(chunk)).is_err() {
                    return; // the client went away
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        }
    }
}
