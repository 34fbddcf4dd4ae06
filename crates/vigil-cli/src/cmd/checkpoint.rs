//! `vigil checkpoint`: the audit log's newest signed checkpoint, text to
//! keep (R10, R20); `vigil checkpoint verify OLD [NEW]`: does today's log
//! extend the one a kept checkpoint signed? Online (vigild proves it) or
//! offline with a proof file from `vigil audit prove`.

use std::path::PathBuf;
use std::process::ExitCode;
use vigil_service::op::{self};
use vigil_service::ops;

use anyhow::{bail, Context};
use vigil_service::checkpoints::ConsistencyQuery;
use vigil_tlog::note::{Checkpoint, Verifier};

use crate::{output, proof};

/// Arguments of `vigil checkpoint`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    cmd: Option<Sub>,
    /// Print the station's public key (its verifier key string) instead.
    #[arg(long)]
    key: bool,
    /// Print the newest checkpoint the agency centre's witness cosigned
    /// (the station's signature and the witness's), text to keep.
    #[arg(long, conflicts_with = "key")]
    cosigned: bool,
    /// Print one JSON document (checkpoint, origin, size, root, signed_at, key).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Check that the log extends the checkpoints in OLD (exit 0 only then).
    Verify(VerifyArgs),
    /// Ask the station whether today's log still holds the checkpoints in
    /// FILE, as the desk's check does (exit 0 only then). The station
    /// checks itself: `verify --proof --key` is the check that does not
    /// rest on it.
    Check(CheckArgs),
}

/// Arguments of `vigil checkpoint check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// A file of one or more checkpoints you kept.
    file: PathBuf,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

