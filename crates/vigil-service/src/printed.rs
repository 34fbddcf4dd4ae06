//! The reports as printable pages: what the HTML and text formats of
//! `vigil report` and the desk's report pages hold ([`crate::page`]), in
//! the reader's language with times in the station's zone; `vigil-desk`
//! draws them.
//! Everything is visible in print: officer names and units, every
//! interruption with its explanation, signers and review, the timelines
//! with a readable local time axis, signature lines and the log's
//! checkpoint (R1, R8, R9, R19).

use std::collections::BTreeMap;

use time::OffsetDateTime;
use vigil_i18n::{Lang, Msg, Zone};
use vigil_store::{Clip, Gap, GapKind};

use crate::page::{Bar, Cell, Lane, ReportPage, ReportSection, Tick, Timeline};
use crate::report_data::{human_bytes, parse, stat_rows, Data};

/// Who and where a report is made, for its header.
#[derive(Debug)]
pub struct Context<'a> {
    /// The reader's language.
    pub lang: Lang,
    /// The station's zone.
    pub zone: &'a Zone,
    /// Officer id → "name (id)".
    pub names: &'a BTreeMap<String, String>,
    /// Who made it.
    pub by: String,
    /// The log's name (the station).
    pub station: String,
    /// The checkpoint (signed note) and the station key.
    pub checkpoint: Option<(String, String)>,
    /// The newest checkpoint the centre's witness cosigned: the note with
    /// its cosignature, the witness's name, the size.
    pub cosigned: Option<(String, String, u64)>,
}

impl Context<'_> {
    fn t(&self, m: Msg) -> String {
        m.text(self.lang).to_owned()
    }

    fn officer(&self, id: Option<&str>) -> String {
        match id {
            Some(i) => self.names.get(i).cloned().unwrap_or_else(|| i.to_owned()),
            None => "-".into(),
        }
    }

    fn local(&self, t: OffsetDateTime) -> String {
        self.zone.local_with_offset(&vigil_store::rfc3339(t))
    }

    fn page(&self, title: Msg, by: Msg, d: &Data) -> ReportPage {
        let now = vigil_store::now_rfc3339();
        ReportPage {
            lang: self.lang,
            title: self.t(title),
            meta: vec![
                (self.t(Msg::Station), self.station.clone()),
                (
                    self.t(by),
                    format!("{} – {}", self.local(d.since), self.local(d.until)),
                ),
                (self.t(Msg::MadeBy), self.by.clone()),
                (self.t(Msg::MadeAt), self.zone.local_with_offset(&now)),
                (self.t(Msg::TimeZone), self.zone.said(self.lang)),
            ],
            sections: Vec::new(),
            timelines: Vec::new(),
            legend: String::new(),
            empty: self.t(Msg::Nothing),
            signatures: vec![self.t(Msg::SignPrepared), self.t(Msg::SignReviewed)],
            date_label: self.t(Msg::Date),
            checkpoint_title: self.t(Msg::CheckpointTitle),
            checkpoint: self.checkpoint.as_ref().map(|(note, key)| {
                (
                    Msg::CheckpointIntro.fmt(self.lang, &[("key", key)]),
                    note.clone(),
                )
            }),
            cosigned: self.cosigned.as_ref().map(|(note, witness, size)| {
                (
                    Msg::CosignedIntro.fmt(
                        self.lang,
                        &[("witness", witness), ("size", &size.to_string())],
                    ),
                    note.clone(),
                )
            }),
            links: false,
            print_label: self.t(Msg::Print),
        }
    }

    fn head(&self, m: &[Msg]) -> Vec<String> {
        m.iter().map(|m| self.t(*m)).collect()
    }
}

/// An explanation's last review as people read it wherever it is shown:
/// who, the verdict, when (in `zone`) and the note, on a line of its own.
pub fn review_of(e: &vigil_store::Explanation, lang: Lang, zone: &Zone) -> Option<String> {
    let who = e.reviewed_by.as_ref()?;
    let verdict = match e.review.as_deref() {
        Some("rejected") => Msg::VerdictRejected,
        _ => Msg::VerdictAccepted,
    };
    let mut line = Msg::ReviewedBy.fmt(lang, &[("who", who), ("verdict", verdict.text(lang))]);
    if let Some(at) = &e.reviewed_at {
        line = format!("{line} · {}", zone.local(at));
    }
    if let Some(n) = e.review_note.as_deref().filter(|n| !n.trim().is_empty()) {
        line = format!("{line}\n{}", Msg::ReviewNoteIs.fmt(lang, &[("note", n)]));
    }
    Some(line)
}

