//! End-to-end tests of the real binaries. One harness, one module per area.

mod api;
mod attacks;
mod browser;
mod centre;
mod continuity;
mod crash;
mod custody;
mod daemon;
mod desk;
mod dock;
mod hostile;
mod ingest;
mod layers;
mod package;
mod signatures;
pub(crate) mod tlog;
mod verdicts;
mod verify;
