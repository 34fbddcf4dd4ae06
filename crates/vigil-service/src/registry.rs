//! Who may act and who each recorder belongs to (R3, R16, R20): Vigil
//! users, officers, recorders and their binding history. Served by vigild
//! and run in-process alike; every change audited by the store.

use serde::{Deserialize, Serialize};
use vigil_store::people::{Officer, User};
use vigil_store::Store;

use crate::error::ServiceError;
use crate::identity::Identity;

/// A user to register (`vigil user add`, `POST /api/v1/users`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    /// User name.
    pub name: String,
    /// officer, custodian, auditor, supervisor or admin.
    pub role: String,
    /// The Unix account that acts as this user [default: the name].
    pub unix: Option<String>,
    /// The officer id (a registered officer), for officers.
    pub officer: Option<String>,
    /// Where the station's notices of what waits for the user are sent.
    #[serde(default)]
    pub email: Option<String>,
}

/// A user's notice address (`vigil user email`, `POST
/// /api/v1/users/{user}/email`); none clears it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewEmail {
    /// The address, e.g. `zhang.san@station.example`.
    pub email: Option<String>,
}

/// Refuses what is not one plain mail address (an SMTP header is built
/// from it: no line breaks, no spaces, one `@`, at most 254 characters).
fn check_email(e: &str) -> Result<(), ServiceError> {
    let ok = e.len() <= 254
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>,;\"".contains(c))
        && matches!(e.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::bad_request(format!(
            "{e:?} is not an e-mail address (name@host.domain, no spaces)"
        )))
    }
}

/// Sets a user's notice address: an admin anyone's, a user their own.
pub(crate) fn set_email(
    store: &mut Store,
    id: &Identity,
    user: &str,
    e: &NewEmail,
) -> Result<serde_json::Value, ServiceError> {
    if id.user != user && id.role != crate::Role::Admin {
        return Err(ServiceError::refused(format!(
            "{} may set only their own e-mail address; an admin sets others'",
            id.user
        )));
    }
    let email = e.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    if let Some(e) = email {
        check_email(e)?;
    }
    store.people_mut().set_email(&id.actor(), user, email)?;
    Ok(serde_json::json!({"user": user, "email": email}))
}

fn json<T: Serialize>(v: &T) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(v).map_err(|e| ServiceError::bad_request(e.to_string()))
}

/// Registers a user (admins only).
pub(crate) fn add_user(
    store: &mut Store,
    id: &Identity,
    u: &NewUser,
) -> Result<serde_json::Value, ServiceError> {
    let unix = u.unix.clone().unwrap_or_else(|| u.name.clone());
    if let Some(e) = &u.email {
        check_email(e)?;
    }
    for existing in store.people().users()? {
        if existing.name == u.name {
            return Err(ServiceError::refused(format!(
                "user {} exists already (as {}); see `vigil user list`",
                u.name, existing.role
            )));
        }
        if existing.unix_user.as_deref() == Some(unix.as_str()) {
            return Err(ServiceError::refused(format!(
                "the Unix account {unix} acts as user {} already; give --unix another account",
                existing.name
            )));
        }
    }
    let user = User {
        unix_user: Some(u.unix.clone().unwrap_or_else(|| u.name.clone())),
        name: u.name.clone(),
        role: u.role.clone(),
        officer: u.officer.clone(),
        created_at: String::new(),
        email: u.email.clone(),
    };
    store
        .people_mut()
        .add_user(&id.actor(), &user)
        .map_err(ServiceError::doing(format!("adding user {}", u.name)))?;
    json(&user)
}

/// All users: `{"users": [...]}`.
pub(crate) fn users(store: &Store) -> Result<serde_json::Value, ServiceError> {
    Ok(serde_json::json!({ "users": store.people().users()? }))
}

/// An officer to register or update (`POST /api/v1/officers`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewOfficer {
    /// Officer id (badge number).
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// Unit.
    pub unit: Option<String>,
}

/// Registers or updates an officer (custodians, admins).
pub(crate) fn upsert_officer(
    store: &mut Store,
    id: &Identity,
    o: &NewOfficer,
) -> Result<serde_json::Value, ServiceError> {
    let officer = Officer {
        id: o.id.clone(),
        name: o.name.clone(),
        unit: o.unit.clone(),
    };
    store.people_mut().upsert_officer(&id.actor(), &officer)?;
    json(&officer)
}

/// All officers: `{"officers": [...]}`.
pub(crate) fn officers(store: &Store) -> Result<serde_json::Value, ServiceError> {
    Ok(serde_json::json!({ "officers": store.people().officers()? }))
}

/// A recorder to register (`POST /api/v1/devices`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewDevice {
    /// Serial number.
    pub serial: String,
    /// Model.
    pub model: Option<String>,
}

/// Registers a recorder (custodians, admins).
pub(crate) fn add_device(
    store: &mut Store,
    id: &Identity,
    d: &NewDevice,
) -> Result<serde_json::Value, ServiceError> {
    store
        .people_mut()
        .register_device(&id.actor(), &d.serial, d.model.as_deref())?;
    json(d)
}

/// A binding (`POST /api/v1/devices/{serial}/bindings`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Binding {
    /// The officer (registered).
    pub officer: String,
    /// From when, RFC 3339 UTC.
    pub from: String,
}

/// Binds a recorder to an officer from `b.from` on (R3).
pub(crate) fn bind(
    store: &mut Store,
    id: &Identity,
    serial: &str,
    b: &Binding,
) -> Result<serde_json::Value, ServiceError> {
    store
        .people_mut()
        .bind(&id.actor(), serial, &b.officer, &b.from)?;
    Ok(serde_json::json!({"serial": serial, "officer": b.officer, "from": b.from}))
}

/// The registry with binding history: `{"devices": [...]}`.
pub(crate) fn devices(store: &Store) -> Result<serde_json::Value, ServiceError> {
    Ok(serde_json::json!({ "devices": store.people().devices()? }))
}
