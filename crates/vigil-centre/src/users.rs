//! The agency's users at the centre: each has a role (the station's roles,
//! `vigil_service::identity::Role`) and sees every station, or one station
//! when enrolled for it (a station's supervisor). Passwords are argon2id
//! (`vigil_service::auth`, the station's own rules: at least
//! `MIN_PASSWORD` characters); a login opens a session kept by its
//! token's SHA-256 for `SESSION_S`. Every user added, every login and
//! every refused login is a row of the centre's audit log.

use deadpool_postgres::GenericClient;
use vigil_service::auth::{self, MIN_PASSWORD};
use vigil_service::identity::Role;

use crate::error::CentreError;
use crate::stations::audit;

/// How long a session lasts, seconds.
pub const SESSION_S: i64 = 8 * 3600;

/// Who calls, from their session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The one station they see; none: every station.
    pub station: Option<String>,
    /// Their officer number (a station's separation of duties compares
    /// it with its own accounts').
    pub officer: Option<String>,
}

impl User {
    /// Whether their role may call the declared operation `E` (its
    /// declaration's roles, as at a station).
    pub fn may<E: vigil_service::op::Endpoint>(&self) -> Result<(), CentreError> {
        if E::ROLES.contains(&self.role) {
            Ok(())
        } else {
            Err(CentreError::Refused(format!(
                "a {} may not be {}",
                self.role.as_str(),
                E::WHAT
            )))
        }
    }

    /// The station filter a request of theirs runs with: their station,
    /// or the one asked for (refused when it is not theirs).
    pub fn scope(&self, asked: Option<&str>) -> Result<Option<String>, CentreError> {
        match (&self.station, asked) {
            (Some(mine), Some(a)) if a != mine => Err(CentreError::Refused(format!(
                "{} sees the station {mine} only, not {a}",
                self.name
            ))),
            (Some(mine), _) => Ok(Some(mine.clone())),
            (None, a) => Ok(a.map(str::to_owned)),
        }
    }
}

/// Adds a user.
pub async fn add(
    c: &impl GenericClient,
    actor: &str,
    name: &str,
    role: &str,
    station: Option<&str>,
    officer: Option<&str>,
    password: &str,
) -> Result<(), CentreError> {
    let role = Role::parse(role).ok_or_else(|| {
        CentreError::BadRequest(format!(
            "{role:?} is not a role (officer, custodian, auditor, supervisor, admin)"
        ))
    })?;
    if password.chars().count() < MIN_PASSWORD {
        return Err(CentreError::BadRequest(format!(
            "the password is shorter than {MIN_PASSWORD} characters"
        )));
    }
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(CentreError::BadRequest(format!(
            "{name:?} is not a user name"
        )));
    }
    let hash = auth::hash_password(password).map_err(|e| CentreError::BadRequest(e.to_string()))?;
    let n = c
        .execute(
            "INSERT INTO users (name, role, station, password, created_by, officer)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            &[&name, &role.as_str(), &station, &hash, &actor, &officer],
        )
        .await
        .map_err(|e| match e.as_db_error() {
            Some(d) if d.constraint() == Some("users_station_fkey") => CentreError::BadRequest(
                format!("no station {:?} is enrolled", station.unwrap_or_default()),
            ),
            _ => e.into(),
        })?;
    if n == 0 {
        return Err(CentreError::BadRequest(format!("a user {name:?} exists")));
    }
    audit(
        c,
        actor,
        "user.added",
        name,
        serde_json::json!({ "role": role.as_str(), "station": station, "officer": officer }),
    )
    .await
}

/// Checks a password and opens a session: its token, and when it expires
/// (RFC 3339). A refusal is audited and says nothing of which part was
/// wrong. As at a station, `max_failures` refusals of a user from one
/// address within `lockout_minutes` lock that user out from there for as
/// long as tries go on (each try while locked out is refused unchecked,
/// and counts); the lockout is audited once (`session.locked_out`).
pub async fn login(
    c: &impl GenericClient,
    name: &str,
    password: &str,
    peer: &str,
) -> Result<(String, String), CentreError> {
    let policy = auth::Policy::default();
    let source = auth::source_of(peer);
    let failures = c
        .query_one(
            "SELECT COUNT(*) FROM audit
             WHERE action = 'session.refused' AND subject = $1 AND detail->>'source' = $2
               AND at > now() - make_interval(mins => $3)",
            &[&name, &source, &(policy.lockout_minutes as i32)],
        )
        .await?
        .get::<_, i64>(0);
    let refuse = |why: &'static str| {
        let detail = serde_json::json!({ "peer": peer, "source": &source, "why": why });
        async move {
            audit(
                c,
                &format!("{name} (login from {peer})"),
                "session.refused",
                name,
                detail,
            )
            .await
        }
    };
    if failures >= i64::from(policy.max_failures) {
        refuse("locked out").await?;
        return Err(CentreError::Refused(format!(
            "{name} is locked out from {source} after {} failed logins; try again in {} minutes or ask an admin",
            policy.max_failures, policy.lockout_minutes
        )));
    }
    let row = c
        .query_opt("SELECT password FROM users WHERE name = $1", &[&name])
        .await?;
    let stored: Option<String> = row.map(|r| r.get(0));
    let (hash, pw) = (stored.clone(), password.to_owned());
    let ok = tokio::task::spawn_blocking(move || auth::password_matches(hash.as_deref(), &pw))
        .await
        .unwrap_or(false);
    if !ok {
        refuse("wrong user name or password").await?;
        if failures + 1 == i64::from(policy.max_failures) {
            tracing::warn!(user = %name, %source, "centre login locked out after repeated failures");
            audit(
                c,
                name,
                "session.locked_out",
                name,
                serde_json::json!({ "source": source, "failures": policy.max_failures,
                                    "minutes": policy.lockout_minutes }),
            )
            .await?;
        }
        return Err(CentreError::Refused("wrong user name or password".into()));
    }
    let token = auth::random_hex(32).map_err(|e| CentreError::Config(e.to_string()))?;
    let row = c
        .query_one(
            "INSERT INTO sessions (token_sha256, user_name, expires_at)
             VALUES ($1, $2, now() + make_interval(secs => $3))
             RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            &[&auth::token_sha256(&token), &name, &(SESSION_S as f64)],
        )
        .await?;
    audit(
        c,
        &format!("{name} (login from {peer})"),
        "session.opened",
        name,
        serde_json::json!({ "peer": peer }),
    )
    .await?;
    Ok((token, row.get(0)))
}

/// The user of a live session.
pub async fn of_token(c: &impl GenericClient, token: &str) -> Result<User, CentreError> {
    let row = c
        .query_opt(
            "SELECT u.name, u.role, u.station, u.officer FROM sessions s JOIN users u ON u.name = s.user_name
             WHERE s.token_sha256 = $1 AND s.expires_at > now()",
            &[&auth::token_sha256(token)],
        )
        .await?
        .ok_or_else(|| {
            CentreError::Unauthenticated("no live session: log in (`vigil login --server`)".into())
        })?;
    let role: String = row.get(1);
    Ok(User {
        name: row.get(0),
        role: Role::parse(&role)
            .ok_or_else(|| CentreError::Config(format!("user role {role:?} is not a role")))?,
        station: row.get(2),
        officer: row.get(3),
    })
}

/// Ends a session.
pub async fn logout(c: &impl GenericClient, token: &str) -> Result<bool, CentreError> {
    Ok(c.execute(
        "DELETE FROM sessions WHERE token_sha256 = $1",
        &[&auth::token_sha256(token)],
    )
    .await?
        > 0)
}
