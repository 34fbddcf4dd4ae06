//! Printed reports: the form, and the report rendered as a page with its own stylesheet allowed by hash.

use super::page::*;

pub(super) async fn reports(State(state): State<ApiState>, desk: Desk) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |_, id| {
        let today = st.zone.local(&vigil_service::model::now_rfc3339());
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
pub(super) struct ReportForm {
    kind: String,
    from: String,
    until: String,
}

/// The CSP of a printed report: the desk's, with its inline stylesheet
/// allowed by hash.
pub(super) fn report_csp() -> &'static str {
    static CSP_REPORT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CSP_REPORT.get_or_init(|| {
        use base64::Engine as _;
        let hash = sha2::Sha256::digest(view::REPORT_CSS.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(hash);
        CSP.replace("style-src 'self'", &format!("style-src 'sha256-{b64}'"))
    })
}

pub(super) async fn report_view(
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
            station: None,
        };
        let mut r = vigil_service::ops::Report::run(s, id, &f.kind, &q, &st.zone)?;
        if let vigil_service::reports::Body::Page(page) = &mut r.body {
            page.links = true;
        }
        let mut resp = html(StatusCode::OK, view::printed::document(r));
        if let Ok(v) = HeaderValue::from_str(report_csp()) {
            resp.headers_mut().insert("content-security-policy", v);
        }
        Ok(Out::Raw(resp))
    })
    .await
}
