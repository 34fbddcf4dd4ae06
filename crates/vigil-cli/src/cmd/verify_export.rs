//! `vigil verify-export DIR [--key KEY]`: checks a court package offline,
//! with no store or daemon (R10, R14): both manifests against the
//! clips, the package's checkpoint against the station key, and every
//! custody row against that checkpoint by its inclusion proof, each clip's
//! ingest row naming the clip's own hashes. Exit 0 only when all of it
//! holds.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use vigil_tlog::note::Checkpoint;

use crate::{output, proof};

/// Arguments of `vigil verify-export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package directory (what `vigil export` wrote, or the ISO mounted).
    dir: PathBuf,
    /// The station's key you trust: the verifier key string, or a file
    /// holding it [default: the package's own station.pub, which shows only
    /// that the package is whole, not whose it is].
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// The agency centre's witness key you trust (or a file holding it):
    /// the package's COSIGNED must carry its cosignature, and CHECKPOINT
    /// must extend it.
    #[arg(long, value_name = "VKEY")]
    witness: Option<String>,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil verify-export`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    let mut problems: Vec<String> = Vec::new();
    let clips = match super::export::check_package(dir) {
        Ok(n) => n,
        Err(e) => {
            problems.push(format!("manifests: {e:#}"));
            0
        }
    };
    let (key, own) = match &args.key {
        Some(k) => (proof::key(k)?, false),
        None => (
            proof::key(&dir.join("station.pub").display().to_string())?,
            true,
        ),
    };
    let note = std::fs::read_to_string(dir.join("CHECKPOINT"))
        .with_context(|| format!("{}: the package has no CHECKPOINT", dir.display()))?;
    let cp = match Checkpoint::open(&note, &key) {
        Ok(cp) => Some(cp),
        Err(e) => {
            problems.push(format!(
                "CHECKPOINT: its signature does not verify with the key {}: {e}",
                key.to_key_string()
            ));
            None
        }
    };
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("metadata.json")).context("reading metadata.json")?,
    )
    .context("metadata.json is not JSON")?;
    let manifest_b3 = std::fs::read_to_string(dir.join("MANIFEST.b3")).unwrap_or_default();
    let mut rows_checked = 0u64;
    for c in meta["clips"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let file = c["file"].as_str().unwrap_or("?");
        let b3 = c["blake3"].as_str().unwrap_or_default();
        let sha = c["sha256"].as_str().unwrap_or_default();
        if !manifest_b3.lines().any(|l| l == format!("{b3}  {file}")) {
            problems.push(format!(
                "{file}: metadata.json's BLAKE3 is not the manifest's"
            ));
        }
        let mut ingested = false;
        for r in c["custody"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            rows_checked += 1;
            let seq = r["seq"].as_i64().unwrap_or(0);
            let action = r["action"].as_str().unwrap_or("?");
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            let detail = text("detail_json");
            let leaf = vigil_service::model::leaf_bytes(
                seq,
                &text("at"),
                &text("actor"),
                action,
                &text("subject"),
                &detail,
            );
            let held = proof::hashes(&r["proof"], "proof").and_then(|p| {
                let cp = cp.as_ref().context("no checkpoint to check against")?;
                vigil_tlog::verify_inclusion(
                    (seq - 1).max(0) as u64,
                    cp.size,
                    &vigil_tlog::leaf_hash(&leaf),
                    &p,
                    &cp.root,
                )
                .map_err(anyhow::Error::from)
            });
            if let Err(e) = held {
                problems.push(format!(
                    "{file}: audit row {seq} ({action}) is not in the log the checkpoint signs: {e:#}"
                ));
                continue;
            }
            if action == "clip.ingested" {
                let d: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
                if d["blake3"] == b3 && d["sha256"] == sha {
                    ingested = true;
                }
            }
        }
        if !ingested {
            problems.push(format!(
                "{file}: no proven clip.ingested row records these hashes (BLAKE3 {b3})"
            ));
        }
    }
    if let Some(cp) = &cp {
        let m = &meta["checkpoint"];
        if m["size"].as_u64() != Some(cp.size) {
            problems.push("metadata.json names another checkpoint than CHECKPOINT".into());
        }
    }
    let witness = args.witness.as_deref().map(proof::witness).transpose()?;
    let witnessed = match cosigned(dir, &key, cp.as_ref(), &meta, witness.as_ref()) {
        Ok(w) => w,
        Err(e) => {
            problems.push(format!("COSIGNED: {e:#}"));
            None
        }
    };
    let ok = problems.is_empty();
    if args.json {
        output::print_json(&serde_json::json!({
            "ok": ok, "clips": clips, "custody_rows": rows_checked, "key": key.to_key_string(),
            "key_from_package": own, "checkpoint": cp.as_ref().map(|c| serde_json::json!({"origin": c.origin, "size": c.size})),
            "witnessed": witnessed, "witness": witness.as_ref().map(|w| w.to_key_string()),
            "problems": problems,
        }))?;
    } else {
        for p in &problems {
            crate::say!("BAD      {p}");
        }
        if own {
            crate::say!(
                "(checked with the package's own station.pub, {}; pass --key with the station key you keep to know whose log it is)",
                key.to_key_string()
            );
        }
        if let (Some(w), Some(size)) = (&witness, witnessed) {
            crate::say!(
                "the centre's witness {} cosigned the log up to row {size}; CHECKPOINT extends it",
                w.name()
            );
        }
        crate::say!(
            "{}: {clips} clips match both manifests; {rows_checked} custody rows checked against the checkpoint{}",
            if ok { "OK" } else { "FAILED" },
            cp.as_ref()
                .map(|c| format!(" of {} at size {}", c.origin, c.size))
                .unwrap_or_default()
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The package's COSIGNED, when it has one: signed by the station key,
/// cosigned by `witness` (required when given), and extended by CHECKPOINT
/// (`metadata.json`'s `witnessed.consistency`). Returns the witnessed size.
fn cosigned(
    dir: &std::path::Path,
    key: &vigil_tlog::note::Verifier,
    cp: Option<&Checkpoint>,
    meta: &serde_json::Value,
    witness: Option<&vigil_tlog::cosignature::CosignatureVerifier>,
) -> anyhow::Result<Option<u64>> {
    let note = match std::fs::read_to_string(dir.join(vigil_service::export::COSIGNED)) {
        Ok(n) => n,
        Err(_) if witness.is_none() => return Ok(None),
        Err(e) => anyhow::bail!(
            "the package has no COSIGNED ({e}): the station had no checkpoint cosigned by the centre when it was made"
        ),
    };
    let old = Checkpoint::open(&note, key)
        .context("its station signature does not verify with the key")?;
    if let Some(w) = witness {
        w.verify(&note).with_context(|| {
            format!(
                "it carries no valid cosignature of the witness {}",
                w.name()
            )
        })?;
    }
    let cp = cp.context("no CHECKPOINT to extend it")?;
    let m = &meta["witnessed"];
    anyhow::ensure!(
        m["size"].as_u64() == Some(old.size),
        "metadata.json's witnessed size is not COSIGNED's"
    );
    let proof = proof::hashes(&m["consistency"], "witnessed.consistency")?;
    vigil_tlog::verify_consistency(old.size, cp.size, &old.root, &cp.root, &proof)
        .context("CHECKPOINT does not extend the cosigned checkpoint")?;
    Ok(Some(old.size))
}
