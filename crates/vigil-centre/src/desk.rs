//! The agency desk at the centre: the agency's users log in (a session
//! cookie, `Secure`, `HttpOnly`, `SameSite=Strict`; forms refused from
//! another origin) and read the agency's interruption log across stations
//! by month, station and whether explained, open an interruption to see its
//! station, its recording and the station log's entries about it, and
//! print the log. Pages are `vigil-desk`'s templates in the reader's
//! language, times in the centre's zone; every page read is a row of the
//! centre's audit log (R19, R20).

use axum::extract::{Form, Path, Query, State as Axum};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use vigil_desk::centre::{
    CentreClip, CentreClips, CentreGap, CentreGaps, CentreLogin, CentreReport, CentreStations,
};
use vigil_desk::{Chrome, Row};
use vigil_i18n::{Lang, Msg};
use vigil_service::ops;

use crate::agency::{gap_rows, GapFilter};
use crate::error::CentreError;
use crate::state::Centre;
use crate::stations::audit;
use crate::users::{self, User};

mod audit;
mod home;
mod requests;

const COOKIE: &str = "vigil_centre";
const LANG_COOKIE: &str = "vigil_lang";

/// The desk's routes.
pub fn router() -> Router<Centre> {
    Router::new()
        .route("/desk/", get(home::home))
        .route("/desk/login", get(login_page).post(login))
        .route("/desk/logout", post(logout))
        .route("/desk/lang/{code}", get(lang))
        .route("/desk/gaps", get(gaps))
        .route("/desk/gaps/{station}/{gap}", get(gap))
        .route("/desk/gaps/{station}/{gap}/review", post(review))
        .route("/desk/stations", get(board))
        .route("/desk/stats", get(stats))
        .route("/desk/ingest", get(ingest))
        .route("/desk/audit", get(audit::trail))
        .route("/desk/clips", get(clips))
        .route("/desk/clips/{station}/{clip}", get(clip))
        .route("/desk/requests", get(requests::list))
        .route("/desk/requests/{station}/{request}", get(requests::one))
        .route(
            "/desk/requests/{station}/{request}/{verb}",
            post(requests::decide),
        )
        .route("/desk/static/desk.css", get(css))
        .route("/desk/static/desk.js", get(js))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}

fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .unwrap_or_else(|| {
            Lang::from_accept_language(
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )
        })
}

/// A page with the desk's security headers.
fn page(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    match html {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a desk page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn chrome(
    c: &Centre,
    lang: Lang,
    title: String,
    who: Option<&User>,
    nav: &'static str,
    here: &str,
) -> Chrome {
    Chrome {
        lang,
        title,
        who: who.map(|u| match &u.station {
            Some(s) => format!("{} ({}, {s})", u.name, u.role.as_str()),
            None => format!("{} ({})", u.name, u.role.as_str()),
        }),
        csrf: String::new(),
        nav,
        here: here
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect(),
        zone: c.zone.name().to_owned(),
        audit: false,
    }
}

/// A form must come from the desk itself: its Origin, when the browser
/// sends one, is this host.
fn same_origin(headers: &HeaderMap) -> Result<(), CentreError> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (
        headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()),
        host,
    ) {
        (None, _) => Ok(()),
        (Some(o), Some(h)) if o == format!("https://{h}") => Ok(()),
        (Some(o), _) => Err(CentreError::Refused(format!(
            "a form from {o} is not the desk's"
        ))),
    }
}

/// The forms' token: the session's, hashed under its own label, so a page
/// of another site cannot know it (the session cookie is `HttpOnly`).
fn csrf_of(headers: &HeaderMap) -> String {
    cookie(headers, COOKIE)
        .map(|token| vigil_service::auth::token_sha256(&format!("vigil centre form\0{token}")))
        .unwrap_or_default()
}

/// A form carries its session's token.
fn csrf_ok(headers: &HeaderMap, given: &str) -> Result<(), CentreError> {
    let want = csrf_of(headers);
    // Compared as digests: how long the comparison takes says nothing of
    // the token.
    let digest = |s: &str| vigil_service::auth::token_sha256(s);
    if want.is_empty() || digest(&want) != digest(given) {
        return Err(CentreError::Refused(
            "the form is not this session's (reload the page and send it again)".into(),
        ));
    }
    Ok(())
}

/// The user who sent a desk form: from the desk itself (its Origin),
/// signed in (else the login page), with the session's form token.
async fn posted(
    c: &Centre,
    headers: &HeaderMap,
    token: &str,
) -> Result<Result<User, Response>, CentreError> {
    same_origin(headers)?;
    let user = match signed_in(c, headers).await {
        Ok(u) => u,
        Err(r) => return Ok(Err(r)),
    };
    csrf_ok(headers, token)?;
    Ok(Ok(user))
}

