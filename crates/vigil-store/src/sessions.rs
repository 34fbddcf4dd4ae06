//! Desk logins: password hashes, sessions and failed attempts.
//! The store keeps what a login needs and audits every step
//! (`user.password_set`, `session.login`, `session.login_failed`,
//! `session.logout`); hashing and tokens are the service's business: the
//! store never sees a password or a token, only an argon2id hash and the
//! token's SHA-256.

use rusqlite::{params, OptionalExtension};
use serde_json::json;

use crate::audit;
use crate::domains::People;
use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::timefmt::now_rfc3339;

impl<I: std::ops::Deref<Target = Index>> People<I> {
    /// A user's password hash, if one is set.
    pub fn password_hash(&self, user: &str) -> Result<Option<String>> {
        self.ix
            .conn
            .query_row(
                "SELECT hash FROM passwords WHERE user_name = ?1",
                [user],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))
    }

    /// Failed logins of `user` at or after `since` (RFC 3339).
    pub fn login_failures_since(&self, user: &str, source: &str, since: &str) -> Result<u32> {
        self.ix.conn
            .query_row(
                "SELECT COUNT(*) FROM login_failures WHERE user_name = ?1 AND source = ?2 AND at >= ?3",
                params![user, source, since],
                |r| r.get::<_, u32>(0),
            )
            .map_err(|e| self.ix.err(e))
    }

    /// The user of a live session.
    pub fn session_user(&self, token_sha256: &str, now: &str) -> Result<Option<String>> {
        self.ix.conn
            .query_row(
                "SELECT user_name FROM sessions WHERE token_sha256 = ?1 AND ended_at IS NULL AND expires_at > ?2",
                params![token_sha256, now],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))
    }
}

impl<I: std::ops::DerefMut<Target = Index>> People<I> {
    /// Sets a user's password hash (argon2id PHC string); ends their
    /// sessions. Audited.
    pub fn set_password(&mut self, actor: &str, user: &str, hash: &str) -> Result<()> {
        let known = self
            .ix
            .conn
            .query_row("SELECT 1 FROM users WHERE name = ?1", [user], |_| Ok(()))
            .optional()
            .map_err(|e| self.ix.err(e))?
            .is_some();
        if !known {
            return Err(StoreError::Refused(format!(
                "no Vigil user {user:?} (see `vigil user list`)"
            )));
        }
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO passwords (user_name, hash, set_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_name) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
                params![user, hash, now],
            )?;
            // Every session of the user ends with the old password.
            let ended = tx.execute(
                "UPDATE sessions SET ended_at = ?2 WHERE user_name = ?1 AND ended_at IS NULL",
                params![user, now],
            )?;
            audit::append(tx, &now, actor, "user.password_set", user, &json!({"sessions_ended": ended}))
                .map(|_| ())
        })
    }

    /// Records a failed login (audited, counted for the lockout).
    pub fn record_login_failure(
        &mut self,
        actor: &str,
        user: &str,
        why: &str,
        peer: &str,
        source: &str,
    ) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO login_failures (user_name, at, source) VALUES (?1, ?2, ?3)",
                params![user, now, source],
            )?;
            audit::append(
                tx,
                &now,
                actor,
                "session.login_failed",
                user,
                &json!({"reason": why, "peer": peer}),
            )
            .map(|_| ())
        })
    }

    /// Opens a session (audited as the user's login).
    pub fn open_session(
        &mut self,
        user: &str,
        token_sha256: &str,
        expires_at: &str,
        peer: &str,
    ) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO sessions (token_sha256, user_name, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token_sha256, user, now, expires_at],
            )?;
            audit::append(
                tx,
                &now,
                user,
                "session.login",
                user,
                &json!({"expires_at": expires_at, "peer": peer, "session": &token_sha256[..16]}),
            )
            .map(|_| ())
        })
    }

    /// Ends a session (audited); false if there was none.
    pub fn end_session(&mut self, actor: &str, token_sha256: &str) -> Result<bool> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            let user: Option<String> = tx
                .query_row(
                    "SELECT user_name FROM sessions WHERE token_sha256 = ?1 AND ended_at IS NULL",
                    [token_sha256],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(user) = user else { return Ok(false) };
            tx.execute(
                "UPDATE sessions SET ended_at = ?2 WHERE token_sha256 = ?1",
                params![token_sha256, now],
            )?;
            audit::append(
                tx,
                &now,
                actor,
                "session.logout",
                &user,
                &json!({"session": &token_sha256[..16]}),
            )?;
            Ok(true)
        })
    }
}
