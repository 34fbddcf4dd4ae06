//! The agency's API at the centre: the station's operations that make
//! sense across stations, at the paths, with the inputs, roles and answers
//! their declarations give (`vigil_service::ops`), answered from
//! PostgreSQL with `station` on every object and a `station` filter, so
//! `vigil login --server https://CENTRE` and then `vigil clips --json`
//! work against the centre as against a station. A user enrolled for one
//! station sees only it; what a role may not see (R17) is not listed;
//! every listing is a row of the centre's audit log (R20).

use axum::extract::{ConnectInfo, Query, State as Axum};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use vigil_service::explanations::{GapQuery, DEFAULT_DEADLINE_H};
use vigil_service::op::Endpoint;
use vigil_service::queries::{hidden_from, ClipQuery};
use vigil_service::{auth, ops};

use crate::actions;
use crate::error::CentreError;
use crate::state::Centre;
use crate::stations::audit;
use crate::users::{self, User};

/// The most rows one listing returns; `more` says when there were more.
pub const MAX_ROWS: i64 = 5000;

/// The routes.
pub fn router() -> Router<Centre> {
    Router::new()
        .route(ops::Login::PATH, post(login))
        .route(ops::Logout::PATH, post(logout))
        .route(ops::Clips::PATH, get(clips))
        .route(ops::Gaps::PATH, get(gaps))
        .route(ops::Review::PATH, post(review))
        .route(ops::Report::PATH, get(report))
        .route(ops::Audit::PATH, get(audit_log))
        .route(ops::Overdue::PATH, get(overdue))
}

/// What is past its deadline across stations: recordings not tagged
/// within `tag_within` working days of ingest (R11) and interruptions not
/// explained within `explain_within` hours (R9), oldest first, each with
/// its station; at most [`MAX_ROWS`] of each, `more` says which had more.
/// Cases closed and not filed (R12) are read from the stations' logs.
async fn overdue(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<vigil_service::tagging::OverdueQuery>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Overdue>(&c, &headers).await?;
    let holidays = q
        .checked()
        .map_err(|e| CentreError::BadRequest(e.to_string()))?;
    let station = user.scope(q.station.as_deref().filter(|s| !s.is_empty()))?;
    let cutoff = vigil_service::tagging::untagged_cutoff(
        time::OffsetDateTime::now_utc(),
        q.tag_within,
        &holidays,
    );
    let client = c.pool.get().await?;
    let (untagged, more_untagged) =
        untagged_rows(&client, &cutoff, station.as_deref(), user.role, MAX_ROWS).await?;
    let (gaps, more_gaps, _) = gap_rows(
        &client,
        &GapFilter {
            station: station.clone(),
            open: true,
            overdue_only: true,
            deadline_h: Some(q.explain_within),
            ..Default::default()
        },
    )
    .await?;
    let unexplained: Vec<serde_json::Value> = gaps.into_iter().map(GapRow::into_json).collect();
    let stations = stations_in_scope(&client, &user, station.as_deref()).await?;
    let (unfiled, more_unfiled) = unfiled_cases(&client, &stations, MAX_ROWS).await?;
    audit(
        &client,
        &user.name,
        "overdue.listed",
        "overdue",
        serde_json::json!({"station": station, "untagged": untagged.len(),
                           "unexplained": unexplained.len(), "unfiled_cases": unfiled.len()}),
    )
    .await?;
    Ok(Json(serde_json::json!({
        "untagged": untagged,
        "unexplained": unexplained,
        "unfiled_cases": unfiled,
        "more": {"untagged": more_untagged, "unexplained": more_gaps, "unfiled_cases": more_unfiled},
    }))
    .into_response())
}

