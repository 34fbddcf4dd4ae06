//! The desk: web pages for officers, custodians, supervisors and
//! auditors, served by vigild on its TLS listener beside the API, with the
//! same sessions, roles and service code (`vigil-service`).
//!
//! - A login sets the session in a cookie (`Secure; HttpOnly;
//!   SameSite=Strict`); every form carries a CSRF token derived from the
//!   session (SHA-256 of a fixed label and the token), checked on POST.
//!   The API's own routes never accept the cookie, only a bearer token.
//! - Every page is sent with a strict Content-Security-Policy (nothing but
//!   the station's own stylesheet, script and media), `nosniff`, no
//!   framing, no referrer, and `no-store`.
//! - The language follows the `vigil_lang` cookie (the menu sets it), else
//!   the browser's `Accept-Language`; times are the station's zone.
//! - A recording plays straight from its object with HTTP range requests
//!   (no copy); confidentiality (R17) is checked for the page and for every
//!   range, and the page view is audited (`clip.viewed`, R20).

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use sha2::Digest;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use vigil_desk as view;
use vigil_i18n::{Lang, Msg};
use vigil_service::identity::{Identity, EXPLAIN};
use vigil_service::queries::seen_clip;
use vigil_service::{Kind, ServiceError};
use vigil_store::{Clip, Gap, GapFilter, GapKind, Store};

use crate::server::{join_failed, ApiState, TlsPeer};

mod custody;
mod preview;
mod status;

pub use preview::stop_all as stop_previews;

/// The session cookie.
const SESSION: &str = "vigil_session";
/// The language cookie.
const LANG: &str = "vigil_lang";
/// Rows per page of a list.
pub const PAGE: usize = 50;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The desk's routes (merged into the API's router).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/desk/") }))
        .route("/desk", get(|| async { Redirect::to("/desk/") }))
        .route("/desk/", get(home))
        .route("/desk/login", get(login_page).post(login))
        .route("/desk/logout", post(logout))
        .route("/desk/lang/{code}", get(set_lang))
        .route("/desk/clips", get(clips))
        .route("/desk/clips/{clip}", get(clip_page))
        .route("/desk/clips/{clip}/media", get(media))
        .route("/desk/reports", get(reports))
        .route("/desk/reports/view", get(report_view))
        .route("/desk/gaps/{gap}/explain", post(explain))
        .route("/desk/gaps/{gap}/review", post(review))
        .route("/desk/explanations/{explanation}/sign", post(sign))
        .route("/desk/clips/{clip}/tag", post(custody::tag_clip))
        .route("/desk/clips/{clip}/class", post(custody::set_class))
        .route("/desk/clips/{clip}/hold", post(custody::hold))
        .route("/desk/holds/{hold}/release", post(custody::release))
        .route(
            "/desk/tagging",
            get(custody::tagging).post(custody::tag_bulk),
        )
        .route("/desk/cases", post(custody::case_event))
        .route(
            "/desk/requests",
            get(custody::requests).post(custody::new_request),
        )
        .route("/desk/requests/{request}/approve", post(custody::approve))
        .route("/desk/requests/{request}/reject", post(custody::reject))
        .route("/desk/requests/{request}/{file}", get(custody::package))
        .route("/desk/status", get(status::page))
        .route("/desk/status/events", get(status::events))
        .route(
            "/desk/static/desk.css",
            get(|| async { asset("text/css; charset=utf-8", view::CSS) }),
        )
        .route(
            "/desk/static/desk.js",
            get(|| async { asset("text/javascript; charset=utf-8", view::JS) }),
        )
        .layer(axum::middleware::map_response(secure_headers))
}

async fn secure_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    // A printed report carries its own stylesheet (a saved file stands
    // alone): exactly that one is allowed, by its hash.
    if !h.contains_key("content-security-policy") {
        h.insert("content-security-policy", HeaderValue::from_static(CSP));
    }
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Who is at the desk, as the request says: the session cookie (over TLS
/// only), the language, the page.
#[derive(Debug, Clone)]
pub struct Desk {
    token: Option<String>,
    lang: Lang,
    remote: Option<String>,
    here: String,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Desk {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let cookies = cookies(&parts.headers);
        let tls = parts
            .extensions
            .get::<ConnectInfo<TlsPeer>>()
            .map(|c| c.0.clone());
        let lang = cookies
            .iter()
            .find(|(k, _)| k == LANG)
            .and_then(|(_, v)| Lang::parse(v))
            .or_else(|| {
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .map(Lang::from_accept_language)
            })
            .unwrap_or_default();
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/desk/".into());
        Ok(Self {
            // A session counts only over TLS (the cookie is Secure).
            token: tls
                .as_ref()
                .and_then(|_| cookies.iter().find(|(k, _)| k == SESSION))
                .map(|(_, v)| v.clone()),
            lang,
            remote: tls.map(|t| t.addr.to_string()),
            here,
        })
    }
}

fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// The CSRF token of a session: it cannot be made without the session's
/// own token, which the page's script never sees (HttpOnly).
fn csrf_of(token: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"vigil-desk-csrf\0");
    h.update(token.as_bytes());
    vigil_store::objects::hex(&h.finalize())
}

fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// A form field's text, trimmed; `None` when left empty.
fn filled(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// A path to return to after a form or a language switch: only the desk's
/// own pages (never another site).
fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with("/desk/") && !b.starts_with("//") && !b.contains('\\') => {
            b.to_owned()
        }
        _ => "/desk/".into(),
    }
}

fn chrome(
    state: &ApiState,
    desk: &Desk,
    id: Option<&Identity>,
    title: String,
    nav: &'static str,
) -> view::Chrome {
    view::Chrome {
        lang: desk.lang,
        title,
        who: id.map(|id| {
            Msg::SignedInAs.fmt(
                desk.lang,
                &[
                    ("user", &id.user),
                    ("role", id.role.label().text(desk.lang)),
                ],
            )
        }),
        csrf: desk.token.as_deref().map(csrf_of).unwrap_or_default(),
        nav,
        here: encode(&desk.here),
        zone: state.zone.name().to_owned(),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn message(state: &ApiState, desk: &Desk, e: &ServiceError) -> Response {
    let (status, title) = match e.kind {
        Kind::Refused => (StatusCode::FORBIDDEN, Msg::Refused),
        Kind::NotFound => (StatusCode::NOT_FOUND, Msg::NotFound),
        Kind::BadRequest => (StatusCode::BAD_REQUEST, Msg::Refused),
        Kind::Store => (StatusCode::INTERNAL_SERVER_ERROR, Msg::Refused),
        Kind::Busy => (StatusCode::TOO_MANY_REQUESTS, Msg::Refused),
    };
    let page = view::MessagePage {
        chrome: chrome(state, desk, None, title.text(desk.lang).into(), ""),
        text: e.message.clone(),
        back: "/desk/".into(),
    };
    html(status, view::render(&page))
}

/// What a desk handler's blocking part returns.
enum Out {
    Page(String),
    Redirect(String),
    Raw(Response),
}

/// Opens the store as the session's user and runs `f`; no live session
/// sends the browser to the login page, a refusal renders a message.
async fn as_user(
    state: &ApiState,
    desk: &Desk,
    f: impl FnOnce(&mut Store, &Identity) -> Result<Out, ServiceError> + Send + 'static,
) -> Response {
    let Some(token) = desk.token.clone() else {
        return Redirect::to("/desk/login").into_response();
    };
    let root = state.store.clone();
    let run = tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&root)?;
        let id = match vigil_service::auth::identity_of(&store, &token) {
            Ok(id) => id,
            Err(e) if e.kind == Kind::Refused => return Ok(None),
            Err(e) => return Err(e),
        };
        f(&mut store, &id).map(Some)
    })
    .await;
    match run {
        Err(e) => message(state, desk, &join_failed(e).0),
        Ok(Err(e)) => message(state, desk, &e),
        Ok(Ok(None)) => Redirect::to("/desk/login").into_response(),
        Ok(Ok(Some(Out::Page(body)))) => html(StatusCode::OK, body),
        Ok(Ok(Some(Out::Redirect(to)))) => Redirect::to(&to).into_response(),
        Ok(Ok(Some(Out::Raw(r)))) => r,
    }
}

/// A form post: its CSRF token checked first, then `f` as the session's
/// user.
async fn posted(
    state: &ApiState,
    desk: &Desk,
    csrf: &str,
    f: impl FnOnce(&mut Store, &Identity) -> Result<Out, ServiceError> + Send + 'static,
) -> Response {
    match check_csrf(desk, csrf) {
        Ok(()) => as_user(state, desk, f).await,
        Err(e) => message(state, desk, &e),
    }
}

/// Checks a form's CSRF token against the session's.
fn check_csrf(desk: &Desk, given: &str) -> Result<(), ServiceError> {
    match &desk.token {
        Some(t) if !given.is_empty() && csrf_of(t) == given => Ok(()),
        _ => Err(ServiceError::refused(
            Msg::FormExpired.text(desk.lang).to_owned(),
        )),
    }
}

/// The pre-session cookie of the login form (login CSRF).
const LOGIN_COOKIE: &str = "vigil_login";

/// The login page, with a fresh pre-session token in a cookie and in the
/// form: a login is taken only when both come back, so a form on another
/// site cannot log a browser in (login CSRF).
async fn login_page(State(state): State<ApiState>, desk: Desk) -> Response {
    login_form(&state, &desk, StatusCode::OK, false, String::new())
}

