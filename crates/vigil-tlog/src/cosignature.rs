//! Witness cosignatures (C2SP `tlog-cosignature`, `cosignature/v1`): a
//! witness's Ed25519 statement that, at a time, the checkpoint is the
//! largest consistent tree it has seen of that log.
//!
//! The signature line is `— NAME base64(key id ‖ u64 time BE ‖ sig)`, the
//! key id `SHA-256(NAME ‖ "\n" ‖ 0x04 ‖ key)[:4]`, and the signed message
//! `cosignature/v1\ntime T\n` followed by the checkpoint's note body. Key
//! strings are the signed-note forms with algorithm byte 0x04:
//! `NAME+ID+BASE64(0x04 ‖ key)` to publish,
//! `PRIVATE+KEY+NAME+ID+BASE64(0x04 ‖ seed)` to keep.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};

use crate::note::{hex, NoteError};

/// The cosignature/v1 algorithm byte.
const ALG_COSIGNATURE_V1: u8 = 4;

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    crate::note::key_id_of(name, ALG_COSIGNATURE_V1, public)
}

fn message(body: &str, time: u64) -> String {
    format!("cosignature/v1\ntime {time}\n{body}")
}

/// A witness's signing key.
#[derive(Debug, Clone)]
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

/// A witness's public key: what a station or an auditor checks
/// cosignatures with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl Cosigner {
    /// A new key for the witness `name`, from the OS's randomness.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        if name.is_empty() || name.contains(['+', ' ', '\n']) {
            return Err(NoteError::Key(format!("{name:?} is not a key name")));
        }
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&crate::note::random_seed()?),
        })
    }

    /// The private key string (keep it secret).
    pub fn to_key_string(&self) -> String {
        let mut raw = vec![ALG_COSIGNATURE_V1];
        raw.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex(&self.verifier().id),
            B64.encode(raw)
        )
    }

    /// Reads a private key string.
    pub fn from_key_string(text: &str) -> Result<Self, NoteError> {
        let bad = || NoteError::Key("expected PRIVATE+KEY+NAME+ID+BASE64 (cosignature/v1)".into());
        let rest = text.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(bad)?;
        let mut parts = rest.splitn(3, '+');
        let (name, id, raw) = (
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
            parts.next().ok_or_else(bad)?,
        );
        let raw = B64.decode(raw).map_err(|_| bad())?;
        let seed: [u8; 32] = match raw.split_first() {
            Some((&ALG_COSIGNATURE_V1, seed)) => seed.try_into().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        let c = Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        };
        if hex(&c.verifier().id) != id {
            return Err(NoteError::Key("the key id does not match the key".into()));
        }
        Ok(c)
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its public key.
    pub fn verifier(&self) -> CosignatureVerifier {
        let key = self.key.verifying_key();
        CosignatureVerifier {
            id: key_id(&self.name, key.as_bytes()),
            name: self.name.clone(),
            key,
        }
    }

    /// The cosignature line (ending in a newline) over a checkpoint's note
    /// body (its text up to and including the last body newline), at
    /// `time` (seconds since the epoch).
    pub fn cosign(&self, body: &str, time: u64) -> String {
        let sig = self.key.sign(message(body, time).as_bytes());
        let mut raw = self.verifier().id.to_vec();
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}\n", self.name, B64.encode(raw))
    }
}

impl CosignatureVerifier {
    /// The public key string `NAME+ID+BASE64(0x04 ‖ key)`.
    pub fn to_key_string(&self) -> String {
        let mut raw = vec![ALG_COSIGNATURE_V1];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex(&self.id), B64.encode(raw))
    }

    /// Reads a public key string.
    pub fn from_key_string(text: &str) -> Result<Self, NoteError> {
        let (name, id, key) =
            crate::note::parse_vkey(text, ALG_COSIGNATURE_V1, "a witness key (cosignature/v1)")?;
        Ok(Self { name, id, key })
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Finds this witness's valid cosignature on a signed note and returns
    /// its time (seconds since the epoch). Lines of other keys are ignored.
    pub fn verify(&self, note: &str) -> Result<u64, NoteError> {
        let at = note
            .rfind("\n\n")
            .ok_or_else(|| NoteError::Format("no blank line before the signatures".into()))?;
        let (body, sigs) = (&note[..at + 1], &note[at + 2..]);
        for line in sigs.lines() {
            let Some((name, b64)) = line
                .strip_prefix("\u{2014} ")
                .and_then(|r| r.split_once(' '))
            else {
                continue;
            };
            if name != self.name {
                continue;
            }
            let Ok(raw) = B64.decode(b64) else { continue };
            if raw.len() != 4 + 8 + 64 || raw[..4] != self.id {
                continue;
            }
            let time = u64::from_be_bytes(raw[4..12].try_into().expect("8 bytes"));
            let Ok(sig) = ed25519_dalek::Signature::from_slice(&raw[12..]) else {
                continue;
            };
            if self
                .key
                .verify(message(body, time).as_bytes(), &sig)
                .is_ok()
            {
                return Ok(time);
            }
        }
        Err(NoteError::Unsigned(self.name.clone()))
    }
}

/// A signed note's body: its text up to and including the newline before
/// the blank line.
pub fn note_body(note: &str) -> Result<&str, NoteError> {
    note.rfind("\n\n")
        .map(|at| &note[..at + 1])
        .ok_or_else(|| NoteError::Format("no blank line before the signatures".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Checkpoint, Signer};

    fn checkpoint() -> String {
        let s = Signer::from_seed("vigil.test/station-1", [7; 32]).unwrap();
        Checkpoint {
            origin: "vigil.test/station-1".into(),
            size: 42,
            root: [9; 32],
        }
        .sign(&s)
        .unwrap()
    }

    #[test]
    fn a_cosignature_verifies_and_keeps_its_time() {
        let w = Cosigner::generate("centre.test/witness").unwrap();
        let note = checkpoint();
        let line = w.cosign(note_body(&note).unwrap(), 1_765_000_000);
        let cosigned = format!("{note}{line}");
        assert_eq!(w.verifier().verify(&cosigned), Ok(1_765_000_000));
        // The station's own signature still verifies beside it.
        let station = Signer::from_seed("vigil.test/station-1", [7; 32]).unwrap();
        assert!(Checkpoint::open(&cosigned, &station.verifier()).is_ok());
        // Key strings round-trip.
        let back = Cosigner::from_key_string(&w.to_key_string()).unwrap();
        assert_eq!(back.verifier(), w.verifier());
        let v = CosignatureVerifier::from_key_string(&w.verifier().to_key_string()).unwrap();
        assert_eq!(v, w.verifier());
    }

    #[test]
    fn a_changed_checkpoint_or_time_or_key_does_not_verify() {
        let w = Cosigner::generate("centre.test/witness").unwrap();
        let note = checkpoint();
        let line = w.cosign(note_body(&note).unwrap(), 1_765_000_000);
        let other = note.replace("\n42\n", "\n43\n");
        assert!(w.verifier().verify(&format!("{other}{line}")).is_err());
        let stranger = Cosigner::generate("centre.test/witness").unwrap();
        assert!(stranger
            .verifier()
            .verify(&format!("{note}{line}"))
            .is_err());
        // A station's note key (type 0x01) is not a witness key.
        let station = Signer::from_seed("vigil.test/station-1", [7; 32]).unwrap();
        assert!(CosignatureVerifier::from_key_string(&station.verifier().to_key_string()).is_err());
        // No cosignature at all.
        assert!(w.verifier().verify(&note).is_err());
    }
}
