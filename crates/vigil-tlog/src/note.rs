//! Signed checkpoints: the C2SP `tlog-checkpoint` body (origin, tree size,
//! root hash) signed as a C2SP `signed-note` with an Ed25519 key, the
//! format Go's checksum database and Sigstore hand out, so an auditor can
//! keep a station's checkpoints and check them with any tool that speaks it.
//!
//! ```text
//! vigil.example-agency/station-1
//! 1042
//! 5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328 (base64)
//!
//! — vigil.example-agency/station-1 <base64(key id ‖ signature)>
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::Hash;

/// Why a note or checkpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The text is not in the format.
    #[error("not a signed note: {0}")]
    Format(String),
    /// No signature by the expected key verifies.
    #[error("no valid signature by {0}")]
    Unsigned(String),
    /// The key string is not one.
    #[error("not a note key: {0}")]
    Key(String),
}

/// Ed25519, in a note key.
const ALG_ED25519: u8 = 1;

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    key_id_of(name, ALG_ED25519, public)
}

/// A key's id: `SHA-256(NAME ‖ "\n" ‖ ALG ‖ key)[:4]` (signed-note; the
/// algorithm byte separates note keys from cosignature keys).
pub(crate) fn key_id_of(name: &str, alg: u8, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// Reads a public key string `NAME+ID+BASE64(ALG ‖ key)` of algorithm
/// `alg`: its name, id and key, the id checked against the key. `what`
/// names the kind of key in the refusal.
pub(crate) fn parse_vkey(
    text: &str,
    alg: u8,
    what: &str,
) -> Result<(String, [u8; 4], VerifyingKey), NoteError> {
    let bad = |why: &str| NoteError::Key(format!("{why} (expected {what} NAME+ID+BASE64)"));
    let (name, id, raw) = split3(text.trim()).ok_or_else(|| bad("three + separated parts"))?;
    if !valid_name(name) {
        return Err(bad("bad name"));
    }
    let raw = B64.decode(raw).map_err(|_| bad("bad base64"))?;
    let public: [u8; 32] = match raw.split_first() {
        Some((a, k)) if *a == alg => k.try_into().map_err(|_| bad("not 32 bytes"))?,
        _ => return Err(bad("not a key of this kind")),
    };
    let key = VerifyingKey::from_bytes(&public).map_err(|_| bad("not a curve point"))?;
    let kid = key_id_of(name, alg, &public);
    if hex(&kid) != id {
        return Err(bad("the key id does not match the key"));
    }
    Ok((name.to_owned(), kid, key))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['+', ' ', '\n']) && name.chars().all(|c| !c.is_control())
}

/// A key that signs notes (the station's).
#[derive(Debug, Clone)]
pub struct Signer {
    name: String,
    key: SigningKey,
}

/// A key that checks notes (what an auditor keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl Signer {
    /// A new key for `name`, from the operating system's randomness.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        Self::from_seed(name, random_seed()?)
    }

    /// The key for `name` from its 32-byte seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::Key(format!("{name:?} is not a key name")));
        }
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The private key string `PRIVATE+KEY+NAME+ID+BASE64` (keep it secret).
    pub fn to_key_string(&self) -> String {
        let v = self.verifier();
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex(&v.id),
            B64.encode(raw)
        )
    }

    /// Reads a private key string.
    pub fn from_key_string(text: &str) -> Result<Self, NoteError> {
        let bad = || NoteError::Key("expected PRIVATE+KEY+NAME+ID+BASE64".into());
        let rest = text.trim().strip_prefix("PRIVATE+KEY+").ok_or_else(bad)?;
        let (name, id, raw) = split3(rest).ok_or_else(bad)?;
        let raw = B64.decode(raw).map_err(|_| bad())?;
        let seed: [u8; 32] = match raw.split_first() {
            Some((&ALG_ED25519, seed)) => seed.try_into().map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        let s = Self::from_seed(name, seed)?;
        if hex(&s.verifier().id) != id {
            return Err(NoteError::Key("the key id does not match the key".into()));
        }
        Ok(s)
    }

    /// Its verifier.
    pub fn verifier(&self) -> Verifier {
        let key = self.key.verifying_key();
        Verifier {
            id: key_id(&self.name, key.as_bytes()),
            name: self.name.clone(),
            key,
        }
    }

    /// Signs `text` (which must end in a newline): the signed note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') || text.contains("\n\n") {
            return Err(NoteError::Format(
                "a note's text ends with a newline and has no blank line".into(),
            ));
        }
        let sig = self.key.sign(text.as_bytes());
        let mut raw = self.verifier().id.to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n\u{2014} {} {}\n",
            self.name,
            B64.encode(raw)
        ))
    }
}

impl Verifier {
    /// The verifier key string `NAME+ID+BASE64`, to publish.
    pub fn to_key_string(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{}+{}", self.name, hex(&self.id), B64.encode(raw))
    }

    /// Reads a verifier key string.
    pub fn from_key_string(text: &str) -> Result<Self, NoteError> {
        let (name, id, key) = parse_vkey(text, ALG_ED25519, "an Ed25519 note key")?;
        Ok(Self { name, id, key })
    }

