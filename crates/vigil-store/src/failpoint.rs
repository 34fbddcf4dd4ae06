//! Crash-test fail points: deterministic places where a test can have the
//! process SIGKILL itself.
//!
//! `VIGIL_FAILPOINT=NAME:N` makes the N-th (1-based) hit of the fail point
//! `NAME` in this process raise `SIGKILL` against itself, exactly as if an
//! operator had pulled the plug at that instruction. With the variable unset a
//! hit costs one relaxed atomic load. The end-to-end crash tests
//! (`tests/e2e/crash.rs`) use this to kill `vigil ingest` between every pair
//! of durable steps; they also kill it from outside at random moments.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

struct Armed {
    name: String,
    at: u64,
    hits: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var("VIGIL_FAILPOINT").ok()?;
            let (name, at) = spec.rsplit_once(':')?;
            let at = at.parse().ok()?;
            Some(Armed {
                name: name.to_owned(),
                at,
                hits: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Marks a fail point. Kills the process when `VIGIL_FAILPOINT` selects this
/// hit; otherwise does nothing.
pub fn hit(name: &str) {
    let Some(armed) = armed() else { return };
    if armed.name != name {
        return;
    }
    let n = armed.hits.fetch_add(1, Ordering::SeqCst) + 1;
    if n == armed.at {
        tracing::warn!(failpoint = name, hit = n, "fail point reached: SIGKILL");
        // SAFETY-free: rustix wraps kill(2); signalling ourselves cannot fail
        // in a way we could handle, and SIGKILL does not return.
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        // SIGKILL to self is delivered before kill(2) returns; never reached.
        std::process::abort();
    }
}
