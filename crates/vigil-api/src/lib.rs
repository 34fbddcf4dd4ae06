//! `vigild`'s API: HTTP/JSON on a Unix socket (default
//! `/run/vigil/vigil.sock`), the one door local users have into the store.
//! Each connection's Unix uid comes from the kernel (`SO_PEERCRED`), never
//! from the request; it maps to a Vigil user exactly as the CLI maps its own
//! uid (`vigil-service::identity`); root alone may act as another user
//! (`X-Vigil-As`), and the audit log then records both.
//!
//! - [`server`]: the router and `serve_unix(path, state, shutdown)`: who
//!   is calling, opening the store as them, errors, streamed responses;
//! - [`declared`]: the endpoints `vigil_service::ops` declares, routed and
//!   documented (OpenAPI);
//! - `export`: an approved request's package, streamed;
//! - `docks`: a dock named by hand (status, pull, enrolment);
//! - [`tls`]: the same API for desks on the LAN: TCP with TLS, callers by
//!   session token (`POST /api/v1/login`);
//! - [`client`]: what the CLI uses to call it.
//!
//! Endpoints and their documents are listed in docs/api.md. Errors are
//! JSON `{"code": "...", "message": "..."}` with a stable code (`refused`
//! 403, `not_found` 404, `bad_request` 400, `store` 500).

pub mod client;
mod context;
pub mod declared;
pub mod desk;
mod docks;
mod export;
pub mod server;
pub mod tls;

pub use context::TlsPeer;

/// The socket `vigild` listens on and the CLI calls by default.
pub const DEFAULT_SOCKET: &str = "/run/vigil/vigil.sock";

/// The header with which root names the user it acts as.
pub const AS_HEADER: &str = "x-vigil-as";
