//! Retention and holds (R12, R13): `vigil retain`, `vigil hold`,
//! `vigil release`, `vigil case`, `vigil purge`. Removal is a dry run by
//! default; it takes a proposal (`--confirm`), a second custodian's approval
//! (`--approve`), and a recovery window before `--run` deletes anything, and
//! a held or unexpired clip, or one in an open case, is never removed.

use std::process::ExitCode;
use vigil_service::op::{self};
use vigil_service::ops;

use vigil_service::custody::{CaseEvent, Hold, Purge, PurgePolicy, PurgeStep, Retain};

use crate::output;

/// Arguments of `vigil retain`.
#[derive(Debug, clap::Args)]
pub struct RetainArgs {
    /// Clips.
    #[arg(required = true)]
    clips: Vec<String>,
    /// ordinary, evidence or long_term.
    #[arg(long)]
    class: String,
    /// Print the outcome as one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil retain`.
pub fn retain(ctx: &super::Ctx, args: RetainArgs) -> anyhow::Result<ExitCode> {
    let r = Retain {
        clips: args.clips,
        class: args.class,
    };
    let doc = ctx.run::<ops::Retain>((), r.clone())?;
    output::outcome(
        args.json,
        &doc,
        &format!("{} clip(s) retained as {}", r.clips.len(), r.class),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil hold`.
#[derive(Debug, clap::Args)]
pub struct HoldArgs {
    /// Clips.
    #[arg(required = true)]
    clips: Vec<String>,
    /// dispute, complaint, obstruction, mass_incident or compulsory_measure.
    #[arg(long)]
    reason: String,
    /// Free text.
    #[arg(long)]
    note: Option<String>,
    /// Print the outcome as one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil hold`.
pub fn hold(ctx: &super::Ctx, args: HoldArgs) -> anyhow::Result<ExitCode> {
    let h = Hold {
        clips: args.clips,
        reason: args.reason,
        note: args.note,
    };
    let doc = ctx.run::<ops::Hold>((), h)?;
    let shown: Vec<String> = doc["holds"]
        .as_array()
        .map(|a| a.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    output::outcome(
        args.json,
        &doc,
        &format!("hold(s) {} placed", shown.join(", ")),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil release`.
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// The hold id.
    hold: i64,
    /// Print the outcome as one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil release`.
pub fn release(ctx: &super::Ctx, args: ReleaseArgs) -> anyhow::Result<ExitCode> {
    let hold = args.hold;
    let doc = ctx.run::<ops::Release>(hold, op::Empty {})?;
    output::outcome(args.json, &doc, &format!("hold {hold} released"))?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil case`.
#[derive(Debug, clap::Args)]
pub struct CaseArgs {
    #[command(subcommand)]
    command: CaseCmd,
    /// Print the outcome as one JSON document.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum CaseCmd {
    /// The case is closed (its evidence clips start their retention).
    Close {
        /// Case number.
        case: String,
        /// When [default: now].
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
    },
    /// The case's records are filed into the case file (R12).
    File {
        /// Case number.
        case: String,
        /// When [default: now].
        #[arg(long, value_name = "DATE")]
        at: Option<String>,
    },
}

/// Runs `vigil case`.
pub fn case(ctx: &super::Ctx, args: CaseArgs) -> anyhow::Result<ExitCode> {
    let at = |at: Option<String>| -> anyhow::Result<Option<String>> {
        Ok(Some(
            at.as_deref()
                .map(super::when)
                .transpose()?
                .unwrap_or_else(vigil_service::model::now_rfc3339),
        ))
    };
    let (case, e) = match args.command {
        CaseCmd::Close { case, at: when } => (
            case.clone(),
            CaseEvent {
                case,
                closed_at: at(when)?,
                filed_at: None,
            },
        ),
        CaseCmd::File { case, at: when } => (
            case.clone(),
            CaseEvent {
                case,
                closed_at: None,
                filed_at: at(when)?,
            },
        ),
    };
    let doc = ctx.run::<ops::Case>((), e)?;
    output::outcome(args.json, &doc, &format!("case {case} recorded"))?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil purge`.
#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// Propose every due clip for removal.
    #[arg(long, conflicts_with_all = ["approve", "run", "cancel"])]
    confirm: bool,
    /// Approve pending proposals (a second custodian, not the proposer).
    #[arg(long, conflicts_with_all = ["run", "cancel"])]
    approve: bool,
    /// Delete approved clips whose recovery window has passed.
    #[arg(long, conflicts_with = "cancel")]
    run: bool,
    /// Take a clip off the queue.
    #[arg(long, value_name = "CLIP")]
    cancel: Option<String>,
    /// Ordinary retention, days after recording.
    #[arg(long, default_value_t = PurgePolicy::default().ordinary_days)]
    ordinary_days: i64,
    /// Evidence retention, days after its case closed.
    #[arg(long, default_value_t = PurgePolicy::default().case_file_days)]
    case_file_days: i64,
    /// Recovery window between approval and deletion, days.
    #[arg(long, default_value_t = PurgePolicy::default().window_days)]
    window_days: i64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil purge`.
pub fn purge(ctx: &super::Ctx, args: PurgeArgs) -> anyhow::Result<ExitCode> {
    let policy = PurgePolicy {
        ordinary_days: args.ordinary_days,
        case_file_days: args.case_file_days,
        window_days: args.window_days,
    };
    let step = match (args.confirm, args.approve, args.run, args.cancel) {
        (_, _, _, Some(clip)) => Some(PurgeStep::Cancel(clip)),
        (true, ..) => Some(PurgeStep::Confirm),
        (_, true, ..) => Some(PurgeStep::Approve),
        (_, _, true, _) => Some(PurgeStep::Run),
        _ => None,
    };
    let Some(step) = step else {
        let doc = ctx.run::<ops::PurgePlan>((), policy)?;
        if args.json {
            output::print_json(&doc)?;
            return Ok(ExitCode::SUCCESS);
        }
        let list = |k: &str| doc[k].as_array().cloned().unwrap_or_default();
        use vigil_i18n::Msg;
        let w = output::Words::from_env();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
        let (due, queue) = (list("due"), list("queue"));
        crate::say!(
            "{}",
            w.fmt(Msg::PurgeDryRun, &[("n", &due.len().to_string())])
        );
        if !due.is_empty() {
            let mut t = output::Table::new(&w.heads(&[
                Msg::Recording,
                Msg::ColClass,
                Msg::ColDue,
                Msg::File,
            ]));
            for d in &due {
                t.row([
                    text(&d["clip"]),
                    text(&d["class"]),
                    w.local(&d["due_at"]),
                    text(&d["path"]),
                ]);
            }
            t.print();
        }
        crate::say!(
            "{}",
            w.fmt(Msg::PurgeQueue, &[("n", &queue.len().to_string())])
        );
        if !queue.is_empty() {
            let mut t = output::Table::new(&w.heads(&[
                Msg::Recording,
                Msg::ColProposedBy,
                Msg::ColApprovedBy,
                Msg::ColDeletedAfter,
            ]));
            for q in &queue {
                t.row([
                    text(&q["clip"]),
                    text(&q["proposed_by"]),
                    text(&q["approved_by"]),
                    w.local(&q["delete_after"]),
                ]);
            }
            t.print();
        }
        if !due.is_empty() || !queue.is_empty() {
            crate::say!("{}", w.zone_line());
        }
        return Ok(ExitCode::SUCCESS);
    };
    let p = Purge { step, policy };
    let doc = ctx.run::<ops::Purge>((), p.clone())?;
    let line = match &p.step {
        PurgeStep::Cancel(clip) => format!("clip {clip} taken off the purge queue"),
        PurgeStep::Approve => format!(
            "{} removal(s) approved; objects are deleted after {} day(s) by `vigil purge --run`",
            doc["approved"], policy.window_days
        ),
        PurgeStep::Run => format!(
            "{} clip(s) removed",
            doc["purged"].as_array().map_or(0, Vec::len)
        ),
        PurgeStep::Confirm => format!(
            "{} clip(s) proposed for removal; a second custodian must run `vigil purge --approve`",
            doc["proposed"]
        ),
    };
    output::outcome(args.json, &doc, &line)?;
    Ok(ExitCode::SUCCESS)
}
