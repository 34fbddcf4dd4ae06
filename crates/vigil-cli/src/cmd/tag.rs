//! `vigil tag` and `vigil overdue`: naming and classifying clips (R6, R11),
//! and what is past its deadline: clips still untagged two working days after
//! ingest (R11) and interruptions still unexplained (R9).

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{bail, Context};
use time::{Date, OffsetDateTime, Weekday};
use vigil_store::tags::Tag;
use vigil_store::{ClipFilter, GapFilter};

use crate::identity::{ANYONE, EXPLAIN};
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
    let t = Tag {
        site: args.site,
        case: args.case_no,
        category: args.category,
        note: args.note,
    };
    if t == Tag::default() {
        bail!("nothing to tag with: give --site, --case, --category or --note");
    }
    let (mut store, id) = ctx.open(EXPLAIN, "tagging clips")?;
    let mut clips: BTreeSet<String> = BTreeSet::new();
    for c in &args.clips {
        store
            .clip(c)?
            .with_context(|| format!("no clip {c:?} (see `vigil clips`)"))?;
        clips.insert(c.clone());
    }
    if let Some(officer) = &args.officer {
        if !store.officer_exists(officer)? {
            anyhow::bail!(
                "refused: officer {officer:?} is not registered (see `vigil officers list`)"
            );
        }
        let (from, to) = (
            args.from.as_deref().map(super::parse_time).transpose()?,
            args.to.as_deref().map(super::parse_time).transpose()?,
        );
        super::check_period(("--from", from), ("--to", to))?;
        let (from, to) = (from.map(vigil_store::rfc3339), to.map(vigil_store::rfc3339));
        for c in store.clips(&ClipFilter {
            officer: Some(officer.clone()),
            ..Default::default()
        })? {
            let Some(start) = c.recorded_start.as_deref() else {
                continue;
            };
            if from.as_deref().is_some_and(|f| start < f)
                || to.as_deref().is_some_and(|t| start >= t)
            {
                continue;
            }
            clips.insert(c.clip);
        }
    }
    if clips.is_empty() {
        bail!("no clips to tag: name clips, or --officer with a time range that holds some");
    }
    let clips: Vec<String> = clips.into_iter().collect();
    let n = store.tag(&id.actor(), &clips, &t)?;
    crate::say!("{n} clip(s) tagged");
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
    #[arg(long, default_value_t = 2, value_name = "DAYS")]
    tag_within: u32,
    /// Hours within which an interruption must be explained (R9).
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    explain_within: i64,
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

/// The end of the `n`-th working day after `day` (UTC).
pub fn working_deadline(day: Date, n: u32, holidays: &BTreeSet<Date>) -> OffsetDateTime {
    let mut d = day;
    let mut left = n;
    while left > 0 {
        d = d.next_day().unwrap_or(d);
        let weekend = matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday);
        if !weekend && !holidays.contains(&d) {
            left -= 1;
        }
    }
    d.next_day().unwrap_or(d).midnight().assume_utc()
}

/// Runs `vigil overdue`.
pub fn overdue(ctx: &super::Ctx, args: OverdueArgs) -> anyhow::Result<ExitCode> {
    let holidays = holidays(args.holidays.as_deref())?;
    let (store, _) = ctx.open(ANYONE, "listing overdue work")?;
    let now = OffsetDateTime::now_utc();
    let untagged: Vec<_> = store
        .untagged_before(&vigil_store::rfc3339(now))?
        .into_iter()
        .filter(|c| {
            OffsetDateTime::parse(
                &c.ingested_at,
                &time::format_description::well_known::Rfc3339,
            )
            .is_ok_and(|t| working_deadline(t.date(), args.tag_within, &holidays) < now)
        })
        .collect();
    let gaps: Vec<_> = store
        .gaps(&GapFilter {
            open_only: true,
            overdue_after_s: args.explain_within * 3600,
            ..Default::default()
        })?
        .into_iter()
        .filter(|g| g.overdue)
        .collect();
    let cutoff = vigil_store::rfc3339(now - time::Duration::days(30));
    let unfiled: Vec<serde_json::Value> = store
        .unfiled_cases(&cutoff)?
        .into_iter()
        .map(|(case, closed)| serde_json::json!({"case": case, "closed_at": closed}))
        .collect();
    if args.json {
        output::print_json(
            &serde_json::json!({ "untagged": untagged, "unexplained": gaps, "unfiled_cases": unfiled }),
        )?;
    } else {
        crate::say!(
            "Clips untagged {} working days after ingest (R11): {}",
            args.tag_within,
            untagged.len()
        );
        for c in &untagged {
            crate::say!(
                "  {}  {:<10} {:<8} ingested {}  {}",
                c.clip,
                c.device.as_deref().unwrap_or("-"),
                c.officer.as_deref().unwrap_or("-"),
                c.ingested_at,
                c.path
            );
        }
        crate::say!(
            "Interruptions unexplained after {} h (R9): {}",
            args.explain_within,
            gaps.len()
        );
        for g in &gaps {
            crate::say!(
                "  {}  {:<13} {}  {}",
                g.id,
                g.kind.as_str(),
                g.officer.as_deref().unwrap_or("-"),
                g.path
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn deadlines_skip_weekends_and_holidays() {
        let none = BTreeSet::new();
        // Thursday + 2 working days = end of Monday.
        assert_eq!(
            working_deadline(date!(2026 - 11 - 19), 2, &none).date(),
            date!(2026 - 11 - 24)
        );
        // Monday + 2 = end of Wednesday.
        assert_eq!(
            working_deadline(date!(2026 - 11 - 23), 2, &none).date(),
            date!(2026 - 11 - 26)
        );
        // With Tuesday a holiday: end of Thursday.
        let h = BTreeSet::from([date!(2026 - 11 - 24)]);
        assert_eq!(
            working_deadline(date!(2026 - 11 - 23), 2, &h).date(),
            date!(2026 - 11 - 27)
        );
    }
}
