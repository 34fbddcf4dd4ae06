//! What every desk page shares: the session extractor, the CSRF token,
//! the page chrome and messages, running a page as the session's user, and
//! the rows and labels of interruptions and recordings.

pub(super) use axum::extract::{ConnectInfo, Form, Path, Query, State};
pub(super) use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
pub(super) use axum::response::{IntoResponse, Redirect, Response};
pub(super) use sha2::Digest;
pub(super) use std::collections::HashMap;
pub(super) use std::sync::atomic::AtomicBool;
pub(super) use std::sync::Arc;
pub(super) use vigil_desk as view;
pub(super) use vigil_i18n::{Lang, Msg};
pub(super) use vigil_service::identity::Identity;
pub(super) use vigil_service::model::{Gap, GapKind};
pub(super) use vigil_service::queries::{seen_clip, Seen};
pub(super) use vigil_service::Station;
pub(super) use vigil_service::{Kind, ServiceError};

pub(super) use crate::context::{join_failed, ApiState, TlsPeer};

/// The session cookie.
pub(super) const SESSION: &str = "vigil_session";
/// The language cookie.
pub(super) const LANG: &str = "vigil_lang";
/// Rows per page of a list.
pub const PAGE: usize = 50;

pub(super) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Who is at the desk, as the request says: the session cookie (over TLS
/// only), the language, the page.
#[derive(Debug, Clone)]
pub struct Desk {
    pub(super) token: Option<String>,
    pub(super) lang: Lang,
    pub(super) remote: Option<String>,
    pub(super) here: String,
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

pub(super) fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
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
pub(super) fn csrf_of(token: &str) -> String {
    let mut h = sha2::Sha256::new();
    h.update(b"vigil-desk-csrf\0");
    h.update(token.as_bytes());
    vigil_service::model::hex(&h.finalize())
}

pub(super) fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// A local date from a form (`2026-11-20`) as the UTC start of that day in
/// the station's `zone`, or with `end` the start of the next; `None` when
/// left empty.
pub(super) fn day_bound(
    zone: &vigil_i18n::Zone,
    date: &str,
    end: bool,
) -> Result<Option<String>, ServiceError> {
    match filled(date) {
        None => Ok(None),
        Some(day) => zone
            .day_utc(&day)
            .map(|(a, b)| Some(if end { b } else { a }))
            .map_err(|e| ServiceError::bad_request(e.to_string())),
    }
}

/// A form field's text, trimmed; `None` when left empty.
pub(super) fn filled(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_owned())
}

/// A path to return to after a form or a language switch: only the desk's
/// own pages (never another site).
pub(super) fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with("/desk/") && !b.starts_with("//") && !b.contains('\\') => {
            b.to_owned()
        }
        _ => "/desk/".into(),
    }
}

pub(super) fn chrome(
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
        audit: id.is_some_and(vigil_service::op::may::<vigil_service::ops::Audit>),
    }
}

pub(super) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(super) fn message(state: &ApiState, desk: &Desk, e: &ServiceError) -> Response {
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
pub(super) enum Out {
    Page(String),
    Redirect(String),
    Raw(Response),
}

/// Opens the store as the session's user and runs `f`; no live session
/// sends the browser to the login page, a refusal renders a message.
pub(super) async fn as_user(
    state: &ApiState,
    desk: &Desk,
    f: impl FnOnce(&mut Station, &Identity) -> Result<Out, ServiceError> + Send + 'static,
) -> Response {
    let Some(token) = desk.token.clone() else {
        return Redirect::to("/desk/login").into_response();
    };
    let stations = std::sync::Arc::clone(&state.stations);
    let run = tokio::task::spawn_blocking(move || {
        let mut store = stations.lend()?;
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
pub(super) async fn posted(
    state: &ApiState,
    desk: &Desk,
    csrf: &str,
    f: impl FnOnce(&mut Station, &Identity) -> Result<Out, ServiceError> + Send + 'static,
) -> Response {
    match check_csrf(desk, csrf) {
        Ok(()) => as_user(state, desk, f).await,
        Err(e) => message(state, desk, &e),
    }
}

/// Checks a form's CSRF token against the session's.
pub(super) fn check_csrf(desk: &Desk, given: &str) -> Result<(), ServiceError> {
    match &desk.token {
        Some(t) if !given.is_empty() && csrf_of(t) == given => Ok(()),
        _ => Err(ServiceError::refused(
            Msg::FormExpired.text(desk.lang).to_owned(),
        )),
    }
}

pub(super) fn kind_label(k: GapKind, lang: Lang) -> &'static str {
    vigil_service::printed::kind_msg(k).text(lang)
}

pub(super) fn status_label(status: &str, lang: Lang) -> (&'static str, &'static str) {
    match status {
        "open" => (Msg::GapOpen.text(lang), "open"),
        "awaiting_signatures" => (Msg::GapAwaiting.text(lang), "awaiting"),
        _ => (Msg::GapExplained.text(lang), "explained"),
    }
}

pub(super) fn place(g: &Gap, lang: Lang) -> String {
    vigil_service::printed::place(g, lang)
}

/// How many recordings a bulk action's result names on the list it
/// returns to (the count says how many in all).
pub(super) const SKIPPED_SHOWN: usize = 20;

/// Officers by id, shown as "name (id)" ("name（id）" in Chinese text).
#[derive(Debug, Default)]
pub(super) struct Names(std::collections::HashMap<String, String>);

impl Names {
    pub(super) fn of(store: &Station, lang: Lang) -> Result<Self, ServiceError> {
        Ok(Self(
            vigil_service::queries::officers(store)?
                .into_iter()
                .filter_map(|o| {
                    let shown = Msg::NameNumber.fmt(lang, &[("name", &o.name?), ("id", &o.id)]);
                    Some((o.id, shown))
                })
                .collect(),
        ))
    }

    pub(super) fn show(&self, id: Option<&str>) -> String {
        match id {
            Some(i) => self.0.get(i).cloned().unwrap_or_else(|| i.to_owned()),
            None => String::new(),
        }
    }
}

pub(super) fn gap_row(g: &Gap, lang: Lang, zone: &vigil_i18n::Zone, names: &Names) -> view::Row {
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
        thumb: None,
    }
}

pub(super) fn gap_head(lang: Lang) -> Vec<String> {
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

pub(super) fn clip_row(
    l: &vigil_service::queries::Listed,
    lang: Lang,
    zone: &vigil_i18n::Zone,
    names: &Names,
) -> view::Row {
    let c = &l.clip;
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
            l.case.clone().unwrap_or_default(),
            status.text(lang).into(),
        ],
        // A video's first frames, made when first shown.
        thumb: (c.kind == vigil_service::model::ClipKind::Video && !c.damaged)
            .then(|| format!("/desk/clips/{}/thumb.jpg", encode(&c.clip))),
    }
}

pub(super) fn clip_head(lang: Lang) -> Vec<String> {
    [
        Msg::File,
        Msg::Officer,
        Msg::Recorder,
        Msg::Start,
        Msg::Duration,
        Msg::Case,
        Msg::Status,
    ]
    .iter()
    .map(|m| m.text(lang).to_owned())
    .collect()
}
