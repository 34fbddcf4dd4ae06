//! People and the device registry (R3, R16, R20): Vigil users with roles
//! (each mapped to a Unix user), officers with their units, and which
//! officer each recorder was bound to when. Binding history is never
//! rewritten: a new binding closes the previous one at its start.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit;
use crate::domains::People;
use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::timefmt::now_rfc3339;

/// Roles, from least to most privileged in administration.
pub const ROLES: &[&str] = &["officer", "custodian", "auditor", "supervisor", "admin"];

/// A Vigil user.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct User {
    /// User name.
    pub name: String,
    /// Role.
    pub role: String,
    /// The Unix account that acts as this user.
    pub unix_user: Option<String>,
    /// The officer id, for officers.
    pub officer: Option<String>,
    /// When registered.
    pub created_at: String,
    /// Where the station's notices go, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// An officer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Officer {
    /// Officer id (badge number).
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Unit.
    pub unit: Option<String>,
}

/// One binding of a recorder to an officer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Binding {
    /// Officer id.
    pub officer: String,
    /// From (RFC 3339).
    pub from: String,
    /// Until (RFC 3339), open if none.
    pub to: Option<String>,
}

/// A recorder in the registry.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Device {
    /// Serial.
    pub serial: String,
    /// Model.
    pub model: Option<String>,
    /// The officer bound now.
    pub officer: Option<String>,
    /// Every binding, oldest first.
    pub bindings: Vec<Binding>,
}

/// Whether `id` is a registered officer.
pub(crate) fn officer_registered(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM officers WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

impl<I: std::ops::Deref<Target = Index>> People<I> {
    /// The officer a recorder is bound to, if it is registered.
    pub fn device_officer(&self, serial: &str) -> Result<Option<String>> {
        let from_devices: Option<Option<String>> = self
            .ix
            .conn
            .query_row(
                "SELECT officer_id FROM devices WHERE serial = ?1",
                [serial],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))?;
        if let Some(Some(o)) = from_devices {
            return Ok(Some(o));
        }
        // A recorder seen at a dock carries its binding in the docking rows.
        self.ix.conn
            .query_row(
                "SELECT officer_id FROM dockings WHERE device_serial = ?1 AND officer_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                [serial],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))
    }

    /// Whether `id` is a registered officer.
    pub fn officer_exists(&self, id: &str) -> Result<bool> {
        officer_registered(&self.ix.conn, id).map_err(|e| self.ix.err(e))
    }

    /// All Vigil users.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut stmt = self
            .ix
            .conn
            .prepare(
                "SELECT name, role, unix_user, officer_id, created_at, email FROM users ORDER BY name",
            )
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(User {
                    name: r.get(0)?,
                    role: r.get(1)?,
                    unix_user: r.get(2)?,
                    officer: r.get(3)?,
                    created_at: r.get(4)?,
                    email: r.get(5)?,
                })
            })
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }

    /// All officers.
    pub fn officers(&self) -> Result<Vec<Officer>> {
        let mut stmt = self
            .ix
            .conn
            .prepare("SELECT id, name, unit FROM officers ORDER BY id")
            .map_err(|e| self.ix.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Officer {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    unit: r.get(2)?,
                })
            })
            .map_err(|e| self.ix.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))
    }

    /// The registry with binding history.
    pub fn devices(&self) -> Result<Vec<Device>> {
        let mut stmt = self
            .ix
            .conn
            .prepare("SELECT serial, model, officer_id FROM devices ORDER BY serial")
            .map_err(|e| self.ix.err(e))?;
        let devices: Vec<(String, Option<String>, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.ix.err(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.ix.err(e))?;
        let mut out = Vec::new();
        for (serial, model, officer) in devices {
            let mut b = self.ix
                .conn
                .prepare("SELECT officer_id, from_ts, to_ts FROM bindings WHERE device_serial = ?1 ORDER BY from_ts, id")
                .map_err(|e| self.ix.err(e))?;
            let bindings = b
                .query_map([&serial], |r| {
                    Ok(Binding {
                        officer: r.get(0)?,
                        from: r.get(1)?,
                        to: r.get(2)?,
                    })
                })
                .map_err(|e| self.ix.err(e))?
                .collect::<rusqlite::Result<_>>()
                .map_err(|e| self.ix.err(e))?;
            out.push(Device {
                serial,
                model,
                officer,
                bindings,
            });
        }
        Ok(out)
    }

    /// The officer bound to `serial` at time `at` (RFC 3339), if any.
    pub fn bound_at(&self, serial: &str, at: &str) -> Result<Option<String>> {
        self.ix.conn
            .query_row(
                "SELECT officer_id FROM bindings WHERE device_serial = ?1 AND from_ts <= ?2 AND (to_ts IS NULL OR to_ts > ?2)
                 ORDER BY from_ts DESC, id DESC LIMIT 1",
                params![serial, at],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.ix.err(e))
    }
}

