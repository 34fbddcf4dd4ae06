//! Playing across an interruption between two recordings (a pause, a
//! missing file): the end of the recording before and the start of the one
//! after, one click plays both in turn, on a timeline that spans them.

use super::page::*;
use super::preview;

/// How much of each recording the page plays, seconds at most.
const SIDE_S: f64 = 10.0;

pub(super) async fn page(
    State(state): State<ApiState>,
    desk: Desk,
    Path(gap): Path<String>,
) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let lang = d.lang;
        let a = vigil_service::queries::across(s, id, &gap)?;
        let names = Names::of(s, lang)?;
        let side = |c: &vigil_service::queries::Seen,
                    end: bool|
         -> Result<view::AcrossSide, ServiceError> {
            let duration = c.duration_s.unwrap_or(0.0).max(0.0);
            let length = duration.min(SIDE_S);
            let here = format!("/desk/clips/{}", encode(&c.clip));
            let made = preview::derivable(s, c)?;
            let n = format!("{length:.0}");
            let path = c.path.clone();
            Ok(view::AcrossSide {
                heading: if end {
                    Msg::EndOf.fmt(lang, &[("path", &path), ("n", &n)])
                } else {
                    Msg::StartOf.fmt(lang, &[("path", &path), ("n", &n)])
                },
                media: format!(
                    "{here}/media{}",
                    if made.preview.is_some() {
                        "?preview=1"
                    } else {
                        ""
                    }
                ),
                poster: made.thumbnail.map(|_| format!("{here}/thumb.jpg")),
                from: ((duration - length) * 10.0).floor() / 10.0,
                length,
                href: here,
                path,
            })
        };
        let before = side(&a.before, true)?;
        let after = side(&a.after, false)?;
        let g = &a.gap;
        let local = |t: Option<&str>| t.map(|t| st.zone.local(t)).unwrap_or_default();
        let facts = vec![
            (
                Msg::Interruption.text(lang).to_owned(),
                format!("{} · {}", kind_label(g.kind, lang), place(g, lang)),
            ),
            (
                Msg::Officer.text(lang).to_owned(),
                names.show(g.officer.as_deref()),
            ),
            (
                Msg::Recorder.text(lang).to_owned(),
                g.device.clone().unwrap_or_default(),
            ),
            (
                Msg::When.text(lang).to_owned(),
                local(g.wall_start.as_deref()),
            ),
        ];
        let end_of_before = a.before.recorded_end.as_deref();
        let start_of_after = a.after.recorded_start.as_deref();
        let axis = vec![
            (0.0, "start", String::new()),
            (400.0, "end", local_time(&st.zone, end_of_before)),
            (600.0, "start", local_time(&st.zone, start_of_after)),
            (1000.0, "end", String::new()),
        ];
        let title = Msg::AcrossTitle.fmt(lang, &[("before", &before.path), ("after", &after.path)]);
        Ok(Out::Page(view::render(&view::AcrossPage {
            chrome: chrome(&st, &d, Some(id), title.clone(), "clips"),
            title,
            facts,
            gap_label: Msg::Lasting.fmt(
                lang,
                &[
                    ("what", kind_label(g.kind, lang)),
                    ("for", &format!("{:.1}", g.duration_s)),
                ],
            ),
            gap_for: Msg::SecondsLong.fmt(lang, &[("n", &format!("{:.1}", g.duration_s))]),
            axis,
            explain_at: format!("{}#gap-{}", after.href, encode(&g.id)),
            before,
            after,
        })))
    })
    .await
}

/// A stored time as the station's clock time of day, or nothing.
fn local_time(zone: &vigil_i18n::Zone, t: Option<&str>) -> String {
    t.map(|t| zone.local_time(t)).unwrap_or_default()
}
