//! Who vigild runs as: the store belongs to one account, and
//! only that account's vigild opens it. Root starting vigild names the
//! account with `--user` (the unit sets `User=vigil` instead) and vigild
//! drops to it before it opens anything; a store owned by anyone else is
//! refused, naming the owner and the fix, instead of being half-written by
//! the wrong account (files root made that `vigil` then cannot write).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{bail, Context};

/// (uid, gid, name) of `user`: a name in the passwd database, or a uid.
fn lookup(user: &str) -> anyhow::Result<(u32, u32, String)> {
    if user.contains('\0') {
        bail!("--user: a name without NUL bytes");
    }
    let found = nix::unistd::User::from_name(user)
        .with_context(|| format!("--user {user}: reading the passwd database"))?;
    if let Some(u) = found {
        return Ok((u.uid.as_raw(), u.gid.as_raw(), user.to_owned()));
    }
    match user.parse::<u32>() {
        Ok(uid) => Ok((uid, uid, format!("uid {uid}"))),
        Err(_) => bail!("--user {user}: no such user"),
    }
}

/// Drops from root to `user` (and its group, no supplementary groups);
/// makes a missing store theirs first.
pub fn drop_to(user: &str, store: &Path) -> anyhow::Result<()> {
    if !rustix::process::geteuid().is_root() {
        bail!("--user {user}: only root can change to another user; run vigild as {user} itself");
    }
    let (uid, gid, name) = lookup(user)?;
    if !store.exists() {
        std::fs::create_dir_all(store).with_context(|| format!("creating {}", store.display()))?;
        std::os::unix::fs::chown(store, Some(uid), Some(gid))
            .with_context(|| format!("giving {} to {name}", store.display()))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(store, std::fs::Permissions::from_mode(0o700))?;
    }
    // The order (groups, gid, uid) matters: each is allowed only while
    // still root. No other thread runs yet.
    use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
    setgroups(&[])
        .and_then(|()| setgid(Gid::from_raw(gid)))
        .and_then(|()| setuid(Uid::from_raw(uid)))
        .with_context(|| format!("dropping to {name}"))?;
    tracing::info!(user = %name, uid, gid, "running as {name}");
    Ok(())
}

/// Refuses a store owned by another account than the one vigild runs as.
pub fn check_owner(store: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::metadata(store) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("looking at {}", store.display())),
    };
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        let owner = vigil_service::identity::unix_name(meta.uid());
        let runs_as = vigil_service::identity::unix_name(me);
        bail!(
            "the store {} is owned by {owner} (uid {}) but vigild runs as {runs_as} (uid {me}): run vigild as {owner} (`systemctl start vigild`, or as root `vigild --user {owner}`), or give the store to {runs_as} with `chown -R {runs_as}: {}`",
            store.display(),
            meta.uid(),
            store.display()
        );
    }
    Ok(())
}
