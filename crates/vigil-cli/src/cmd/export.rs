//! `vigil request`, `vigil approve`, `vigil export`: retrieving evidence
//! (R14, R16). A request names clips (or a case) and a reason; a supervisor
//! other than the requester approves it; only then can it be exported as a
//! package a court can check with standard tools alone: the clip files under
//! readable names, `MANIFEST.b3` (`b3sum -c`), `MANIFEST.sha256`
//! (`sha256sum -c`), and `metadata.json` (matter, time, place, method,
//! officers, interruptions with their explanations, and each clip's custody
//! trail from the audit log). Optionally an ISO 9660 image for disc.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use vigil_store::GapFilter;

use crate::identity::{Role, ANYONE, CUSTODY};
use crate::output;

/// Arguments of `vigil request`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["clip", "case_no"])))]
pub struct RequestArgs {
    /// Clips to retrieve.
    #[arg(long, value_name = "CLIP", num_args = 1..)]
    clip: Vec<String>,
    /// Every clip tagged with this case number.
    #[arg(long = "case", value_name = "CASE")]
    case_no: Option<String>,
    /// Why (written on the retrieval form).
    #[arg(long)]
    reason: String,
    /// The outside organisation receiving copies (prosecutor, court...).
    #[arg(long, value_name = "ORG")]
    outsider: Option<String>,
    /// Print `{"request": ID}`.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil request`.
pub fn request(ctx: &super::Ctx, args: RequestArgs) -> anyhow::Result<ExitCode> {
    let (mut store, id) = ctx.open(ANYONE, "requesting a retrieval")?;
    if args.reason.trim().is_empty() {
        bail!("--reason must say why the clips are needed");
    }
    let mut clips: BTreeSet<String> = BTreeSet::new();
    for c in &args.clip {
        store
            .clip(c)?
            .with_context(|| format!("no clip {c:?} (see `vigil clips`)"))?;
        clips.insert(c.clone());
    }
    if let Some(case) = &args.case_no {
        let of_case = store.clips_of_case(case)?;
        if of_case.is_empty() {
            bail!("no clip is tagged with case {case:?}");
        }
        clips.extend(of_case);
    }
    let clips: Vec<String> = clips.into_iter().collect();
    let rid = store.add_request(
        &id.actor(),
        &id.user,
        &args.reason,
        args.outsider.as_deref(),
        args.case_no.as_deref(),
        &clips,
    )?;
    if args.json {
        output::print_json(&serde_json::json!({ "request": rid }))?;
    } else {
        crate::say!(
            "request {rid} for {} clip(s) filed; a supervisor other than {} must approve it",
            clips.len(),
            id.user
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil approve`.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The request id.
    request: String,
    /// Print the outcome as one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil approve`.
pub fn approve(ctx: &super::Ctx, args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let (mut store, id) = ctx.open(&[Role::Supervisor, Role::Admin], "approving a retrieval")?;
    store
        .approve(&id.actor(), &id.user, &args.request)
        .with_context(|| format!("approving request {}", args.request))?;
    output::outcome(
        args.json,
        &serde_json::json!({"request": args.request, "approved_by": id.user}),
        &format!("request {} approved by {}", args.request, id.user),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The approved request.
    #[arg(long)]
    request: String,
    /// An empty or new directory for the package.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Also write an ISO 9660 image of the package (needs xorriso).
    #[arg(long, value_name = "FILE")]
    iso: Option<PathBuf>,
}

/// A file name safe on any disc: letters, digits, `-`, `_`, `.` only.
fn safe(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.trim_matches('.').to_owned()
}

/// Runs `vigil export`.
pub fn export(ctx: &super::Ctx, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (mut store, id) = ctx.open(CUSTODY, "exporting evidence")?;
    let req = store
        .request(&args.request)?
        .with_context(|| format!("no request {:?}", args.request))?;
    let Some(approver) = &req.approved_by else {
        bail!("refused: request {} is not approved yet (R16)", req.id);
    };
    let out = &args.out;
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty; give a new or empty directory",
            out.display()
        );
    }
    if out.starts_with(store.root()) {
        bail!("the package must be written outside the store");
    }
    // R17, checked before anything is written.
    for clip_id in &req.clips {
        let secret = store.confidentiality(clip_id)?;
        if !super::oversight::may_see(id.role, secret.as_deref()) {
            bail!(
                "refused: clip {clip_id} is marked {} and {} may not handle it (R17)",
                secret.unwrap_or_default(),
                id.user
            );
        }
        if req.outsider.is_some() && secret.as_deref() == Some("state_secret") {
            bail!("refused: clip {clip_id} is a state secret and cannot be copied to an outside organisation (R17)");
        }
    }
    std::fs::create_dir_all(out.join("clips"))
        .with_context(|| format!("creating {}", out.display()))?;
    let mut b3 = String::new();
    let mut sha = String::new();
    let mut entries = Vec::new();
    let mut names = BTreeSet::new();
    for clip_id in &req.clips {
        let c = store
            .clip(clip_id)?
            .with_context(|| format!("request names clip {clip_id}, which is not stored"))?;
        let original = c.path.rsplit('/').next().unwrap_or(&c.path);
        let stamp = c
            .recorded_start
            .as_deref()
            .map(|t| t.replace([':', '-'], ""))
            .unwrap_or_else(|| "undated".into());
        let mut name = safe(&format!(
            "{}_{}_{}_{}",
            c.officer.as_deref().unwrap_or("unknown"),
            c.device.as_deref().unwrap_or("unknown"),
            stamp,
            original
        ));
        while !names.insert(name.clone()) {
            name = format!("{}_{name}", &c.clip[..8]);
        }
        let rel = format!("clips/{name}");
        let src = store.objects().object_path(&c.blake3);
        std::fs::copy(&src, out.join(&rel))
            .with_context(|| format!("copying clip {} to {}", c.clip, rel))?;
        // The copy must be what the store holds: hash it again.
        let got = vigil_store::objects::hash_reader(&mut std::fs::File::open(out.join(&rel))?)?;
        if got.blake3 != c.blake3 || got.sha256 != c.sha256 {
            bail!(
                "the copy of clip {} does not match the store; run `vigil verify`",
                c.clip
            );
        }
        b3.push_str(&format!("{}  {rel}\n", c.blake3));
        sha.push_str(&format!("{}  {rel}\n", c.sha256));
        let gaps = store.gaps(&GapFilter {
            clip: Some(c.clip.clone()),
            ..Default::default()
        })?;
        let mut subjects = vec![c.clip.clone()];
        subjects.extend(gaps.iter().map(|g| g.id.clone()));
        let custody = store.audit_about(&subjects)?;
        let tag = store.tag_of(&c.clip)?;
        entries.push(serde_json::json!({
            "file": rel, "clip": c.clip, "original_path": c.path, "device": c.device, "officer": c.officer,
            "bytes": c.bytes, "blake3": c.blake3, "sha256": c.sha256, "kind": c.kind,
            "time": {"start": c.recorded_start, "end": c.recorded_end, "source": c.time_source},
            "place": tag.as_ref().and_then(|t| t.site.clone()),
            "matter": tag.as_ref().map(|t| serde_json::json!({"case": t.case, "category": t.category, "description": t.note})),
            "method": "body-worn camera recording (audio/video), original file, byte-exact",
            "damaged": c.damaged, "damage_reason": c.damage_reason,
            "interruptions": gaps, "custody": custody,
        }));
        store.record_event(
            &id.actor(),
            "clip.exported",
            &c.clip,
            &serde_json::json!({"request": req.id, "file": rel}),
        )?;
    }
    let officers: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e["officer"].as_str().map(str::to_owned))
        .collect();
    let metadata = serde_json::json!({
        "request": {"id": req.id, "reason": req.reason, "requester": req.requester, "approved_by": approver,
                    "approved_at": req.approved_at, "outsider": req.outsider, "case": req.case},
        "exported_by": id.actor(), "exported_at": vigil_store::now_rfc3339(),
        "officers": officers, "clips": entries,
        "verify": "b3sum -c MANIFEST.b3 && sha256sum -c MANIFEST.sha256",
    });
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let mut f =
            std::fs::File::create(out.join(name)).with_context(|| format!("writing {name}"))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        Ok(())
    };
    write("MANIFEST.b3", &b3)?;
    write("MANIFEST.sha256", &sha)?;
    write("metadata.json", &serde_json::to_string_pretty(&metadata)?)?;
    store.record_event(
        &id.actor(),
        "request.exported",
        &req.id,
        &serde_json::json!({"out": out.display().to_string(), "clips": req.clips.len()}),
    )?;
    if let Some(iso) = &args.iso {
        make_iso(out, iso, &req.id)?;
    }
    crate::say!("{} clip(s) exported to {}; check with: cd {} && b3sum -c MANIFEST.b3 && sha256sum -c MANIFEST.sha256", req.clips.len(), out.display(), out.display());
    Ok(ExitCode::SUCCESS)
}

fn make_iso(dir: &Path, iso: &Path, label: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-r", "-J", "-V"])
        .arg(safe(label).to_uppercase())
        .arg("-o")
        .arg(iso)
        .arg(dir)
        .status()
        .context("running xorriso (apt-get install xorriso)")?;
    if !status.success() {
        bail!("xorriso failed making {}: {status}", iso.display());
    }
    Ok(())
}
