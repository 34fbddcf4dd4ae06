//! Enrolled stations: each is a name and the verifier key its log is
//! signed with (the key the station already has, `vigil checkpoint
//! --key`). Enrolling, revoking and every refusal of a station are rows
//! of the centre's audit log; a station whose log was rewritten is
//! flagged and stays flagged.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use vigil_tlog::note::Verifier;

use crate::error::CentreError;

/// A station as the board shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Station {
    /// Its name (its log's origin).
    pub name: String,
    /// Its verifier key.
    pub key: String,
    /// Enrolled when, RFC 3339.
    pub enrolled_at: String,
    /// Revoked when.
    pub revoked_at: Option<String>,
    /// When it last reached the centre.
    pub last_contact: Option<String>,
    /// Entries of its log the centre holds.
    pub applied: i64,
    /// The size of the newest checkpoint the witness cosigned.
    pub witnessed: i64,
    /// When that was.
    pub cosigned_at: Option<String>,
    /// Why it is flagged (its history no longer extends what the witness
    /// holds), and since when.
    pub flag: Option<String>,
    /// Since when.
    pub flagged_at: Option<String>,
    /// Entries of its log the centre does not hold yet, as of its last
    /// report (its outbox).
    pub depth: Option<i64>,
    /// Its interruptions not yet explained, as the centre holds them.
    pub open_gaps: i64,
    /// Of them, those past the deadline to explain (R9,
    /// `vigil_service::explanations::DEFAULT_DEADLINE_H` after found).
    pub overdue_gaps: i64,
    /// Since when it has been silent longer than `out_of_touch_s`.
    pub out_of_touch_since: Option<String>,
}