fn login_form(
    state: &ApiState,
    desk: &Desk,
    status: StatusCode,
    failed: bool,
    user: String,
) -> Response {
    let Ok(token) = vigil_service::auth::random_hex(16) else {
        return message(
            state,
            desk,
            &ServiceError::store("no randomness for the login form".into()),
        );
    };
    let page = view::LoginPage {
        chrome: chrome(state, desk, None, Msg::Login.text(desk.lang).into(), ""),
        failed,
        user,
        token: token.clone(),
    };
    let cookie = format!(
        "{LOGIN_COOKIE}={token}; Path=/desk/login; Secure; HttpOnly; SameSite=Strict; Max-Age=3600"
    );
    let mut r = html(status, view::render(&page));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(serde::Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    #[serde(default)]
    login_token: String,
}

/// Why a login form did not come from this desk's own login page, if it
/// did not: the browser's `Sec-Fetch-Site` (else its `Origin`) names
/// another site, or the pre-session token did not come back in both
/// cookie and form.
fn foreign_login(headers: &HeaderMap, token: &str) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The browser's own word first (scripts cannot set it); else the
    // Origin, which a page with `Referrer-Policy: no-referrer` sends as
    // `null` (and the token still has to match).
    match header("sec-fetch-site") {
        Some(site) if !matches!(site, "same-origin" | "none") => {
            return Some(format!("Sec-Fetch-Site: {site}"))
        }
        Some(_) => {}
        None => {
            if let (Some(origin), Some(host)) = (header("origin"), header("host")) {
                if origin != "null" && origin != format!("https://{host}") {
                    return Some(format!("Origin {origin} for host {host}"));
                }
            }
        }
    }
    let returned = !token.is_empty()
        && cookies(headers)
            .iter()
            .any(|(k, v)| k == LOGIN_COOKIE && v == token);
    (!returned).then(|| "the login page's token did not come back".to_owned())
}

async fn login(
    State(state): State<ApiState>,
    desk: Desk,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let Some(peer) = desk.remote.clone() else {
        return message(
            &state,
            &desk,
            &ServiceError::bad_request("the desk is served over TLS only".into()),
        );
    };
    if let Some(why) = foreign_login(&headers, &f.login_token) {
        tracing::warn!(%peer, %why, "a login form not from this desk's login page was refused");
        return message(
            &state,
            &desk,
            &ServiceError::refused(Msg::FormExpired.text(desk.lang).to_owned()),
        );
    }
    let policy = state.policy;
    let root = state.store.clone();
    let user = f.user.clone();
    let admitted = match vigil_service::auth::admit() {
        Ok(a) => a,
        Err(e) => return message(&state, &desk, &e),
    };
    let session = tokio::task::spawn_blocking(move || {
        let mut store = Store::open(&root)?;
        vigil_service::auth::login(&mut store, &admitted, &f.user, &f.password, &peer, &policy)
    })
    .await;
    match session {
        Ok(Ok(s)) => {
            let cookie = format!(
                "{SESSION}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
                s.token, policy.session_s
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to("/desk/")).into_response()
        }
        Ok(Err(e)) if e.kind == Kind::Refused => {
            login_form(&state, &desk, StatusCode::UNAUTHORIZED, true, user)
        }
        Ok(Err(e)) => message(&state, &desk, &e),
        Err(e) => message(&state, &desk, &join_failed(e).0),
    }
}

#[derive(serde::Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(state): State<ApiState>, desk: Desk, Form(f): Form<CsrfForm>) -> Response {
    // A forged form must not even clear the cookie.
    if let Err(e) = check_csrf(&desk, &f.csrf) {
        return message(&state, &desk, &e);
    }
    let token = desk.token.clone().unwrap_or_default();
    let mut r = as_user(&state, &desk, move |s, id| {
        vigil_service::auth::logout(s, id, &token)?;
        Ok(Out::Redirect("/desk/login".into()))
    })
    .await;
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "vigil_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

#[derive(serde::Deserialize)]
struct Back {
    back: Option<String>,
}

async fn set_lang(Path(code): Path<String>, Query(q): Query<Back>) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let cookie = format!(
        "{LANG}={}; Path=/; Secure; SameSite=Strict; Max-Age=31536000",
        lang.code()
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&safe_back(q.back.as_deref())),
    )
        .into_response()
}

fn kind_label(k: GapKind, lang: Lang) -> &'static str {
    vigil_service::printed::kind_msg(k).text(lang)
}

fn status_label(status: &str, lang: Lang) -> (&'static str, &'static str) {
    match status {
        "open" => (Msg::GapOpen.text(lang), "open"),
        "awaiting_signatures" => (Msg::GapAwaiting.text(lang), "awaiting"),
        _ => (Msg::GapExplained.text(lang), "explained"),
    }
}

fn place(g: &Gap, lang: Lang) -> String {
    vigil_service::printed::place(g, lang)
}

/// Officers by id, shown as "name (id)".
#[derive(Debug, Default)]
struct Names(std::collections::HashMap<String, String>);

impl Names {
    fn of(store: &Store) -> Result<Self, ServiceError> {
        Ok(Self(
            store
                .officers()?
                .into_iter()
                .filter_map(|o| Some((o.id.clone(), format!("{} ({})", o.name?, o.id))))
                .collect(),
        ))
    }

    fn show(&self, id: Option<&str>) -> String {
        match id {
            Some(i) => self.0.get(i).cloned().unwrap_or_else(|| i.to_owned()),
            None => String::new(),
        }
    }
}