impl<I: std::ops::DerefMut<Target = Index>> People<I> {
    /// Registers a Vigil user (audited).
    pub fn add_user(&mut self, actor: &str, u: &User) -> Result<()> {
        if !ROLES.contains(&u.role.as_str()) {
            return Err(StoreError::BadRow {
                table: "users",
                key: u.name.clone(),
                problem: format!("unknown role {:?} (one of {})", u.role, ROLES.join(", ")),
            });
        }
        if let Some(officer) = &u.officer {
            if !self.officer_exists(officer)? {
                return Err(StoreError::Refused(format!(
                    "officer {officer:?} is not registered (register with `vigil officers add {officer}` first)"
                )));
            }
        }
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO users (name, role, unix_user, officer_id, created_at, email) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![u.name, u.role, u.unix_user, u.officer, now, u.email],
            )?;
            audit::append(tx, &now, actor, "user.added", &u.name, &json!({"role": u.role, "unix_user": u.unix_user, "officer": u.officer, "email": u.email})).map(|_| ())
        })
    }

    /// Sets (or with `None` clears) the address `user`'s notices are sent
    /// to (audited).
    pub fn set_email(&mut self, actor: &str, user: &str, email: Option<&str>) -> Result<()> {
        let now = now_rfc3339();
        let changed = self.ix.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET email = ?1 WHERE name = ?2",
                params![email, user],
            )?;
            if n == 1 {
                audit::append(
                    tx,
                    &now,
                    actor,
                    "user.email_set",
                    user,
                    &json!({"email": email}),
                )?;
            }
            Ok(n)
        })?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!(
                "no Vigil user {user:?} (see `vigil user list`)"
            )));
        }
        Ok(())
    }

    /// Registers or updates an officer (audited).
    pub fn upsert_officer(&mut self, actor: &str, o: &Officer) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO officers (id, name, unit, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET name = COALESCE(?2, name), unit = COALESCE(?3, unit)",
                params![o.id, o.name, o.unit, now],
            )?;
            audit::append(tx, &now, actor, "officer.registered", &o.id, &json!({"name": o.name, "unit": o.unit})).map(|_| ())
        })
    }

    /// Registers a recorder (audited).
    pub fn register_device(
        &mut self,
        actor: &str,
        serial: &str,
        model: Option<&str>,
    ) -> Result<()> {
        let now = now_rfc3339();
        self.ix.write(|tx| {
            tx.execute(
                "INSERT INTO devices (serial, model, first_seen) VALUES (?1, ?2, ?3)
                 ON CONFLICT(serial) DO UPDATE SET model = COALESCE(?2, model)",
                params![serial, model, now],
            )?;
            audit::append(
                tx,
                &now,
                actor,
                "device.registered",
                serial,
                &json!({"model": model}),
            )
            .map(|_| ())
        })
    }

    /// Binds a recorder to an officer from `from` on (audited; history kept).
    pub fn bind(&mut self, actor: &str, serial: &str, officer: &str, from: &str) -> Result<()> {
        let now = now_rfc3339();
        // Both must be known: a typo must not create an officer or a
        // recorder.
        let device_known = self
            .ix
            .conn
            .query_row("SELECT 1 FROM devices WHERE serial = ?1", [serial], |_| {
                Ok(())
            })
            .optional()
            .map_err(|e| self.ix.err(e))?
            .is_some();
        if !device_known {
            return Err(StoreError::Refused(format!(
                "recorder {serial:?} is not registered (see `vigil devices list`; register it with `vigil devices add {serial}`)"
            )));
        }
        if !self.officer_exists(officer)? {
            return Err(StoreError::Refused(format!(
                "officer {officer:?} is not registered (see `vigil officers list`; register with `vigil officers add {officer}`)"
            )));
        }
        self.ix.write(|tx| {
            // Close the binding open at `from`; a binding starting later is
            // cut short at its own start (history is only ever appended).
            tx.execute(
                "UPDATE bindings SET to_ts = ?2 WHERE device_serial = ?1 AND to_ts IS NULL AND from_ts <= ?2",
                params![serial, from],
            )?;
            tx.execute(
                "INSERT INTO bindings (device_serial, officer_id, from_ts, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![serial, officer, from, now],
            )?;
            tx.execute("UPDATE devices SET officer_id = ?2 WHERE serial = ?1", params![serial, officer])?;
            audit::append(tx, &now, actor, "device.bound", serial, &json!({"officer": officer, "from": from})).map(|_| ())
        })
    }
}
