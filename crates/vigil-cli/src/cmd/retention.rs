//! Retention and holds (R12, R13): `vigil retain`, `vigil hold`,
//! `vigil release`, `vigil case`, `vigil purge`. Removal is a dry run by
//! default; it takes a proposal (`--confirm`), a second custodian's approval
//! (`--approve`), and a recovery window before `--run` deletes anything, and
//! a held or unexpired clip, or one in an open case, is never removed.

use std::process::ExitCode;

use anyhow::{bail, Context};
use vigil_store::retention::Policy;

use crate::identity::{ANYONE, CUSTODY};
use crate::output;

const CLASSES: &[&str] = &["ordinary", "evidence", "long_term"];
const REASONS: &[&str] = &[
    "dispute",
    "complaint",
    "obstruction",
    "mass_incident",
    "compulsory_measure",
];

fn check_clips(store: &vigil_store::Store, clips: &[String]) -> anyhow::Result<()> {
    for c in clips {
        store
            .clip(c)?
            .with_context(|| format!("no clip {c:?} (see `vigil clips`)"))?;
    }
    Ok(())
}

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
    if !CLASSES.contains(&args.class.as_str()) {
        bail!("--class {:?}: one of {}", args.class, CLASSES.join(", "));
    }
    let (mut store, id) = ctx.open(CUSTODY, "setting retention")?;
    check_clips(&store, &args.clips)?;
    store.set_class(&id.actor(), &args.clips, &args.class)?;
    output::outcome(
        args.json,
        &serde_json::json!({"clips": args.clips, "class": args.class}),
        &format!("{} clip(s) retained as {}", args.clips.len(), args.class),
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
    if !REASONS.contains(&args.reason.as_str()) {
        bail!("--reason {:?}: one of {}", args.reason, REASONS.join(", "));
    }
    let (mut store, id) = ctx.open(CUSTODY, "placing holds")?;
    check_clips(&store, &args.clips)?;
    let ids = store.hold(&id.actor(), &args.clips, &args.reason, args.note.as_deref())?;
    let shown: Vec<String> = ids.iter().map(i64::to_string).collect();
    output::outcome(
        args.json,
        &serde_json::json!({"holds": ids, "clips": args.clips, "reason": args.reason}),
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
    let (mut store, id) = ctx.open(CUSTODY, "releasing holds")?;
    store
        .release(&id.actor(), args.hold)
        .with_context(|| format!("releasing hold {}", args.hold))?;
    output::outcome(
        args.json,
        &serde_json::json!({"hold": args.hold, "released": true}),
        &format!("hold {} released", args.hold),
    )?;
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
    let (mut store, id) = ctx.open(CUSTODY, "recording case events")?;
    let (case, closed, filed) = match args.command {
        CaseCmd::Close { case, at } => {
            let at = at
                .as_deref()
                .map(super::when)
                .transpose()?
                .unwrap_or_else(vigil_store::now_rfc3339);
            (case, Some(at), None)
        }
        CaseCmd::File { case, at } => {
            let at = at
                .as_deref()
                .map(super::when)
                .transpose()?
                .unwrap_or_else(vigil_store::now_rfc3339);
            (case, None, Some(at))
        }
    };
    store.case_event(&id.actor(), &case, closed.as_deref(), filed.as_deref())?;
    output::outcome(
        args.json,
        &serde_json::json!({"case": case, "closed_at": closed, "filed_at": filed}),
        &format!("case {case} recorded"),
    )?;
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
    #[arg(long, default_value_t = Policy::default().ordinary_days)]
    ordinary_days: i64,
    /// Evidence retention, days after its case closed.
    #[arg(long, default_value_t = Policy::default().case_file_days)]
    case_file_days: i64,
    /// Recovery window between approval and deletion, days.
    #[arg(long, default_value_t = Policy::default().window_days)]
    window_days: i64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil purge`.
pub fn purge(ctx: &super::Ctx, args: PurgeArgs) -> anyhow::Result<ExitCode> {
    let policy = Policy {
        ordinary_days: args.ordinary_days,
        case_file_days: args.case_file_days,
        window_days: args.window_days,
    };
    let now = time::OffsetDateTime::now_utc();
    let allowed = if args.confirm || args.approve || args.run || args.cancel.is_some() {
        CUSTODY
    } else {
        ANYONE
    };
    let (mut store, id) = ctx.open(allowed, "removing expired clips")?;
    if let Some(clip) = &args.cancel {
        store.cancel_purge(&id.actor(), clip)?;
        crate::say!("clip {clip} taken off the purge queue");
        return Ok(ExitCode::SUCCESS);
    }
    if args.approve {
        let n = store
            .approve_purge(&id.actor(), &id.user, policy.window_days)
            .context("approving removals")?;
        crate::say!(
            "{n} removal(s) approved; objects are deleted after {} day(s) by `vigil purge --run`",
            policy.window_days
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.run {
        let gone = store.run_purge(&id.actor(), now, &policy)?;
        if args.json {
            output::print_json(&serde_json::json!({ "purged": gone }))?;
        } else {
            crate::say!("{} clip(s) removed", gone.len());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let due = store.due(now, &policy)?;
    if args.confirm {
        let clips: Vec<String> = due.iter().map(|d| d.clip.clone()).collect();
        let n = store.propose_purge(&id.actor(), &clips)?;
        crate::say!(
            "{n} clip(s) proposed for removal; a second custodian must run `vigil purge --approve`"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let queue = store.purge_queue()?;
    if args.json {
        output::print_json(&serde_json::json!({ "due": due, "queue": queue }))?;
    } else {
        crate::say!("Dry run: {} clip(s) due for removal (nothing is removed without --confirm, --approve and --run)", due.len());
        for d in &due {
            crate::say!("  {}  {:<10} due {}  {}", d.clip, d.class, d.due_at, d.path);
        }
        crate::say!("Queue: {}", queue.len());
        for q in &queue {
            crate::say!(
                "  {}  proposed by {}  approved by {}  deleted after {}",
                q.clip,
                q.proposed_by,
                q.approved_by.as_deref().unwrap_or("-"),
                q.delete_after.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