fn check(ctx: &super::Ctx, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read the checkpoint file {}", args.file.display()))?;
    let doc =
        ctx.run::<ops::CheckpointCheck>((), vigil_service::checkpoints::Kept { checkpoint: text })?;
    if args.json {
        output::print_json(&doc)?;
    } else {
        for c in doc["checkpoints"].as_array().into_iter().flatten() {
            if c["holds"] == true {
                crate::say!("holds    size {}", c["size"]);
            } else {
                crate::say!(
                    "BAD      size {}: {}",
                    c["size"],
                    c["problem"].as_str().unwrap_or_default()
                );
            }
        }
    }
    Ok(if doc["ok"] == true {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Arguments of `vigil checkpoint verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A file of one or more checkpoints you kept (`vigil checkpoint > FILE`,
    /// `>> FILE` to keep many).
    old: PathBuf,
    /// A newer checkpoint file [default: the station's newest, or the one in
    /// --proof].
    new: Option<PathBuf>,
    /// The station's key you trust: the verifier key string, or a file
    /// holding it [default online: the key the station presents].
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Check offline: the proof file from `vigil audit prove --from OLD`
    /// (needs --key; no store or daemon is asked).
    #[arg(long, value_name = "FILE")]
    proof: Option<PathBuf>,
    /// The agency centre's witness key you trust (or a file holding it):
    /// every checkpoint in OLD must also carry its cosignature
    /// (`vigil checkpoint --cosigned` keeps such checkpoints).
    #[arg(long, value_name = "VKEY")]
    witness: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil checkpoint`.
pub fn run(ctx: &super::Ctx, args: Args) -> anyhow::Result<ExitCode> {
    match args.cmd {
        Some(Sub::Verify(v)) => return verify(ctx, v),
        Some(Sub::Check(c)) => return check(ctx, c),
        None => {}
    }
    let doc = latest(ctx)?;
    if args.json {
        output::print_json(&doc)?;
    } else if args.key {
        println!("{}", doc["key"].as_str().unwrap_or_default());
    } else if args.cosigned {
        match doc["cosigned"]["checkpoint"].as_str() {
            Some(note) => print!("{note}"),
            None => bail!(
                "the centre's witness has cosigned no checkpoint of this station yet (`vigil centre` shows the link)"
            ),
        }
    } else {
        print!("{}", doc["checkpoint"].as_str().unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

fn latest(ctx: &super::Ctx) -> anyhow::Result<serde_json::Value> {
    ctx.run::<ops::Checkpoint>((), op::Empty {})
}

/// One held checkpoint's outcome.
#[derive(Debug, serde::Serialize)]
struct Held {
    size: u64,
    holds: bool,
    divergence: Option<proof::Divergence>,
    /// With `--witness`: when the witness cosigned it (seconds since the
    /// epoch); null when it did not.
    cosigned: Option<u64>,
}

fn verify(ctx: &super::Ctx, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let offline = args.proof.is_some();
    let (key, presented) = match (&args.key, offline) {
        (Some(k), _) => (proof::key(k)?, false),
        (None, true) => bail!(
            "checking offline needs the station's key you keep: --key KEY (the verifier key string from docs/operations.md, or a file holding it)"
        ),
        (None, false) => {
            let doc = latest(ctx)?;
            let k = doc["key"].as_str().unwrap_or_default().to_owned();
            (Verifier::from_key_string(&k).context("the station's key")?, true)
        }
    };
    let witness = args.witness.as_deref().map(proof::witness).transpose()?;
    let mut held = proof::read_checkpoints(&args.old, &key)?;
    held.sort_by_key(|(cp, _)| cp.size);
    let proof_file: Option<serde_json::Value> = match &args.proof {
        Some(p) => Some(
            serde_json::from_str(
                &std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read the proof file {}", p.display()))?,
            )
            .with_context(|| {
                format!(
                    "{} is not a proof file (JSON from `vigil audit prove`)",
                    p.display()
                )
            })?,
        ),
        None => None,
    };
    let new: Checkpoint = match (&args.new, &proof_file) {
        (Some(p), _) => {
            let mut n = proof::read_checkpoints(p, &key)?;
            n.sort_by_key(|(cp, _)| cp.size);
            n.pop().map(|(cp, _)| cp).context("no newer checkpoint")?
        }
        (None, Some(pf)) => {
            let note = pf["checkpoint"].as_str().context(
                "the proof file carries no checkpoint: name the newer checkpoint file (NEW)",
            )?;
            Checkpoint::open(note, &key).context(
                "the proof file's checkpoint: its signature does not verify with the key",
            )?
        }
        (None, None) => {
            let doc = latest(ctx)?;
            Checkpoint::open(doc["checkpoint"].as_str().unwrap_or_default(), &key)
                .context("the station's newest checkpoint does not verify with the key")?
        }
    };
    let mut results = Vec::new();
    for (cp, note) in &held {
        let mut outcome = match &proof_file {
            Some(pf) => offline_check(cp, &new, pf),
            None => online_check(ctx, cp, &new),
        };
        let cosigned = witness.as_ref().and_then(|w| w.verify(note).ok());
        if let (Some(w), None, Ok(())) = (&witness, cosigned, &outcome) {
            outcome = Err(proof::Divergence {
                size: cp.size,
                exact: false,
                problem: format!(
                    "not cosigned by the witness {} (keep checkpoints with `vigil checkpoint --cosigned`)",
                    w.name()
                ),
            });
        }
        results.push(Held {
            size: cp.size,
            holds: outcome.is_ok(),
            divergence: outcome.err(),
            cosigned,
        });
    }
    let agrees = results.iter().filter(|r| r.holds).map(|r| r.size).max();
    let first_bad = results.iter().find(|r| !r.holds);
    let ok = first_bad.is_none();
    let diverges = first_bad.and_then(|r| r.divergence.clone());
    if args.json {
        output::print_json(&serde_json::json!({
            "ok": ok, "key": key.to_key_string(), "key_presented_by_station": presented,
            "witness": witness.as_ref().map(|w| w.to_key_string()),
            "new": {"size": new.size, "origin": new.origin},
            "held": results, "agrees_at": agrees,
            "diverges_at": diverges.as_ref().map(|d| d.size),
            "diverges_exactly": diverges.as_ref().map(|d| d.exact),
        }))?;
    } else {
        for r in &results {
            match &r.divergence {
                None => crate::say!(
                    "holds    size {} → {}{}",
                    r.size,
                    new.size,
                    witness.as_ref().map_or(String::new(), |w| format!(
                        ", cosigned by {} at {}",
                        w.name(),
                        r.cosigned
                            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t as i64).ok())
                            .and_then(|t| t
                                .format(&time::format_description::well_known::Rfc3339)
                                .ok())
                            .unwrap_or_default()
                    ))
                ),
                Some(d) => crate::say!("BAD      size {}: {}", r.size, d.problem),
            }
        }
        if presented {
            crate::say!(
                "(checked with the key the station presents, {}; pass --key with the one you keep to rule out a replaced key)",
                key.to_key_string()
            );
        }
        if ok {
            crate::say!(
                "OK: the log of {} rows ({}) extends every checkpoint held",
                new.size,
                new.origin
            );
        } else if let Some(d) = diverges
            .as_ref()
            .filter(|d| !d.problem.starts_with("not cosigned"))
        {
            let agree = agrees.map_or(String::new(), |a| {
                format!(" (it still extends the checkpoint of size {a} held)")
            });
            crate::say!(
                "FAILED: the logs diverge {}size {}{agree}: the log was rewritten after the checkpoint was kept",
                if d.exact { "at " } else { "at or before " },
                d.size
            );
        } else if !ok {
            crate::say!("FAILED: a checkpoint held is not cosigned by the witness you trust");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn online_check(
    ctx: &super::Ctx,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<(), proof::Divergence> {
    let q = ConsistencyQuery {
        from: old.size,
        to: Some(new.size),
    };
    let failed = |problem: String| proof::Divergence {
        size: old.size,
        exact: false,
        problem,
    };
    let doc = ctx
        .run::<ops::Consistency>((), q)
        .map_err(|e| failed(format!("the station gives no proof: {e:#}")))?;
    if doc["proof"].is_null() && doc["tampered"] == true {
        return Err(failed(
            doc["problem"]
                .as_str()
                .unwrap_or("the audit log no longer matches its Merkle tree")
                .to_owned(),
        ));
    }
    if doc["proof"].is_null() {
        let have = doc["log_size"].as_u64().unwrap_or_default();
        return Err(proof::shorter(old.size.max(new.size), have));
    }
    let hashes =
        proof::hashes(&doc["proof"], "the station's proof").map_err(|e| failed(e.to_string()))?;
    proof::extends(old, new, &hashes)
}

fn offline_check(
    old: &Checkpoint,
    new: &Checkpoint,
    pf: &serde_json::Value,
) -> Result<(), proof::Divergence> {
    let failed = |problem: String| proof::Divergence {
        size: old.size,
        exact: false,
        problem,
    };
    if pf["from"].as_u64() != Some(old.size) || pf["to"].as_u64() != Some(new.size) {
        return Err(failed(format!(
            "the proof file proves {} → {}, not {} → {}: make one with `vigil audit prove --from` this checkpoint",
            pf["from"], pf["to"], old.size, new.size
        )));
    }
    let hashes =
        proof::hashes(&pf["proof"], "the proof file").map_err(|e| failed(e.to_string()))?;
    proof::extends(old, new, &hashes)
}
