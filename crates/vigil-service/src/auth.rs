//! Desk logins: argon2id password hashes, session tokens that
//! expire, a lockout after repeated failures, and every login, failure and
//! logout in the audit log. A token is 32 random bytes shown once to the
//! client; the store keeps only its SHA-256.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vigil_store::Store;

use crate::error::ServiceError;
use crate::identity::{self, Identity, Role};
use crate::station::Station;

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// How sessions and the lockout behave (from vigild's config).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Policy {
    /// How long a session lasts, seconds.
    pub session_s: i64,
    /// Failed logins within the window that lock a user out.
    pub max_failures: u32,
    /// The lockout window, minutes.
    pub lockout_minutes: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            session_s: 8 * 3600,
            max_failures: 5,
            lockout_minutes: 15,
        }
    }
}

/// A login's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The bearer token (shown once).
    pub token: String,
    /// The user.
    pub user: String,
    /// When it expires (RFC 3339 UTC).
    pub expires_at: String,
}

/// A desk login's body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Login {
    /// The Vigil user.
    pub user: String,
    /// Their password.
    pub password: String,
}

/// A new password's body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewPassword {
    /// The password (at least [`MIN_PASSWORD`] characters).
    pub password: String,
}

/// The SHA-256 (hex) under which a token's session is kept.
pub fn token_sha256(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(token.as_bytes());
    vigil_store::objects::hex(&h.finalize())
}

pub fn random_hex(n: usize) -> Result<String, ServiceError> {
    let mut buf = vec![0u8; n];
    let mut done = 0;
    while done < n {
        done += rustix::rand::getrandom(&mut buf[done..], rustix::rand::GetRandomFlags::empty())
            .map_err(|e| ServiceError::bad_request(format!("no randomness: {e}")))?;
    }
    Ok(vigil_store::objects::hex(&buf))
}

/// Whether `password` matches the stored argon2id hash; with no hash (no
/// such user) a real hash is checked all the same, so both cost the same
/// and say nothing of which users exist. Runs under the hashing bound.
pub fn password_matches(stored: Option<&str>, password: &str) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = match stored {
        Some(h) => h.to_owned(),
        None => DUMMY
            .get_or_init(|| {
                hashing(|| hash_password("no such user, no such password")).unwrap_or_default()
            })
            .clone(),
    };
    let ok = hashing(|| {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    });
    ok && stored.is_some()
}

/// An argon2id hash of `password` (PHC string).
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::encode_b64(random_hex(16)?.as_bytes())
        .map_err(|e| ServiceError::bad_request(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::bad_request(format!("hashing the password: {e}")))
}

/// Sets `user`'s password: an admin for anyone, anyone for themselves.
pub fn set_password(
    store: &mut Store,
    id: &Identity,
    user: &str,
    password: &str,
) -> Result<serde_json::Value, ServiceError> {
    if id.role != Role::Admin && id.user != user {
        return Err(ServiceError::refused(format!(
            "{} may set only their own password (an admin sets others')",
            id.user
        )));
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(ServiceError::refused(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        )));
    }
    let hash = hash_password(password)?;
    store.people_mut().set_password(&id.actor(), user, &hash)?;
    Ok(serde_json::json!({"user": user, "password_set": true}))
}

fn seconds_from_now(s: i64) -> String {
    let t = time::OffsetDateTime::now_utc()
        .checked_add(time::Duration::seconds(s))
        .unwrap_or(time::OffsetDateTime::now_utc());
    vigil_store::rfc3339(t)
}

/// Logins admitted at once: [`HASHING`] verify a password side by side
/// (each argon2id verification takes 19 MiB and a core for a moment), the
/// rest wait their turn; past this many, a login is turned away at once
/// with `busy`. Memory for logins does not grow with how many arrive.
pub const ADMITTED: usize = 16;
/// Password verifications run side by side.
pub const HASHING: usize = 2;

struct Gate {
    admitted: usize,
    hashing: usize,
}

static GATE: std::sync::Mutex<Gate> = std::sync::Mutex::new(Gate {
    admitted: 0,
    hashing: 0,
});
static TURN: std::sync::Condvar = std::sync::Condvar::new();

fn gate() -> std::sync::MutexGuard<'static, Gate> {
    GATE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A login's place among those admitted ([`admit`]); given back on drop.
#[derive(Debug)]
pub struct Admission(());

impl Drop for Admission {
    fn drop(&mut self) {
        gate().admitted -= 1;
    }
}

/// Admits a login before any work is done for it (the store is not even
/// opened), or turns it away with `busy` when [`ADMITTED`] are in
/// progress.
pub fn admit() -> Result<Admission, ServiceError> {
    let mut g = gate();
    if g.admitted >= ADMITTED {
        return Err(ServiceError::busy(format!(
            "{ADMITTED} logins are being checked already: try again in a moment"
        )));
    }
    g.admitted += 1;
    Ok(Admission(()))
}