/// The cases `stations` closed over
/// [`vigil_service::tagging::FILE_WITHIN_DAYS`] days ago and have
/// not filed (R12), oldest closing first, read from their logs as each
/// station keeps them (a case's closing date is its newest
/// `case.closed`; any `case.filed` files it): `{station, case,
/// closed_at}`, at most `limit`, and whether there were more.
pub async fn unfiled_cases(
    client: &impl deadpool_postgres::GenericClient,
    stations: &[String],
    limit: i64,
) -> Result<(Vec<serde_json::Value>, bool), CentreError> {
    let cutoff = vigil_service::model::rfc3339(
        time::OffsetDateTime::now_utc()
            - time::Duration::days(vigil_service::tagging::FILE_WITHIN_DAYS),
    );
    let rows = client
        .query(
            "SELECT c.station, c.subject, c.closed_at
             FROM (SELECT DISTINCT ON (station, subject) station, subject,
                          detail::jsonb ->> 'at' AS closed_at
                   FROM entries
                   WHERE action = 'case.closed' AND station = ANY($1)
                   ORDER BY station, subject, seq DESC) c
             WHERE c.closed_at < $2
               AND NOT EXISTS (SELECT 1 FROM entries f
                               WHERE f.station = c.station AND f.subject = c.subject
                                 AND f.action = 'case.filed')
             ORDER BY c.closed_at, c.station, c.subject
             LIMIT $3",
            &[&stations, &cutoff, &(limit + 1)],
        )
        .await?;
    let (rows, more) = cut(rows, limit);
    Ok((
        rows.iter()
            .map(|r| {
                serde_json::json!({"station": r.get::<_, String>(0), "case": r.get::<_, String>(1),
                                   "closed_at": r.get::<_, String>(2)})
            })
            .collect(),
        more,
    ))
}

/// Recordings ingested before `cutoff` (RFC 3339) and not tagged, not
/// purged, that `role` may see (R17), oldest first: at most `limit`, and
/// whether there were more.
pub async fn untagged_rows(
    client: &impl deadpool_postgres::GenericClient,
    cutoff: &str,
    station: Option<&str>,
    role: vigil_service::identity::Role,
    limit: i64,
) -> Result<(Vec<serde_json::Value>, bool), CentreError> {
    let rows = client
        .query(
            "SELECT station, id, path, device, officer,
                    to_char(ingested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM clips
             WHERE ingested_at < $1::text::timestamptz AND purged_at IS NULL
               AND jsonb_typeof(data -> 'tag') IS DISTINCT FROM 'object'
               AND ($2::text IS NULL OR station = $2)
               AND (confidential IS NULL OR NOT (confidential = ANY($3)))
             ORDER BY ingested_at, station, id
             LIMIT $4",
            &[&cutoff, &station, &hidden_from(role), &(limit + 1)],
        )
        .await?;
    let (rows, more) = cut(rows, limit);
    Ok((
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "station": r.get::<_, String>(0), "clip": r.get::<_, String>(1),
                    "path": r.get::<_, String>(2), "device": r.get::<_, Option<String>>(3),
                    "officer": r.get::<_, Option<String>>(4), "ingested_at": r.get::<_, String>(5),
                })
            })
            .collect(),
        more,
    ))
}

/// Rows fetched one past `limit`: the first `limit`, and whether there
/// were more.
pub(crate) fn cut<T>(mut rows: Vec<T>, limit: i64) -> (Vec<T>, bool) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    (rows, more)
}

