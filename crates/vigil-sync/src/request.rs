//! A station's signature on a request to its centre: Ed25519 by the
//! station's log key over the method, path, time and the body's SHA-256,
//! written as a signed note (the key the centre enrolled it with):
//!
//! ```text
//! vigil-centre-request/v1
//! POST /centre/v1/push
//! 1765083600
//! <hex SHA-256 of the body>
//! ```
//!
//! Headers: `Vigil-Station` (the station's name), `Vigil-Time`,
//! `Vigil-Signature` (the base64 of the note's signature line, key id and
//! signature: a header is ASCII, the line's dash is not). The centre refuses a
//! request older or newer than [`SKEW_S`].

use sha2::{Digest, Sha256};
use vigil_tlog::note::{Signer, Verifier};

/// How far a request's time may be from the centre's clock.
pub const SKEW_S: u64 = 300;

/// The header naming the station.
pub const STATION: &str = "vigil-station";
/// The header with the request's time (seconds since the epoch).
pub const TIME: &str = "vigil-time";
/// The header with the signature line.
pub const SIGNATURE: &str = "vigil-signature";

/// The three headers of a signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSignature {
    /// The station's name (its key's name, its log's origin).
    pub station: String,
    /// Seconds since the epoch.
    pub time: u64,
    /// The base64 of the note's signature (key id ‖ Ed25519 signature).
    pub signature: String,
}

/// Why a request's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// A header is missing or not text.
    #[error("the request has no {0} header")]
    Missing(&'static str),
    /// The time is too far from the centre's.
    #[error("the request's time is {0} s from the centre's clock (at most {SKEW_S})")]
    Skew(u64),
    /// The signature does not verify with the enrolled key.
    #[error("the signature is not the station's")]
    Forged,
}

fn text(method: &str, path: &str, time: u64, body: &[u8]) -> String {
    let digest: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("vigil-centre-request/v1\n{method} {path}\n{time}\n{digest}\n")
}

impl RequestSignature {
    /// Signs a request.
    pub fn sign(key: &Signer, method: &str, path: &str, time: u64, body: &[u8]) -> Self {
        let note = key
            .sign(&text(method, path, time, body))
            .expect("the request text is a note's text");
        let line = note.rsplit_once("\n\n").map_or("", |(_, s)| s).trim_end();
        Self {
            station: key.verifier().name().to_owned(),
            time,
            signature: line.rsplit(' ').next().unwrap_or_default().to_owned(),
        }
    }

    /// Reads the headers (`get` returns a header's value).
    pub fn from_headers<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, RequestError> {
        Ok(Self {
            station: get(STATION)
                .ok_or(RequestError::Missing(STATION))?
                .to_owned(),
            time: get(TIME)
                .and_then(|t| t.parse().ok())
                .ok_or(RequestError::Missing(TIME))?,
            signature: get(SIGNATURE)
                .ok_or(RequestError::Missing(SIGNATURE))?
                .to_owned(),
        })
    }

    /// Checks it against the station's enrolled key, the request and the
    /// centre's clock (`now`, seconds since the epoch).
    pub fn verify(
        &self,
        key: &Verifier,
        method: &str,
        path: &str,
        body: &[u8],
        now: u64,
    ) -> Result<(), RequestError> {
        let skew = now.abs_diff(self.time);
        if skew > SKEW_S {
            return Err(RequestError::Skew(skew));
        }
        let note = format!(
            "{}\n\u{2014} {} {}\n",
            text(method, path, self.time, body),
            self.station,
            self.signature
        );
        key.open(&note)
            .map(|_| ())
            .map_err(|_| RequestError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_request_verifies_and_a_changed_one_does_not() {
        let k = Signer::from_seed("vigil.test/s1", [5; 32]).unwrap();
        let s = RequestSignature::sign(&k, "POST", "/centre/v1/push", 1000, b"{}");
        let v = k.verifier();
        assert_eq!(s.verify(&v, "POST", "/centre/v1/push", b"{}", 1010), Ok(()));
        assert_eq!(
            s.verify(&v, "POST", "/centre/v1/push", b"{ }", 1010),
            Err(RequestError::Forged)
        );
        assert_eq!(
            s.verify(&v, "POST", "/centre/v1/state", b"{}", 1010),
            Err(RequestError::Forged)
        );
        assert_eq!(
            s.verify(&v, "POST", "/centre/v1/push", b"{}", 2000),
            Err(RequestError::Skew(1000))
        );
        let other = Signer::from_seed("vigil.test/s1", [6; 32]).unwrap();
        assert_eq!(
            s.verify(&other.verifier(), "POST", "/centre/v1/push", b"{}", 1000),
            Err(RequestError::Forged)
        );
    }
}