fn gap_row(g: &Gap, lang: Lang, zone: &vigil_i18n::Zone, names: &Names) -> view::Row {
    view::Row {
        href: format!("/desk/clips/{}#gap-{}", encode(&g.clip), g.id),
        cells: vec![
            g.path.clone(),
            kind_label(g.kind, lang).into(),
            place(g, lang),
            names.show(g.officer.as_deref()),
            g.wall_start
                .as_deref()
                .map(|t| zone.local(t))
                .unwrap_or_default(),
            status_label(g.status, lang).0.into(),
        ],
    }
}

fn gap_head(lang: Lang) -> Vec<String> {
    [
        Msg::File,
        Msg::Interruption,
        Msg::Where,
        Msg::Officer,
        Msg::Start,
        Msg::Status,
    ]
    .iter()
    .map(|m| m.text(lang).to_owned())
    .collect()
}

fn clip_row(c: &Clip, lang: Lang, zone: &vigil_i18n::Zone, names: &Names) -> view::Row {
    let status = if c.damaged {
        Msg::StatusDamaged
    } else if c.late_ingest {
        Msg::StatusLate
    } else {
        Msg::StatusOk
    };
    view::Row {
        href: format!("/desk/clips/{}", encode(&c.clip)),
        cells: vec![
            c.path.clone(),
            names.show(c.officer.as_deref()),
            c.device.clone().unwrap_or_default(),
            c.recorded_start
                .as_deref()
                .map(|t| zone.local(t))
                .unwrap_or_default(),
            c.duration_s
                .map(|d| format!("{d:.1} s"))
                .unwrap_or_default(),
            status.text(lang).into(),
        ],
    }
}

fn clip_head(lang: Lang) -> Vec<String> {
    [
        Msg::File,
        Msg::Officer,
        Msg::Recorder,
        Msg::Start,
        Msg::Duration,
        Msg::Status,
    ]
    .iter()
    .map(|m| m.text(lang).to_owned())
    .collect()
}

/// The queues of `id`'s role ([`vigil_service::queues`]), each its first
/// [`PAGE`] rows, as sections of the home page.
fn sections(
    store: &mut Store,
    id: &Identity,
    lang: Lang,
    zone: &vigil_i18n::Zone,
    board: &serde_json::Value,
) -> Result<Vec<view::Section>, ServiceError> {
    let now = vigil_store::now_rfc3339();
    let today = zone
        .day_utc(zone.local(&now).get(..10).unwrap_or_default())
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let q = vigil_service::queues::of(store, id, today, &now, PAGE)?;
    let names = Names::of(store)?;
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
                })
                .collect(),
        });
    }
    if let Some(clips) = &q.today {
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
                    href: if e.action.starts_with("clip.") {
                        format!("/desk/clips/{}", encode(&e.subject))
                    } else {
                        "#audit".into()
                    },
                    cells: vec![
                        e.seq.to_string(),
                        zone.local(&e.at),
                        e.actor,
                        e.action,
                        e.subject,
                    ],
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
                href: "#checkpoint".into(),
                cells: vec![
                    doc["size"].to_string(),
                    doc["root"].as_str().unwrap_or_default().to_owned(),
                    doc["key"].as_str().unwrap_or_default().to_owned(),
                ],
            }],
        });
    }
    let rows: Vec<usize> = out.iter().map(|s| s.rows.len()).collect();
    vigil_service::queues::viewed(store, id, &rows)?;
    Ok(out)
}

async fn home(State(state): State<ApiState>, desk: Desk) -> Response {
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

#[derive(Debug, Default, serde::Deserialize)]
struct ClipsQuery {
    #[serde(default)]
    officer: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    page: usize,
}

async fn clips(State(state): State<ApiState>, desk: Desk, Query(q): Query<ClipsQuery>) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let lang = d.lang;
        let bound = |date: &str, end: bool| -> Result<Option<String>, ServiceError> {
            match filled(date) {
                None => Ok(None),
                Some(d) => st
                    .zone
                    .day_utc(&d)
                    .map(|(a, b)| Some(if end { b } else { a }))
                    .map_err(|e| ServiceError::bad_request(e.to_string())),
            }
        };
        let state = match q.status.as_str() {
            "" => None,
            other => Some(vigil_store::ClipState::parse(other).ok_or_else(|| {
                ServiceError::bad_request(format!("no recording status {other:?}"))
            })?),
        };
        let filter = vigil_store::ClipFilter {
            officer: filled(&q.officer),
            device: filled(&q.device),
            site: filled(&q.site),
            case: filled(&q.case),
            category: filled(&q.category),
            late_after_h: Some(24),
            recorded_from: bound(&q.from, false)?,
            recorded_until: bound(&q.until, true)?,
            state,
            ..Default::default()
        };
        let (rows, more) = vigil_service::queries::browse(s, id, filter, q.page, PAGE)?;
        let names = Names::of(s)?;
        let shown: Vec<view::Row> = rows
            .iter()
            .map(|c| clip_row(c, lang, &st.zone, &names))
            .collect();
        let link = |page: usize| {
            let query = serde_urlencoded::to_string([
                ("officer", q.officer.as_str()),
                ("device", q.device.as_str()),
                ("site", q.site.as_str()),
                ("case", q.case.as_str()),
                ("category", q.category.as_str()),
                ("status", q.status.as_str()),
                ("from", q.from.as_str()),
                ("until", q.until.as_str()),
                ("page", &page.to_string()),
            ])
            .unwrap_or_default();
            format!("/desk/clips?{query}")
        };
        let page = view::ClipsPage {
            chrome: chrome(&st, &d, Some(id), Msg::Clips.text(lang).into(), "clips"),
            filter: view::ClipFilterView {
                officer: q.officer.clone(),
                device: q.device.clone(),
                site: q.site.clone(),
                case: q.case.clone(),
                category: q.category.clone(),
                status: q.status.clone(),
                from: q.from.clone(),
                until: q.until.clone(),
            },
            statuses: vec![
                ("", Msg::Any.text(lang)),
                ("damaged", Msg::StatusDamaged.text(lang)),
                ("late", Msg::StatusLate.text(lang)),
                ("untagged", Msg::StatusUntagged.text(lang)),
                ("open", Msg::StatusOpenGap.text(lang)),
            ],
            head: clip_head(lang),
            rows: shown,
            page_label: Msg::PageOf.fmt(lang, &[("page", &(q.page + 1).to_string())]),
            prev: (q.page > 0).then(|| link(q.page - 1)),
            next: more.then(|| link(q.page + 1)),
        };
        Ok(Out::Page(view::render(&page)))
    })
    .await
}