/// The signed-in user, or the login page.
async fn signed_in(c: &Centre, headers: &HeaderMap) -> Result<User, Response> {
    let Some(token) = cookie(headers, COOKIE) else {
        return Err(Redirect::to("/desk/login").into_response());
    };
    let client = c
        .pool
        .get()
        .await
        .map_err(|e| CentreError::from(e).into_response())?;
    match users::of_token(&client, token).await {
        Ok(u) => Ok(u),
        Err(CentreError::Unauthenticated(_)) => Err(Redirect::to("/desk/login").into_response()),
        Err(e) => Err(e.into_response()),
    }
}

/// The signed-in reader, allowed `E` by its declaration, and their
/// language; or the login page.
async fn reader<E: vigil_service::op::Endpoint>(
    c: &Centre,
    headers: &HeaderMap,
) -> Result<Result<(User, Lang), Response>, CentreError> {
    let user = match signed_in(c, headers).await {
        Ok(u) => u,
        Err(r) => return Ok(Err(r)),
    };
    user.may::<E>()?;
    Ok(Ok((user, lang_of(headers))))
}

async fn login_page(Axum(c): Axum<Centre>, headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let chrome = chrome(
        &c,
        lang,
        Msg::Login.text(lang).into(),
        None,
        "login",
        "/desk/login",
    );
    page(
        StatusCode::OK,
        askama::Template::render(&CentreLogin {
            chrome,
            failed: false,
            user: String::new(),
        }),
    )
}

#[derive(Debug, serde::Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

async fn login(
    Axum(c): Axum<Centre>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<vigil_api::TlsPeer>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, CentreError> {
    same_origin(&headers)?;
    let client = c.pool.get().await?;
    match users::login(&client, &f.user, &f.password, &peer.addr.to_string()).await {
        Ok((token, _)) => {
            let mut r = Redirect::to("/desk/").into_response();
            let set = format!(
                "{COOKIE}={token}; Path=/desk; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
                users::SESSION_S
            );
            r.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&set).map_err(|e| CentreError::Config(e.to_string()))?,
            );
            Ok(r)
        }
        Err(CentreError::Refused(_)) => {
            let lang = lang_of(&headers);
            let chrome = chrome(
                &c,
                lang,
                Msg::Login.text(lang).into(),
                None,
                "login",
                "/desk/login",
            );
            Ok(page(
                StatusCode::FORBIDDEN,
                askama::Template::render(&CentreLogin {
                    chrome,
                    failed: true,
                    user: f.user,
                }),
            ))
        }
        Err(e) => Err(e),
    }
}

async fn logout(Axum(c): Axum<Centre>, headers: HeaderMap) -> Result<Response, CentreError> {
    same_origin(&headers)?;
    if let Some(token) = cookie(&headers, COOKIE) {
        let client = c.pool.get().await?;
        users::logout(&client, token).await?;
    }
    let mut r = Redirect::to("/desk/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "vigil_centre=; Path=/desk; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(r)
}

#[derive(Debug, serde::Deserialize)]
struct Back {
    back: Option<String>,
}

async fn lang(Path(code): Path<String>, Query(b): Query<Back>) -> Response {
    let back = b
        .back
        .filter(|p| p.starts_with("/desk/") && !p.starts_with("//"))
        .unwrap_or_else(|| "/desk/".into());
    let mut r = Redirect::to(&back).into_response();
    if let Some(l) = Lang::parse(&code) {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path=/desk; Secure; SameSite=Strict; Max-Age=31536000",
            l.code()
        )) {
            r.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    r
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        vigil_desk::CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        vigil_desk::JS,
    )
        .into_response()
}

#[derive(Debug, Default, serde::Deserialize)]
struct GapsQuery {
    month: Option<String>,
    station: Option<String>,
    open: Option<String>,
}

/// `YYYY-MM` and the month after it, checked.
fn month_span(month: &str) -> Option<(String, String)> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    if !(1..=12).contains(&m) || !(1970..=9999).contains(&y) || month.len() != 7 {
        return None;
    }
    let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Some((
        format!("{y:04}-{m:02}-01"),
        format!("{:04}-{:02}-01", next.0, next.1),
    ))
}

fn months_around(c: &Centre) -> (String, String) {
    let today = c.zone.local(&vigil_service::model::now_rfc3339());
    let this = today.get(..7).unwrap_or("2026-01").to_owned();
    let (y, m): (i32, u32) = (
        this[..4].parse().unwrap_or(2026),
        this[5..7].parse().unwrap_or(1),
    );
    let last = if m == 1 {
        format!("{:04}-12", y - 1)
    } else {
        format!("{y:04}-{:02}", m - 1)
    };
    (this, last)
}

fn kind_word(kind: &str) -> Msg {
    match kind {
        "within_clip" => Msg::KindWithinClip,
        "between_clips" => Msg::KindBetweenClips,
        "missing_file" => Msg::KindMissingFile,
        "restart" => Msg::KindRestart,
        "stream_stopped" => Msg::KindStreamStopped,
        _ => Msg::KindEditListCut,
    }
}

