//! Notices by e-mail of what waits for each person (R8, R9, R16): the
//! desk's counter, sent to users who have an address when something new
//! waits for them. Which notices are due and what they say live here; the
//! sending (the station's SMTP server) is vigild's. Each notice sent is
//! audited (`user.notified`, with the items it told of), so a person is
//! told of an item once, and who was told what is on the log (R20).

use vigil_i18n::{Lang, Msg};
use vigil_store::audit::AuditFilter;

use crate::error::ServiceError;
use crate::queues::{waiting_items, Waiting};
use crate::station::Station;

/// The action of a notice's audit row.
pub const NOTIFIED: &str = "user.notified";

/// One notice due: to whom, where, what waits, and how many items are new
/// since they were last told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The Vigil user.
    pub user: String,
    /// Their address.
    pub email: String,
    /// What waits for them.
    pub waiting: Waiting,
    /// Each item waiting (`explain:GAP`, ...).
    pub items: Vec<String>,
    /// Items not in their last notice.
    pub new: usize,
}

/// The notices due now: each user with an address for whom something
/// waits that their last notice did not tell of.
pub fn due(station: &Station) -> Result<Vec<Notice>, ServiceError> {
    let store = &station.store;
    let mut out = Vec::new();
    for u in store.people().users()? {
        let Some(email) = u.email.clone() else {
            continue;
        };
        let id = crate::identity::of_user(store, &u.name)?;
        let (waiting, items) = waiting_items(station, &id)?;
        let told = last_told(station, &u.name)?;
        let new = items.iter().filter(|i| !told.contains(i)).count();
        if new > 0 {
            out.push(Notice {
                user: u.name,
                email,
                waiting,
                items,
                new,
            });
        }
    }
    Ok(out)
}

/// The items of `user`'s last notice.
fn last_told(station: &Station, user: &str) -> Result<Vec<String>, ServiceError> {
    let rows = station.store.log().audit_select(&AuditFilter {
        action: Some(NOTIFIED.into()),
        subject: Some(user.into()),
        ..Default::default()
    })?;
    Ok(rows
        .last()
        .and_then(|r| serde_json::from_value(r.detail["items"].clone()).ok())
        .unwrap_or_default())
}

/// Records that `n` was sent (audited as `actor`).
pub fn sent(station: &mut Station, actor: &str, n: &Notice) -> Result<(), ServiceError> {
    station.store.log_mut().record_event(
        actor,
        NOTIFIED,
        &n.user,
        &serde_json::json!({"to": n.email, "waiting": n.waiting, "new": n.new, "items": n.items}),
    )?;
    Ok(())
}

/// A notice's subject and text, in Chinese then English (the station does
/// not know which its reader prefers), with the desk's address when given.
pub fn mail(n: &Notice, desk: Option<&str>) -> (String, String) {
    let total = n.waiting.total().to_string();
    let subject = [Lang::ZhCn, Lang::En]
        .map(|l| Msg::NoticeSubject.fmt(l, &[("n", &total)]))
        .join(" / ");
    let mut body = String::new();
    for lang in [Lang::ZhCn, Lang::En] {
        body.push_str(
            &Msg::NoticeHello.fmt(lang, &[("user", &n.user), ("new", &n.new.to_string())]),
        );
        body.push('\n');
        for (m, count) in [
            (Msg::QueueOpen, n.waiting.explain),
            (Msg::QueueToSign, n.waiting.sign),
            (Msg::QueueToReview, n.waiting.review),
            (Msg::QueueToApprove, n.waiting.approve),
            (Msg::QueueOverdue, n.waiting.overdue),
        ] {
            if count > 0 {
                body.push_str(&format!("  - {}: {count}\n", m.text(lang)));
            }
        }
        if let Some(url) = desk {
            body.push_str(&Msg::NoticeDesk.fmt(lang, &[("url", url)]));
            body.push('\n');
        }
        body.push('\n');
    }
    (subject, body)
}