    /// The key's name (a checkpoint's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks `note` carries a valid signature by this key; returns its
    /// text (what was signed).
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let at = note
            .rfind("\n\n")
            .ok_or_else(|| NoteError::Format("no blank line before the signatures".into()))?;
        let (text, sigs) = (&note[..at + 1], &note[at + 2..]);
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return Err(NoteError::Format(format!(
                    "{line:?} is not a signature line"
                )));
            };
            let Some((name, b64)) = rest.split_once(' ') else {
                return Err(NoteError::Format(format!(
                    "{line:?} is not a signature line"
                )));
            };
            if name != self.name {
                continue;
            }
            let Ok(raw) = B64.decode(b64) else { continue };
            if raw.len() != 68 || raw[..4] != self.id {
                continue;
            }
            let Ok(sig) = ed25519_dalek::Signature::from_slice(&raw[4..]) else {
                continue;
            };
            if self.key.verify(text.as_bytes(), &sig).is_ok() {
                return Ok(text);
            }
        }
        Err(NoteError::Unsigned(self.name.clone()))
    }
}

/// 32 bytes of the operating system's randomness: a new key's seed.
pub(crate) fn random_seed() -> Result<[u8; 32], NoteError> {
    let mut seed = [0u8; 32];
    let mut filled = 0;
    while filled < seed.len() {
        filled +=
            rustix::rand::getrandom(&mut seed[filled..], rustix::rand::GetRandomFlags::empty())
                .map_err(|e| NoteError::Key(format!("no randomness: {e}")))?;
    }
    Ok(seed)
}

fn split3(s: &str) -> Option<(&str, &str, &str)> {
    let mut it = s.splitn(3, '+');
    Some((it.next()?, it.next()?, it.next()?))
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A checkpoint: the log's origin, its size and root (C2SP
/// `tlog-checkpoint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Names the log (the station).
    pub origin: String,
    /// Leaves in the tree.
    pub size: u64,
    /// Its root.
    pub root: Hash,
}

impl Checkpoint {
    /// The checkpoint's text (the note body).
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Signs it with the station's key (whose name must be the origin).
    pub fn sign(&self, signer: &Signer) -> Result<String, NoteError> {
        if signer.name != self.origin {
            return Err(NoteError::Key(format!(
                "the key {} cannot sign for the log {}",
                signer.name, self.origin
            )));
        }
        signer.sign(&self.body())
    }

    /// Reads a signed checkpoint, checking its signature by `verifier` and
    /// that it is that key's log.
    pub fn open(note: &str, verifier: &Verifier) -> Result<Self, NoteError> {
        let text = verifier.open(note)?;
        let mut lines = text.lines();
        let bad = |why: &str| NoteError::Format(format!("checkpoint: {why}"));
        let origin = lines.next().ok_or_else(|| bad("no origin"))?;
        let size = lines
            .next()
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or_else(|| bad("no tree size"))?;
        let root: Hash = lines
            .next()
            .and_then(|l| B64.decode(l).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| bad("no root hash"))?;
        if origin != verifier.name {
            return Err(bad(&format!("the log {origin} is not {}'s", verifier.name)));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

/// The signed notes in a text: one checkpoint, or several one after
/// another (an auditor's file that `vigil checkpoint >> kept` grows).
pub fn notes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_sigs = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches('\n');
        if in_sigs && !bare.starts_with('\u{2014}') {
            out.push(std::mem::take(&mut cur));
            in_sigs = false;
            if bare.is_empty() {
                continue;
            }
        }
        if bare.is_empty() && !cur.is_empty() && !in_sigs {
            in_sigs = true;
        }
        cur.push_str(line);
        if !line.ends_with('\n') {
            cur.push('\n');
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Go's golang.org/x/mod/sumdb/note documentation: a
    /// note signed by another implementation verifies here.
    #[test]
    fn a_note_signed_by_go_verifies() {
        let v = Verifier::from_key_string(
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        )
        .unwrap();
        let note = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n\
                    \n\
                    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
        let text = v.open(note).unwrap();
        assert!(text.starts_with("If you think"));
        let changed = note.replace("problem is", "problem was");
        assert!(v.open(&changed).is_err());
    }

    #[test]
    fn checkpoints_round_trip_and_a_forgery_is_refused() {
        let s = Signer::from_seed("vigil.test/station-1", [7; 32]).unwrap();
        let v = Verifier::from_key_string(&s.verifier().to_key_string()).unwrap();
        assert_eq!(v, s.verifier());
        let s2 = Signer::from_key_string(&s.to_key_string()).unwrap();
        assert_eq!(s2.verifier(), v);
        let cp = Checkpoint {
            origin: "vigil.test/station-1".into(),
            size: 1042,
            root: crate::leaf_hash(b"x"),
        };
        let note = cp.sign(&s).unwrap();
        assert_eq!(Checkpoint::open(&note, &v).unwrap(), cp);
        // Another size, or another key of the same name: refused.
        let forged = note.replace("\n1042\n", "\n1041\n");
        assert!(Checkpoint::open(&forged, &v).is_err());
        let other = Signer::from_seed("vigil.test/station-1", [8; 32]).unwrap();
        let by_other = cp.sign(&other).unwrap();
        assert!(Checkpoint::open(&by_other, &v).is_err());
        assert!(Signer::generate("a b").is_err());
        let fresh = Signer::generate("vigil.test/station-2").unwrap();
        assert_ne!(fresh.verifier(), v);
    }
}
