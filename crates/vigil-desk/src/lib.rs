//! The desk's pages: server-rendered HTML from askama templates
//! (`templates/`), a stylesheet that also prints on A4 and one small script
//! for the player (`static/`), all served by vigild itself: no external
//! assets, nothing inline, so the pages work under a strict
//! Content-Security-Policy on a closed network.
//!
//! This crate only renders. The HTTP side (sessions, CSRF, the store) is
//! `vigil-api`'s `desk` module, which fills these view models from
//! `vigil-service`. Every label comes from `vigil-i18n`'s catalogue in the
//! reader's language; every time is already in the station's zone.

use askama::Template;

pub mod centre;
pub mod custody;
pub mod printed;
use vigil_i18n::{Lang, Msg};

/// The stylesheet (`/desk/static/desk.css`).
pub const CSS: &str = include_str!("../static/desk.css");
/// The script (`/desk/static/desk.js`).
pub const JS: &str = include_str!("../static/desk.js");

/// What every page shows around its content.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The reader's language.
    pub lang: Lang,
    /// The page title.
    pub title: String,
    /// "Signed in as ..." when signed in.
    pub who: Option<String>,
    /// The session's CSRF token for forms.
    pub csrf: String,
    /// Which menu entry is current (`home`, `clips`).
    pub nav: &'static str,
    /// This page's path and query (where a language switch returns to),
    /// URL-encoded.
    pub here: String,
    /// The station's time zone.
    pub zone: String,
    /// The reader may read the audit log (the menu shows the trail).
    pub audit: bool,
}

impl Chrome {
    /// A label in the reader's language.
    pub fn t(&self, m: Msg) -> &'static str {
        m.text(self.lang)
    }

    /// The language menu: (code, name, current).
    pub fn langs(&self) -> Vec<(&'static str, &'static str, bool)> {
        Lang::ALL
            .iter()
            .map(|l| (l.code(), l.name(), *l == self.lang))
            .collect()
    }

    /// "Times are shown in 北京时间", the zone as people say it (its IANA
    /// name is [`Self::zone`], shown as a tooltip).
    pub fn times_in(&self) -> String {
        let spoken = vigil_i18n::Zone::named(&self.zone)
            .map(|z| z.spoken(self.lang))
            .unwrap_or_else(|_| self.zone.clone());
        Msg::TimesIn.fmt(self.lang, &[("zone", &spoken)])
    }
}

/// The login page.
#[derive(Debug, Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Around it.
    pub chrome: Chrome,
    /// The last attempt failed.
    pub failed: bool,
    /// The user name tried.
    pub user: String,
    /// The pre-session token the form sends back (login CSRF).
    pub token: String,
}

/// A refusal, a missing page, an expired form.
#[derive(Debug, Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    /// Around it (its title is the heading).
    pub chrome: Chrome,
    /// What happened.
    pub text: String,
    /// Where to go back to.
    pub back: String,
}

/// One row of a table: its cells, the first a link to `href`.
#[derive(Debug, Clone)]
pub struct Row {
    /// Where the first cell links.
    pub href: String,
    /// The cells, as shown.
    pub cells: Vec<String>,
    /// The recording's thumbnail, shown before the first cell (a video's).
    pub thumb: Option<String>,
}

/// One queue of the home page.
#[derive(Debug, Clone)]
pub struct Section {
    /// Its anchor id.
    pub id: &'static str,
    /// Its heading.
    pub title: String,
    /// Its column headings.
    pub head: Vec<String>,
    /// Its rows.
    pub rows: Vec<Row>,
}

/// A user's own queue.
#[derive(Debug, Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// Around it.
    pub chrome: Chrome,
    /// The queues for the user's role.
    pub sections: Vec<Section>,
}

/// One row of the audit trail, in words.
#[derive(Debug, Clone)]
pub struct TrailRow {
    /// Its place in the log.
    pub seq: i64,
    /// When, in the station's zone.
    pub at: String,
    /// Who (a user name) and the link to their actions.
    pub actor: (String, String),
    /// What, in the reader's language.
    pub action: String,
    /// The action's code (kept as the record; shown as a tooltip).
    pub code: String,
    /// What it was about, and the link to it when it has a page.
    pub about: (String, Option<String>),
    /// The link to the subject's own trail.
    pub trail: String,
    /// The row's details, compact.
    pub details: String,
}

