//! Recordings: the list with its filters and pages, and one recording's page (facts, timeline, interruptions with their explanations, signatures and reviews).

use super::page::*;
use super::{custody, preview};

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct ClipsQuery {
    /// The search box.
    #[serde(default)]
    q: String,
    #[serde(default)]
    officer: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    case: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    page: usize,
    /// After a bulk tagging: how many were tagged...
    tagged: Option<u64>,
    /// ...the first recordings it skipped, by id...
    #[serde(default)]
    skipped: String,
    /// ...and how many it skipped in all.
    #[serde(default)]
    skipped_n: usize,
}

pub(super) async fn clips(
    State(state): State<ApiState>,
    desk: Desk,
    Query(q): Query<ClipsQuery>,
) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let lang = d.lang;
        let bound = |date: &str, end: bool| day_bound(&st.zone, date, end);
        let state = match q.status.as_str() {
            "" => None,
            other => Some(
                vigil_service::model::ClipState::parse(other).ok_or_else(|| {
                    ServiceError::bad_request(format!("no recording status {other:?}"))
                })?,
            ),
        };
        let filter = vigil_service::model::ClipFilter {
            officer: filled(&q.officer),
            device: filled(&q.device),
            site: filled(&q.site),
            case: filled(&q.case),
            category: filled(&q.category),
            text: filled(&q.q),
            late_after_h: Some(24),
            recorded_from: bound(&q.from, false)?,
            recorded_until: bound(&q.until, true)?,
            state,
            ..Default::default()
        };
        let (rows, more) = vigil_service::queries::browse(s, id, filter, q.page, PAGE)?;
        let names = Names::of(s, lang)?;
        let shown: Vec<view::Row> = rows
            .iter()
            .map(|c| clip_row(c, lang, &st.zone, &names))
            .collect();
        let link = |page: usize| {
            let query = serde_urlencoded::to_string([
                ("q", q.q.as_str()),
                ("officer", q.officer.as_str()),
                ("device", q.device.as_str()),
                ("site", q.site.as_str()),
                ("case", q.case.as_str()),
                ("category", q.category.as_str()),
                ("status", q.status.as_str()),
                ("from", q.from.as_str()),
                ("until", q.until.as_str()),
                ("page", &page.to_string()),
            ])
            .unwrap_or_default();
            format!("/desk/clips?{query}")
        };
        // A bulk tagging's result: what it did, and each recording it
        // could not place, by name, with a link (R11).
        let notice = q.tagged.map(|n| {
            let done = Msg::BulkTagged.fmt(lang, &[("n", &n.to_string())]);
            if q.skipped_n == 0 {
                done
            } else {
                format!(
                    "{done} {}",
                    Msg::BulkSkipped.fmt(lang, &[("n", &q.skipped_n.to_string())])
                )
            }
        });
        let mut skipped = Vec::new();
        for clip in q
            .skipped
            .split(',')
            .filter(|c| !c.is_empty())
            .take(SKIPPED_SHOWN)
        {
            if let Ok(c) = seen_clip(s, id, clip) {
                skipped.push((
                    format!("/desk/clips/{}", encode(&c.clip)),
                    c.into_clip().path,
                ));
            }
        }
        let page = view::ClipsPage {
            notice,
            skipped,
            chrome: chrome(&st, &d, Some(id), Msg::Clips.text(lang).into(), "clips"),
            filter: view::ClipFilterView {
                q: q.q.clone(),
                officer: q.officer.clone(),
                device: q.device.clone(),
                site: q.site.clone(),
                case: q.case.clone(),
                category: q.category.clone(),
                status: q.status.clone(),
                from: q.from.clone(),
                until: q.until.clone(),
            },
            statuses: vec![
                ("", Msg::Any.text(lang)),
                ("damaged", Msg::StatusDamaged.text(lang)),
                ("late", Msg::StatusLate.text(lang)),
                ("untagged", Msg::StatusUntagged.text(lang)),
                ("open", Msg::StatusOpenGap.text(lang)),
            ],
            head: clip_head(lang),
            rows: shown,
            page_label: Msg::PageOf.fmt(lang, &[("page", &(q.page + 1).to_string())]),
            prev: (q.page > 0).then(|| link(q.page - 1)),
            next: more.then(|| link(q.page + 1)),
        };
        Ok(Out::Page(view::render(&page)))
    })
    .await
}

