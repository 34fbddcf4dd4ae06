//! The audit trail (R20): the log for one recording, interruption, request,
//! person or period, each action in words and each subject by name, paged;
//! every object's page links here ("Audit trail").

use super::page::*;
use vigil_service::trail::Subject;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct TrailQuery {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    related: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    after: Option<i64>,
}

/// The trail of `subject` (a recording with its interruptions).
pub(super) fn trail_of(subject: &str, recording: bool) -> String {
    let related = if recording { "&related=1" } else { "" };
    format!("/desk/audit?subject={}{related}", encode(subject))
}

pub(super) async fn page(
    State(state): State<ApiState>,
    desk: Desk,
    Query(q): Query<TrailQuery>,
) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let lang = d.lang;
        let bound = |date: &str, end: bool| day_bound(&st.zone, date, end);
        let related = !q.related.is_empty();
        let query = vigil_service::queries::AuditQuery {
            action: filled(&q.action),
            subject: filled(&q.subject),
            related: Some(related),
            actor: filled(&q.actor),
            since: bound(&q.from, false)?,
            until: bound(&q.until, true)?,
            after: q.after,
            limit: Some(PAGE as u64),
            station: None,
        };
        let trail = vigil_service::trail::trail(s, id, &query)?;
        let names = Names::of(s, lang)?;
        let about = |subject: &str| -> (String, Option<String>, bool) {
            match trail.subjects.get(subject) {
                Some(Subject::Recording {
                    clip,
                    path,
                    officer,
                    start,
                }) => (
                    format!(
                        "{path} · {} · {}",
                        names.show(officer.as_deref()),
                        start
                            .as_deref()
                            .map(|t| st.zone.local(t))
                            .unwrap_or_else(|| Msg::TimeUnknown.text(lang).into())
                    ),
                    Some(format!("/desk/clips/{}", encode(clip))),
                    true,
                ),
                Some(Subject::Interruption { clip, path, start }) => (
                    Msg::AuditInterruption.fmt(
                        lang,
                        &[
                            (
                                "time",
                                &start
                                    .as_deref()
                                    .map(|t| st.zone.local(t))
                                    .unwrap_or_else(|| Msg::TimeUnknown.text(lang).into()),
                            ),
                            ("file", path),
                        ],
                    ),
                    Some(format!(
                        "/desk/clips/{}#gap-{}",
                        encode(clip),
                        encode(subject)
                    )),
                    false,
                ),
                Some(Subject::Request) => (
                    Msg::AuditRequest.fmt(lang, &[("id", subject)]),
                    Some(format!("/desk/requests#req-{}", encode(subject))),
                    false,
                ),
                Some(Subject::User) => (
                    Msg::AuditUser.fmt(lang, &[("name", subject)]),
                    Some(format!("/desk/audit?actor={}", encode(subject))),
                    false,
                ),
                _ => (subject.to_owned(), None, false),
            }
        };
        let rows: Vec<view::TrailRow> = trail
            .rows
            .iter()
            .map(|r| {
                let (label, href, recording) = about(&r.subject);
                view::TrailRow {
                    seq: r.seq,
                    at: st.zone.local(&r.at),
                    actor: (
                        r.actor.clone(),
                        format!("/desk/audit?actor={}", encode(Identity::user_of(&r.actor))),
                    ),
                    action: vigil_i18n::actions::action(&r.action, lang)
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            format!("{} {}", r.action, Msg::UnknownAction.text(lang))
                        }),
                    code: r.action.clone(),
                    about: (label, href),
                    trail: trail_of(&r.subject, recording),
                    details: vigil_service::trail::details(&r.detail),
                }
            })
            .collect();
        let heading = match filled(&q.subject) {
            Some(subject) => {
                let (mut what, _, _) = about(&subject);
                if related {
                    what = format!("{what} ({})", Msg::AuditAllOfRecording.text(lang));
                }
                Msg::AuditTrailOf.fmt(lang, &[("what", &what)])
            }
            None => Msg::AuditTrail.text(lang).into(),
        };
        let filter = view::TrailFilterView {
            subject: q.subject.clone(),
            related,
            action: q.action.clone(),
            actor: q.actor.clone(),
            from: q.from.clone(),
            until: q.until.clone(),
        };
        let link = |after: Option<i64>| filter.link(None, after);
        Ok(Out::Page(view::render(&view::AuditPage {
            chrome: chrome(&st, &d, Some(id), heading.clone(), "audit"),
            heading,
            filter: filter.clone(),
            actions: vigil_i18n::actions::actions(lang).collect(),
            rows,
            first: q.after.map(|_| link(None)),
            next: trail.next.map(|n| link(Some(n))),
        })))
    })
    .await
}
