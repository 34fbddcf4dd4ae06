//! `vigil tag` and `vigil overdue`: naming and classifying clips (R6, R11),
//! and what is past its deadline: clips still untagged two working days after
//! ingest (R11) and interruptions still unexplained (R9).

use std::collections::BTreeSet;
use std::process::ExitCode;
use vigil_service::ops;

use anyhow::Context;
use time::Date;
use vigil_service::tagging::{OverdueQuery, TagRequest};

use crate::output;

/// Arguments of `vigil tag`.
#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// Clips to tag (or select them with --officer and --from/--to).
    clips: Vec<String>,
    /// Bulk: every clip of this officer...
    #[arg(long, value_name = "ID")]
    officer: Option<String>,
    /// ...recorded at or after this time (YYYY-MM-DD or RFC 3339)...
    #[arg(long, value_name = "DATE", requires = "officer")]
    from: Option<String>,
    /// ...and before this time.
    #[arg(long, value_name = "DATE", requires = "officer")]
    to: Option<String>,
    /// The inspected unit or place.
    #[arg(long)]
    site: Option<String>,
    /// Case number.
    #[arg(long = "case")]
    case_no: Option<String>,
    /// Category.
    #[arg(long)]
    category: Option<String>,
    /// Description of the content.
    #[arg(long)]
    note: Option<String>,
}