pub(super) async fn clip_page(
    State(state): State<ApiState>,
    desk: Desk,
    Path(clip): Path<String>,
) -> Response {
    let (st, d) = (state.clone(), desk.clone());
    as_user(&state, &desk, move |s, id| {
        let lang = d.lang;
        let c = seen_clip(s, id, &clip)?;
        let gaps = vigil_service::queries::clip_gaps(s, &c)?;
        let duration = c.duration_s.unwrap_or(0.0).max(0.0);
        let here = format!("/desk/clips/{}", encode(&c.clip));
        let names = Names::of(s, lang)?;
        let facts = vec![
            (
                Msg::Officer.text(lang).to_owned(),
                names.show(c.officer.as_deref()),
            ),
            (
                Msg::Recorder.text(lang).to_owned(),
                c.device.clone().unwrap_or_default(),
            ),
            (
                Msg::Start.text(lang).to_owned(),
                c.recorded_start
                    .as_deref()
                    .map(|t| st.zone.local_with_offset(t))
                    .unwrap_or_default(),
            ),
            (
                Msg::Duration.text(lang).to_owned(),
                format!("{duration:.1} s"),
            ),
            (
                Msg::Status.text(lang).to_owned(),
                match &c.damage_reason {
                    Some(r) => vigil_service::printed::damage_said(r, lang),
                    None => Msg::StatusOk.text(lang).to_owned(),
                },
            ),
            (
                Msg::Bytes.text(lang).to_owned(),
                vigil_service::reports::human_bytes(c.bytes),
            ),
            (
                Msg::Hashes.text(lang).to_owned(),
                format!("BLAKE3 {} · SHA-256 {}", c.blake3, c.sha256),
            ),
        ];
        let custody = custody::view_of(s, id, &c, lang, &st.zone)?;
        let mut marks: Vec<view::Mark> = Vec::new();
        for m in gaps.iter().filter_map(|g| {
            let at = g.offset_s?;
            let x = if duration > 0.0 {
                (at / duration * 1000.0).clamp(0.0, 1000.0)
            } else {
                0.0
            };
            let w = if duration > 0.0 {
                (g.duration_s / duration * 1000.0).max(6.0)
            } else {
                6.0
            };
            Some(view::Mark {
                gap: g.id.clone(),
                x: (x - 3.0).clamp(0.0, 994.0),
                width: w.min(1000.0 - x.min(994.0)),
                seek: ((at - 2.0).max(0.0) * 10.0).round() / 10.0,
                label: format!("{} · {}", kind_label(g.kind, lang), place(g, lang)),
            })
        }) {
            // Interruptions that overlap (video and sound alike) are one
            // mark, naming each; it seeks to before the first.
            match marks
                .iter_mut()
                .find(|k| m.x < k.x + k.width && k.x < m.x + m.width)
            {
                Some(k) => {
                    let end = (k.x + k.width).max(m.x + m.width);
                    k.x = k.x.min(m.x);
                    k.width = end - k.x;
                    k.seek = k.seek.min(m.seek);
                    k.label = format!("{}\n{}", k.label, m.label);
                }
                None => marks.push(m),
            }
        }
        let start = c.recorded_start.clone();
        let axis = (0..=4)
            .map(|i| {
                let x = f64::from(i) * 250.0;
                let t = duration * f64::from(i) / 4.0;
                let label = match &start {
                    Some(s0) => s0
                        .parse::<stamp::Stamp>()
                        .map(|s0| st.zone.local_time(&s0.plus(t)))
                        .unwrap_or_else(|_| format!("{t:.0} s")),
                    None => format!("{t:.0} s"),
                };
                let anchor = match i {
                    0 => "start",
                    4 => "end",
                    _ => "middle",
                };
                (x, anchor, label)
            })
            .collect();
        let is_reviewer = vigil_service::op::may::<vigil_service::ops::Review>(id);
        let may_explain =
            vigil_service::op::may::<vigil_service::ops::Explain>(id) && id.officer.is_some();
        let views = gaps
            .iter()
            .map(|g| {
                let (status, class) = status_label(g.status, lang);
                let explanation = g.explanation.as_ref().map(|e| view::ExplanationView {
                    text: match (&e.text, e.at_s) {
                        (Some(t), _) => t.clone(),
                        (None, Some(at)) => format!("({}: {at:.1} s)", e.kind),
                        _ => String::new(),
                    },
                    // The actor as logged names the session too; the
                    // page names the person.
                    filed: Msg::FiledBy.fmt(
                        lang,
                        &[
                            ("who", Identity::user_of(&e.recorded_by)),
                            ("at", &st.zone.local(&e.created_at)),
                        ],
                    ),
                    signers: e
                        .signatures
                        .iter()
                        .map(|s| {
                            Msg::NameNumber.fmt(lang, &[("name", &s.user), ("id", &s.officer)])
                        })
                        .collect(),
                    review: vigil_service::printed::review_of(e, lang, &st.zone),
                });
                let can_sign = match (&id.officer, &g.explanation) {
                    (Some(me), Some(e))
                        if g.status == "awaiting_signatures"
                            && !e.signatures.iter().any(|s| &s.officer == me) =>
                    {
                        Some(e.id.clone())
                    }
                    _ => None,
                };
                let history = history_lines(s, &c, g, lang, &st.zone)?;
                Ok(view::GapView {
                    history,
                    id: g.id.clone(),
                    kind: kind_label(g.kind, lang).into(),
                    place: place(g, lang),
                    status: status.into(),
                    status_class: class,
                    seek: g
                        .offset_s
                        .map(|at| ((at - 2.0).max(0.0) * 10.0).round() / 10.0),
                    seek_label: Msg::PlayBefore.text(lang).to_owned(),
                    across: g
                        .previous_clip
                        .is_some()
                        .then(|| format!("/desk/gaps/{}/across", encode(&g.id))),
                    explanation,
                    can_explain: may_explain && g.status == "open",
                    can_sign,
                    // A reviewed explanation is not offered for review again; a new
                    // explanation after a rejection is.
                    can_review: is_reviewer
                        && g.explanation
                            .as_ref()
                            .is_some_and(|e| e.reviewed_by.is_none()),
                })
            })
            .collect::<Result<Vec<_>, ServiceError>>()?;
        vigil_service::queries::read_at_desk(
            s,
            id,
            &c.clip,
            vigil_service::queries::Reading::Page,
        )?;
        let made = preview::derivable(s, &c)?;
        let page = view::ClipPage {
            chrome: chrome(&st, &d, Some(id), c.path.clone(), "clips"),
            clip: view::ClipView {
                path: c.path.clone(),
                facts,
                media: format!("{here}/media"),
                id: c.clip.clone(),
                preview: made.preview.is_some(),
                poster: made.thumbnail.map(|_| format!("{here}/thumb.jpg")),
                track: vigil_service::queries::track_of(s, id, &c)?.map(|t| track_view(&t)),
                duration,
                here,
            },
            marks,
            axis,
            gaps: views,
            custody,
        };
        Ok(Out::Page(view::render(&page)))
    })
    .await
}

