//! The agency centre's pages (`vigil-centre`'s desk): its login, the
//! agency's interruption log across stations (which prints as the agency
//! gap log) and one interruption with its station and the station log's
//! entries about it. The chrome is the station desk's ([`Chrome`]), its
//! menu the centre's.

use askama::Template;
use vigil_i18n::Msg;

use crate::{Chrome, Row};

/// The login form.
#[derive(Debug, Template)]
#[template(path = "centre_login.html")]
pub struct CentreLogin {
    /// Around it.
    pub chrome: Chrome,
    /// The last attempt failed.
    pub failed: bool,
    /// The user name tried.
    pub user: String,
}

/// The agency's interruption log.
#[derive(Debug, Template)]
#[template(path = "centre_gaps.html")]
pub struct CentreGaps {
    /// Around it.
    pub chrome: Chrome,
    /// The month shown, `YYYY-MM`.
    pub month: String,
    /// The stations the reader may choose (name, chosen).
    pub stations: Vec<(String, bool)>,
    /// Only those not yet explained.
    pub open: bool,
    /// Links to this month's and last month's log.
    pub this_month: String,
    /// The same for last month.
    pub last_month: String,
    /// What the period filters on, in words.
    pub period: String,
    /// "N interruptions".
    pub count: String,
    /// More matched than are shown.
    pub more: bool,
    /// What to do about it.
    pub more_text: String,
    /// The columns.
    pub head: Vec<String>,
    /// The rows, each linking to its interruption.
    pub rows: Vec<Row>,
    /// Who made the page.
    pub made_by: String,
    /// When, in the centre's zone.
    pub made_at: String,
    /// The signature lines of the printed log.
    pub signatures: Vec<String>,
}

/// One interruption.
#[derive(Debug, Template)]
#[template(path = "centre_gap.html")]
pub struct CentreGap {
    /// Around it (its title is the heading).
    pub chrome: Chrome,
    /// Its audit trail across the station's log, for those who may read it.
    pub trail: Option<String>,
    /// What it is: (label, value).
    pub facts: Vec<(String, String)>,
    /// The log's columns.
    pub head: Vec<String>,
    /// The station log's entries about it.
    pub log: Vec<Vec<String>>,
    /// Where the list was.
    pub back: String,
    /// A review sent to the station and not yet recorded there.
    pub sent: Option<String>,
    /// Where the review form posts, when the reader may review it now.
    pub review: Option<String>,
}

/// The board of stations: each one's last contact, what the centre holds
/// of its log and what is still to come, its last cosigned checkpoint, its
/// open interruptions, and whether it is out of touch or flagged. The page
/// reloads itself every 30 s while its box is ticked.
#[derive(Debug, Template)]
#[template(path = "centre_stations.html")]
pub struct CentreStations {
    /// Around it (its title is the heading).
    pub chrome: Chrome,
    /// What the board shows.
    pub help: String,
    /// The columns.
    pub head: Vec<String>,
    /// The rows: cells, and whether the station needs attention.
    pub rows: Vec<(Vec<String>, bool)>,
}

