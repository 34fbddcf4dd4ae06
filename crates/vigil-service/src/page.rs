//! What a printed report holds, as data: its header facts, its tables of
//! cells, its timelines laid out on a drawing, its signature lines and the
//! log's checkpoint, all already in the reader's language and the
//! station's zone. `vigil-desk` draws it (HTML with SVG timelines, or
//! plain text); nothing here knows about markup.

use vigil_i18n::Lang;

/// A report cell: its text and its class (`n` numbers, `bad` a number that
/// needs attention, `text` free text).
#[derive(Debug, Clone)]
pub struct Cell {
    /// What it says.
    pub text: String,
    /// How it is set.
    pub class: &'static str,
    /// The desk page it leads to (a recording's), where the report is read
    /// on the desk ([`ReportPage::links`]).
    pub href: Option<String>,
}

impl Cell {
    fn of(text: String, class: &'static str) -> Self {
        Self {
            text,
            class,
            href: None,
        }
    }
    /// Plain text.
    pub fn text(t: impl Into<String>) -> Self {
        Self::of(t.into(), "")
    }
    /// A number.
    pub fn n(t: impl ToString) -> Self {
        Self::of(t.to_string(), "n")
    }
    /// A count that needs attention when it is not zero.
    pub fn count(n: u64) -> Self {
        Self::of(n.to_string(), if n > 0 { "bad" } else { "n" })
    }
    /// Free text kept as written (line breaks shown).
    pub fn prose(t: impl Into<String>) -> Self {
        Self::of(t.into(), "text")
    }
    /// A recording's file name, leading to its page on the desk.
    pub fn recording(name: impl Into<String>, clip: &str) -> Self {
        Self {
            href: Some(format!("/desk/clips/{clip}")),
            ..Self::of(name.into(), "file")
        }
    }
}

/// A table of a report.
#[derive(Debug, Clone)]
pub struct ReportSection {
    /// Its heading.
    pub title: String,
    /// Its class (column widths).
    pub class: &'static str,
    /// Column headings.
    pub head: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
}

/// A clip's recorded span on a timeline's lane, with its interruptions'
/// marks drawn over it.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Where it starts on the drawing.
    pub x: f64,
    /// How wide it is.
    pub width: f64,
    /// A clip flagged damaged (drawn in amber).
    pub damaged: bool,
    /// Its interruptions: where each starts and how wide it is.
    pub marks: Vec<(f64, f64)>,
}

/// One recorder's lane on an officer's timeline.
#[derive(Debug, Clone)]
pub struct Lane {
    /// The recorder.
    pub label: String,
    /// Its top on the drawing.
    pub y: f64,
    /// Its clips.
    pub bars: Vec<Bar>,
}

/// A labelled tick on the time axis.
#[derive(Debug, Clone)]
pub struct Tick {
    /// Where it is on the drawing.
    pub x: f64,
    /// How its label is anchored (`start`, `middle`, `end`).
    pub anchor: &'static str,
    /// The local time it marks.
    pub label: String,
}

/// An officer's timeline of the period, laid out on a drawing
/// `width` × `height` units.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Its heading.
    pub heading: String,
    /// The officer, as the drawing's accessible label.
    pub officer: String,
    /// The drawing's width.
    pub width: f64,
    /// The drawing's height.
    pub height: f64,
    /// Where the lanes start (after the recorders' labels).
    pub left: f64,
    /// Where they end.
    pub right: f64,
    /// The time axis' height on the drawing.
    pub axis_y: f64,
    /// A lane per recorder.
    pub lanes: Vec<Lane>,
    /// Five ticks on the axis.
    pub ticks: Vec<Tick>,
}

/// A printable report (ingest, gap log, statistics): every value visible
/// in print, nothing on hover only.
#[derive(Debug, Clone)]
pub struct ReportPage {
    /// The reader's language.
    pub lang: Lang,
    /// The report's title.
    pub title: String,
    /// Station, period, who made it and when, the zone.
    pub meta: Vec<(String, String)>,
    /// Its tables.
    pub sections: Vec<ReportSection>,
    /// A timeline per officer.
    pub timelines: Vec<Timeline>,
    /// What the timelines' colours mean.
    pub legend: String,
    /// "Nothing here."
    pub empty: String,
    /// Signature lines' labels.
    pub signatures: Vec<String>,
    /// "Date".
    pub date_label: String,
    /// The checkpoint's heading.
    pub checkpoint_title: String,
    /// The log checkpoint: (what it is, the signed note).
    pub checkpoint: Option<(String, String)>,
    /// The newest checkpoint the agency centre's witness cosigned: (what
    /// it is, the note with both signatures).
    pub cosigned: Option<(String, String)>,
    /// Drawn on the desk: recordings link to their pages and a print
    /// button is offered (a report written to a file has neither).
    pub links: bool,
    /// "Print".
    pub print_label: String,
}