/// Appends a row to the centre's audit log.
pub async fn audit(
    c: &impl GenericClient,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> Result<(), CentreError> {
    c.execute(
        "INSERT INTO audit (actor, action, subject, detail) VALUES ($1, $2, $3, $4::text::jsonb)",
        &[&actor, &action, &subject, &detail.to_string()],
    )
    .await?;
    Ok(())
}

/// Enrols a station by its verifier key (its name is the key's).
pub async fn add(
    c: &mut deadpool_postgres::Client,
    actor: &str,
    name: &str,
    key: &str,
) -> Result<(), CentreError> {
    let v = Verifier::from_key_string(key)
        .map_err(|e| CentreError::BadRequest(format!("the station key: {e}")))?;
    if v.name() != name {
        return Err(CentreError::BadRequest(format!(
            "the key is {}'s, not {name}'s (a station's name is its log's origin, `vigil checkpoint --key` on the station)",
            v.name()
        )));
    }
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "INSERT INTO stations (name, key, enrolled_by) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            &[&name, &v.to_key_string(), &actor],
        )
        .await?;
    if n == 0 {
        return Err(CentreError::BadRequest(format!(
            "a station {name:?} is already enrolled (revoke it first to enrol another key)"
        )));
    }
    tx.execute("INSERT INTO logs (station) VALUES ($1)", &[&name])
        .await?;
    audit(
        &tx,
        actor,
        "station.enrolled",
        name,
        serde_json::json!({"key": v.to_key_string()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes a station: it is refused from now on; what it sent is kept.
pub async fn revoke(
    c: &mut deadpool_postgres::Client,
    actor: &str,
    name: &str,
) -> Result<(), CentreError> {
    let tx = c.transaction().await?;
    let n = tx
        .execute(
            "UPDATE stations SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
            &[&name],
        )
        .await?;
    if n == 0 {
        return Err(CentreError::Unknown(name.to_owned()));
    }
    audit(&tx, actor, "station.revoked", name, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// `timestamptz` as RFC 3339 UTC, in SQL.
macro_rules! utc {
    ($col:literal) => {
        concat!(
            "to_char(",
            $col,
            " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        )
    };
}
pub(crate) use utc;

/// Every station, by name: the board.
pub async fn list(c: &impl GenericClient) -> Result<Vec<Station>, CentreError> {
    let rows = c
        .query(
            concat!(
                "SELECT s.name, s.key, ", utc!("s.enrolled_at"), ", ", utc!("s.revoked_at"), ", ",
                utc!("s.last_contact"), ", l.applied, l.witnessed, ", utc!("l.cosigned_at"), ", s.flag, ",
                utc!("s.flagged_at"), ", s.reported_size - l.applied, ",
                "(SELECT COUNT(*) FROM gaps g WHERE g.station = s.name AND g.status <> 'explained'), ",
                utc!("s.out_of_touch_since"), ", ",
                "(SELECT COUNT(*) FROM gaps g WHERE g.station = s.name AND g.status <> 'explained'
                   AND g.detected_at < now() - make_interval(hours => $1))",
                " FROM stations s JOIN logs l ON l.station = s.name ORDER BY s.name"
            ),
            &[&(vigil_service::explanations::DEFAULT_DEADLINE_H as i32)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Station {
            name: r.get(0),
            key: r.get(1),
            enrolled_at: r.get(2),
            revoked_at: r.get(3),
            last_contact: r.get(4),
            applied: r.get(5),
            witnessed: r.get(6),
            cosigned_at: r.get(7),
            flag: r.get(8),
            flagged_at: r.get(9),
            depth: r.get::<_, Option<i64>>(10).map(|d| d.max(0)),
            open_gaps: r.get(11),
            out_of_touch_since: r.get(12),
            overdue_gaps: r.get(13),
        })
        .collect())
}

/// A station was heard from: no longer out of touch (audited when it had
/// been).
pub async fn in_touch(c: &impl GenericClient, name: &str) -> Result<(), CentreError> {
    let back = c
        .execute(
            "UPDATE stations SET out_of_touch_since = NULL WHERE name = $1 AND out_of_touch_since IS NOT NULL",
            &[&name],
        )
        .await?;
    if back > 0 {
        audit(
            c,
            "vigil-centre",
            "station.in_touch",
            name,
            serde_json::json!({}),
        )
        .await?;
        tracing::info!(station = name, "station back in touch");
    }
    Ok(())
}

/// Marks the stations silent for longer than `after_s` seconds (since
/// their last contact, or their enrolment) as out of touch, each reported
/// once per silence in the log and the audit log. Returns their names.
pub async fn sweep_out_of_touch(
    c: &impl GenericClient,
    after_s: u64,
) -> Result<Vec<String>, CentreError> {
    let rows = c
        .query(
            "UPDATE stations SET out_of_touch_since = now()
             WHERE revoked_at IS NULL AND out_of_touch_since IS NULL
               AND COALESCE(last_contact, enrolled_at) < now() - make_interval(secs => $1)
             RETURNING name, COALESCE(to_char(last_contact AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'never')",
            &[&(after_s as f64)],
        )
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let (name, last): (String, String) = (r.get(0), r.get(1));
        tracing::warn!(station = %name, last_contact = %last, after_s, "station out of touch");
        audit(
            c,
            "vigil-centre",
            "station.out_of_touch",
            &name,
            serde_json::json!({ "last_contact": last, "after_s": after_s }),
        )
        .await?;
        out.push(name);
    }
    Ok(out)
}

/// The enrolled, unrevoked station's key; a refusal of an unknown or
/// revoked station is audited.
pub async fn key_of(c: &impl GenericClient, name: &str) -> Result<Verifier, CentreError> {
    let row = c
        .query_opt(
            "SELECT key, revoked_at IS NOT NULL FROM stations WHERE name = $1",
            &[&name],
        )
        .await?;
    let refuse = |why: &str| serde_json::json!({ "why": why });
    match row {
        None => {
            audit(c, name, "station.refused", name, refuse("unknown")).await?;
            Err(CentreError::Unknown(name.to_owned()))
        }
        Some(r) if r.get::<_, bool>(1) => {
            audit(c, name, "station.refused", name, refuse("revoked")).await?;
            Err(CentreError::Refused(format!(
                "the station {name:?} is revoked at this centre"
            )))
        }
        Some(r) => Verifier::from_key_string(r.get(0))
            .map_err(|e| CentreError::Config(format!("{name}'s enrolled key: {e}"))),
    }
}

/// Flags a station whose log no longer extends what the witness holds,
/// in a transaction of its own (the refused request's is rolled back).
pub async fn flag(c: &impl GenericClient, name: &str, why: &str) -> Result<(), CentreError> {
    c.execute(
        "UPDATE stations SET flag = $2, flagged_at = COALESCE(flagged_at, now()) WHERE name = $1",
        &[&name, &why],
    )
    .await?;
    audit(
        c,
        "vigil-centre",
        "station.flagged",
        name,
        serde_json::json!({ "why": why }),
    )
    .await?;
    tracing::warn!(station = name, why, "station flagged");
    Ok(())
}
