//! `vigil-centre`: the agency's service. Stations enrol with their log
//! key (`stations.rs`), push their logs in checked batches that are
//! applied to PostgreSQL in one transaction each (`logs.rs`), and the
//! centre witnesses every station's log (C2SP `tlog-witness`,
//! `cosignature/v1`), so a station's history cannot be rewritten and
//! re-signed without the centre refusing and flagging it. `schema.rs`
//! holds the versioned migrations, `db.rs` the pool, `server.rs` the
//! HTTPS routes, `config.rs` `centre.toml`, `witness_key.rs` the key;
//! `users.rs` the agency's users and sessions, `agency.rs` the station's
//! declared operations answered across stations, `stats.rs` the
//! agency's statistics (R19), `ingest.rs` its ingest report, `requests.rs` the stations' retrieval
//! requests (R16), `actions.rs` what the centre's users do to a station's
//! records, which the station records in its own log.

pub mod actions;
pub mod agency;
pub mod config;
pub mod db;
pub mod desk;
pub mod error;
pub mod ingest;
pub mod logs;
pub mod officers;
pub mod requests;
pub mod schema;
pub mod server;
pub mod state;
pub mod stations;
pub mod stats;
pub mod users;
pub mod witness_key;

pub use error::CentreError;
