//! Actions taken at the centre on a station's evidence records: a review
//! of an interruption's explanation, a retrieval request approved or
//! turned down (R16). The centre checks what it can (the declaration's
//! roles, the user's station, that the subject is held and still open),
//! keeps the action in `actions` and audits that it was sent; the station
//! takes it with its next state reply and records it through its own
//! checks, or refuses it with why (`logs::state`). The station's log
//! stays the one history of its evidence: the action is traced to the
//! entry that records it when that entry arrives (`logs::push`).

use deadpool_postgres::GenericClient;

use crate::error::CentreError;
use crate::stations::audit;
use crate::users::User;

/// What an action is taken on.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    /// An interruption.
    Gap,
    /// A retrieval request.
    Request,
}

impl Subject {
    fn stations_sql(self) -> &'static str {
        match self {
            Subject::Gap => "SELECT station FROM gaps WHERE id = $1 AND ($2::text IS NULL OR station = $2) ORDER BY station",
            Subject::Request => "SELECT station FROM requests WHERE id = $1 AND ($2::text IS NULL OR station = $2) ORDER BY station",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Subject::Gap => "interruption",
            Subject::Request => "retrieval request",
        }
    }
}

/// The one station holding `id` among those `user` may see (`asked`
/// narrows it): an id two stations hold must be given with its station.
pub async fn station_of(
    client: &impl GenericClient,
    user: &User,
    subject: Subject,
    id: &str,
    asked: Option<&str>,
) -> Result<String, CentreError> {
    let scope = user.scope(asked.filter(|s| !s.is_empty()))?;
    let held: Vec<String> = client
        .query(subject.stations_sql(), &[&id, &scope])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    match held.as_slice() {
        [] => Err(CentreError::NotFound(format!(
            "no {} {id} the centre holds that {} may see",
            subject.noun(),
            user.name
        ))),
        [one] => Ok(one.clone()),
        many => Err(CentreError::BadRequest(format!(
            "{} stations hold a {} {id}: name one with ?station= ({})",
            many.len(),
            subject.noun(),
            many.join(", ")
        ))),
    }
}

/// Keeps action `kind` on `subject` for `station`, taken by `user`, and
/// audits it as `sent` (its body, the station, the action, and `via` when
/// it came through the desk); its id.
#[allow(clippy::too_many_arguments)]
pub async fn send(
    client: &impl GenericClient,
    user: &User,
    station: &str,
    kind: &str,
    subject: &str,
    body: serde_json::Value,
    sent: &str,
    via: Option<&str>,
) -> Result<i64, CentreError> {
    let mut detail = body.clone();
    if let Some(via) = via {
        detail["via"] = via.into();
    }
    let id: i64 = client
        .query_one(
            "INSERT INTO actions (station, kind, subject, body, actor, role, officer)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            &[
                &station,
                &kind,
                &subject,
                &body,
                &user.name,
                &user.role.as_str(),
                &user.officer,
            ],
        )
        .await?
        .get(0);
    detail["station"] = station.into();
    detail["action"] = id.into();
    audit(client, &user.name, sent, subject, detail).await?;
    Ok(id)
}

/// Sends `user`'s review of interruption `gap` (`asked`: its station,
/// when given) with `verdict` and `note` to the interruption's station;
/// audited `gap.review_sent`, with `via` when it came through the desk.
/// Its station and the action's id.
pub async fn send_review(
    client: &impl GenericClient,
    user: &User,
    gap: &str,
    asked: Option<&str>,
    verdict: &str,
    note: Option<&str>,
    via: Option<&str>,
) -> Result<(String, i64), CentreError> {
    let station = station_of(client, user, Subject::Gap, gap, asked).await?;
    let body = serde_json::json!({"verdict": verdict, "note": note});
    let id = send(
        client,
        user,
        &station,
        "review",
        gap,
        body,
        "gap.review_sent",
        via,
    )
    .await?;
    Ok((station, id))
}

/// The actions on `subject` at `station` not yet recorded or refused
/// there: `(id, kind, actor)`, oldest first.
pub async fn waiting(
    client: &impl GenericClient,
    station: &str,
    subject: &str,
) -> Result<Vec<(i64, String, String)>, CentreError> {
    Ok(client
        .query(
            "SELECT id, kind, actor FROM actions
             WHERE station = $1 AND subject = $2 AND applied_seq IS NULL AND refused IS NULL
             ORDER BY id",
            &[&station, &subject],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