/// The audit trail's filter as entered.
#[derive(Debug, Clone, Default)]
pub struct TrailFilterView {
    /// Subject id.
    pub subject: String,
    /// A recording's interruptions too.
    pub related: bool,
    /// Action code.
    pub action: String,
    /// User name.
    pub actor: String,
    /// Local date from.
    pub from: String,
    /// Local date until.
    pub until: String,
}

impl TrailFilterView {
    /// The audit page this filter shows (`station`: the centre's, one
    /// station's log), from its first entry or after `after`.
    pub fn link(&self, station: Option<&str>, after: Option<i64>) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("station", station.unwrap_or_default().to_owned()),
            ("subject", self.subject.clone()),
            (
                "related",
                if self.related {
                    "1".into()
                } else {
                    String::new()
                },
            ),
            ("action", self.action.clone()),
            ("actor", self.actor.clone()),
            ("from", self.from.clone()),
            ("until", self.until.clone()),
        ];
        pairs.retain(|(_, v)| !v.is_empty());
        if let Some(a) = after {
            pairs.push(("after", a.to_string()));
        }
        format!(
            "/desk/audit?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }
}

/// The audit trail.
#[derive(Debug, Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// Around it.
    pub chrome: Chrome,
    /// The heading (the subject's name when there is one).
    pub heading: String,
    /// The filter as entered.
    pub filter: TrailFilterView,
    /// The action choices: (code, words).
    pub actions: Vec<(&'static str, &'static str)>,
    /// This page's rows.
    pub rows: Vec<TrailRow>,
    /// The first page's link, when this is a later one.
    pub first: Option<String>,
    /// The next page's link.
    pub next: Option<String>,
}

/// One retrieval request and what it would release, with the decision
/// forms (confirmed) for one who may decide it.
#[derive(Debug, Template)]
#[template(path = "request.html")]
pub struct RequestPage {
    /// Around it.
    pub chrome: Chrome,
    /// The request as its row shows it.
    pub request: RequestView,
    /// "What it would release: n recordings".
    pub release_title: String,
    /// Its recordings' column headings.
    pub head: Vec<String>,
    /// Its recordings the reader may see.
    pub rows: Vec<Row>,
    /// How many more it names that the reader may not see, said in words.
    pub hidden: Option<String>,
    /// The approval's confirmation, in words.
    pub confirm: String,
}

/// The confirmation of a co-signature: exactly what is signed, and the
/// password asked again.
#[derive(Debug, Template)]
#[template(path = "sign.html")]
pub struct SignPage {
    /// Around it.
    pub chrome: Chrome,
    /// "You are signing, as officer ...".
    pub what: String,
    /// Label and value pairs: the interruption, its recording, the
    /// explanation's filer and signers.
    pub facts: Vec<(String, String)>,
    /// The explanation's text, as it will be signed.
    pub text: String,
    /// The explanation's id (the form's target).
    pub explanation: String,
    /// Where to return after signing.
    pub back: String,
    /// The last try's password was wrong.
    pub wrong: bool,
}

/// The outcome of checking one kept checkpoint.
#[derive(Debug, Clone)]
pub struct CheckView {
    /// It holds.
    pub holds: bool,
    /// The verdict in words.
    pub verdict: String,
    /// What the check found, as the service says it (a technical detail).
    pub detail: Option<String>,
}

/// The checkpoint: what it is, the newest one to save, and the check of a
/// kept one.
#[derive(Debug, Template)]
#[template(path = "checkpoint.html")]
pub struct CheckpointPage {
    /// Around it.
    pub chrome: Chrome,
    /// Label and value pairs (rows, root, signed at, key).
    pub facts: Vec<(String, String)>,
    /// The signed note, as saved.
    pub note: String,
    /// The text checked, when one was.
    pub checked: String,
    /// The outcome of each checkpoint in it.
    pub results: Vec<CheckView>,
}

