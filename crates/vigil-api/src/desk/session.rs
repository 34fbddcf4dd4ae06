//! The desk's login and logout, and the language a reader chose: the session cookie, the login form's own token against login CSRF.

use super::page::*;

/// The pre-session cookie of the login form (login CSRF).
pub(super) const LOGIN_COOKIE: &str = "vigil_login";

/// The login page, with a fresh pre-session token in a cookie and in the
/// form: a login is taken only when both come back, so a form on another
/// site cannot log a browser in (login CSRF).
pub(super) async fn login_page(State(state): State<ApiState>, desk: Desk) -> Response {
    login_form(&state, &desk, StatusCode::OK, false, String::new())
}

pub(super) fn login_form(
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
pub(super) struct LoginForm {
    user: String,
    password: String,
    #[serde(default)]
    login_token: String,
}

/// Why a login form did not come from this desk's own login page, if it
/// did not: the browser's `Sec-Fetch-Site` (else its `Origin`) names
/// another site, or the pre-session token did not come back in both
/// cookie and form.
pub(super) fn foreign_login(headers: &HeaderMap, token: &str) -> Option<String> {
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

pub(super) async fn login(
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
    let stations = std::sync::Arc::clone(&state.stations);
    let user = f.user.clone();
    let admitted = match vigil_service::auth::admit() {
        Ok(a) => a,
        Err(e) => return message(&state, &desk, &e),
    };
    let session = tokio::task::spawn_blocking(move || {
        let mut store = stations.lend()?;
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
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn logout(
    State(state): State<ApiState>,
    desk: Desk,
    Form(f): Form<CsrfForm>,
) -> Response {
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
pub(super) struct Back {
    back: Option<String>,
}

pub(super) async fn set_lang(Path(code): Path<String>, Query(q): Query<Back>) -> Response {
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