async fn clip_page(
    State(state): State<ApiState>,
    desk: Desk,
    Path(clip): Path<String>,
) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let lang = d.lang;
        let c = seen_clip(s, id, &clip)?;
        let gaps = s.gaps(&GapFilter {
            clip: Some(c.clip.clone()),
            ..Default::default()
        })?;
        let duration = c.duration_s.unwrap_or(0.0).max(0.0);
        let here = format!("/desk/clips/{}", encode(&c.clip));
        let names = Names::of(s)?;
        let facts = vec![
            (
                Msg::Officer.text(lang).to_owned(),
                names.show(c.officer.as_deref()),
            ),
            (
                Msg::Recorder.text(lang).to_owned(),
                c.device.clone().unwrap_or_default(),
            ),
            (
                Msg::Start.text(lang).to_owned(),
                c.recorded_start
                    .as_deref()
                    .map(|t| st.zone.local_with_offset(t))
                    .unwrap_or_default(),
            ),
            (
                Msg::Duration.text(lang).to_owned(),
                format!("{duration:.1} s"),
            ),
            (
                Msg::Status.text(lang).to_owned(),
                match &c.damage_reason {
                    Some(r) => format!("{}: {r}", Msg::StatusDamaged.text(lang)),
                    None => Msg::StatusOk.text(lang).to_owned(),
                },
            ),
            (
                Msg::Bytes.text(lang).to_owned(),
                vigil_service::reports::human_bytes(c.bytes),
            ),
            (
                Msg::Hashes.text(lang).to_owned(),
                format!("BLAKE3 {} · SHA-256 {}", c.blake3, c.sha256),
            ),
        ];
        let custody = custody::view_of(s, id, &c.clip, lang, &st.zone)?;
        let mut marks: Vec<view::Mark> = Vec::new();
        for m in gaps.iter().filter_map(|g| {
            let at = g.offset_s?;
            let x = if duration > 0.0 {
                (at / duration * 1000.0).clamp(0.0, 1000.0)
            } else {
                0.0
            };
            let w = if duration > 0.0 {
                (g.duration_s / duration * 1000.0).max(6.0)
            } else {
                6.0
            };
            Some(view::Mark {
                gap: g.id.clone(),
                x: (x - 3.0).clamp(0.0, 994.0),
                width: w.min(1000.0 - x.min(994.0)),
                seek: ((at - 2.0).max(0.0) * 10.0).round() / 10.0,
                label: format!("{} · {}", kind_label(g.kind, lang), place(g, lang)),
            })
        }) {
            // Interruptions that overlap (video and sound alike) are one
            // mark, naming each; it seeks to before the first.
            match marks
                .iter_mut()
                .find(|k| m.x < k.x + k.width && k.x < m.x + m.width)
            {
                Some(k) => {
                    let end = (k.x + k.width).max(m.x + m.width);
                    k.x = k.x.min(m.x);
                    k.width = end - k.x;
                    k.seek = k.seek.min(m.seek);
                    k.label = format!("{}\n{}", k.label, m.label);
                }
                None => marks.push(m),
            }
        }
        let start = c.recorded_start.clone();
        let axis = (0..=4)
            .map(|i| {
                let x = f64::from(i) * 250.0;
                let t = duration * f64::from(i) / 4.0;
                let label = match &start {
                    Some(s0) => s0
                        .parse::<stamp::Stamp>()
                        .map(|s0| st.zone.local_time(&s0.plus(t)))
                        .unwrap_or_else(|_| format!("{t:.0} s")),
                    None => format!("{t:.0} s"),
                };
                let anchor = match i {
                    0 => "start",
                    4 => "end",
                    _ => "middle",
                };
                (x, anchor, label)
            })
            .collect();
        let is_reviewer = vigil_service::identity::REVIEW.contains(&id.role);
        let may_explain = EXPLAIN.contains(&id.role) && id.officer.is_some();
        let views = gaps
            .iter()
            .map(|g| {
                let (status, class) = status_label(g.status, lang);
                let explanation = g.explanation.as_ref().map(|e| view::ExplanationView {
                    text: match (&e.text, e.at_s) {
                        (Some(t), _) => t.clone(),
                        (None, Some(at)) => format!("({}: {at:.1} s)", e.kind),
                        _ => String::new(),
                    },
                    // The actor as logged names the session too; the
                    // page names the person.
                    filed: Msg::FiledBy.fmt(
                        lang,
                        &[
                            (
                                "who",
                                e.recorded_by.split(" (").next().unwrap_or(&e.recorded_by),
                            ),
                            ("at", &st.zone.local(&e.created_at)),
                        ],
                    ),
                    signers: e
                        .signatures
                        .iter()
                        .map(|s| format!("{} ({})", s.user, s.officer))
                        .collect(),
                    review: e.reviewed_by.as_ref().map(|who| {
                        let verdict = match e.review.as_deref() {
                            Some("rejected") => Msg::VerdictRejected.text(lang),
                            _ => Msg::VerdictAccepted.text(lang),
                        };
                        Msg::ReviewedBy.fmt(lang, &[("who", who), ("verdict", verdict)])
                    }),
                });
                let can_sign = match (&id.officer, &g.explanation) {
                    (Some(me), Some(e))
                        if g.status == "awaiting_signatures"
                            && !e.signatures.iter().any(|s| &s.officer == me) =>
                    {
                        Some(e.id.clone())
                    }
                    _ => None,
                };
                let history = history_lines(s, &g.id, lang, &st.zone)?;
                Ok(view::GapView {
                    history,
                    id: g.id.clone(),
                    kind: kind_label(g.kind, lang).into(),
                    place: place(g, lang),
                    status: status.into(),
                    status_class: class,
                    seek: g
                        .offset_s
                        .map(|at| ((at - 2.0).max(0.0) * 10.0).round() / 10.0),
                    seek_label: Msg::PlayBefore.text(lang).to_owned(),
                    explanation,
                    can_explain: may_explain && g.status == "open",
                    can_sign,
                    can_review: is_reviewer && g.explanation.is_some(),
                })
            })
            .collect::<Result<Vec<_>, ServiceError>>()?;
        s.record_read(
            &id.actor(),
            "clip.viewed",
            &c.clip,
            &serde_json::json!({"desk": true}),
        )?;
        let page = view::ClipPage {
            chrome: chrome(&st, &d, Some(id), c.path.clone(), "clips"),
            clip: view::ClipView {
                path: c.path.clone(),
                facts,
                media: format!("{here}/media"),
                id: c.clip.clone(),
                preview: preview::needed(s, &c)?.is_some(),
                duration,
                here,
            },
            marks,
            axis,
            gaps: views,
            custody,
        };
        Ok(Out::Page(view::render(&page)))
    })
    .await
}

