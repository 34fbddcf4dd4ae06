//! The domain operations behind every door into the store, written once:
//! the CLI runs them in-process on a store its user owns, and `vigild` runs
//! them for the clients of its API (`vigil-api`). A request travels
//! client → API → this crate → `vigil-store`.
//!
//! - [`identity`]: who is calling (a [`identity::Caller`] the operating
//!   system vouches for: a uid, root's `--as`) and their Vigil user and role;
//! - [`queries`]: the reads, with their role checks, confidentiality (R17)
//!   and the audit row each read leaves (R20);
//! - [`docks`]: a dock named by hand: status, pull, enrolment (R2);
//! - [`explanations`]: the gap log, explanations, signatures and reviews
//!   (R7–R9);
//! - [`auth`]: desk logins: argon2id passwords, expiring sessions, lockout;
//! - [`jobs`]: long work with progress (verify, ingest);
//! - [`registry`]: users, officers, recorders and bindings (R3, R16);
//! - [`custody`]: retention, holds, cases, removal, confidentiality,
//!   retrieval requests and spot checks (R12–R14, R16–R18);
//! - [`export`]: an approved request's package, streamed (R14, R16, R17);
//! - [`reports`]: the ingest report, the gap log and statistics, rendered
//!   (R1, R4, R5, R8, R9, R19);
//! - [`report_data`]: what a report holds (rows, totals, statistics);
//! - [`printed`], [`page`]: the reports as printable pages, in the reader's
//!   language and the station's time, as data that `vigil-desk` draws;
//! - [`tagging`]: tags and what is overdue (R6, R9, R11, R12);
//! - [`checkpoints`]: the audit log's signed checkpoints and its proofs
//!   (R10, R20);
//! - [`model`]: the rows, filters and times callers name;
//! - [`station`]: the store as callers hold it (open, where, read-only):
//!   nothing else of the store is reachable but through an operation;
//! - [`op`], [`ops`]: what an endpoint is, and every endpoint declared
//!   once (path, roles, input, answers, the function it runs);
//! - [`error`]: typed errors with stable codes.

pub mod auth;
pub mod centre;
pub mod centre_actions;
pub mod checkpoints;
pub mod custody;
pub mod docks;
pub mod error;
pub mod explanations;
pub mod export;
pub mod identity;
pub mod jobs;
pub mod model;
pub mod notices;
pub mod op;
pub mod ops;
pub mod page;
pub mod printed;
pub mod queries;
pub mod queues;
pub mod registry;
pub mod report_data;
pub mod reports;
pub mod sources;
pub mod station;
pub mod tagging;
pub mod trail;

pub use error::{Kind, ServiceError};
pub use identity::{Caller, Identity, Role};
pub use station::{Lent, Opening, Station, Stations};
