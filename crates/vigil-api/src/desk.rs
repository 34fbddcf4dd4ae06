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

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use vigil_desk as view;

use crate::context::ApiState;
use page::CSP;

mod across;
mod audit;
mod checkpoint;
mod custody;
mod explain;
mod media;
mod page;
mod preview;
mod queues;
mod recordings;
mod reports;
mod session;
mod status;

use explain::*;
use media::*;
use queues::*;
use recordings::*;
use reports::*;
use session::*;

pub use page::PAGE;
pub use preview::stop_all as stop_previews;

/// A desk address that leads nowhere: a page in the reader's language,
/// not the API's JSON.
async fn no_such_page(
    axum::extract::State(state): axum::extract::State<ApiState>,
    desk: page::Desk,
) -> Response {
    page::message(
        &state,
        &desk,
        &vigil_service::ServiceError::not_found(
            vigil_i18n::Msg::NoSuchPage.text(desk.lang).to_owned(),
        ),
    )
}

/// The desk's routes (merged into the API's router).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/desk/") }))
        .route("/desk", get(|| async { Redirect::to("/desk/") }))
        .route("/desk/", get(home))
        .route("/desk/waiting", get(queues::waiting))
        .route("/desk/login", get(login_page).post(login))
        .route("/desk/logout", post(logout))
        .route("/desk/lang/{code}", get(set_lang))
        .route("/desk/clips", get(clips))
        .route("/desk/clips/{clip}", get(clip_page))
        .route("/desk/clips/{clip}/media", get(media))
        .route("/desk/clips/{clip}/thumb.jpg", get(thumbnail))
        .route("/desk/reports", get(reports))
        .route("/desk/reports/view", get(report_view))
        .route("/desk/gaps/{gap}/explain", post(explain))
        .route("/desk/gaps/{gap}/across", get(across::page))
        .route("/desk/gaps/{gap}/review", post(review))
        .route(
            "/desk/explanations/{explanation}/sign",
            get(explain::sign_form).post(sign),
        )
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
        .route("/desk/requests/{request}", get(custody::request_page))
        .route("/desk/requests/{request}/approve", post(custody::approve))
        .route("/desk/requests/{request}/reject", post(custody::reject))
        .route("/desk/requests/{request}/{file}", get(custody::package))
        .route("/desk/audit", get(audit::page))
        .route("/desk/{*rest}", get(no_such_page))
        .route(
            "/desk/checkpoint",
            get(checkpoint::page).post(checkpoint::check),
        )
        .route("/desk/checkpoint.txt", get(checkpoint::file))
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