/// The stations `user` may read, or the one asked for.
pub async fn stations_in_scope(
    client: &impl deadpool_postgres::GenericClient,
    user: &User,
    asked: Option<&str>,
) -> Result<Vec<String>, CentreError> {
    Ok(match user.scope(asked.filter(|s| !s.is_empty()))? {
        Some(one) => vec![one],
        None => client
            .query("SELECT name FROM stations ORDER BY name", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    })
}

/// The stations' logs as the centre holds them (R20), the station
/// operation's filters answered across stations (`GET /api/v1/audit`).
async fn audit_log(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<vigil_service::queries::AuditQuery>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Audit>(&c, &headers).await?;
    let client = c.pool.get().await?;
    let page = audit_page(&client, &user, &q, None).await?;
    Ok(
        Json(serde_json::json!({ "audit": page.rows, "more": page.more, "next": page.next }))
            .into_response(),
    )
}

/// A page of the stations' logs.
#[derive(Debug)]
pub struct AuditPage {
    /// The entries: `{station, seq, at, actor, action, subject, detail}`.
    pub rows: Vec<serde_json::Value>,
    /// More matched than the page holds.
    pub more: bool,
    /// The `after` of the next page (one station's log only).
    pub next: Option<i64>,
}

/// The entries of the stations' logs `user` may read that match `q`,
/// each with its `station`: ordered by station and sequence when `q`
/// names a station (paged by `after`, `next`), else by when written; at
/// most `limit` or [`MAX_ROWS`], `more` when there were more. Audited
/// `audit.read` (with `via`, the desk).
pub async fn audit_page(
    client: &impl deadpool_postgres::GenericClient,
    user: &User,
    q: &vigil_service::queries::AuditQuery,
    via: Option<&str>,
) -> Result<AuditPage, CentreError> {
    let filled = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let one = filled(&q.station);
    if q.after.is_some() && one.is_none() {
        return Err(CentreError::BadRequest(
            "after is a station log's sequence number: name the station (station=NAME)".into(),
        ));
    }
    let limit = match q.limit {
        Some(l) if (1..=100_000).contains(&l) => l as i64,
        Some(l) => {
            return Err(CentreError::BadRequest(format!(
                "limit {l} is out of range: 1 to 100000 rows a page"
            )))
        }
        None => MAX_ROWS,
    };
    let (since, until) = (filled(&q.since), filled(&q.until));
    crate::stats::time_of("since", since.as_deref())?;
    crate::stats::time_of("until", until.as_deref())?;
    let stations = stations_in_scope(client, user, one.as_deref()).await?;
    let subject = filled(&q.subject);
    let related = q.related == Some(true) && subject.is_some();
    let order = if one.is_some() {
        "e.station, e.seq"
    } else {
        "e.at, e.station, e.seq"
    };
    // Each station's rows by the (station, subject) index: a subject
    // across fifty stations is fifty index lookups, not a scan.
    let sql = format!(
        "SELECT e.station, e.seq, e.at, e.actor, e.action, e.subject, e.detail
         FROM entries e
         WHERE e.station = ANY($1)
           AND ($2::text IS NULL OR e.subject = $2
                OR ($3 AND e.subject IN (SELECT g.id FROM gaps g
                                         WHERE g.station = e.station AND g.clip = $2)))
           AND ($4::text IS NULL OR e.action LIKE $4 || '%')
           AND ($5::text IS NULL OR e.actor = $5)
           AND ($6::text IS NULL OR e.at >= $6::text::timestamptz)
           AND ($7::text IS NULL OR e.at < $7::text::timestamptz)
           AND ($8::bigint IS NULL OR e.seq > $8)
         ORDER BY {order}
         LIMIT $9"
    );
    let rows = client
        .query(
            &sql,
            &[
                &stations,
                &subject,
                &related,
                &filled(&q.action).as_deref().map(literal),
                &filled(&q.actor),
                &since,
                &until,
                &q.after,
                &(limit + 1),
            ],
        )
        .await?;
    let (rows, more) = cut(rows, limit);
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let at: std::time::SystemTime = r.get(2);
            let detail: String = r.get(6);
            serde_json::json!({
                "station": r.get::<_, String>(0),
                "seq": r.get::<_, i64>(1),
                "at": vigil_service::model::rfc3339(at.into()),
                "actor": r.get::<_, String>(3),
                "action": r.get::<_, String>(4),
                "subject": r.get::<_, String>(5),
                "detail": serde_json::from_str::<serde_json::Value>(&detail)
                    .unwrap_or(serde_json::Value::String(detail)),
            })
        })
        .collect();
    let next = (more && one.is_some())
        .then(|| list.last().and_then(|e| e["seq"].as_i64()))
        .flatten();
    let mut detail = serde_json::json!({"rows": list.len(), "station": one, "subject": subject,
        "related": related, "action": q.action, "actor": q.actor, "since": since, "until": until,
        "more": more});
    if let Some(via) = via {
        detail["via"] = via.into();
    }
    audit(client, &user.name, "audit.read", "audit", detail).await?;
    Ok(AuditPage {
        rows: list,
        more,
        next,
    })
}