/// The media type a recording is served as, from its original name.
fn media_type(path: &str) -> &'static str {
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "ts" => "video/mp2t",
        "avi" => "video/x-msvideo",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

#[derive(serde::Deserialize)]
struct MediaQuery {
    download: Option<String>,
    preview: Option<String>,
}

/// A gap's explanations and reviews, oldest first, in words; empty when
/// there is only the current explanation, unreviewed.
fn history_lines(
    store: &Store,
    gap: &str,
    lang: Lang,
    zone: &vigil_i18n::Zone,
) -> Result<Vec<String>, ServiceError> {
    let all = store.explanation_history(gap)?;
    if all.len() < 2 && all.iter().all(|(_, r)| r.is_empty()) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (e, reviews) in all {
        let what = match (&e.text, e.at_s) {
            (Some(t), _) => t.clone(),
            (None, Some(at)) => Msg::Spoken.fmt(lang, &[("at", &format!("{at:.1}"))]),
            _ => String::new(),
        };
        let who = e.recorded_by.split(" (").next().unwrap_or(&e.recorded_by);
        out.push(format!(
            "{}: {what}",
            Msg::FiledBy.fmt(lang, &[("who", who), ("at", &zone.local(&e.created_at))])
        ));
        for r in reviews {
            let verdict = match r.verdict.as_str() {
                "rejected" => Msg::VerdictRejected.text(lang),
                _ => Msg::VerdictAccepted.text(lang),
            };
            let mut line = format!(
                "{} · {}",
                Msg::ReviewedBy.fmt(lang, &[("who", &r.reviewer), ("verdict", verdict)]),
                zone.local(&r.at)
            );
            if let Some(n) = r.note.filter(|n| !n.is_empty()) {
                line = format!("{line}: {n}");
            }
            out.push(line);
        }
    }
    Ok(out)
}