/// The clip list's filter as entered.
#[derive(Debug, Clone, Default)]
pub struct ClipFilterView {
    /// The search box's words.
    pub q: String,
    /// Officer id.
    pub officer: String,
    /// Recorder serial.
    pub device: String,
    /// Site (current tag).
    pub site: String,
    /// Case number (current tag).
    pub case: String,
    /// Category (current tag).
    pub category: String,
    /// Status value (`""` for any).
    pub status: String,
    /// Local date from.
    pub from: String,
    /// Local date until.
    pub until: String,
}

/// The clip list.
#[derive(Debug, Template)]
#[template(path = "clips.html")]
pub struct ClipsPage {
    /// Around it.
    pub chrome: Chrome,
    /// What a bulk action just did (and skipped), when it did.
    pub notice: Option<String>,
    /// The recordings it skipped: (link, name).
    pub skipped: Vec<(String, String)>,
    /// The filter as entered.
    pub filter: ClipFilterView,
    /// The status choices: (value, label).
    pub statuses: Vec<(&'static str, &'static str)>,
    /// Column headings.
    pub head: Vec<String>,
    /// This page's rows.
    pub rows: Vec<Row>,
    /// "Page n".
    pub page_label: String,
    /// The previous page's link.
    pub prev: Option<String>,
    /// The next page's link.
    pub next: Option<String>,
}

/// One clip as its page shows it.
#[derive(Debug, Clone)]
pub struct ClipView {
    /// Its original path.
    pub path: String,
    /// Label and value pairs (officer, recorder, start, hashes, ...).
    pub facts: Vec<(String, String)>,
    /// Where the player reads it.
    pub media: String,
    /// Its length, seconds.
    pub duration: f64,
    /// This page's path (forms return here).
    pub here: String,
    /// The clip id.
    pub id: String,
    /// The player shows a preview transcoded for the browser, not the
    /// original (labelled as such).
    pub preview: bool,
    /// The player's poster: the video's thumbnail, when it has one.
    pub poster: Option<String>,
    /// The GPS track the recorder stored beside it, drawn.
    pub track: Option<TrackView>,
}

/// A GPS track drawn in a 300 × 300 box (north up, the track's own extent,
/// no map tiles), and its points in time for the position marker.
#[derive(Debug, Clone)]
pub struct TrackView {
    /// The track file's original path.
    pub file: String,
    /// The polyline's points (`x,y x,y ...`).
    pub line: String,
    /// `[[seconds, x, y], ...]` as JSON, for the script.
    pub points: String,
    /// The marker's first place.
    pub start: (f64, f64),
    /// Where the track starts and ends, in words (latitude, longitude).
    pub extent: String,
}

/// A clip's tag, retention and holds, as its page shows them.
#[derive(Debug, Clone, Default)]
pub struct CustodyView {
    /// The reader may tag it.
    pub may_tag: bool,
    /// The reader may set classes and holds (a custodian).
    pub may_hold: bool,
    /// Current tag fields.
    pub site: String,
    /// Case number.
    pub case: String,
    /// Category.
    pub category: String,
    /// Description.
    pub note: String,
    /// Its retention classes, as labels.
    pub classes: Vec<String>,
    /// The class choices: (value, label).
    pub class_choices: Vec<(&'static str, &'static str)>,
    /// The hold reasons: (value, label).
    pub hold_choices: Vec<(&'static str, &'static str)>,
    /// Its holds, newest first.
    pub holds: Vec<HoldView>,
}

/// A hold as shown.
#[derive(Debug, Clone)]
pub struct HoldView {
    /// What it says.
    pub text: String,
    /// Its id, when the reader may release it (still in force).
    pub release: Option<i64>,
}