/// The agency's reports: the statistics across stations (R19) as text,
/// CSV, JSON or a printable page; the interruption log across stations
/// is `GET /api/v1/gaps` and the desk's agency gap log.
async fn report(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    axum::extract::Path(kind): axum::extract::Path<String>,
    Query(q): Query<vigil_service::reports::ReportQuery>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Report>(&c, &headers).await?;
    if kind != "stats" && kind != "ingest" {
        return Err(CentreError::NotFound(format!(
            "no report {kind:?} at the centre: stats or ingest (the agency's interruptions are \
             `vigil gaps` and the desk's agency gap log)"
        )));
    }
    let format = q.format.as_deref().unwrap_or("text");
    if !vigil_service::reports::FORMATS.contains(&format) {
        return Err(CentreError::BadRequest(format!(
            "--format {format:?}: one of {}",
            vigil_service::reports::FORMATS.join(", ")
        )));
    }
    let asked = q.station.as_deref().filter(|s| !s.is_empty());
    let station = user.scope(asked)?;
    let (since, until) = crate::stats::period(q.since.as_deref(), q.until.as_deref())?;
    let mut client = c.pool.get().await?;
    let lang = q
        .lang
        .as_deref()
        .and_then(vigil_i18n::Lang::parse)
        .unwrap_or_default();
    let stations = stations_in_scope(&client, &user, asked).await?;
    // Names are for people's pages; the data formats carry numbers.
    let names = if matches!(format, "json" | "csv") {
        crate::officers::Names::default()
    } else {
        crate::officers::Names::of(&client, &stations, lang).await?
    };
    let reader = crate::stats::Reader {
        lang,
        zone: &c.zone,
        by: &user.name,
        names: &names,
    };
    let (json, csv, page) = if kind == "ingest" {
        let r = crate::ingest::gather(
            &mut client,
            &stations,
            station.as_deref(),
            user.role,
            &since,
            &until,
        )
        .await?;
        (
            serde_json::to_string_pretty(&r),
            crate::ingest::csv(&r),
            crate::ingest::page(&r, &reader),
        )
    } else {
        let s = crate::stats::gather(&mut client, station.as_deref(), &since, &until).await?;
        (
            serde_json::to_string_pretty(&s),
            crate::stats::csv(&s),
            crate::stats::page(&s, &reader),
        )
    };
    audit(
        &client,
        &user.name,
        "report.read",
        &kind,
        serde_json::json!({"station": station, "since": since, "until": until, "format": format}),
    )
    .await?;
    let (body, kind) = match format {
        "json" => (
            json.map_err(|e| CentreError::Config(e.to_string()))? + "\n",
            "application/json",
        ),
        "csv" => (format!("\u{feff}{}", csv?), "text/csv; charset=utf-8"),
        "html" => (vigil_desk::printed::html(&page), "text/html; charset=utf-8"),
        _ => (
            vigil_desk::printed::text(&page),
            "text/plain; charset=utf-8",
        ),
    };
    Ok(([(axum::http::header::CONTENT_TYPE, kind)], body).into_response())
}

/// Which station's interruption or request (`?station=`), when its id
/// is not enough.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Which {
    pub(crate) station: Option<String>,
}

/// A review taken at the centre: checked as the declaration says, then
/// sent to the interruption's station, which records it in its own log
/// (or refuses it, with why); the answer says it was sent, and the board
/// shows when the station's log entry for it arrives.
async fn review(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    axum::extract::Path(gap): axum::extract::Path<String>,
    Query(w): Query<Which>,
    Json(r): Json<vigil_service::explanations::Review>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Review>(&c, &headers).await?;
    if !matches!(r.verdict.as_str(), "accepted" | "rejected") {
        return Err(CentreError::BadRequest(format!(
            "verdict {:?}: expected accepted or rejected",
            r.verdict
        )));
    }
    let client = c.pool.get().await?;
    let (station, id) = actions::send_review(
        &client,
        &user,
        &gap,
        w.station.as_deref(),
        &r.verdict,
        r.note.as_deref(),
        None,
    )
    .await?;
    Ok(Json(serde_json::json!({
        "gap": gap, "verdict": r.verdict, "reviewer": user.name, "station": station,
        "action": id, "status": "sent to the station",
    }))
    .into_response())
}

fn bearer(headers: &HeaderMap) -> Result<&str, CentreError> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| CentreError::Unauthenticated("log in first (`vigil login --server`)".into()))
}

/// The caller, allowed `E` by its declaration.
pub(crate) async fn caller<E: Endpoint>(
    c: &Centre,
    headers: &HeaderMap,
) -> Result<User, CentreError> {
    let client = c.pool.get().await?;
    let user = users::of_token(&client, bearer(headers)?).await?;
    user.may::<E>()?;
    Ok(user)
}

async fn login(
    Axum(c): Axum<Centre>,
    ConnectInfo(peer): ConnectInfo<vigil_api::TlsPeer>,
    Json(l): Json<auth::Login>,
) -> Result<Response, CentreError> {
    let client = c.pool.get().await?;
    let (token, expires_at) =
        users::login(&client, &l.user, &l.password, &peer.addr.to_string()).await?;
    Ok(
        Json(serde_json::json!({"token": token, "user": l.user, "expires_at": expires_at}))
            .into_response(),
    )
}

