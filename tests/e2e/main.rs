//! End-to-end tests of the real binaries. One harness, one module per area.

mod crash;
mod ingest;
mod verify;
