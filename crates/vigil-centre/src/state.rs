//! What every handler of the centre holds: the database pool and the
//! witness's key.

use std::sync::Arc;

use deadpool_postgres::Pool;
use vigil_tlog::cosignature::Cosigner;

/// What every handler holds.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // the pool has no Debug
pub struct Centre {
    /// PostgreSQL.
    pub pool: Pool,
    /// The witness's key.
    pub witness: Arc<Cosigner>,
    /// The zone the desk shows times in.
    pub zone: Arc<vigil_i18n::Zone>,
}
