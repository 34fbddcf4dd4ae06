//! The centre's actions recorded at this station (R9, R16): a review of
//! an explanation, a retrieval request approved or turned down at the
//! centre. Each goes through the station's own checks, as the operation's
//! declaration in [`crate::ops`] says (who may, separation of duties), and
//! its log entry names the action (`WITNESS#ID`), so an action sent twice
//! is recorded once.

use crate::{ops, Identity, ServiceError, Station};

/// Records the centre's actions in the station's log (a review, a
/// retrieval request approved or turned down), each through the station's
/// own checks as its declaration says (who may, separation of duties);
/// returns those the station refused, with why. An action the log
/// already records (its entry names `WITNESS#ID`) is not recorded again.
pub fn apply(
    station: &mut Station,
    actions: &[vigil_sync::Action],
) -> Result<Vec<vigil_sync::Refused>, ServiceError> {
    let Some(link) = station.store.log().centre_link()? else {
        return Ok(Vec::new());
    };
    let centre = link
        .witness
        .split('+')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut refused = Vec::new();
    for a in actions {
        if let Err(e) = record(&mut station.store, &centre, a) {
            tracing::warn!(action = a.id, error = %e, "the centre's action refused");
            refused.push(vigil_sync::Refused {
                id: a.id,
                why: e.to_string(),
            });
        }
    }
    Ok(refused)
}

/// The entries an action of `kind` writes.
fn entries_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "review" => &["gap.reviewed"],
        "approve" | "reject" => &["request.approved", "request.rejected"],
        _ => &[],
    }
}

/// Records one action.
fn record(
    store: &mut vigil_store::Store,
    centre: &str,
    a: &vigil_sync::Action,
) -> Result<(), ServiceError> {
    let key = format!("{centre}#{}", a.id);
    for action in entries_of(&a.kind) {
        let done = store.log().audit_select(&vigil_store::audit::AuditFilter {
            action: Some((*action).into()),
            subject: Some(a.subject.clone()),
            ..Default::default()
        })?;
        if done
            .iter()
            .any(|e| e.detail["centre_action"] == key.as_str())
        {
            return Ok(());
        }
    }
    let body =
        |what: &str, e: serde_json::Error| ServiceError::bad_request(format!("the {what}: {e}"));
    match a.kind.as_str() {
        "review" => {
            let id = acting::<ops::Review>(centre, a)?;
            let r: crate::explanations::Review =
                serde_json::from_value(a.body.clone()).map_err(|e| body("review", e))?;
            crate::explanations::review_from_centre(store, &id, &key, &a.subject, &r)
        }
        "approve" => {
            let id = acting::<ops::Approve>(centre, a)?;
            crate::custody::approve_as(store, &id, &a.subject, Some(&key)).map(drop)
        }
        "reject" => {
            let id = acting::<ops::Reject>(centre, a)?;
            let r: crate::custody::Rejection =
                serde_json::from_value(a.body.clone()).map_err(|e| body("rejection", e))?;
            crate::custody::reject_as(store, &id, &a.subject, &r, Some(&key)).map(drop)
        }
        other => Err(ServiceError::bad_request(format!(
            "the station does not take {other:?} actions from the centre"
        ))),
    }
}

/// The centre's user who took action `a`, as the station's checks see
/// them: their name, role (one the declaration of `E` allows), officer
/// number, and the centre they acted at.
fn acting<E: crate::op::Endpoint>(
    centre: &str,
    a: &vigil_sync::Action,
) -> Result<Identity, ServiceError> {
    let role = crate::identity::Role::parse(&a.role)
        .filter(|r| E::ROLES.contains(r))
        .ok_or_else(|| {
            ServiceError::refused(format!("a {} at the centre may not be {}", a.role, E::WHAT))
        })?;
    Ok(Identity {
        user: a.actor.clone(),
        role,
        unix: String::new(),
        via_as: false,
        officer: a.officer.clone(),
        session: None,
        centre: Some(centre.to_owned()),
    })
}
