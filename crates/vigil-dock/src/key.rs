//! The station key: 32 random bytes in `<store>/station.key` (mode 0600),
//! created on first use. Docks enrolled to this station accept only a host
//! that proves it holds this key.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::DockError;

/// File name of the key inside the store.
pub const KEY_FILE: &str = "station.key";

/// Loads the station key, creating it on first use.
pub fn station_key(store: &Path) -> Result<[u8; 32], DockError> {
    let path = store.join(KEY_FILE);
    let err = |source| DockError::Key {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            return bytes
                .get(..32)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "not a 32-byte key",
                    ))
                });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let mut key = [0u8; 32];
    let mut done = 0;
    while done < 32 {
        done += rustix::rand::getrandom(&mut key[done..], rustix::rand::GetRandomFlags::empty())
            .map_err(|e| err(e.into()))?;
    }
    std::fs::create_dir_all(store).map_err(err)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(err)?;
    f.write_all(&key).and_then(|()| f.sync_all()).map_err(err)?;
    tracing::info!(path = %path.display(), "created the station key");
    Ok(key)
}