/// Runs `vigil tag`.
pub fn tag(ctx: &super::Ctx, args: TagArgs) -> anyhow::Result<ExitCode> {
    let (from, to) = (
        args.from.as_deref().map(super::parse_time).transpose()?,
        args.to.as_deref().map(super::parse_time).transpose()?,
    );
    super::check_period(("--from", from), ("--to", to))?;
    let r = TagRequest {
        clips: args.clips,
        officer: args.officer,
        from: from.map(vigil_service::model::rfc3339),
        to: to.map(vigil_service::model::rfc3339),
        site: args.site,
        case: args.case_no,
        category: args.category,
        note: args.note,
    };
    let doc = ctx.run::<ops::Tag>((), r)?;
    crate::say!("{} clip(s) tagged", doc["tagged"]);
    for s in doc["skipped"].as_array().into_iter().flatten() {
        crate::say!(
            "skipped {} ({}, ingested {}): {}",
            s["path"].as_str().unwrap_or_default(),
            s["clip"].as_str().unwrap_or_default(),
            s["ingested_at"].as_str().unwrap_or_default(),
            s["reason"].as_str().unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil overdue`.
#[derive(Debug, clap::Args)]
pub struct OverdueArgs {
    /// Public holidays, one YYYY-MM-DD per line (# comments); weekends are
    /// never working days.
    #[arg(long, value_name = "FILE")]
    holidays: Option<std::path::PathBuf>,
    /// Working days after ingest within which a clip must be tagged (R11).
    #[arg(long, default_value_t = vigil_service::tagging::DEFAULT_TAG_WITHIN, value_name = "DAYS")]
    tag_within: u32,
    /// Hours within which an interruption must be explained (R9).
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    explain_within: i64,
    /// Only this station's (at the agency centre, which lists every
    /// station's; a station's work is only its own).
    #[arg(long, value_name = "NAME")]
    station: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

/// Largest holidays file read (a year of dates is under 4 KiB).
const MAX_HOLIDAYS_BYTES: u64 = 1 << 20;

/// Reads a small text file given on the command line: a regular file (not
/// a device, FIFO or `/dev/urandom`) of at most [`MAX_HOLIDAYS_BYTES`].
fn read_small_file(path: &std::path::Path, what: &str) -> anyhow::Result<String> {
    use std::io::Read;
    let f =
        std::fs::File::open(path).with_context(|| format!("reading {what} {}", path.display()))?;
    let meta = f
        .metadata()
        .with_context(|| format!("reading {what} {}", path.display()))?;
    anyhow::ensure!(
        meta.is_file(),
        "{what} {}: not a regular file",
        path.display()
    );
    anyhow::ensure!(
        meta.len() <= MAX_HOLIDAYS_BYTES,
        "{what} {}: {} bytes, more than the {MAX_HOLIDAYS_BYTES} a {what} file may have",
        path.display(),
        meta.len()
    );
    let mut text = String::new();
    f.take(MAX_HOLIDAYS_BYTES)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {what} {} (UTF-8 text expected)", path.display()))?;
    Ok(text)
}

fn holidays(path: Option<&std::path::Path>) -> anyhow::Result<BTreeSet<Date>> {
    let Some(path) = path else {
        return Ok(BTreeSet::new());
    };
    let text = read_small_file(path, "holidays")?;
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let d = Date::parse(line, &time::format_description::well_known::Iso8601::DATE)
            .with_context(|| {
                format!(
                    "{}:{}: {line:?} is not a YYYY-MM-DD date",
                    path.display(),
                    i + 1
                )
            })?;
        out.insert(d);
    }
    Ok(out)
}

/// Runs `vigil overdue`.
pub fn overdue(ctx: &super::Ctx, args: OverdueArgs) -> anyhow::Result<ExitCode> {
    let holidays: Vec<String> = holidays(args.holidays.as_deref())?
        .into_iter()
        .map(|d| d.to_string())
        .collect();
    let q = OverdueQuery {
        tag_within: args.tag_within,
        explain_within: args.explain_within,
        holidays: holidays.join(","),
        station: args.station.clone(),
    };
    let doc = ctx.run::<ops::Overdue>((), q)?;
    if args.json {
        output::print_json(&doc)?;
    } else {
        let list = |k: &str| doc[k].as_array().cloned().unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
        use vigil_i18n::Msg;
        let w = output::Words::from_env();
        let untagged = list("untagged");
        crate::say!(
            "{}",
            w.fmt(
                Msg::OverdueUntagged,
                &[
                    ("days", &args.tag_within.to_string()),
                    ("n", &untagged.len().to_string())
                ]
            )
        );
        // At the agency centre each row names its station.
        let stations = untagged
            .iter()
            .chain(list("unexplained").iter())
            .chain(list("unfiled_cases").iter())
            .any(|r| r["station"].is_string());
        let with_station = |mut heads: Vec<Msg>| {
            if stations {
                heads.insert(0, Msg::Station);
            }
            w.heads(&heads)
        };
        let station_of = |r: &serde_json::Value| stations.then(|| text(&r["station"]));
        let more = |k: &str, n: usize| {
            if doc["more"][k] == true {
                crate::say!("{}", w.fmt(Msg::MoreThanShown, &[("n", &n.to_string())]));
            }
        };
        if !untagged.is_empty() {
            let mut t = output::Table::new(&with_station(vec![
                Msg::Recording,
                Msg::Recorder,
                Msg::Officer,
                Msg::Ingested,
                Msg::File,
            ]));
            for c in &untagged {
                t.row(station_of(c).into_iter().chain([
                    text(&c["clip"]),
                    text(&c["device"]),
                    text(&c["officer"]),
                    w.local(&c["ingested_at"]),
                    text(&c["path"]),
                ]));
            }
            t.print();
            crate::say!("{}", w.zone_line());
            more("untagged", untagged.len());
        }
        let gaps = list("unexplained");
        crate::say!(
            "{}",
            w.fmt(
                Msg::OverdueUnexplained,
                &[
                    ("hours", &args.explain_within.to_string()),
                    ("n", &gaps.len().to_string())
                ]
            )
        );
        if !gaps.is_empty() {
            let mut t = output::Table::new(&with_station(vec![
                Msg::ColId,
                Msg::ColKind,
                Msg::Officer,
                Msg::File,
            ]));
            for g in &gaps {
                t.row(station_of(g).into_iter().chain([
                    text(&g["id"]),
                    w.kind(&g["kind"]),
                    text(&g["officer"]),
                    text(&g["path"]),
                ]));
            }
            t.print();
            more("unexplained", gaps.len());
        }
        let unfiled = list("unfiled_cases");
        crate::say!(
            "{}",
            w.fmt(Msg::OverdueUnfiled, &[("n", &unfiled.len().to_string())])
        );
        if !unfiled.is_empty() {
            let mut t = output::Table::new(&with_station(vec![Msg::Case, Msg::CaseClosed]));
            for c in &unfiled {
                t.row(
                    station_of(c)
                        .into_iter()
                        .chain([text(&c["case"]), text(&c["closed_at"])]),
                );
            }
            t.print();
            more("unfiled_cases", unfiled.len());
        }
        // What the answering service does not hold, said rather than
        // shown as nothing.
        for n in doc["not_held"].as_array().into_iter().flatten() {
            crate::say!("{}", w.fmt(Msg::NotHeldHere, &[("what", &text(n))]));
        }
    }
    Ok(ExitCode::SUCCESS)
}
