//! Who is acting, and may they (R16, R17, R20). Every command runs as a
//! Vigil user: the one mapped to the Unix user running it, or, for root,
//! any registered user named with `--as` (the audit log then records both).
//! On a fresh store root is the admin, so ingest works with no set-up; a
//! store whose users table is empty also lets its owner act as admin.

use vigil_store::Store;

use crate::error::ServiceError;
use crate::station::Station;

/// A role's rights are checked per command against these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Records and explains; tags own clips.
    Officer,
    /// Ingests, tags, registers devices and officers, exports.
    Custodian,
    /// Reads everything, the audit log included.
    Auditor,
    /// Approves retrievals, reviews.
    Supervisor,
    /// Everything, users included.
    Admin,
}

impl Role {
    /// The role named `s` (`officer`, `custodian`, ...), if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "officer" => Self::Officer,
            "custodian" => Self::Custodian,
            "auditor" => Self::Auditor,
            "supervisor" => Self::Supervisor,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    /// The role in people's words (the catalogue's).
    pub fn label(self) -> vigil_i18n::Msg {
        use vigil_i18n::Msg;
        match self {
            Self::Officer => Msg::RoleOfficer,
            Self::Custodian => Msg::RoleCustodian,
            Self::Auditor => Msg::RoleAuditor,
            Self::Supervisor => Msg::RoleSupervisor,
            Self::Admin => Msg::RoleAdmin,
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Officer => "officer",
            Self::Custodian => "custodian",
            Self::Auditor => "auditor",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }
}

/// Any role.
pub const ANYONE: &[Role] = &[
    Role::Officer,
    Role::Custodian,
    Role::Auditor,
    Role::Supervisor,
    Role::Admin,
];
/// Who may bring evidence in and manage the registry.
pub const CUSTODY: &[Role] = &[Role::Custodian, Role::Admin];
/// Who may explain interruptions.
pub const EXPLAIN: &[Role] = &[
    Role::Officer,
    Role::Supervisor,
    Role::Custodian,
    Role::Admin,
];
/// Who may read the audit log and verify the store.
pub const AUDIT: &[Role] = &[
    Role::Auditor,
    Role::Supervisor,
    Role::Custodian,
    Role::Admin,
];
/// Who may review explanations (and sees the queue of those waiting).
pub const REVIEW: &[Role] = &[Role::Supervisor, Role::Auditor, Role::Admin];
/// Who may manage users.
pub const ADMIN: &[Role] = &[Role::Admin];

/// The acting user.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Vigil user name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// The Unix user running the command.
    pub unix: String,
    /// Acting through root's `--as`.
    pub via_as: bool,
    /// The officer id of this Vigil user, if it is an officer's account.
    pub officer: Option<String>,
    /// The desk session acting (its id, a prefix of the token's hash), when
    /// the caller logged in over TLS instead of being a local account.
    pub session: Option<String>,
    /// The agency centre (its witness's name) the action was taken at, by
    /// its user `user`, when it was.
    pub centre: Option<String>,
}

impl Identity {
    /// How the audit log names this actor: the user, and the Unix account
    /// behind it when they differ.
    pub fn actor(&self) -> String {
        if let Some(centre) = &self.centre {
            return format!("{} (at the centre {centre})", self.user);
        }
        if let Some(session) = &self.session {
            return format!("{} (desk session {session})", self.user);
        }
        if self.via_as {
            format!("{} (as, by unix:{})", self.user, self.unix)
        } else if self.user == self.unix {
            self.user.clone()
        } else {
            format!("{} (unix:{})", self.user, self.unix)
        }
    }

    /// The user an actor as [`Self::actor`] writes it names: `cara (desk
    /// session …)` and `root (unix:0)` are cara and root.
    pub fn user_of(actor: &str) -> &str {
        actor.split(" (").next().unwrap_or(actor)
    }

    /// Refuses unless the role is one of `allowed`.
    pub fn require(&self, allowed: &[Role], what: &str) -> Result<(), ServiceError> {
        if allowed.contains(&self.role) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        Err(ServiceError::refused(format!(
            "{} is {} and {what} needs one of: {}",
            self.user,
            self.role.as_str(),
            names.join(", ")
        )))
    }
}

/// Who is calling, as the operating system says: the uid running the CLI
/// in-process, or the peer of a Unix-socket connection (`SO_PEERCRED`).
/// Never a typed id: only root may name another user (`--as`), and both
/// are recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The Unix uid.
    pub uid: u32,
    /// Root's `--as NAME`.
    pub as_user: Option<String>,
    /// The caller runs the store itself (the CLI on its own store, or the
    /// daemon's own account): on a store with no users yet it is the admin.
    /// A socket peer is never this unless it is the daemon's own uid.
    pub owner: bool,
}

impl Caller {
    /// The process running this code.
    pub fn current(as_user: Option<String>) -> Self {
        let uid = rustix::process::geteuid().as_raw();
        Self {
            uid,
            as_user,
            owner: true,
        }
    }

    /// Whether the caller is root.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// The name of Unix user `uid`, or `uid:N` when it has no entry.
pub fn unix_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => format!("uid:{uid}"),
    }
}

/// Works out who is acting on `store`.
pub fn resolve(station: &Station, caller: &Caller) -> Result<Identity, ServiceError> {
    let store = &station.store;
    let unix = unix_name(caller.uid);
    let users = store.people().users()?;
    let role_of = |u: &vigil_store::people::User| Role::parse(&u.role).unwrap_or(Role::Officer);
    if let Some(name) = caller.as_user.as_deref() {
        if !caller.is_root() {
            return Err(ServiceError::refused(
                "only root may act as another user (--as)".into(),
            ));
        }
        let Some(u) = users.iter().find(|u| u.name == name) else {
            return Err(ServiceError::not_found(format!(
                "--as {name}: no such Vigil user (see `vigil user list`)"
            )));
        };
        return Ok(Identity {
            user: u.name.clone(),
            role: role_of(u),
            unix,
            via_as: true,
            officer: u.officer.clone(),
            session: None,
            centre: None,
        });
    }
    if let Some(u) = users
        .iter()
        .find(|u| u.unix_user.as_deref() == Some(unix.as_str()))
    {
        return Ok(Identity {
            user: u.name.clone(),
            role: role_of(u),
            unix,
            via_as: false,
            officer: u.officer.clone(),
            session: None,
            centre: None,
        });
    }
    if caller.is_root() || (caller.owner && users.is_empty()) {
        return Ok(Identity {
            user: unix.clone(),
            role: Role::Admin,
            unix,
            via_as: false,
            officer: None,
            session: None,
            centre: None,
        });
    }
    Err(ServiceError::refused(format!(
        "Unix user {unix} is not a Vigil user; an admin can add one with `vigil user add NAME --role ROLE --unix {unix}`"
    )))
}

/// The identity of registered user `name` (a desk session's user).
pub fn of_user(store: &Store, name: &str) -> Result<Identity, ServiceError> {
    let users = store.people().users()?;
    let Some(u) = users.iter().find(|u| u.name == name) else {
        return Err(ServiceError::refused(format!("no Vigil user {name:?}")));
    };
    Ok(Identity {
        user: u.name.clone(),
        role: Role::parse(&u.role).unwrap_or(Role::Officer),
        unix: String::new(),
        via_as: false,
        officer: u.officer.clone(),
        session: None,
        centre: None,
    })
}
