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
    let cname = std::ffi::CString::new(user).context("--user: a name without NUL bytes")?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: passwd is plain data; zeroed is a valid value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the sizes given.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc == 0 && !result.is_null() {
        return Ok((pwd.pw_uid, pwd.pw_gid, user.to_owned()));
    }
    match user.parse::<u32>() {
        Ok(uid) => Ok((uid, uid, format!("uid {uid}"))),
        Err(_) => bail!("--user {user}: no such user"),
    }
}

/// Drops from root to `user` (and its group, no supplementary groups);
/// makes a missing store theirs first.
pub fn drop_to(user: &str, store: &Path) -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
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
    // SAFETY: plain system calls; the order (groups, gid, uid) matters and
    // each result is checked. No other thread runs yet.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setgid(gid) != 0
            || libc::setuid(uid) != 0
        {
            bail!("dropping to {name}: {}", std::io::Error::last_os_error());
        }
    }
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
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
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