/// Runs `f` (a password hash) as one of the [`HASHING`] side by side.
fn hashing<T>(f: impl FnOnce() -> T) -> T {
    {
        let mut g = gate();
        while g.hashing >= HASHING {
            g = TURN
                .wait(g)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        g.hashing += 1;
    }
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            gate().hashing -= 1;
            TURN.notify_one();
        }
    }
    let _done = Done;
    f()
}

/// The address part of a peer (`192.0.2.7:51234` → `192.0.2.7`): a
/// lockout is per user and source address, whatever port a client uses.
pub fn source_of(peer: &str) -> String {
    peer.parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| peer.to_owned())
}

/// Whether `user`'s password from `peer` is right, a wrong one counted
/// towards the lockout of [`login`] and audited as `actor` with `wrong` as
/// the reason; refused while the user is locked out from that address.
#[allow(clippy::too_many_arguments)]
fn check_password(
    station: &mut Station,
    user: &str,
    password: &str,
    peer: &str,
    policy: &Policy,
    actor: &str,
    wrong: &str,
) -> Result<bool, ServiceError> {
    let store = &mut station.store;
    let source = source_of(peer);
    let since = seconds_from_now(-60 * policy.lockout_minutes);
    let failures = store.people().login_failures_since(user, &source, &since)?;
    if failures >= policy.max_failures {
        store
            .people_mut()
            .record_login_failure(actor, user, "locked out", peer, &source)?;
        return Err(ServiceError::refused(format!(
            "{user} is locked out from {source} after {} failed logins; try again in {} minutes or ask an admin",
            policy.max_failures, policy.lockout_minutes
        )));
    }
    let known = store.people().users()?.into_iter().any(|u| u.name == user);
    let hash = if known {
        store.people().password_hash(user)?
    } else {
        None
    };
    if !password_matches(hash.as_deref(), password) {
        store
            .people_mut()
            .record_login_failure(actor, user, wrong, peer, &source)?;
        if known && failures + 1 == policy.max_failures {
            tracing::warn!(%user, %source, "desk login locked out after repeated failures");
            store.log_mut().record_event(
                actor,
                "session.locked_out",
                user,
                &serde_json::json!({
                    "source": source, "failures": policy.max_failures,
                    "minutes": policy.lockout_minutes,
                }),
            )?;
        }
        return Ok(false);
    }
    Ok(true)
}

/// Asks a signed-in user for their password again before a deliberate act
/// (a co-signature at the desk): whether it is right; a wrong one counts
/// towards the lockout as a failed login does, and is audited. Refused
/// while the user is locked out.
pub fn confirm(
    station: &mut Station,
    _admitted: &Admission,
    id: &Identity,
    password: &str,
    peer: &str,
    policy: &Policy,
) -> Result<bool, ServiceError> {
    let actor = format!("{} (desk confirmation from {peer})", id.user);
    check_password(
        station,
        &id.user,
        password,
        peer,
        policy,
        &actor,
        "wrong password for the confirmation",
    )
}

/// Checks `user`'s password and opens a session. After
/// `policy.max_failures` failures from one source address within
/// `policy.lockout_minutes`, the user is locked out *from that address*
/// (every further try there is a failure too, so the lockout lasts while
/// the guessing goes on); they can still log in from elsewhere. The
/// lockout is audited (`session.locked_out`) and logged for an
/// administrator. Every failure is audited.
pub fn login(
    station: &mut Station,
    _admitted: &Admission,
    user: &str,
    password: &str,
    peer: &str,
    policy: &Policy,
) -> Result<Session, ServiceError> {
    let actor = format!("{user} (desk login from {peer})");
    let wrong = "wrong user name or password";
    if !check_password(station, user, password, peer, policy, &actor, wrong)? {
        return Err(ServiceError::refused(wrong.into()));
    }
    let store = &mut station.store;
    let token = random_hex(32)?;
    let expires_at = seconds_from_now(policy.session_s);
    store
        .people_mut()
        .open_session(user, &token_sha256(&token), &expires_at, peer)?;
    Ok(Session {
        token,
        user: user.to_owned(),
        expires_at,
    })
}

/// The identity of a live session's bearer token.
pub fn identity_of(station: &Station, token: &str) -> Result<Identity, ServiceError> {
    let store = &station.store;
    let now = vigil_store::now_rfc3339();
    let sha = token_sha256(token);
    let Some(user) = store.people().session_user(&sha, &now)? else {
        return Err(ServiceError::refused(
            "the session is unknown, expired or ended: log in again (`vigil login`)".into(),
        ));
    };
    let mut id = identity::of_user(store, &user)?;
    id.session = Some(sha[..16].to_owned());
    Ok(id)
}

/// Ends the session of `token`.
pub fn logout(
    station: &mut Station,
    id: &Identity,
    token: &str,
) -> Result<serde_json::Value, ServiceError> {
    let store = &mut station.store;
    let ended = store
        .people_mut()
        .end_session(&id.actor(), &token_sha256(token))?;
    Ok(serde_json::json!({"ended": ended}))
}
