//! The witness's key: made once by `vigil-centre init` (0600 in the state
//! directory), read at every start. Losing it means a new witness: every
//! station must be told the new key.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use vigil_tlog::cosignature::Cosigner;

use crate::config::Config;
use crate::error::CentreError;

/// Makes the key unless it exists; returns it.
pub fn ensure(config: &Config) -> Result<Cosigner, CentreError> {
    let path = config.witness_key();
    if path.exists() {
        return load(config);
    }
    std::fs::create_dir_all(&config.state_dir)
        .map_err(|e| CentreError::Config(format!("{}: {e}", config.state_dir.display())))?;
    let key = Cosigner::generate(&config.name).map_err(|e| CentreError::Config(e.to_string()))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| CentreError::Config(format!("{}: {e}", path.display())))?;
    writeln!(f, "{}", key.to_key_string())
        .and_then(|()| f.sync_all())
        .map_err(|e| CentreError::Config(format!("{}: {e}", path.display())))?;
    Ok(key)
}

/// Reads the key.
pub fn load(config: &Config) -> Result<Cosigner, CentreError> {
    let path = config.witness_key();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CentreError::Config(format!(
            "{}: {e} (run `vigil-centre init` first)",
            path.display()
        ))
    })?;
    Cosigner::from_key_string(&text)
        .map_err(|e| CentreError::Config(format!("{}: {e}", path.display())))
}
