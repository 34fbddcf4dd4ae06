//! `vigil request`, `vigil approve`, `vigil export`: retrieving evidence
//! (R14, R16). A request names clips (or a case) and a reason; a supervisor
//! other than the requester approves it; only then can it be exported as a
//! package a court can check with standard tools alone: the clip files under
//! readable names, `MANIFEST.b3` (`b3sum -c`), `MANIFEST.sha256`
//! (`sha256sum -c`), and `metadata.json` (matter, time, place, method,
//! officers, interruptions with their explanations, and each clip's custody
//! trail from the audit log). Optionally an ISO 9660 image for disc.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vigil_service::op::{self, Endpoint};
use vigil_service::ops;

use anyhow::{bail, Context};
use vigil_service::custody::{self, NewRequest};

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
    let r = NewRequest {
        clips: args.clip,
        case: args.case_no,
        reason: args.reason,
        outsider: args.outsider,
    };
    let doc = ctx.run::<ops::Request>((), r)?;
    if args.json {
        output::print_json(&serde_json::json!({ "request": doc["request"] }))?;
    } else {
        crate::say!(
            "request {} for {} clip(s) filed; a supervisor other than {} must approve it",
            doc["request"].as_str().unwrap_or("-"),
            doc["clips"].as_array().map_or(0, Vec::len),
            doc["requester"].as_str().unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `vigil requests`.
#[derive(Debug, clap::Args)]
pub struct RequestsArgs {
    /// Only those not yet approved or turned down.
    #[arg(long)]
    undecided: bool,
    /// Only this station's (at the agency centre).
    #[arg(long, value_name = "NAME")]
    station: Option<String>,
    /// Print `{"requests": [...]}`.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil requests`: the newest retrieval requests, each with what
/// was decided and by whom (R16); at the agency centre, each with its
/// station.
pub fn requests(ctx: &super::Ctx, args: RequestsArgs) -> anyhow::Result<ExitCode> {
    let q = custody::RequestQuery {
        station: args.station,
        undecided: args.undecided,
    };
    let doc = ctx.run::<ops::Requests>((), q)?;
    if args.json {
        output::print_json(&doc)?;
        return Ok(ExitCode::SUCCESS);
    }
    use vigil_i18n::Msg;
    let w = output::Words::from_env();
    let all = doc["requests"].as_array().cloned().unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    let stations = all.iter().any(|r| r["station"].is_string());
    let mut heads = vec![
        Msg::ColRequest,
        Msg::Requester,
        Msg::Requested,
        Msg::Recordings,
        Msg::State,
        Msg::Reason,
    ];
    if stations {
        heads.insert(0, Msg::Station);
    }
    let mut t = output::Table::new(&w.heads(&heads));
    for r in &all {
        let state = match (r["approved_by"].as_str(), r["rejected_by"].as_str()) {
            (Some(who), _) => w.fmt(Msg::ReqApproved, &[("who", who)]),
            (None, Some(who)) => w.fmt(
                Msg::ReqRejected,
                &[
                    ("who", who),
                    ("why", r["reject_reason"].as_str().unwrap_or("-")),
                ],
            ),
            (None, None) => w.t(Msg::ReqPending).to_owned(),
        };
        t.row(stations.then(|| text(&r["station"])).into_iter().chain([
            text(&r["id"]),
            text(&r["requester"]),
            w.local(&r["created_at"]),
            r["clips"].as_array().map_or(0, Vec::len).to_string(),
            state,
            text(&r["reason"]),
        ]));
    }
    t.print();
    crate::say!(
        "{}",
        w.fmt(Msg::CountRequests, &[("n", &all.len().to_string())])
    );
    crate::say!("{}", w.zone_line());
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
    let r = args.request;
    super::plain_id("request", &r)?;
    let doc = ctx.run::<ops::Approve>(r.clone(), op::Empty {})?;
    output::outcome(
        args.json,
        &doc,
        &format!(
            "request {r} approved by {}{}",
            doc["approved_by"].as_str().unwrap_or("-"),
            sent(&doc)
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// At the agency centre a decision is sent to the request's station,
/// which records it in its own log: the line says so.
fn sent(doc: &serde_json::Value) -> String {
    match (doc["station"].as_str(), doc["action"].as_i64()) {
        (Some(station), Some(action)) => {
            format!(" (action {action}, sent to {station}; recorded when it next syncs)")
        }
        _ => String::new(),
    }
}

/// Arguments of `vigil reject`.
#[derive(Debug, clap::Args)]
pub struct RejectArgs {
    /// The request id.
    request: String,
    /// Why it is turned down (the requester reads it).
    #[arg(long)]
    reason: String,
    /// Print the outcome as one JSON document.
    #[arg(long)]
    json: bool,
}

/// Runs `vigil reject`.
pub fn reject(ctx: &super::Ctx, args: RejectArgs) -> anyhow::Result<ExitCode> {
    let r = args.request;
    super::plain_id("request", &r)?;
    let why = custody::Rejection {
        reason: args.reason,
    };
    let doc = ctx.run::<ops::Reject>(r.clone(), why)?;
    output::outcome(
        args.json,
        &doc,
        &format!(
            "request {r} turned down by {}: {}{}",
            doc["rejected_by"].as_str().unwrap_or("-"),
            doc["reason"].as_str().unwrap_or("-"),
            sent(&doc)
        ),
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

/// Runs `vigil export`: the package is made where the store is (vigild,
/// or in-process on a store you own) and arrives as a tar stream, unpacked
/// here into `--out` with every name checked and every file hashed again
/// against both manifests.
pub fn export(ctx: &super::Ctx, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let out = &args.out;
    super::plain_id("request", &args.request)?;
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} is not empty; give a new or empty directory",
            out.display()
        );
    }
    let door = ctx.door();
    if matches!(door, super::Door::Embedded) && absolute(out).starts_with(absolute(&ctx.store)) {
        bail!("the package must be written outside the store");
    }
    let created = !out.exists();
    std::fs::create_dir_all(out.join("clips"))
        .with_context(|| format!("creating {}", out.display()))?;
    let (reader, mut writer) = std::io::pipe().context("making a pipe for the package")?;
    let dir = out.clone();
    let unpacker = std::thread::spawn(move || unpack(reader, &dir));
    let sent = match door {
        super::Door::Daemon(c) => c
            .post_download(
                &ops::Export::path(&args.request),
                &op::Empty {},
                &mut writer,
            )
            .map_err(anyhow::Error::from),
        super::Door::Embedded => (|| {
            let (mut store, id) = ctx.open(crate::identity::ANYONE, "exporting evidence")?;
            let plan = ops::Export::prepare(&store, &id, &args.request)?;
            let zone = crate::output::Words::from_env().zone;
            vigil_service::export::write(&mut store, &id, &plan, &zone, &mut writer)?;
            Ok(())
        })(),
    };
    drop(writer);
    let unpacked = unpacker
        .join()
        .map_err(|_| anyhow::anyhow!("unpacking the package failed"))?;
    // The unpacking side's failure is the cause when both fail (the sender
    // then only saw its reader go away).
    let n = match (sent, unpacked) {
        (_, Err(e)) | (Err(e), Ok(())) => Err(e),
        (Ok(()), Ok(())) => check_package(out),
    };
    let n = match n {
        Ok(n) => n,
        Err(e) => {
            // Nothing half-made is left looking like a package (and a
            // directory the user made is emptied, not removed).
            if created {
                let _ = std::fs::remove_dir_all(out);
            } else {
                let _ = std::fs::remove_dir_all(out.join("clips"));
                for f in vigil_service::export::MANIFESTS {
                    let _ = std::fs::remove_file(out.join(f));
                }
                let _ = std::fs::remove_file(out.join(vigil_service::export::COSIGNED));
            }
            return Err(e);
        }
    };
    if let Some(iso) = &args.iso {
        vigil_service::export::make_iso(out, iso, &args.request)?;
    }
    crate::say!("{n} clip(s) exported to {}; check with: cd {} && b3sum -c MANIFEST.b3 && sha256sum -c MANIFEST.sha256", out.display(), out.display());
    Ok(ExitCode::SUCCESS)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_owned())
}

/// Whether `name` is a name a package may hold.
fn allowed(name: &str) -> bool {
    if vigil_service::export::MANIFESTS.contains(&name) || name == vigil_service::export::COSIGNED {
        return true;
    }
    name.strip_prefix("clips/")
        .is_some_and(|f| !f.is_empty() && vigil_service::export::safe(f) == f)
}

/// Unpacks the tar stream into `dir`: regular files under the names a
/// package holds, each created new (nothing is overwritten) and fsynced.
fn unpack(reader: impl Read, dir: &Path) -> anyhow::Result<()> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().context("reading the package")? {
        let mut entry = entry.context("reading the package")?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular || !allowed(&name) {
            bail!("the package holds {name:?}, which is not a package file");
        }
        let path = dir.join(&name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        std::io::copy(&mut entry, &mut f).with_context(|| format!("writing {}", path.display()))?;
        f.sync_all()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    // Drain what follows the archive's end, so the sender is never blocked.
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    Ok(())
}

/// Checks every file both manifests name against its hashes, and that the
/// package holds no other clip: the clip count.
pub(crate) fn check_package(dir: &Path) -> anyhow::Result<usize> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).with_context(|| format!("{name} is missing"))
    };
    let b3 = read("MANIFEST.b3")?;
    let sha = read("MANIFEST.sha256")?;
    read("metadata.json")?;
    let parse = |text: &str| -> BTreeMap<String, String> {
        text.lines()
            .filter_map(|l| l.split_once("  "))
            .map(|(h, f)| (f.to_owned(), h.to_owned()))
            .collect()
    };
    let (b3, sha) = (parse(&b3), parse(&sha));
    let files: BTreeSet<String> = std::fs::read_dir(dir.join("clips"))?
        .map(|e| e.map(|e| format!("clips/{}", e.file_name().to_string_lossy())))
        .collect::<Result<_, _>>()?;
    let listed: BTreeSet<String> = b3.keys().cloned().collect();
    anyhow::ensure!(
        listed == files && sha.keys().cloned().collect::<BTreeSet<_>>() == files,
        "the manifests and the clips received differ"
    );
    for f in &files {
        let got = vigil_service::model::hash_reader(&mut std::fs::File::open(dir.join(f))?)?;
        anyhow::ensure!(
            b3.get(f) == Some(&got.blake3) && sha.get(f) == Some(&got.sha256),
            "{f} does not match its manifest entry"
        );
    }
    Ok(files.len())
}