/// A gap's explanations and reviews, oldest first, in words; empty when
/// there is only the current explanation, unreviewed.
pub(super) fn history_lines(
    store: &Station,
    c: &Seen,
    gap: &Gap,
    lang: Lang,
    zone: &vigil_i18n::Zone,
) -> Result<Vec<String>, ServiceError> {
    let all = vigil_service::queries::explanation_history(store, c, gap)?;
    if all.len() < 2 && all.iter().all(|(_, r)| r.is_empty()) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (e, reviews) in all {
        let what = match (&e.text, e.at_s) {
            (Some(t), _) => t.clone(),
            (None, Some(at)) => Msg::Spoken.fmt(lang, &[("at", &format!("{at:.1}"))]),
            _ => String::new(),
        };
        let who = Identity::user_of(&e.recorded_by);
        out.push(format!(
            "{}: {what}",
            Msg::FiledBy.fmt(lang, &[("who", who), ("at", &zone.local(&e.created_at))])
        ));
        for r in reviews {
            let verdict = match r.verdict.as_str() {
                "rejected" => Msg::VerdictRejected.text(lang),
                _ => Msg::VerdictAccepted.text(lang),
            };
            let mut line = format!(
                "{} · {}",
                Msg::ReviewedBy.fmt(lang, &[("who", &r.reviewer), ("verdict", verdict)]),
                zone.local(&r.at)
            );
            if let Some(n) = r.note.filter(|n| !n.is_empty()) {
                line = format!("{line}: {n}");
            }
            out.push(line);
        }
    }
    Ok(out)
}