/// A printed report of the agency (statistics, ingest) with its period's
/// form and the stations to choose from.
#[derive(Debug, Template)]
#[template(path = "centre_report.html")]
pub struct CentreReport {
    /// Around it.
    pub chrome: Chrome,
    /// Where its form goes (`/desk/stats`, `/desk/ingest`).
    pub action: &'static str,
    /// The period field's label.
    pub period_label: String,
    /// The periods it takes (an HTML `pattern`).
    pub pattern: &'static str,
    /// The period shown: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub period: String,
    /// The stations the reader may choose (name, chosen).
    pub stations: Vec<(String, bool)>,
    /// Links to the usual periods (address, label, element id).
    pub quick: Vec<(String, String, &'static str)>,
    /// The report as it prints.
    pub page: vigil_service::page::ReportPage,
}

/// The agency's recordings: newest first, searched by words (Chinese
/// substrings too) and filtered by station.
#[derive(Debug, Template)]
#[template(path = "centre_clips.html")]
pub struct CentreClips {
    /// Around it (its title is the heading).
    pub chrome: Chrome,
    /// The words searched for.
    pub search: String,
    /// The stations the reader may choose (name, chosen).
    pub stations: Vec<(String, bool)>,
    /// "N recordings".
    pub count: String,
    /// More matched than are shown.
    pub more: bool,
    /// What to do about it.
    pub more_text: String,
    /// The columns.
    pub head: Vec<String>,
    /// The rows, each linking to its recording.
    pub rows: Vec<Row>,
}

/// One recording at the centre: what it is, its interruptions (each
/// linking to its page) and its custody, the station log's entries about
/// it and its interruptions.
#[derive(Debug, Template)]
#[template(path = "centre_clip.html")]
pub struct CentreClip {
    /// Around it (its title is the heading).
    pub chrome: Chrome,
    /// Its audit trail across the station's log, for those who may read it.
    pub trail: Option<String>,
    /// What it is: (label, value).
    pub facts: Vec<(String, String)>,
    /// The interruptions' columns.
    pub gap_head: Vec<String>,
    /// Its interruptions.
    pub gaps: Vec<Row>,
    /// Its retention classes and holds (R13) as the station last sent
    /// them; `None` when the station sent none.
    pub custody: Option<CustodyLines>,
    /// The log's columns.
    pub head: Vec<String>,
    /// The station log's entries about it and its interruptions.
    pub log: Vec<Vec<String>>,
}

/// A recording's retention in words.
#[derive(Debug, Clone)]
pub struct CustodyLines {
    /// Its retention classes, as labels.
    pub classes: Vec<String>,
    /// Its holds, newest first, each in one line.
    pub holds: Vec<String>,
}

/// The agency's retrieval requests (R16), newest first.
#[derive(Debug, Template)]
#[template(path = "centre_requests.html")]
pub struct CentreRequests {
    /// Around it (its title is the heading).
    pub chrome: Chrome,
    /// The stations the reader may choose (name, chosen).
    pub stations: Vec<(String, bool)>,
    /// Only those waiting for a decision.
    pub undecided: bool,
    /// "N requests".
    pub count: String,
    /// More matched than are shown.
    pub more: bool,
    /// What to do about it.
    pub more_text: String,
    /// The columns.
    pub head: Vec<String>,
    /// The rows, each linking to its request.
    pub rows: Vec<Row>,
}

/// One retrieval request at the centre: what it asks for, what it would
/// release, what was decided or sent; for a supervisor who may decide it,
/// the approval (confirmed) and the turning down, sent to its station.
#[derive(Debug, Template)]
#[template(path = "centre_request.html")]
pub struct CentreRequest {
    /// Around it (its title is the heading; its `csrf` the forms').
    pub chrome: Chrome,
    /// What it is: (label, value).
    pub facts: Vec<(String, String)>,
    /// Its state's class (`pending`, `approved`, `rejected`).
    pub state_class: &'static str,
    /// "What it would release: N recording(s)".
    pub release_title: String,
    /// The recordings' columns.
    pub head: Vec<String>,
    /// The recordings the reader may see, each linking to its page.
    pub rows: Vec<Row>,
    /// How many more it names that the reader may not see (R17).
    pub hidden: Option<String>,
    /// A decision sent to the station and not yet recorded there.
    pub sent: Option<String>,
    /// The reader may decide it now.
    pub may_decide: bool,
    /// The approval's confirmation line.
    pub confirm: String,
    /// Where the forms post: `/desk/requests/STATION/ID`.
    pub action: String,
}

/// What waits for the signed-in user across their stations, queue by
/// queue as their role has them.
#[derive(Debug, Template)]
#[template(path = "centre_home.html")]
pub struct CentreHome {
    /// Around it.
    pub chrome: Chrome,
    /// Each queue, with its count as shown (`20+` when more wait).
    pub sections: Vec<(crate::Section, String)>,
}

/// The stations' logs at the centre (R20): one subject, person, action or
/// period across the stations the reader may see, each entry with its
/// station, in words, paged through one station's log.
#[derive(Debug, Template)]
#[template(path = "centre_audit.html")]
pub struct CentreAudit {
    /// Around it.
    pub chrome: Chrome,
    /// What the page shows, in words.
    pub heading: String,
    /// The station asked for, or empty.
    pub station: String,
    /// The rest of the filter as asked.
    pub filter: crate::TrailFilterView,
    /// The stations the reader may choose (name, chosen).
    pub stations: Vec<(String, bool)>,
    /// The actions the log knows (code, words).
    pub actions: Vec<(&'static str, &'static str)>,
    /// The entries, each with its station.
    pub rows: Vec<(String, crate::TrailRow)>,
    /// Said when more matched than shown and there is no next page.
    pub more: Option<String>,
    /// The first page, when this is a later one.
    pub first: Option<String>,
    /// The next page.
    pub next: Option<String>,
}