/// One retrieval request as listed.
#[derive(Debug, Clone)]
pub struct RequestView {
    /// Request id.
    pub id: String,
    /// Who asked.
    pub requester: String,
    /// When (local).
    pub at: String,
    /// Case asked for.
    pub case: String,
    /// How many recordings.
    pub clips: usize,
    /// Why.
    pub reason: String,
    /// Receiving organisation.
    pub outsider: String,
    /// Its state, in words.
    pub state: String,
    /// `pending`, `approved` or `rejected`.
    pub state_class: &'static str,
    /// The reader may approve or turn it down.
    pub may_decide: bool,
    /// The reader may download its package.
    pub may_export: bool,
}

/// The retrieval requests.
#[derive(Debug, Template)]
#[template(path = "requests.html")]
pub struct RequestsPage {
    /// Around it.
    pub chrome: Chrome,
    /// Newest first.
    pub rows: Vec<RequestView>,
}

/// Bulk tagging and case events.
#[derive(Debug, Template)]
#[template(path = "tagging.html")]
pub struct TaggingPage {
    /// Around it.
    pub chrome: Chrome,
    /// The officers: (id, name).
    pub officers: Vec<(String, String)>,
    /// The reader may record case events (a custodian).
    pub may_case: bool,
}

/// The station's live status board.
#[derive(Debug, Template)]
#[template(path = "status.html")]
pub struct StatusPage {
    /// Around it.
    pub chrome: Chrome,
    /// "Updated ...".
    pub updated: String,
    /// Column headings.
    pub head: Vec<String>,
    /// One row per recorder.
    pub rows: Vec<Vec<String>>,
    /// The docks' column headings.
    pub dock_head: Vec<String>,
    /// One row per dock: (class, cells); a lost dock's class is `lost`.
    pub docks: Vec<(String, Vec<String>)>,
    /// The store: label and value pairs (last ingest, free space, days
    /// left).
    pub store: Vec<(String, String)>,
    /// The store is full.
    pub full: bool,
}

/// An interruption's mark on the timeline.
#[derive(Debug, Clone)]
pub struct Mark {
    /// The gap it marks.
    pub gap: String,
    /// x in 0..1000.
    pub x: f64,
    /// Width in the same units (at least visible).
    pub width: f64,
    /// Where a click seeks (seconds: just before the interruption).
    pub seek: f64,
    /// Its description.
    pub label: String,
}

/// An explanation as shown.
#[derive(Debug, Clone)]
pub struct ExplanationView {
    /// What it says.
    pub text: String,
    /// Who filed it, when.
    pub filed: String,
    /// Who signed.
    pub signers: Vec<String>,
    /// The review, when there is one.
    pub review: Option<String>,
}

/// An interruption of the clip, with what the reader may do about it.
#[derive(Debug, Clone)]
pub struct GapView {
    /// Its id.
    pub id: String,
    /// Its kind, in words.
    pub kind: String,
    /// Where and how long, in words.
    pub place: String,
    /// Its status, in words.
    pub status: String,
    /// `open`, `awaiting` or `explained` (for its colour).
    pub status_class: &'static str,
    /// Where to seek to see it.
    pub seek: Option<f64>,
    /// "Play from just before".
    pub seek_label: String,
    /// The page that plays across it (an interruption between two
    /// recordings).
    pub across: Option<String>,
    /// The current explanation.
    pub explanation: Option<ExplanationView>,
    /// The reader may file a written explanation.
    pub can_explain: bool,
    /// The reader may sign this explanation (its id).
    pub can_sign: Option<String>,
    /// The reader may review it.
    pub can_review: bool,
    /// Every explanation and review, oldest first, when there is more than
    /// the current explanation to show.
    pub history: Vec<String>,
}

/// The report chooser.
#[derive(Debug, Template)]
#[template(path = "reports.html")]
pub struct ReportsPage {
    /// Around it.
    pub chrome: Chrome,
    /// The reports: (value, label).
    pub kinds: Vec<(&'static str, &'static str)>,
    /// The first local date proposed.
    pub from: String,
    /// The last.
    pub until: String,
}

