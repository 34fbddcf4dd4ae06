//! The printed reports drawn: a [`ReportPage`] as a self-contained HTML
//! page (the stylesheet inline, each officer's timeline as SVG, every text
//! escaped by the template) or as plain text for a terminal.

use std::fmt::Write as _;

use askama::Template;
use vigil_service::page::ReportPage;
use vigil_service::reports::{Body, Report};

use crate::REPORT_CSS;

/// The page as HTML.
#[derive(Template)]
#[template(path = "report.html")]
struct Html<'a> {
    page: &'a ReportPage,
    css: &'static str,
}

/// A drawing coordinate as the SVG writes it.
fn at(v: &f64) -> String {
    format!("{v:.1}")
}

/// The report as a self-contained HTML page.
pub fn html(page: &ReportPage) -> String {
    crate::render(&Html {
        page,
        css: REPORT_CSS,
    })
}

/// The report in its format: HTML for `html`, plain text for `text`, and
/// a finished document (CSV, JSON) as it is.
pub fn document(report: Report) -> String {
    match report.body {
        Body::Page(page) if report.format == "html" => html(&page),
        Body::Page(page) => text(&page),
        Body::Document(text) => text,
    }
}

/// The report as plain text in the reader's language (the CLI's default
/// format): its facts, each table aligned by display width (Chinese text is
/// two columns a character), the signature lines and the checkpoint.
pub fn text(page: &ReportPage) -> String {
    let mut out = format!("{}\n", page.title);
    for (k, v) in &page.meta {
        let _ = writeln!(out, "{k}: {v}");
    }
    for section in &page.sections {
        let _ = writeln!(out, "\n{}", section.title);
        if section.rows.is_empty() {
            let _ = writeln!(out, "  {}", page.empty);
            continue;
        }
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_HORIZONTAL_ONLY)
            .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
            .set_header(section.head.iter().map(comfy_table::Cell::new));
        for row in &section.rows {
            t.add_row(row.iter().map(|c| {
                let cell = comfy_table::Cell::new(&c.text);
                if c.class.starts_with('n') || c.class == "bad" {
                    cell.set_alignment(comfy_table::CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        for line in t.lines() {
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    if !page.signatures.is_empty() {
        out.push('\n');
        for s in &page.signatures {
            let _ = writeln!(
                out,
                "{s}: ____________________   {}: ____________",
                page.date_label
            );
        }
    }
    if let Some((what, note)) = &page.checkpoint {
        let _ = write!(out, "\n{}\n{what}\n{note}", page.checkpoint_title);
    }
    if let Some((what, note)) = &page.cosigned {
        let _ = write!(out, "\n{what}\n{note}");
    }
    out
}
