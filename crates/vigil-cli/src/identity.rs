//! Who is acting, and may they (R16, R17, R20). Every command runs as a
//! Vigil user: the one mapped to the Unix user running it, or, for root,
//! any registered user named with `--as` (the audit log then records both).
//! On a fresh store root is the admin, so ingest works with no set-up; a
//! store whose users table is empty also lets its owner act as admin.

use anyhow::{bail, Context};
use vigil_store::Store;

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
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "officer" => Self::Officer,
            "custodian" => Self::Custodian,
            "auditor" => Self::Auditor,
            "supervisor" => Self::Supervisor,
            "admin" => Self::Admin,
            _ => return None,
        })
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
}

impl Identity {
    /// How the audit log names this actor: the user, and the Unix account
    /// behind it when they differ.
    pub fn actor(&self) -> String {
        if self.via_as {
            format!("{} (as, by unix:{})", self.user, self.unix)
        } else if self.user == self.unix {
            self.user.clone()
        } else {
            format!("{} (unix:{})", self.user, self.unix)
        }
    }

    /// Refuses unless the role is one of `allowed`.
    pub fn require(&self, allowed: &[Role], what: &str) -> anyhow::Result<()> {
        if allowed.contains(&self.role) {
            return Ok(());
        }
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        bail!(
            "refused: {} is {} and {what} needs one of: {}",
            self.user,
            self.role.as_str(),
            names.join(", ")
        )
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Works out who is acting on `store`.
pub fn resolve(store: &Store, as_user: Option<&str>) -> anyhow::Result<Identity> {
    let unix = crate::actor::current();
    let users = store.users().context("reading the users")?;
    let role_of = |u: &vigil_store::people::User| Role::parse(&u.role).unwrap_or(Role::Officer);
    if let Some(name) = as_user {
        if !is_root() {
            bail!("refused: only root may act as another user (--as)");
        }
        let u = users
            .iter()
            .find(|u| u.name == name)
            .with_context(|| format!("--as {name}: no such Vigil user (see `vigil user list`)"))?;
        return Ok(Identity {
            user: u.name.clone(),
            role: role_of(u),
            unix,
            via_as: true,
            officer: u.officer.clone(),
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
        });
    }
    if is_root() || users.is_empty() {
        return Ok(Identity {
            user: unix.clone(),
            role: Role::Admin,
            unix,
            via_as: false,
            officer: None,
        });
    }
    bail!("refused: Unix user {unix} is not a Vigil user; an admin can add one with `vigil user add NAME --role ROLE --unix {unix}`")
}