async fn media(
    State(state): State<ApiState>,
    desk: Desk,
    Path(clip): Path<String>,
    Query(q): Query<MediaQuery>,
    req: axum::extract::Request,
) -> Response {
    let download = q.download.is_some();
    let (parts, _) = req.into_parts();
    // Set when this request is dropped (the viewer went away): a preview
    // being made for it is stopped.
    let gone = Arc::new(AtomicBool::new(false));
    let _on_drop = SetOnDrop(gone.clone());
    as_user(&state, &desk, move |s, id| {
        let c = seen_clip(s, id, &clip)?;
        if download {
            s.record_read(
                &id.actor(),
                "clip.downloaded",
                &c.clip,
                &serde_json::json!({"desk": true}),
            )?;
        } else if new_viewing(&id.actor(), &c.clip) {
            // The player's bytes are evidence read by a person too (R16,
            // R20): audited once per viewing, not per range request.
            s.record_read(
                &id.actor(),
                "clip.played",
                &c.clip,
                &serde_json::json!({"desk": true, "preview": q.preview.is_some()}),
            )?;
        }
        let path = s.objects().object_path(&c.blake3);
        if q.preview.is_some() && !download {
            // A transcoded copy, kept outside the store; never the evidence,
            // and only for a recording that needs one.
            let Some(source) = preview::needed(s, &c)? else {
                return Err(ServiceError::bad_request(format!(
                    "recording {} plays as it is: it has no preview",
                    c.clip
                )));
            };
            let copy = preview::make(&path, &c.blake3, &source, &gone)?;
            return Ok(Out::Raw(serve_range(
                &copy,
                "video/mp4",
                &parts.headers,
                None,
                &id.user,
            )));
        }
        let name = vigil_service::export::safe(c.path.rsplit('/').next().unwrap_or("recording"));
        Ok(Out::Raw(serve_range(
            &path,
            media_type(&c.path),
            &parts.headers,
            download.then_some(name),
            &id.user,
        )))
    })
    .await
}

/// How long one viewing of a recording lasts: range requests for the same
/// recording by the same session within it are the same viewing.
const VIEWING: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// Whether `actor` (a desk session) reading `clip`'s bytes now starts a new
/// viewing: the first request, or the first after [`VIEWING`] without one.
fn new_viewing(actor: &str, clip: &str) -> bool {
    static SEEN: std::sync::Mutex<Option<HashMap<(String, String), std::time::Instant>>> =
        std::sync::Mutex::new(None);
    let now = std::time::Instant::now();
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seen = seen.get_or_insert_with(HashMap::new);
    seen.retain(|_, at| now.duration_since(*at) < VIEWING);
    let key = (actor.to_owned(), clip.to_owned());
    let new = !seen.contains_key(&key);
    seen.insert(key, now);
    new
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How many evidence bodies one user may have streaming at once: a player
/// asks for a few ranges side by side; more is a download loop.
const STREAMS_PER_USER: usize = 8;

/// A user's place among the bodies streaming now; given back when the
/// body is done or dropped.
struct StreamSlot(String);

impl StreamSlot {
    fn streaming() -> &'static std::sync::Mutex<HashMap<String, usize>> {
        static NOW: std::sync::OnceLock<std::sync::Mutex<HashMap<String, usize>>> =
            std::sync::OnceLock::new();
        NOW.get_or_init(Default::default)
    }

    /// A slot for `user`, unless they have [`STREAMS_PER_USER`] already.
    fn take(user: &str) -> Option<Self> {
        let mut now = Self::streaming()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = now.entry(user.to_owned()).or_default();
        if *n >= STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(Self(user.to_owned()))
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut now = Self::streaming()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = now.get_mut(&self.0) {
            *n -= 1;
            if *n == 0 {
                now.remove(&self.0);
            }
        }
    }
}

/// Serves `path` to `user` with HTTP range requests (RFC 9110 §14): one
/// range, or the whole file. The body streams from the file in 64 KiB
/// chunks: memory does not grow with the file, and a user has at most
/// [`STREAMS_PER_USER`] bodies streaming at once (429 past that).
fn serve_range(
    path: &std::path::Path,
    kind: &'static str,
    headers: &HeaderMap,
    attachment: Option<String>,
    user: &str,
) -> Response {
    use std::io::{Seek, SeekFrom};
    use tokio::io::AsyncReadExt as _;
    use tokio_stream::StreamExt as _;
    let Ok(mut f) = std::fs::File::open(path) else {
        return (
            StatusCode::NOT_FOUND,
            "the object is missing (run `vigil verify`)",
        )
            .into_response();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|r| {
            let (a, b) = r.split(',').next()?.trim().split_once('-')?;
            let (start, end) = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
                (Some(s), Some(e)) => (s, e.min(len.saturating_sub(1))),
                (Some(s), None) => (s, len.saturating_sub(1)),
                (None, Some(n)) => (len.saturating_sub(n), len.saturating_sub(1)),
                (None, None) => return None,
            };
            Some((start, end))
        });
    let (status, start, end) = match range {
        Some((s, e)) if s <= e && s < len => (StatusCode::PARTIAL_CONTENT, s, e),
        Some(_) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response()
        }
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    // At most 8 MiB a response: a player asks again for the rest.
    let count = if status == StatusCode::PARTIAL_CONTENT {
        count.min(8 << 20)
    } else {
        count
    };
    let end = start + count.saturating_sub(1);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the object cannot be read",
        )
            .into_response();
    }
    let Some(slot) = StreamSlot::take(user) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "5")],
            format!("{user} has {STREAMS_PER_USER} recordings streaming already: wait for one to finish"),
        )
            .into_response();
    };
    let chunks = tokio_util::io::ReaderStream::with_capacity(
        tokio::fs::File::from_std(f).take(count),
        64 << 10,
    )
    .map(move |chunk| {
        let _held = &slot;
        chunk
    });
    let mut resp = (status, axum::body::Body::from_stream(chunks)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    if let Some(name) = attachment {
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    resp
}

#[derive(serde::Deserialize)]
struct ExplainForm {
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

async fn explain(
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
        vigil_service::explanations::explain(s, id, &gap, &how)?;
        Ok(Out::Redirect(format!("{back}#gap-{gap}")))
    })
    .await
}