/// A clip's page: the player, the timeline, the interruptions.
#[derive(Debug, Template)]
#[template(path = "clip.html")]
pub struct ClipPage {
    /// Around it.
    pub chrome: Chrome,
    /// The clip.
    pub clip: ClipView,
    /// Marks on the timeline.
    pub marks: Vec<Mark>,
    /// The time axis: (x, text-anchor, label).
    pub axis: Vec<(f64, &'static str, String)>,
    /// Its interruptions.
    pub gaps: Vec<GapView>,
    /// Its tag, retention and holds.
    pub custody: CustodyView,
}

/// Playing across a pause or a missing file: the end of the recording
/// before and the start of the one after, on one timeline.
#[derive(Debug, Template)]
#[template(path = "across.html")]
pub struct AcrossPage {
    /// Around it.
    pub chrome: Chrome,
    /// The heading.
    pub title: String,
    /// Label and value pairs (kind, length, officer, recorder, when).
    pub facts: Vec<(String, String)>,
    /// The recording before.
    pub before: AcrossSide,
    /// The recording after.
    pub after: AcrossSide,
    /// The interruption in words ("pause between recordings, 12.0 s"), its
    /// tooltip on the timeline.
    pub gap_label: String,
    /// How long it lasted, written on the timeline ("12.0 s").
    pub gap_for: String,
    /// The time axis: (x, text-anchor, label), both ends and the
    /// interruption's.
    pub axis: Vec<(f64, &'static str, String)>,
    /// Where it is explained, signed and reviewed (the recording after,
    /// at the interruption).
    pub explain_at: String,
}

/// One side of [`AcrossPage`].
#[derive(Debug, Clone)]
pub struct AcrossSide {
    /// Its original path.
    pub path: String,
    /// Its page.
    pub href: String,
    /// Where the player reads it (a preview when browsers cannot play it).
    pub media: String,
    /// The player's poster.
    pub poster: Option<String>,
    /// Where the part shown starts, seconds into the recording.
    pub from: f64,
    /// How long the part shown is, seconds.
    pub length: f64,
    /// Its heading ("End of …", "Start of …").
    pub heading: String,
}

/// The printable report's stylesheet (inline in the report, so a saved
/// file stands alone; the desk allows exactly it by its hash).
pub const REPORT_CSS: &str = include_str!("../static/report.css");

/// Renders a page; a template error (none is expected: the templates are
/// checked when this crate is built) becomes a plain message. What the page
/// shows is shown as it is: a bidirectional override or control character
/// in a name, file name or explanation is written as a visible escape
/// (`vigil_i18n::visible`), never left to reorder the text around it.
pub fn render(page: &impl Template) -> String {
    let html = page.render().unwrap_or_else(|e| {
        format!("<!doctype html><title>error</title><p>the page could not be rendered: {e}")
    });
    match vigil_i18n::visible::html(&html) {
        std::borrow::Cow::Borrowed(_) => html,
        std::borrow::Cow::Owned(shown) => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrome(lang: Lang) -> Chrome {
        Chrome {
            lang,
            title: "t".into(),
            who: Some("张三".into()),
            csrf: "c".into(),
            nav: "home",
            here: "%2Fdesk%2F".into(),
            zone: "Asia/Shanghai".into(),
            audit: true,
        }
    }

    #[test]
    fn pages_are_in_the_readers_language_and_escape_what_they_show() {
        let page = MessagePage {
            chrome: chrome(Lang::ZhCn),
            text: "<script>alert(1)</script>".into(),
            back: "/desk/".into(),
        };
        let html = render(&page);
        assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
        assert!(
            html.contains("时间均按北京时间显示") && html.contains("title=\"Asia/Shanghai\""),
            "the zone as people say it, its name in a tooltip: {html}"
        );
        assert!(html.contains("&#60;script&#62;"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("style=\""), "no inline styles under the CSP");
        let en = render(&LoginPage {
            chrome: chrome(Lang::En),
            failed: true,
            user: "ann".into(),
            token: "t0k3n".into(),
        });
        assert!(en.contains(r#"name="login_token" value="t0k3n""#), "{en}");
        assert!(en.contains("The user name or password is wrong"), "{en}");
    }
}