/// An interruption's kind, as people read it.
pub fn kind_msg(k: GapKind) -> Msg {
    match k {
        GapKind::WithinClip => Msg::KindWithinClip,
        GapKind::BetweenClips => Msg::KindBetweenClips,
        GapKind::MissingFile => Msg::KindMissingFile,
        GapKind::Restart => Msg::KindRestart,
        GapKind::StreamStopped => Msg::KindStreamStopped,
        GapKind::EditListCut => Msg::KindEditListCut,
    }
}

/// A stream's name (`video`, `audio`) in people's words.
pub fn stream_msg(stream: &str) -> Option<Msg> {
    match stream {
        "video" => Some(Msg::StreamVideo),
        "audio" => Some(Msg::StreamAudio),
        _ => None,
    }
}

/// Where in the recording an interruption is and for how long, and which
/// stream: `at 3.0 s, for 2.0 s (video)`.
pub fn place(g: &Gap, lang: Lang) -> String {
    let secs = |s: f64| format!("{s:.1}");
    let at = match g.offset_s {
        Some(at) => Msg::At.fmt(lang, &[("at", &secs(at)), ("for", &secs(g.duration_s))]),
        None => Msg::Between.fmt(lang, &[("for", &secs(g.duration_s))]),
    };
    let Some(stream) = g.stream.as_deref().and_then(stream_msg) else {
        return at;
    };
    Msg::InStream.fmt(lang, &[("place", &at), ("stream", stream.text(lang))])
}

