//! The connection to PostgreSQL: a pool of clients (`deadpool-postgres`
//! over `tokio-postgres`) on the libpq connection string of the config,
//! and the schema brought up to date under an advisory lock, so two
//! centres starting together migrate once.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use crate::error::CentreError;
use crate::schema::MIGRATIONS;

/// Opens a pool on `conninfo` (e.g. `host=/run/postgresql dbname=vigil`).
pub fn pool(conninfo: &str) -> Result<Pool, CentreError> {
    let config: tokio_postgres::Config = conninfo
        .parse()
        .map_err(|e| CentreError::Config(format!("database {conninfo:?}: {e}")))?;
    let manager = Manager::from_config(
        config,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(16)
        .build()
        .map_err(|e| CentreError::Config(format!("database pool: {e}")))
}

/// Runs the migrations the database has not had; returns the version.
pub async fn migrate(pool: &Pool) -> Result<usize, CentreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(7365012)", &[])
        .await?;
    // PostgreSQL's notice that the table is there already is not news.
    tx.batch_execute(
        "SET LOCAL client_min_messages = warning;
         CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    )
    .await?;
    let have: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_version",
            &[],
        )
        .await?
        .get(0);
    let have = usize::try_from(have).unwrap_or(0);
    if have > MIGRATIONS.len() {
        return Err(CentreError::Config(format!(
            "the database is at schema version {have}, newer than this vigil-centre ({}); run the newer release",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&((i + 1) as i32)],
        )
        .await?;
        tracing::info!(version = i + 1, "migrated the centre's schema");
    }
    tx.commit().await?;
    Ok(MIGRATIONS.len())
}