async fn logout(Axum(c): Axum<Centre>, headers: HeaderMap) -> Result<Response, CentreError> {
    let client = c.pool.get().await?;
    let ended = users::logout(&client, bearer(&headers)?).await?;
    Ok(Json(serde_json::json!({ "ended": ended })).into_response())
}

/// `%`, `_` and `\\` as plain characters in a LIKE pattern.
fn literal(words: &str) -> String {
    words
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Matching `words` anywhere.
fn like(words: &str) -> String {
    format!("%{}%", literal(words))
}

/// Which recordings, across stations.
#[derive(Debug, Clone, Default)]
pub struct ClipFilter {
    /// Only this station's.
    pub station: Option<String>,
    /// Only this officer's.
    pub officer: Option<String>,
    /// Only this recorder's.
    pub device: Option<String>,
    /// Words in its officer, recorder, file, site, case or note, or in an
    /// explanation of one of its interruptions.
    pub search: Option<String>,
    /// The kinds the reader may not see (R17).
    pub hidden: Vec<String>,
    /// At most this many.
    pub limit: i64,
}

/// The recordings `f` asks for, newest ingest first: (station, the
/// station's object); and whether there were more.
pub async fn clip_rows(
    client: &impl deadpool_postgres::GenericClient,
    f: &ClipFilter,
) -> Result<(Vec<(String, serde_json::Value)>, bool), CentreError> {
    let words = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let search = words.map(like);
    // A common word matches a large share of the recordings, and
    // gathering all its matches to sort them is seconds at a million:
    // the newest page of matches is first sought among the newest
    // recordings (the `SEARCH_WINDOW` pages' worth before a cut found by
    // the ingest index), which the indexes intersect with the words'. All
    // matches ingested since the cut are found, so a page filled there is
    // the answer; else the whole agency is searched.
    if words.is_some() {
        let cut: Option<std::time::SystemTime> = client
            .query_opt(
                "SELECT ingested_at FROM clips ORDER BY ingested_at DESC OFFSET $1 LIMIT 1",
                &[&((f.limit + 1) * SEARCH_WINDOW)],
            )
            .await?
            .map(|r| r.get(0));
        if let Some(cut) = cut {
            let rows = clips_matching(client, f, &search, words, Some(cut)).await?;
            if rows.len() as i64 > f.limit {
                let (rows, more) = cut_rows(rows, f.limit);
                return Ok((rows, more));
            }
        }
    }
    let rows = clips_matching(client, f, &search, words, None).await?;
    Ok(cut_rows(rows, f.limit))
}

/// How many pages' worth of the newest recordings a search looks in
/// first.
const SEARCH_WINDOW: i64 = 20;

/// At most `limit` rows, and whether there were more.
fn cut_rows(
    rows: Vec<tokio_postgres::Row>,
    limit: i64,
) -> (Vec<(String, serde_json::Value)>, bool) {
    let (rows, more) = cut(rows, limit);
    (rows.iter().map(|r| (r.get(0), r.get(1))).collect(), more)
}

/// The recordings `f` asks for, newest first, at most `f.limit + 1`;
/// with `since`, only those ingested then or later.
async fn clips_matching(
    client: &impl deadpool_postgres::GenericClient,
    f: &ClipFilter,
    search: &Option<String>,
    words: Option<&str>,
    since: Option<std::time::SystemTime>,
) -> Result<Vec<tokio_postgres::Row>, CentreError> {
    // Written into each part, not as `$8 IS NULL OR …`, so that the
    // planner can intersect the ingest index with the words' indexes. An
    // interruption is found at or after its recording's ingest.
    let (clips_since, gaps_since) = if since.is_some() {
        ("AND ingested_at >= $8", "AND detected_at >= $8")
    } else {
        ("AND $8::timestamptz IS NULL", "")
    };
    // The search's matches are gathered by the trigram indexes (any
    // substring, Chinese included) and the English full-text ones (words
    // by their stems, in any order) first and joined: a filter that may be off (`$4 IS NULL OR ...`) would have
    // PostgreSQL walk every clip in list order instead.
    let matched = if search.is_some() {
        format!(
            "JOIN (SELECT station, id FROM clips WHERE words ILIKE $4 {clips_since}
               UNION
               SELECT station, clip FROM gaps
               WHERE (data #>> '{{explanation,text}}') ILIKE $4 {gaps_since}
               UNION
               SELECT station, id FROM clips
               WHERE to_tsvector('english', words) @@ websearch_to_tsquery('english', $7)
                     {clips_since}
               UNION
               SELECT station, clip FROM gaps
               WHERE to_tsvector('english', COALESCE(data #>> '{{explanation,text}}', ''))
                     @@ websearch_to_tsquery('english', $7) {gaps_since}) m
          ON m.station = c.station AND m.id = c.id"
        )
    } else {
        "JOIN (SELECT NULL::text WHERE $4::text IS NULL AND $7::text IS NULL
                                 AND $8::timestamptz IS NULL) m ON true"
            .to_owned()
    };
    let since_too = if since.is_some() {
        "AND c.ingested_at >= $8"
    } else {
        ""
    };
    let sql = format!(
        "SELECT c.station, c.data FROM clips c {matched}
         WHERE ($1::text IS NULL OR c.station = $1)
           AND ($2::text IS NULL OR c.officer = $2)
           AND ($3::text IS NULL OR c.device = $3)
           AND (c.confidential IS NULL OR NOT (c.confidential = ANY($5)))
           AND c.purged_at IS NULL
           {since_too}
         ORDER BY c.ingested_at DESC, c.station, c.id
         LIMIT $6"
    );
    Ok(client
        .query(
            &sql,
            &[
                &f.station,
                &f.officer,
                &f.device,
                &search,
                &f.hidden,
                &(f.limit + 1),
                &words,
                &since,
            ],
        )
        .await?)
}

async fn clips(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<ClipQuery>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Clips>(&c, &headers).await?;
    let station = user.scope(q.station.as_deref())?;
    let client = c.pool.get().await?;
    let (rows, more) = clip_rows(
        &client,
        &ClipFilter {
            station: station.clone(),
            officer: q.officer.clone(),
            device: q.device.clone(),
            search: q.search.clone(),
            hidden: hidden_from(user.role),
            limit: MAX_ROWS,
        },
    )
    .await?;
    let list: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(station, mut v)| {
            v["station"] = serde_json::Value::String(station);
            v
        })
        .collect();
    audit(
        &client,
        &user.name,
        "clips.listed",
        "clips",
        serde_json::json!({"shown": list.len(), "station": station, "search": q.search, "more": more}),
    )
    .await?;
    Ok(Json(serde_json::json!({ "clips": list, "more": more })).into_response())
}

/// Which interruptions, across stations.
#[derive(Debug, Clone, Default)]
pub struct GapFilter {
    /// Only this station's.
    pub station: Option<String>,
    /// Only those not explained.
    pub open: bool,
    /// Only this officer's.
    pub officer: Option<String>,
    /// Only this recorder's.
    pub device: Option<String>,
    /// Only those that happened (else were found) at or after this time.
    pub since: Option<String>,
    /// ...and before this one.
    pub until: Option<String>,
    /// Hours after which an open one is overdue.
    pub deadline_h: Option<i64>,
    /// Only those overdue (open past the deadline).
    pub overdue_only: bool,
    /// Only explained ones (signed or still waiting for signatures, as a
    /// station's queue has them) whose explanation nobody has reviewed,
    /// and no review from the centre on its way.
    pub to_review: bool,
    /// At most this many [default: `MAX_ROWS`].
    pub limit: Option<i64>,
    /// Count every match too (a page's total when it shows fewer).
    pub count: bool,
}

/// An interruption as the centre holds it.
#[derive(Debug, Clone)]
pub struct GapRow {
    /// Its station.
    pub station: String,
    /// The station's object.
    pub data: serde_json::Value,
    /// `open`, `awaiting_signatures` or `explained`.
    pub status: String,
    /// Open past the deadline.
    pub overdue: bool,
}

impl GapRow {
    /// The station's object with `station`, `status` and `overdue`.
    pub fn into_json(self) -> serde_json::Value {
        let mut v = self.data;
        v["station"] = serde_json::Value::String(self.station);
        v["status"] = serde_json::Value::String(self.status);
        v["overdue"] = serde_json::Value::Bool(self.overdue);
        v
    }
}

/// The interruptions `f` asks for, overdue first then by when they
/// happened (those to review: newest first); at most [`MAX_ROWS`],
/// whether there were more, and with `f.count` how many matched in all.
pub async fn gap_rows(
    client: &impl deadpool_postgres::GenericClient,
    f: &GapFilter,
) -> Result<(Vec<GapRow>, bool, Option<i64>), CentreError> {
    let deadline = f.deadline_h.unwrap_or(DEFAULT_DEADLINE_H);
    let limit = f.limit.unwrap_or(MAX_ROWS);
    if !(0..=24 * 366).contains(&deadline) {
        return Err(CentreError::BadRequest(format!(
            "deadline {deadline} h: expected 0 to 8784 hours"
        )));
    }
    let total = if f.count {
        "COUNT(*) OVER ()"
    } else {
        "NULL::bigint"
    };
    // The queues' orders are their indexes' own, so that a first page is
    // read off an index instead of sorting every match: overdue ones alone
    // are all overdue, by when they happened (the open ones' index); the
    // explanations to review newest first, as a station's queue has them
    // (the index of those not reviewed, backwards). Any other list puts
    // the overdue first.
    let order = if f.to_review {
        "COALESCE(wall_start, detected_at) DESC, station DESC, id DESC"
    } else if f.overdue_only {
        "COALESCE(wall_start, detected_at), station, id"
    } else {
        "overdue DESC, COALESCE(wall_start, detected_at), station, id"
    };
    let rows = client
        .query(
            &format!("SELECT station, data, status,
                    status <> 'explained' AND detected_at < now() - make_interval(hours => $6) AS overdue,
                    {total}
             FROM gaps
             WHERE ($1::text IS NULL OR station = $1)
               AND (NOT $2 OR status <> 'explained')
               AND ($3::text IS NULL OR officer = $3)
               AND ($4::text IS NULL OR device = $4)
               AND ($5::text IS NULL OR COALESCE(wall_start, detected_at) >= $5::timestamptz)
               AND ($8::text IS NULL OR COALESCE(wall_start, detected_at) < $8::timestamptz)
               AND (NOT $9 OR (status <> 'explained' AND detected_at < now() - make_interval(hours => $6)))
               AND (NOT $10 OR (jsonb_typeof(data -> 'explanation') = 'object'
                                AND (data #>> '{{explanation,review}}') IS NULL
                                AND NOT EXISTS (SELECT 1 FROM actions a
                                                WHERE a.station = gaps.station AND a.subject = gaps.id
                                                  AND a.kind = 'review' AND a.applied_seq IS NULL
                                                  AND a.refused IS NULL)))
             ORDER BY {order}
             LIMIT $7"),
            &[&f.station, &f.open, &f.officer, &f.device, &f.since, &(deadline as i32), &(limit + 1), &f.until, &f.overdue_only, &f.to_review],
        )
        .await
        .map_err(|e| match e.as_db_error() {
            Some(d) if d.code() == &tokio_postgres::error::SqlState::INVALID_DATETIME_FORMAT => {
                CentreError::BadRequest(format!("since {:?}: not a date or time", f.since.as_deref().unwrap_or("")))
            }
            _ => e.into(),
        })?;
    let total = f
        .count
        .then(|| rows.first().map_or(0, |r| r.get::<_, i64>(4)));
    let (rows, more) = cut(rows, limit);
    Ok((
        rows.iter()
            .map(|r| GapRow {
                station: r.get(0),
                data: r.get(1),
                status: r.get(2),
                overdue: r.get(3),
            })
            .collect(),
        more,
        total,
    ))
}

async fn gaps(
    Axum(c): Axum<Centre>,
    headers: HeaderMap,
    Query(q): Query<GapQuery>,
) -> Result<Response, CentreError> {
    let user = caller::<ops::Gaps>(&c, &headers).await?;
    let station = user.scope(q.station.as_deref())?;
    let client = c.pool.get().await?;
    let (rows, more, _) = gap_rows(
        &client,
        &GapFilter {
            station: station.clone(),
            open: q.open,
            officer: q.officer.clone(),
            device: q.device.clone(),
            since: q.since.clone(),
            deadline_h: q.deadline,
            ..Default::default()
        },
    )
    .await?;
    let list: Vec<serde_json::Value> = rows.into_iter().map(GapRow::into_json).collect();
    audit(
        &client,
        &user.name,
        "gaps.listed",
        "gaps",
        serde_json::json!({"shown": list.len(), "station": station, "open": q.open, "more": more}),
    )
    .await?;
    Ok(Json(serde_json::json!({ "gaps": list, "more": more })).into_response())
}