fn status_word(status: &str) -> Msg {
    match status {
        "explained" => Msg::GapExplained,
        "awaiting_signatures" => Msg::GapAwaiting,
        _ => Msg::GapOpen,
    }
}

fn seconds(lang: Lang, s: f64) -> String {
    Msg::SecondsLong.fmt(lang, &[("n", &format!("{s:.1}"))])
}

async fn gaps(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<GapsQuery>,
) -> Result<Response, CentreError> {
    let (user, lang) = match reader::<ops::Gaps>(&c, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let (this_month, last_month) = months_around(&c);
    let month = q
        .month
        .clone()
        .filter(|m| month_span(m).is_some())
        .unwrap_or_else(|| this_month.clone());
    let (first, next) = month_span(&month)
        .ok_or_else(|| CentreError::BadRequest(format!("{month:?} is not a month")))?;
    let from = c
        .zone
        .day_utc(&first)
        .map_err(|e| CentreError::BadRequest(e.to_string()))?
        .0;
    let until = c
        .zone
        .day_utc(&next)
        .map_err(|e| CentreError::BadRequest(e.to_string()))?
        .0;
    let open = q.open.as_deref() == Some("1");
    let asked = q.station.clone().filter(|s| !s.is_empty());
    let station = user.scope(asked.as_deref())?;
    let client = c.pool.get().await?;
    let (rows, more, total) = gap_rows(
        &client,
        &GapFilter {
            station: station.clone(),
            open,
            since: Some(from.clone()),
            until: Some(until.clone()),
            count: true,
            ..Default::default()
        },
    )
    .await?;
    audit(&client, &user.name, "gaps.listed", "gaps", serde_json::json!({"shown": rows.len(), "matched": total, "station": station, "open": open, "since": from, "until": until, "via": "desk"})).await?;
    let all = crate::agency::stations_in_scope(&client, &user, None).await?;
    let names = crate::officers::Names::of(&client, &all, lang).await?;
    let t = |m: Msg| m.text(lang).to_owned();
    let list: Vec<Row> = rows
        .iter()
        .map(|g| {
            let d = &g.data;
            let when = d["wall_start"]
                .as_str()
                .or(d["detected_at"].as_str())
                .map(|w| c.zone.local(w))
                .unwrap_or_default();
            Row {
                href: format!(
                    "/desk/gaps/{}/{}",
                    enc(&g.station),
                    enc(d["id"].as_str().unwrap_or_default())
                ),
                cells: vec![
                    when,
                    g.station.clone(),
                    names.show(&g.station, d["officer"].as_str()),
                    d["device"].as_str().unwrap_or("-").to_owned(),
                    t(kind_word(d["kind"].as_str().unwrap_or_default())),
                    seconds(lang, d["duration_s"].as_f64().unwrap_or(0.0)),
                    t(status_word(&g.status)),
                ],
                thumb: None,
            }
        })
        .collect();
    let here = format!(
        "/desk/gaps?month={month}&station={}&open={}",
        enc(asked.as_deref().unwrap_or("")),
        if open { "1" } else { "" }
    );
    let title = Msg::AgencyGapLog.text(lang).to_owned();
    let link = |m: &str| {
        format!(
            "/desk/gaps?month={m}&station={}&open={}",
            enc(asked.as_deref().unwrap_or("")),
            if open { "1" } else { "" }
        )
    };
    let body = CentreGaps {
        chrome: chrome(&c, lang, title, Some(&user), "gaps", &here),
        month: month.clone(),
        stations: all
            .into_iter()
            .map(|s| {
                let chosen = asked.as_deref() == Some(s.as_str());
                (s, chosen)
            })
            .collect(),
        open,
        this_month: link(&this_month),
        last_month: link(&last_month),
        period: format!(
            "{}: {} – {} ({})",
            t(Msg::PeriodByInterruption),
            c.zone.local(&from),
            c.zone.local(&until),
            c.zone.said(lang)
        ),
        count: match total {
            Some(total) if more => Msg::ShownOfTotal.fmt(
                lang,
                &[
                    ("shown", &list.len().to_string()),
                    ("total", &total.to_string()),
                ],
            ),
            _ => Msg::CountShown.fmt(lang, &[("n", &list.len().to_string())]),
        },
        more,
        more_text: Msg::MoreThanShown.fmt(lang, &[("n", &crate::agency::MAX_ROWS.to_string())]),
        head: [
            Msg::Start,
            Msg::Station,
            Msg::Officer,
            Msg::Recorder,
            Msg::ColKind,
            Msg::Duration,
            Msg::Status,
        ]
        .iter()
        .map(|m| t(*m))
        .collect(),
        rows: list,
        made_by: user.name.clone(),
        made_at: c
            .zone
            .local_with_offset(&vigil_service::model::now_rfc3339()),
        signatures: vec![t(Msg::SignPrepared), t(Msg::SignReviewed)],
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}

#[derive(Debug, serde::Deserialize)]
struct StatsQuery {
    period: Option<String>,
    station: Option<String>,
}

/// `YYYY` (a year), `YYYY-MM` (a month) or `YYYY-MM-DD` (a day): its
/// first day and the first day after it.
fn period_span(period: &str) -> Option<(String, String)> {
    match period.len() {
        4 => {
            let y: i32 = period.parse().ok()?;
            (1970..=9998)
                .contains(&y)
                .then(|| (format!("{y:04}-01-01"), format!("{:04}-01-01", y + 1)))
        }
        10 => {
            let day =
                time::Date::parse(period, &time::format_description::well_known::Iso8601::DATE)
                    .ok()?;
            Some((day.to_string(), day.next_day()?.to_string()))
        }
        _ => month_span(period),
    }
}

/// Which printed report a page of the desk shows.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Printed {
    /// The agency's statistics (R19) for a year or a month.
    Stats,
    /// The agency's ingest report for a day, a month or a year.
    Ingest,
}

/// The agency's statistics (R19) for a year or a month, in the centre's
/// zone: per station with the agency's total, and per officer of each.
async fn stats(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<StatsQuery>,
) -> Result<Response, CentreError> {
    printed(c, headers, q, Printed::Stats).await
}

/// The agency's ingest report for a day (today unless asked), a month or
/// a year, by when recordings were ingested, in the centre's zone.
async fn ingest(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<StatsQuery>,
) -> Result<Response, CentreError> {
    printed(c, headers, q, Printed::Ingest).await
}

/// A printed report's page: its period's form, the stations the reader
/// may choose, the report as it prints; audited `report.read`.
async fn printed(
    c: Centre,
    headers: HeaderMap,
    q: StatsQuery,
    kind: Printed,
) -> Result<Response, CentreError> {
    let (user, lang) = match reader::<ops::Report>(&c, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let t = |m: Msg| m.text(lang).to_owned();
    let (this_month, _) = months_around(&c);
    let this_year = this_month[..4].to_owned();
    let last_year = this_year
        .parse::<i32>()
        .map(|y| format!("{:04}", y - 1))
        .unwrap_or_default();
    let today = c
        .zone
        .local(&vigil_service::model::now_rfc3339())
        .get(..10)
        .unwrap_or_default()
        .to_owned();
    let yesterday = period_span(&today)
        .and_then(|_| {
            time::Date::parse(&today, &time::format_description::well_known::Iso8601::DATE).ok()
        })
        .and_then(time::Date::previous_day)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let (path, name, default, quick) = match kind {
        Printed::Stats => (
            "/desk/stats",
            "stats",
            this_year.clone(),
            vec![
                (this_year, Msg::ThisYear, "this-year"),
                (last_year, Msg::LastYear, "last-year"),
            ],
        ),
        Printed::Ingest => (
            "/desk/ingest",
            "ingest",
            today.clone(),
            vec![
                (today, Msg::Today, "today"),
                (yesterday, Msg::Yesterday, "yesterday"),
                (this_month, Msg::ThisMonth, "this-month"),
            ],
        ),
    };
    let period = q
        .period
        .clone()
        .filter(|p| period_span(p).is_some() && (kind == Printed::Ingest || p.len() != 10))
        .unwrap_or(default);
    let (first, next) = period_span(&period).ok_or_else(|| {
        CentreError::BadRequest(format!("{period:?} is not a day, month or year"))
    })?;
    let utc = |day: &str| {
        c.zone
            .day_utc(day)
            .map(|d| d.0)
            .map_err(|e| CentreError::BadRequest(e.to_string()))
    };
    let (from, until) = (utc(&first)?, utc(&next)?);
    let asked = q.station.clone().filter(|s| !s.is_empty());
    let station = user.scope(asked.as_deref())?;
    let mut client = c.pool.get().await?;
    let stations = crate::agency::stations_in_scope(&client, &user, None).await?;
    let names = crate::officers::Names::of(&client, &stations, lang).await?;
    let reader = crate::stats::Reader {
        lang,
        zone: &c.zone,
        by: &user.name,
        names: &names,
    };
    let page = match kind {
        Printed::Stats => {
            let figures =
                crate::stats::gather(&mut client, station.as_deref(), &from, &until).await?;
            crate::stats::page(&figures, &reader)
        }
        Printed::Ingest => {
            let within: Vec<String> = match &station {
                Some(one) => vec![one.clone()],
                None => stations.clone(),
            };
            let r = crate::ingest::gather(
                &mut client,
                &within,
                station.as_deref(),
                user.role,
                &from,
                &until,
            )
            .await?;
            crate::ingest::page(&r, &reader)
        }
    };
    audit(
        &client,
        &user.name,
        "report.read",
        name,
        serde_json::json!({"station": station, "since": from, "until": until, "via": "desk"}),
    )
    .await?;
    let link = |p: &str| {
        format!(
            "{path}?period={p}&station={}",
            enc(asked.as_deref().unwrap_or(""))
        )
    };
    let here = link(&period);
    let body = CentreReport {
        chrome: chrome(&c, lang, page.title.clone(), Some(&user), name, &here),
        action: path,
        period_label: t(match kind {
            Printed::Stats => Msg::YearOrMonth,
            Printed::Ingest => Msg::DayMonthOrYear,
        }),
        pattern: match kind {
            Printed::Stats => "[0-9]{4}(-[0-9]{2})?",
            Printed::Ingest => "[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?",
        },
        period,
        stations: stations
            .into_iter()
            .map(|s| {
                let chosen = asked.as_deref() == Some(s.as_str());
                (s, chosen)
            })
            .collect(),
        quick: quick
            .into_iter()
            .map(|(p, m, id)| (link(&p), t(m), id))
            .collect(),
        page,
    };
    Ok(self::page(StatusCode::OK, askama::Template::render(&body)))
}

/// The most recordings one page lists.
const CLIPS_SHOWN: i64 = 200;

#[derive(Debug, serde::Deserialize)]
struct ClipsQuery {
    search: Option<String>,
    station: Option<String>,
}

/// A recording's state in a word: damaged, late or complete.
fn clip_status(d: &serde_json::Value) -> Msg {
    if d["damaged"] == true {
        Msg::StatusDamaged
    } else if d["late_ingest"] == true {
        Msg::StatusLate
    } else {
        Msg::StatusOk
    }
}

/// The agency's recordings, newest first: searched, filtered by station.
async fn clips(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<ClipsQuery>,
) -> Result<Response, CentreError> {
    let (user, lang) = match reader::<ops::Clips>(&c, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let t = |m: Msg| m.text(lang).to_owned();
    let asked = q.station.clone().filter(|s| !s.is_empty());
    let station = user.scope(asked.as_deref())?;
    let search = q.search.clone().unwrap_or_default();
    let client = c.pool.get().await?;
    let (rows, more) = crate::agency::clip_rows(
        &client,
        &crate::agency::ClipFilter {
            station: station.clone(),
            search: Some(search.clone()),
            hidden: vigil_service::queries::hidden_from(user.role),
            limit: CLIPS_SHOWN,
            ..Default::default()
        },
    )
    .await?;
    audit(
        &client,
        &user.name,
        "clips.listed",
        "clips",
        serde_json::json!({"shown": rows.len(), "station": station, "search": q.search, "more": more, "via": "desk"}),
    )
    .await?;
    let mut within: Vec<String> = rows.iter().map(|(s, _)| s.clone()).collect();
    within.sort();
    within.dedup();
    let names = crate::officers::Names::of(&client, &within, lang).await?;
    let list: Vec<Row> = rows
        .iter()
        .map(|(s, d)| Row {
            href: format!(
                "/desk/clips/{}/{}",
                enc(s),
                enc(d["clip"].as_str().unwrap_or_default())
            ),
            cells: vec![
                d["recorded_start"]
                    .as_str()
                    .map(|w| c.zone.local(w))
                    .unwrap_or_else(|| t(Msg::TimeUnknown)),
                s.clone(),
                names.show(s, d["officer"].as_str()),
                d["device"].as_str().unwrap_or("-").to_owned(),
                d["path"].as_str().unwrap_or("-").to_owned(),
                d["tag"]["site"].as_str().unwrap_or("").to_owned(),
                d["tag"]["case"].as_str().unwrap_or("").to_owned(),
                t(clip_status(d)),
            ],
            thumb: None,
        })
        .collect();
    let here = format!(
        "/desk/clips?search={}&station={}",
        enc(&search),
        enc(asked.as_deref().unwrap_or(""))
    );
    let body = CentreClips {
        chrome: chrome(
            &c,
            lang,
            t(Msg::AgencyRecordings),
            Some(&user),
            "clips",
            &here,
        ),
        search,
        stations: crate::agency::stations_in_scope(&client, &user, None)
            .await?
            .into_iter()
            .map(|s| {
                let chosen = asked.as_deref() == Some(s.as_str());
                (s, chosen)
            })
            .collect(),
        count: Msg::CountClips.fmt(lang, &[("n", &list.len().to_string())]),
        more,
        more_text: Msg::MoreThanShown.fmt(lang, &[("n", &CLIPS_SHOWN.to_string())]),
        head: [
            Msg::Start,
            Msg::Station,
            Msg::Officer,
            Msg::Recorder,
            Msg::File,
            Msg::Site,
            Msg::Case,
            Msg::Status,
        ]
        .iter()
        .map(|m| t(*m))
        .collect(),
        rows: list,
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}

/// One recording: what it is, its interruptions and its custody (R20).
async fn clip(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Path((station, id)): Path<(String, String)>,
) -> Result<Response, CentreError> {
    let (user, lang) = match reader::<ops::Clips>(&c, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    user.scope(Some(&station))?;
    let t = |m: Msg| m.text(lang).to_owned();
    let client = c.pool.get().await?;
    let row = client
        .query_opt(
            concat!(
                "SELECT data, seq, ",
                crate::stations::utc!("purged_at"),
                " FROM clips
                 WHERE station = $1 AND id = $2 AND (confidential IS NULL OR NOT (confidential = ANY($3)))"
            ),
            &[
                &station,
                &id,
                &vigil_service::queries::hidden_from(user.role),
            ],
        )
        .await?
        .ok_or_else(|| {
            CentreError::NotFound(format!(
                "no recording {id} of {station} at the centre that {} may see",
                user.name
            ))
        })?;
    let (d, seq, purged): (serde_json::Value, i64, Option<String>) =
        (row.get(0), row.get(1), row.get(2));
    let local = |v: &serde_json::Value| v.as_str().map(|w| c.zone.local_with_offset(w));
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    let names = crate::officers::Names::of(&client, std::slice::from_ref(&station), lang).await?;
    let facts = vec![
        (t(Msg::Station), station.clone()),
        (t(Msg::File), text(&d["path"])),
        (t(Msg::Officer), names.show(&station, d["officer"].as_str())),
        (t(Msg::Recorder), text(&d["device"])),
        (
            t(Msg::Start),
            local(&d["recorded_start"]).unwrap_or_else(|| t(Msg::TimeUnknown)),
        ),
        (
            t(Msg::Duration),
            d["duration_s"]
                .as_f64()
                .map(|s| seconds(lang, s))
                .unwrap_or_else(|| "-".into()),
        ),
        (
            t(Msg::Ingested),
            local(&d["ingested_at"]).unwrap_or_default(),
        ),
        (
            t(Msg::Bytes),
            vigil_service::report_data::human_bytes(d["bytes"].as_u64().unwrap_or(0)),
        ),
        (
            t(Msg::Status),
            match &purged {
                Some(at) => Msg::RemovedAt.fmt(lang, &[("at", &c.zone.local(at))]),
                None => t(clip_status(&d)),
            },
        ),
        (t(Msg::Site), text(&d["tag"]["site"])),
        (t(Msg::Case), text(&d["tag"]["case"])),
        (t(Msg::Note), text(&d["tag"]["note"])),
        (
            t(Msg::Hashes),
            format!(
                "BLAKE3 {} · SHA-256 {}",
                text(&d["blake3"]),
                text(&d["sha256"])
            ),
        ),
        (
            t(Msg::TracedTo),
            Msg::FromStationLog.fmt(lang, &[("station", &station), ("seq", &seq.to_string())]),
        ),
    ];
    let gaps: Vec<Row> = client
        .query(
            "SELECT id, data, status FROM gaps WHERE station = $1 AND clip = $2
             ORDER BY COALESCE(wall_start, detected_at), id",
            &[&station, &id],
        )
        .await?
        .iter()
        .map(|r| {
            let (gap, g, status): (String, serde_json::Value, String) =
                (r.get(0), r.get(1), r.get(2));
            Row {
                href: format!("/desk/gaps/{}/{}", enc(&station), enc(&gap)),
                cells: vec![
                    g["wall_start"]
                        .as_str()
                        .or(g["detected_at"].as_str())
                        .map(|w| c.zone.local(w))
                        .unwrap_or_default(),
                    t(kind_word(g["kind"].as_str().unwrap_or_default())),
                    seconds(lang, g["duration_s"].as_f64().unwrap_or(0.0)),
                    t(status_word(&status)),
                    g["explanation"]["text"].as_str().unwrap_or("").to_owned(),
                ],
                thumb: None,
            }
        })
        .collect();
    let log = station_log(&c, &client, lang, &station, &id, true).await?;
    audit(
        &client,
        &user.name,
        "clip.viewed",
        &id,
        serde_json::json!({"station": station, "via": "desk"}),
    )
    .await?;
    let title = format!("{} · {}", t(Msg::Recording), text(&d["path"]));
    let body = CentreClip {
        chrome: chrome(&c, lang, title, Some(&user), "clips", "/desk/clips"),
        trail: user
            .may::<ops::Audit>()
            .is_ok()
            .then(|| audit::trail_of(&station, &id, true)),
        facts,
        gap_head: [
            Msg::Start,
            Msg::ColKind,
            Msg::Duration,
            Msg::Status,
            Msg::Explanation,
        ]
        .iter()
        .map(|m| t(*m))
        .collect(),
        gaps,
        custody: custody_lines(&d["retention"], lang, &c.zone),
        head: [Msg::Seq, Msg::When, Msg::Who, Msg::Action, Msg::Subject]
            .iter()
            .map(|m| t(*m))
            .collect(),
        log,
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}

/// A recording's retention classes and holds in words, from what its
/// station sent (`retention`: `{classes, holds}`); `None` when it sent
/// none.
fn custody_lines(
    retention: &serde_json::Value,
    lang: Lang,
    zone: &vigil_i18n::Zone,
) -> Option<vigil_desk::centre::CustodyLines> {
    use serde::Deserialize as _;
    use vigil_desk::custody::{class_label, hold_text};
    let classes = Vec::<String>::deserialize(retention.get("classes")?).ok()?;
    let holds = Vec::<vigil_service::model::HoldRow>::deserialize(retention.get("holds")?).ok()?;
    Some(vigil_desk::centre::CustodyLines {
        classes: classes
            .iter()
            .map(|c| class_label(c, lang).to_owned())
            .collect(),
        holds: holds.iter().map(|h| hold_text(h, lang, zone)).collect(),
    })
}

/// The station log's entries about `subject` (with `related`, a
/// recording: about its interruptions too, each row naming its subject),
/// oldest first, as the desk shows them: sequence, when (in the centre's
/// zone), who, what.
async fn station_log(
    c: &Centre,
    client: &impl deadpool_postgres::GenericClient,
    lang: Lang,
    station: &str,
    subject: &str,
    related: bool,
) -> Result<Vec<Vec<String>>, CentreError> {
    Ok(client
        .query(
            "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), actor, action, subject
             FROM entries
             WHERE station = $1
               AND (subject = $2
                    OR ($3 AND subject IN (SELECT id FROM gaps WHERE station = $1 AND clip = $2)))
             ORDER BY seq",
            &[&station, &subject, &related],
        )
        .await?
        .iter()
        .map(|r| {
            let (seq, at, actor, action, about): (i64, String, String, String, String) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            let mut row = vec![
                seq.to_string(),
                c.zone.local(&at),
                actor,
                vigil_i18n::actions::said(&action, lang),
            ];
            if related {
                row.push(about);
            }
            row
        })
        .collect())
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn gap(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Path((station, id)): Path<(String, String)>,
) -> Result<Response, CentreError> {
    let (user, lang) = match reader::<ops::Gaps>(&c, &headers).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    user.scope(Some(&station))?;
    let t = |m: Msg| m.text(lang).to_owned();
    let client = c.pool.get().await?;
    let row = client
        .query_opt(
            "SELECT data, status, seq FROM gaps WHERE station = $1 AND id = $2",
            &[&station, &id],
        )
        .await?
        .ok_or_else(|| {
            CentreError::NotFound(format!("no interruption {id} of {station} at the centre"))
        })?;
    let (d, status, seq): (serde_json::Value, String, i64) = (row.get(0), row.get(1), row.get(2));
    let when = d["wall_start"]
        .as_str()
        .or(d["detected_at"].as_str())
        .map(|w| c.zone.local_with_offset(w))
        .unwrap_or_default();
    let explanation = match &d["explanation"] {
        serde_json::Value::Null => "-".to_owned(),
        e => e["text"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| Msg::Spoken.fmt(lang, &[("at", &e["at_s"].to_string())])),
    };
    let names = crate::officers::Names::of(&client, std::slice::from_ref(&station), lang).await?;
    let facts = vec![
        (t(Msg::Station), station.clone()),
        (t(Msg::Start), when),
        (t(Msg::Officer), names.show(&station, d["officer"].as_str())),
        (
            t(Msg::Recorder),
            d["device"].as_str().unwrap_or("-").to_owned(),
        ),
        (
            t(Msg::Recording),
            d["path"].as_str().unwrap_or("-").to_owned(),
        ),
        (
            t(Msg::ColKind),
            t(kind_word(d["kind"].as_str().unwrap_or_default())),
        ),
        (
            t(Msg::Duration),
            seconds(lang, d["duration_s"].as_f64().unwrap_or(0.0)),
        ),
        (t(Msg::Status), t(status_word(&status))),
        (t(Msg::Explanation), explanation),
        (
            t(Msg::TracedTo),
            Msg::FromStationLog.fmt(lang, &[("station", &station), ("seq", &seq.to_string())]),
        ),
    ];
    let log = station_log(&c, &client, lang, &station, &id, false).await?;
    let waiting = crate::actions::waiting(&client, &station, &id).await?;
    let sent = waiting.first().map(|(_, _, actor)| {
        Msg::DecisionSent.fmt(
            lang,
            &[
                ("who", actor),
                ("what", &t(Msg::Review)),
                ("station", &station),
            ],
        )
    });
    let own = user.officer.is_some() && d["officer"].as_str() == user.officer.as_deref();
    let review = (vigil_service::identity::REVIEW.contains(&user.role)
        && d["explanation"].is_object()
        && d["explanation"]["review"].is_null()
        && waiting.is_empty()
        && !own)
        .then(|| format!("/desk/gaps/{}/{}/review", enc(&station), enc(&id)));
    audit(
        &client,
        &user.name,
        "gap.viewed",
        &id,
        serde_json::json!({"station": station, "via": "desk"}),
    )
    .await?;
    let title = format!("{} · {}", t(Msg::Interruption), station);
    let mut chrome = chrome(&c, lang, title, Some(&user), "gaps", "/desk/gaps");
    chrome.csrf = csrf_of(&headers);
    let body = CentreGap {
        trail: user
            .may::<ops::Audit>()
            .is_ok()
            .then(|| audit::trail_of(&station, &id, false)),
        chrome,
        sent,
        review,
        facts,
        head: [Msg::Seq, Msg::When, Msg::Who, Msg::Action]
            .iter()
            .map(|m| t(*m))
            .collect(),
        log,
        back: "/desk/gaps".into(),
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}

#[derive(Debug, serde::Deserialize)]
struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    note: String,
}

/// `POST /desk/gaps/{station}/{gap}/review`: the review sent to the
/// interruption's station, as the API sends it; back to its page, which
/// says it was sent.
async fn review(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Path((station, gap)): Path<(String, String)>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, CentreError> {
    let user = match posted(&c, &headers, &f.csrf).await? {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    user.may::<ops::Review>()?;
    user.scope(Some(&station))?;
    if !matches!(f.verdict.as_str(), "accepted" | "rejected") {
        return Err(CentreError::BadRequest(format!(
            "verdict {:?}: expected accepted or rejected",
            f.verdict
        )));
    }
    let client = c.pool.get().await?;
    if let Some((id, _, actor)) = crate::actions::waiting(&client, &station, &gap)
        .await?
        .first()
    {
        return Err(CentreError::Refused(format!(
            "a review of {gap} by {actor} was sent to {station} (action {id}) and waits to be recorded there"
        )));
    }
    let note = Some(f.note.trim()).filter(|n| !n.is_empty());
    let (station, _) = crate::actions::send_review(
        &client,
        &user,
        &gap,
        Some(&station),
        &f.verdict,
        note,
        Some("desk"),
    )
    .await?;
    Ok(Redirect::to(&format!("/desk/gaps/{}/{}", enc(&station), enc(&gap))).into_response())
}

/// The board of stations (any role; a station's user sees their station).
async fn board(Axum(c): Axum<Centre>, headers: HeaderMap) -> Result<Response, CentreError> {
    let user = match signed_in(&c, &headers).await {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let lang = lang_of(&headers);
    let t = |m: Msg| m.text(lang).to_owned();
    let client = c.pool.get().await?;
    let all = crate::stations::list(&client).await?;
    let local = |at: &Option<String>| {
        at.as_deref()
            .map_or_else(|| t(Msg::Never), |a| c.zone.local(a))
    };
    let rows = all
        .into_iter()
        .filter(|s| user.station.as_ref().is_none_or(|mine| *mine == s.name))
        .map(|s| {
            let mut attention = Vec::new();
            if let Some(since) = &s.out_of_touch_since {
                attention.push(Msg::OutOfTouch.fmt(lang, &[("since", &c.zone.local(since))]));
            }
            if let Some(why) = &s.flag {
                attention.push(Msg::Flagged.fmt(lang, &[("why", why)]));
            }
            if s.revoked_at.is_some() {
                attention.push(t(Msg::Revoked));
            }
            let alert = !attention.is_empty();
            (
                vec![
                    s.name.clone(),
                    local(&s.last_contact),
                    s.applied.to_string(),
                    s.depth.map_or_else(|| "-".into(), |d| d.to_string()),
                    format!("{} · {}", s.witnessed, local(&s.cosigned_at)),
                    s.open_gaps.to_string(),
                    s.overdue_gaps.to_string(),
                    attention.join("; "),
                ],
                alert,
            )
        })
        .collect();
    audit(
        &client,
        &user.name,
        "stations.listed",
        "stations",
        serde_json::json!({"via": "desk"}),
    )
    .await?;
    let body = CentreStations {
        chrome: chrome(
            &c,
            lang,
            t(Msg::StationsBoard),
            Some(&user),
            "stations",
            "/desk/stations",
        ),
        help: t(Msg::BoardHelp),
        head: [
            Msg::Station,
            Msg::LastContact,
            Msg::EntriesHeld,
            Msg::ToCome,
            Msg::LastCosigned,
            Msg::OpenGaps,
            Msg::OverdueGaps,
            Msg::Attention,
        ]
        .iter()
        .map(|m| t(*m))
        .collect(),
        rows,
    };
    Ok(page(StatusCode::OK, askama::Template::render(&body)))
}
