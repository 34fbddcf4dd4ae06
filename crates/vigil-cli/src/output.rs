//! Output helpers shared by subcommands: JSON documents, progress bars and
//! human-readable lines that cannot carry terminal escapes.
//!
//! Dock serials, officer ids, mount names and file paths come from
//! recorders and docks that may be hostile: every human-readable line goes
//! through [`say!`] (or [`printable`]), which shows each control character
//! (ESC, CR, BEL, ... everything but the line break) and each bidirectional
//! override (U+202E and kin) as a visible `\u{..}` escape, so no input can
//! move the cursor, recolour the terminal or reverse the text of a line.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

/// Prints one human-readable line on stdout, escaped by [`printable`]
/// (a closed pipe is not an error worth a panic).
#[macro_export]
macro_rules! say {
    () => {
        $crate::output::say_line("")
    };
    ($($arg:tt)*) => {
        $crate::output::say_line(&format!($($arg)*))
    };
}

/// Writes `line` escaped, and a newline.
pub fn say_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", printable(line));
}

/// Writes `bytes` to stdout; a closed pipe or full disk ends the output
/// without a panic (the exit status still reports the command's outcome).
pub fn write_quietly(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// Progress on a byte bar (when there is one).
pub struct BarSink(pub Option<indicatif::ProgressBar>);

impl vigil_service::jobs::Sink for BarSink {
    fn progress(&mut self, done: u64, total: u64, file: Option<&str>) {
        if let Some(bar) = &self.0 {
            bar.set_length(total);
            bar.set_position(done);
            if let Some(f) = file {
                bar.set_message(f.to_owned());
            }
        }
    }
}

impl Drop for BarSink {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// A command's outcome: the JSON document with `--json`, else the line.
pub fn outcome(json: bool, doc: &serde_json::Value, line: &str) -> anyhow::Result<()> {
    if json {
        print_json(doc)
    } else {
        say_line(line);
        Ok(())
    }
}

/// The reader's language (`LANG`) and the station's zone, for listings.
pub struct Words {
    /// From `LC_ALL`, `LC_MESSAGES` or `LANG`.
    pub lang: vigil_i18n::Lang,
    /// `VIGIL_TIMEZONE`, else the system's.
    pub zone: vigil_i18n::Zone,
}

impl Words {
    /// The environment's.
    pub fn from_env() -> Self {
        Self {
            lang: vigil_i18n::Lang::from_env(),
            zone: crate::zone(),
        }
    }

    /// A message in the reader's language.
    pub fn t(&self, m: vigil_i18n::Msg) -> &'static str {
        m.text(self.lang)
    }

    /// A message with its `{name}`s filled.
    pub fn fmt(&self, m: vigil_i18n::Msg, args: &[(&str, &str)]) -> String {
        m.fmt(self.lang, args)
    }

    /// Column headings: upper case in English, as written in Chinese.
    pub fn heads(&self, msgs: &[vigil_i18n::Msg]) -> Vec<String> {
        msgs.iter().map(|m| self.t(*m).to_uppercase()).collect()
    }

    /// A stored UTC time in the station's zone; `-` for none.
    pub fn local(&self, utc: &serde_json::Value) -> String {
        utc.as_str()
            .map(|t| self.zone.local(t))
            .unwrap_or_else(|| "-".into())
    }

    /// An interruption's kind as stored (`within_clip`, ...) in words; an
    /// unknown name as itself.
    pub fn kind(&self, stored: &serde_json::Value) -> String {
        let Some(name) = stored.as_str() else {
            return "-".into();
        };
        vigil_service::model::GapKind::from_name(name)
            .map(|k| self.t(vigil_service::printed::kind_msg(k)).to_owned())
            .unwrap_or_else(|| name.to_owned())
    }

    /// A stream's name (`video`, `audio`) in words; another as itself.
    pub fn stream(&self, stored: &serde_json::Value) -> String {
        match stored.as_str() {
            Some(name) => vigil_service::printed::stream_msg(name)
                .map(|m| self.t(m).to_owned())
                .unwrap_or_else(|| name.to_owned()),
            None => "-".into(),
        }
    }

    /// A role's name (`officer`, ...) in words; another as itself.
    pub fn role(&self, stored: &serde_json::Value) -> String {
        let name = stored.as_str().unwrap_or("-");
        vigil_service::identity::Role::parse(name)
            .map(|r| self.t(r.label()).to_owned())
            .unwrap_or_else(|| name.to_owned())
    }

    /// The line under a listing that names the zone its times are in.
    pub fn zone_line(&self) -> String {
        self.fmt(
            vigil_i18n::Msg::TimesIn,
            &[("zone", &self.zone.said(self.lang))],
        )
    }
}

/// Columns aligned by display width (a Chinese name is two columns per
/// character), no borders, two spaces between columns; every cell escaped
/// by [`printable`] before it is measured.
pub struct Table(comfy_table::Table);

impl Table {
    /// A table with these column headings.
    pub fn new<S: AsRef<str>>(headers: &[S]) -> Self {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::NOTHING)
            .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
            .set_header(headers.iter().map(|h| comfy_table::Cell::new(h.as_ref())));
        for c in t.column_iter_mut() {
            c.set_padding((0, 2));
        }
        Self(t)
    }

    /// Right-aligns the columns numbered in `cols` (from 0): numbers.
    pub fn right(mut self, cols: &[usize]) -> Self {
        for &i in cols {
            if let Some(c) = self.0.column_mut(i) {
                c.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
        self
    }

    /// Adds a row.
    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        self.0
            .add_row(cells.into_iter().map(|c| printable(&c).into_owned()));
    }

    /// Prints the table (nothing but its header when it has no rows).
    pub fn print(self) {
        let mut text = String::new();
        for line in self.0.lines() {
            text.push_str(line.trim_end());
            text.push('\n');
        }
        write_quietly(text.as_bytes());
    }
}

/// Whether `c` must not reach a terminal as itself.
fn dangerous(c: char) -> bool {
    (c.is_control() && c != '\n') || vigil_i18n::visible::is_bidi_control(c)
}

/// `s` with every control character but the line break, and every
/// bidirectional control, shown as `\u{XX}`.
pub fn printable(s: &str) -> Cow<'_, str> {
    vigil_i18n::visible::escape_chars(s, dangerous)
}

use indicatif::{ProgressBar, ProgressStyle};

/// Prints one JSON document on stdout.
/// (A reader that went away, `vigil clips --json | head`, ends the output
/// quietly.)
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec_pretty(value)?;
    text.push(b'\n');
    write_quietly(&text);
    Ok(())
}

/// A byte progress bar when stdout is a terminal and JSON was not asked for.
pub fn byte_bar(json: bool) -> Option<ProgressBar> {
    if json || !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bytes_per_sec} [{bar:30}] {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(bar)
}

/// Human-readable byte count.
pub fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escapes_controls_and_bidi_but_not_text() {
        assert_eq!(printable("REC_0001.MP4 执法"), "REC_0001.MP4 执法");
        assert_eq!(printable("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\u{202e}gpm.exe"), "x\\u{202e}gpm.exe");
        assert_eq!(printable("one\ntwo\r"), "one\ntwo\\u{d}");
    }
}