async fn sign(
    State(state): State<ApiState>,
    desk: Desk,
    Path(explanation): Path<String>,
    Form(mut f): Form<ExplainForm>,
) -> Response {
    let back = safe_back(f.back.as_deref());
    let csrf = std::mem::take(&mut f.csrf);
    posted(&state, &desk, &csrf, move |s, id| {
        vigil_service::explanations::sign(s, id, &explanation)?;
        Ok(Out::Redirect(back))
    })
    .await
}

#[derive(serde::Deserialize)]
struct ReviewForm {
    #[serde(default)]
    csrf: String,
    verdict: String,
    note: Option<String>,
    back: Option<String>,
}

async fn review(
    State(state): State<ApiState>,
    desk: Desk,
    Path(gap): Path<String>,
    Form(mut f): Form<ReviewForm>,
) -> Response {
    let back = safe_back(f.back.as_deref());
    let csrf = std::mem::take(&mut f.csrf);
    posted(&state, &desk, &csrf, move |s, id| {
        vigil_service::explanations::review(
            s,
            id,
            &gap,
            &vigil_service::explanations::Review {
                verdict: f.verdict,
                note: f.note.filter(|n| !n.trim().is_empty()),
            },
        )?;
        Ok(Out::Redirect(format!("{back}#gap-{gap}")))
    })
    .await
}

/// Adding seconds to an RFC 3339 time, for the timeline's axis.
mod stamp {
    /// A UTC instant.
    pub struct Stamp(time::OffsetDateTime);

    impl std::str::FromStr for Stamp {
        type Err = time::error::Parse;
        fn from_str(s: &str) -> Result<Self, Self::Err> {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map(Self)
        }
    }

    impl Stamp {
        /// `secs` later, as RFC 3339.
        pub fn plus(&self, secs: f64) -> String {
            let t = time::Duration::checked_seconds_f64(secs)
                .and_then(|d| self.0.checked_add(d))
                .unwrap_or(self.0);
            vigil_store::rfc3339(t)
        }
    }
}

async fn reports(State(state): State<ApiState>, desk: Desk) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |_, id| {
        let today = st.zone.local(&vigil_store::now_rfc3339());
        let today = today.get(..10).unwrap_or_default().to_owned();
        let lang = d.lang;
        Ok(Out::Page(view::render(&view::ReportsPage {
            chrome: chrome(&st, &d, Some(id), Msg::Reports.text(lang).into(), "reports"),
            kinds: vec![
                ("ingest", Msg::ReportIngest.text(lang)),
                ("gaps", Msg::ReportGaps.text(lang)),
                ("stats", Msg::ReportStats.text(lang)),
            ],
            from: today.clone(),
            until: today,
        })))
    })
    .await
}

#[derive(serde::Deserialize)]
struct ReportForm {
    kind: String,
    from: String,
    until: String,
}

/// The CSP of a printed report: the desk's, with its inline stylesheet
/// allowed by hash.
fn report_csp() -> &'static str {
    static CSP_REPORT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP_REPORT.get_or_init(|| {
        use base64::Engine as _;
        let hash = sha2::Sha256::digest(view::REPORT_CSS.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(hash);
        CSP.replace("style-src 'self'", &format!("style-src 'sha256-{b64}'"))
    })
}

async fn report_view(
    State(state): State<ApiState>,
    desk: Desk,
    Query(f): Query<ReportForm>,
) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let (since, _) = st
            .zone
            .day_utc(&f.from)
            .map_err(|e| ServiceError::bad_request(e.to_string()))?;
        let (_, until) = st
            .zone
            .day_utc(&f.until)
            .map_err(|e| ServiceError::bad_request(e.to_string()))?;
        let q = vigil_service::reports::ReportQuery {
            since: Some(since),
            until: Some(until),
            format: Some("html".into()),
            lang: Some(d.lang.code().to_owned()),
        };
        let r = vigil_service::reports::report(s, id, &f.kind, &q, &st.zone)?;
        let mut resp = html(StatusCode::OK, r.text);
        if let Ok(v) = HeaderValue::from_str(report_csp()) {
            resp.headers_mut().insert("content-security-policy", v);
        }
        Ok(Out::Raw(resp))
    })
    .await
}