/// Every interruption of the period, with its explanation, signers and
/// review; `found`: with when each was found at ingest (the gap log, whose
/// period is when they happened; the ingest report's period is already
/// when they were found).
fn gap_section(cx: &Context<'_>, gaps: &[Gap], found: bool) -> ReportSection {
    let lang = cx.lang;
    let rows = gaps
        .iter()
        .map(|g| {
            let e = g.explanation.as_ref();
            let status = match (g.overdue, g.status) {
                (true, _) => cx.t(Msg::OverdueMark),
                (_, "open") => cx.t(Msg::GapOpen),
                (_, "awaiting_signatures") => cx.t(Msg::GapAwaiting),
                _ => cx.t(Msg::GapExplained),
            };
            let text = e
                .map(|e| match (&e.text, e.at_s) {
                    (Some(t), _) => t.clone(),
                    (None, Some(at)) => Msg::Spoken.fmt(lang, &[("at", &format!("{at:.1}"))]),
                    _ => String::new(),
                })
                .unwrap_or_default();
            let signers = e
                .map(|e| {
                    if e.signatures.is_empty() {
                        e.officers
                            .iter()
                            .map(|o| cx.officer(Some(o)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    } else {
                        e.signatures
                            .iter()
                            .map(|s| {
                                format!(
                                    "{} · {}",
                                    cx.officer(Some(&s.officer)),
                                    cx.zone.local(&s.at)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    }
                })
                .unwrap_or_default();
            let review = e
                .and_then(|e| review_of(e, lang, cx.zone))
                .unwrap_or_default();
            let mut row = vec![
                Cell::text(format!(
                    "{}\n{}\n{}",
                    cx.t(kind_msg(g.kind)),
                    place(g, lang),
                    g.id
                )),
                Cell::text(format!(
                    "{}\n{}",
                    cx.officer(g.officer.as_deref()),
                    g.device.clone().unwrap_or_default()
                )),
                Cell::text(g.path.clone()),
                Cell::text(
                    g.wall_start
                        .as_deref()
                        .map_or_else(|| cx.t(Msg::TimeUnknown), |t| cx.zone.local(t)),
                ),
                Cell::text(status),
                Cell::prose(text),
                Cell::prose(signers),
                Cell::text(review),
            ];
            if found {
                row.insert(4, Cell::text(cx.zone.local(&g.detected_at)));
            }
            row
        })
        .collect();
    let mut head = vec![
        Msg::Interruption,
        Msg::Officer,
        Msg::File,
        Msg::Start,
        Msg::Status,
        Msg::Explanation,
        Msg::Signers,
        Msg::ReviewedByCol,
    ];
    if found {
        head.insert(4, Msg::FoundAt);
    }
    ReportSection {
        title: cx.t(Msg::Interruptions),
        class: "gaps",
        head: cx.head(&head),
        rows,
    }
}

/// The ingest report: per officer and recorder, a timeline per officer,
/// every interruption.
pub(crate) fn ingest(d: &Data, cx: &Context<'_>) -> ReportPage {
    let mut page = cx.page(Msg::ReportIngest, Msg::PeriodByIngest, d);
    let mut totals = [0u64; 5];
    let rows = d
        .rows
        .iter()
        .map(|r| {
            totals[0] += r.clips;
            totals[1] += r.late_ingests;
            totals[2] += r.damaged;
            totals[3] += r.interruptions_open;
            totals[4] += r.interruptions_explained;
            vec![
                Cell::text(cx.officer(Some(&r.officer))),
                Cell::text(r.device.clone()),
                Cell::n(r.clips),
                Cell::n(format!("{:.2}", r.hours_recorded)),
                Cell::n(human_bytes(r.bytes)),
                Cell::count(r.late_ingests),
                Cell::count(r.damaged),
                Cell::count(r.interruptions_open),
                Cell::n(r.interruptions_explained),
            ]
            .into_iter()
            .chain(docking_cells(r.clock_drift_ms, r.battery_pct, &r.faults))
            .collect::<Vec<Cell>>()
        })
        .collect::<Vec<_>>();
    let mut rows = rows;
    if !rows.is_empty() {
        rows.push(vec![
            Cell::text(cx.t(Msg::Totals)),
            Cell::text(""),
            Cell::n(totals[0]),
            Cell::n(format!(
                "{:.2}",
                d.rows.iter().map(|r| r.hours_recorded).sum::<f64>()
            )),
            Cell::n(human_bytes(d.rows.iter().map(|r| r.bytes).sum())),
            Cell::count(totals[1]),
            Cell::count(totals[2]),
            Cell::count(totals[3]),
            Cell::n(totals[4]),
            Cell::text(""),
            Cell::text(""),
            Cell::text(""),
        ]);
    }
    page.sections.push(ReportSection {
        title: cx.t(Msg::PerOfficer),
        class: "ingest",
        head: cx.head(&[
            Msg::Officer,
            Msg::Recorder,
            Msg::Clips,
            Msg::HoursRecorded,
            Msg::Bytes,
            Msg::LateCount,
            Msg::DamagedCount,
            Msg::OpenCount,
            Msg::ExplainedCount,
            Msg::ClockDrift,
            Msg::Battery,
            Msg::Faults,
        ]),
        rows,
    });
    page.sections.push(troubled_section(d, cx));
    page.sections.push(gap_section(cx, &d.gaps, false));
    page.timelines = timelines(d, cx);
    if !page.timelines.is_empty() {
        page.legend = cx.t(Msg::Legend);
    }
    page
}

/// A recorder's state at its last docking as cells: its clock's drift,
/// its battery, its fault codes (`-` for what is not known).
pub fn docking_cells(
    drift_ms: Option<i64>,
    battery_pct: Option<impl std::fmt::Display>,
    faults: &[u16],
) -> [Cell; 3] {
    [
        Cell::n(
            drift_ms
                .map(|v| format!("{:+.1} s", v as f64 / 1000.0))
                .unwrap_or_else(|| "-".into()),
        ),
        Cell::n(
            battery_pct
                .map(|v| format!("{v} %"))
                .unwrap_or_else(|| "-".into()),
        ),
        Cell::text(if faults.is_empty() {
            "-".into()
        } else {
            format!("{faults:?}")
        }),
    ]
}

/// What is wrong with a damaged file, in the reader's words: what is
/// damaged, how much of it plays, and the reason as recorded at ingest
/// (FFmpeg's words, labelled as a technical detail).
pub fn damage_said(reason: &str, lang: Lang) -> String {
    let has = |w: &str| reason.contains(w);
    let what = if has("not a recording") {
        Msg::DamagedNotRecording
    } else if has("not analysed") {
        Msg::DamagedNotAnalysed
    } else if has("changed while it was read") {
        Msg::DamagedChanged
    } else if has("ends early") || has("truncated") || has("cut off") || has("beyond the end") {
        Msg::DamagedCutOff
    } else if has("skipped corrupt data") {
        Msg::DamagedCorrupt
    } else if has("no readable audio or video") {
        Msg::DamagedNoStreams
    } else if has("cannot open it as media") {
        Msg::DamagedUnreadable
    } else {
        Msg::DamagedOther
    };
    let playable = reason
        .rsplit_once("readable duration ")
        .and_then(|(_, s)| s.trim_end_matches(" s").parse::<f64>().ok())
        .map(|s| Msg::DamagedPlayable.fmt(lang, &[("s", &format!("{s:.1}"))]))
        .unwrap_or_default();
    Msg::DamagedSaid.fmt(
        lang,
        &[
            ("what", what.text(lang)),
            ("playable", &playable),
            ("detail", reason),
        ],
    )
}

/// The ingest report's late and damaged files, each by name (a link on the
/// desk), officer, recorder, start and ingest, and what is wrong (R7, R11).
fn troubled_section(d: &Data, cx: &Context<'_>) -> ReportSection {
    let rows = d
        .clips
        .iter()
        .filter(|c| c.damaged || c.late_ingest)
        .map(|c| {
            let mut what = Vec::new();
            if c.damaged {
                let why = c.damage_reason.as_deref().unwrap_or_default();
                what.push(damage_said(why, cx.lang));
            }
            if c.late_ingest {
                what.push(cx.t(Msg::StatusLate));
            }
            vec![
                Cell::recording(c.path.clone(), &c.clip),
                Cell::text(cx.officer(c.officer.as_deref())),
                Cell::text(c.device.clone().unwrap_or_default()),
                Cell::text(
                    c.recorded_start
                        .as_deref()
                        .map(|t| cx.zone.local(t))
                        .unwrap_or_else(|| cx.t(Msg::TimeUnknown)),
                ),
                Cell::text(cx.zone.local(&c.ingested_at)),
                Cell::prose(what.join("\n")),
            ]
        })
        .collect();
    ReportSection {
        title: cx.t(Msg::TroubledFiles),
        class: "troubled",
        head: cx.head(&[
            Msg::File,
            Msg::Officer,
            Msg::Recorder,
            Msg::Start,
            Msg::Ingested,
            Msg::Status,
        ]),
        rows,
    }
}

/// The interruption log: every interruption of the period.
pub(crate) fn gap_log(d: &Data, gaps: &[Gap], cx: &Context<'_>) -> ReportPage {
    let mut page = cx.page(Msg::ReportGaps, Msg::PeriodByInterruption, d);
    page.sections.push(gap_section(cx, gaps, true));
    page
}

/// Statistics per officer and per unit (R19).
pub(crate) fn stats(d: &Data, cx: &Context<'_>) -> ReportPage {
    let (rows, units) = stat_rows(d);
    let mut page = cx.page(Msg::ReportStats, Msg::PeriodByRecording, d);
    page.signatures.clear();
    page.sections.push(ReportSection {
        title: cx.t(Msg::PerOfficer),
        class: "stats",
        head: cx.head(&[
            Msg::Officer,
            Msg::Unit,
            Msg::Clips,
            Msg::HoursRecorded,
            Msg::Interruptions,
            Msg::PerHour,
            Msg::LateRate,
            Msg::ExplainedCount,
            Msg::MeanHours,
            Msg::Undated,
        ]),
        rows: rows
            .iter()
            .map(|s| {
                vec![
                    Cell::text(cx.officer(Some(&s.officer))),
                    Cell::text(s.unit.clone().unwrap_or_else(|| "-".into())),
                    Cell::n(s.clips),
                    Cell::n(format!("{:.2}", s.hours_recorded)),
                    Cell::n(s.interruptions),
                    Cell::n(
                        s.interruptions_per_hour
                            .map(|r| format!("{r:.2}"))
                            .unwrap_or_else(|| "-".into()),
                    ),
                    Cell::n(format!("{:.1} %", s.late_ingest_rate * 100.0)),
                    Cell::n(s.explained),
                    Cell::n(
                        s.mean_explanation_hours
                            .map(|h| format!("{h:.2}"))
                            .unwrap_or_else(|| "-".into()),
                    ),
                    Cell::count(s.clips_without_time),
                ]
            })
            .collect(),
    });
    page.sections.push(ReportSection {
        title: cx.t(Msg::PerUnit),
        class: "units",
        head: cx.head(&[Msg::Unit, Msg::HoursRecorded, Msg::Interruptions]),
        rows: units
            .iter()
            .map(|(u, (h, n))| {
                vec![
                    Cell::text(u.clone()),
                    Cell::n(format!("{h:.2}")),
                    Cell::n(*n),
                ]
            })
            .collect(),
    });
    page
}

/// One timeline per officer: a lane per recorder, a bar per clip over its
/// recorded span, a red mark at each interruption, and a time axis in the
/// station's zone with five ticks, laid out on a 1000-unit-wide drawing
/// that the printed page draws as SVG.
fn timelines(d: &Data, cx: &Context<'_>) -> Vec<Timeline> {
    let mut by_officer: BTreeMap<String, Vec<&Clip>> = BTreeMap::new();
    for c in &d.clips {
        if parse(c.recorded_start.as_deref()).is_some() {
            by_officer
                .entry(c.officer.clone().unwrap_or_else(|| "-".into()))
                .or_default()
                .push(c);
        }
    }
    let mut out = Vec::new();
    for (officer, clips) in by_officer {
        let starts: Vec<OffsetDateTime> = clips
            .iter()
            .filter_map(|c| parse(c.recorded_start.as_deref()))
            .collect();
        let ends: Vec<OffsetDateTime> = clips
            .iter()
            .filter_map(|c| parse(c.recorded_end.as_deref()))
            .collect();
        let (Some(t0), Some(t1)) = (starts.iter().min(), ends.iter().chain(starts.iter()).max())
        else {
            continue;
        };
        let span = ((*t1 - *t0).as_seconds_f64()).max(1.0);
        let mut devices: Vec<String> = clips
            .iter()
            .map(|c| c.device.clone().unwrap_or_else(|| "-".into()))
            .collect();
        devices.sort();
        devices.dedup();
        let (w, left, lane) = (1000.0, 110.0, 34.0);
        let x = |t: OffsetDateTime| left + (t - *t0).as_seconds_f64() / span * (w - left - 20.0);
        let lanes = devices
            .iter()
            .enumerate()
            .map(|(i, dev)| {
                let y = 8.0 + lane * i as f64;
                let mut bars = Vec::new();
                for c in clips
                    .iter()
                    .filter(|c| c.device.as_deref().unwrap_or("-") == dev)
                {
                    let (Some(a), Some(b)) = (
                        parse(c.recorded_start.as_deref()),
                        parse(c.recorded_end.as_deref()),
                    ) else {
                        continue;
                    };
                    let marks = d
                        .gaps
                        .iter()
                        .filter(|g| g.clip == c.clip)
                        .filter_map(|g| {
                            let at = parse(g.wall_start.as_deref())?;
                            Some((x(at), (g.duration_s / span * (w - left - 20.0)).max(3.0)))
                        })
                        .collect();
                    bars.push(Bar {
                        x: x(a),
                        width: (x(b) - x(a)).max(2.0),
                        damaged: c.damaged,
                        marks,
                    });
                }
                Lane {
                    label: dev.clone(),
                    y,
                    bars,
                }
            })
            .collect();
        let ticks = (0..=4)
            .map(|i| {
                let t = *t0 + time::Duration::seconds_f64(span * f64::from(i) / 4.0);
                let label = cx.zone.local(&vigil_store::rfc3339(t));
                let label = if i == 0 {
                    label.clone()
                } else {
                    label.get(11..).unwrap_or(&label).to_owned()
                };
                Tick {
                    x: x(t),
                    anchor: match i {
                        0 => "start",
                        4 => "end",
                        _ => "middle",
                    },
                    label,
                }
            })
            .collect();
        out.push(Timeline {
            heading: Msg::OfficerTimeline.fmt(cx.lang, &[("officer", &cx.officer(Some(&officer)))]),
            officer: cx.officer(Some(&officer)),
            width: w,
            height: 56.0 + lane * devices.len() as f64,
            left,
            right: w - 20.0,
            axis_y: 8.0 + lane * devices.len() as f64 + 6.0,
            lanes,
            ticks,
        });
    }
    out
}