/// Adding seconds to an RFC 3339 time, for the timeline's axis.
pub(super) mod stamp {
    /// A UTC instant.
    pub struct Stamp(time::OffsetDateTime);

    impl std::str::FromStr for Stamp {
        type Err = time::error::Parse;
        fn from_str(s: &str) -> Result<Self, Self::Err> {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map(Self)
        }
    }

    impl Stamp {
        /// `secs` later, as RFC 3339.
        pub fn plus(&self, secs: f64) -> String {
            let t = time::Duration::checked_seconds_f64(secs)
                .and_then(|d| self.0.checked_add(d))
                .unwrap_or(self.0);
            vigil_service::model::rfc3339(t)
        }
    }
}

/// A track drawn in a 300 × 300 box with a 12-unit margin: longitudes
/// scaled by the cosine of the mean latitude (so a square is square), the
/// track's larger extent filling the box, north up.
fn track_view(t: &vigil_service::queries::Track) -> view::TrackView {
    let lat0 = t.points.iter().map(|p| p.1).sum::<f64>() / t.points.len().max(1) as f64;
    let k = lat0.to_radians().cos().max(0.01);
    let xs: Vec<f64> = t.points.iter().map(|p| p.2 * k).collect();
    let ys: Vec<f64> = t.points.iter().map(|p| -p.1).collect();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (x0, y0) = (min(&xs), min(&ys));
    let span = (max(&xs) - x0).max(max(&ys) - y0).max(1e-9);
    let scale = 276.0 / span;
    let at = |i: usize| {
        (
            ((12.0 + (xs[i] - x0) * scale) * 10.0).round() / 10.0,
            ((12.0 + (ys[i] - y0) * scale) * 10.0).round() / 10.0,
        )
    };
    let placed: Vec<(f64, f64, f64)> = (0..t.points.len())
        .map(|i| {
            let (x, y) = at(i);
            (t.points[i].0, x, y)
        })
        .collect();
    let deg = |p: &(f64, f64, f64)| format!("{:.5}, {:.5}", p.1, p.2);
    view::TrackView {
        file: t.file.clone(),
        line: placed
            .iter()
            .map(|(_, x, y)| format!("{x},{y}"))
            .collect::<Vec<_>>()
            .join(" "),
        points: serde_json::to_string(
            &placed
                .iter()
                .map(|(t, x, y)| [(*t * 100.0).round() / 100.0, *x, *y])
                .collect::<Vec<_>>(),
        )
        .unwrap_or_else(|_| "[]".into()),
        start: placed.first().map_or((150.0, 150.0), |p| (p.1, p.2)),
        extent: match (t.points.first(), t.points.last()) {
            (Some(a), Some(b)) => format!("{} → {}", deg(a), deg(b)),
            _ => String::new(),
        },
    }
}
