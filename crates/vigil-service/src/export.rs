//! Exporting an approved retrieval request (R14, R16, R17) as a package a
//! court can check with standard tools alone: the clip files under readable
//! names, `MANIFEST.b3` (`b3sum -c`), `MANIFEST.sha256` (`sha256sum -c`) and
//! `metadata.json` (matter, time, place, method, officers, interruptions
//! with their explanations, each clip's custody trail), and the log's
//! signed `CHECKPOINT` with `station.pub`: every custody row carries its
//! inclusion proof to that checkpoint, so the package alone
//! shows the rows are the station's log (`vigil verify-export`).
//!
//! The package leaves the store as a tar stream, written where the store is
//! (inside vigild, or in-process), so the store is only ever read by its
//! owner: [`prepare`] makes every check before a byte is written, then
//! [`write`] streams the clips, each hashed again on its way out and
//! compared with what the store recorded, and the manifests last. The
//! receiving side unpacks it (`vigil export` checks every name and hash).

use std::collections::BTreeSet;
use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::Digest;
use vigil_store::requests::Request;
use vigil_store::{GapFilter, Store};

use crate::error::ServiceError;
use crate::identity::Identity;
use crate::queries::may_see;
use crate::station::Station;

/// The names a package may hold besides `clips/<name>`.
/// `README.txt` says in English and Chinese what the package holds and how
/// to check it without Vigil. `CHECKPOINT` is the station's signed checkpoint the custody trails'
/// inclusion proofs lead to, `station.pub` its key as the station gave it
/// (an auditor checks with the key they keep: `vigil verify-export`).
/// [`COSIGNED`] comes besides them when the station has joined a centre.
pub const MANIFESTS: &[&str] = &[
    "README.txt",
    "MANIFEST.b3",
    "MANIFEST.sha256",
    "metadata.json",
    "CHECKPOINT",
    "station.pub",
];

/// The newest checkpoint the agency centre's witness cosigned, when the
/// station has joined a centre (`metadata.json`'s `witnessed` proves the
/// package's checkpoint extends it).
pub const COSIGNED: &str = "COSIGNED";

/// A file name safe on any disc: letters, digits, `-`, `_`, `.` only.
pub fn safe(s: &str) -> String {
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

/// An export that passed every check.
#[derive(Debug)]
pub struct Plan {
    req: Request,
    approver: String,
}

impl Plan {
    /// The request.
    pub fn request(&self) -> &str {
        &self.req.id
    }
}

/// Checks the request may be exported by the acting user: it exists, a
/// supervisor approved it (R16), and no clip is one this user may not
/// handle or one that may not leave to an outside organisation (R17).
pub(crate) fn prepare(store: &Store, id: &Identity, request: &str) -> Result<Plan, ServiceError> {
    let req = store
        .custody()
        .request(request)?
        .ok_or_else(|| ServiceError::not_found(format!("no request {request:?}")))?;
    let Some(approver) = req.approved_by.clone() else {
        return Err(ServiceError::refused(format!(
            "request {} is not approved yet (R16)",
            req.id
        )));
    };
    for clip in &req.clips {
        let secret = store.custody().confidentiality(clip)?;
        if !may_see(id.role, secret.as_deref()) {
            return Err(ServiceError::refused(format!(
                "clip {clip} is marked {} and {} may not handle it (R17)",
                secret.unwrap_or_default(),
                id.user
            )));
        }
        if let (Some(outsider), Some(kind)) = (&req.outsider, secret.as_deref()) {
            if crate::custody::NEVER_TO_OUTSIDERS.contains(&kind) {
                return Err(ServiceError::refused(format!(
                    "clip {clip} is marked {kind} and cannot be copied to an outside organisation ({outsider}): a package for an outsider never carries state or trade secrets (R17)"
                )));
            }
        }
        if store.recordings().clip(clip)?.is_none() {
            return Err(ServiceError::not_found(format!(
                "request {} names clip {clip}, which is not stored",
                req.id
            )));
        }
    }
    Ok(Plan { req, approver })
}

/// Reads through to `inner`, hashing with BLAKE3 and SHA-256 on the way.
struct Hashing<R> {
    inner: R,
    b3: blake3::Hasher,
    sha: sha2::Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.b3.update(&buf[..n]);
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

fn io(what: &str) -> impl Fn(std::io::Error) -> ServiceError + '_ {
    move |e| ServiceError::store(format!("{what}: {e}"))
}

fn add(
    tar: &mut tar::Builder<impl Write>,
    name: &str,
    len: u64,
    data: impl Read,
) -> Result<(), ServiceError> {
    let mut h = tar::Header::new_ustar();
    h.set_size(len);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mtime(
        time::OffsetDateTime::now_utc()
            .unix_timestamp()
            .try_into()
            .unwrap_or(0),
    );
    tar.append_data(&mut h, name, data)
        .map_err(io(&format!("sending {name}")))
}

/// Streams the package of `plan` into `out` as a tar archive, auditing each
/// clip as it leaves (`clip.exported`) and the whole (`request.exported`).
/// A clip whose bytes differ from the store's record ends the stream
/// before its manifest is written.
pub fn write(
    station: &mut Station,
    id: &Identity,
    plan: &Plan,
    zone: &vigil_i18n::Zone,
    out: impl Write,
) -> Result<serde_json::Value, ServiceError> {
    let store = &mut station.store;
    let req = &plan.req;
    let mut tar = tar::Builder::new(out);
    let (mut b3, mut sha) = (String::new(), String::new());
    let mut entries = Vec::new();
    let mut names = BTreeSet::new();
    let mut bytes = 0u64;
    let mut trails = Vec::new();
    for clip_id in &req.clips {
        let c = store.recordings().clip(clip_id)?.ok_or_else(|| {
            ServiceError::not_found(format!("request names clip {clip_id}, which is not stored"))
        })?;
        let original = c.path.rsplit('/').next().unwrap_or(&c.path);
        // The recording's start in the station's zone, as the officer
        // and the court read it (the zone is named in README.txt).
        let stamp = c
            .recorded_start
            .as_deref()
            .map(|t| zone.local(t).replace([':', '-'], "").replace(' ', "T"))
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
        let file = std::fs::File::open(&src).map_err(io(&format!("reading clip {}", c.clip)))?;
        let mut reader = Hashing {
            inner: file.take(c.bytes),
            b3: blake3::Hasher::new(),
            sha: sha2::Sha256::new(),
        };
        add(&mut tar, &rel, c.bytes, &mut reader)?;
        // What left must be what the store holds.
        let got_b3 = reader.b3.finalize().to_hex().to_string();
        let got_sha = vigil_store::objects::hex(&reader.sha.finalize());
        if got_b3 != c.blake3 || got_sha != c.sha256 {
            return Err(ServiceError::store(format!(
                    "the stored object of clip {} does not match its record; the export is stopped; run `vigil verify`",
                    c.clip
                )));
        }
        bytes += c.bytes;
        b3.push_str(&format!("{}  {rel}\n", c.blake3));
        sha.push_str(&format!("{}  {rel}\n", c.sha256));
        let gaps = store.gap_log().gaps(&GapFilter {
            clip: Some(c.clip.clone()),
            ..Default::default()
        })?;
        let mut subjects = vec![c.clip.clone(), req.id.clone()];
        subjects.extend(gaps.iter().map(|g| g.id.clone()));
        trails.push(subjects);
        let tag = store.custody().tag_of(&c.clip)?;
        entries.push(serde_json::json!({
            "file": rel, "clip": c.clip, "original_path": c.path, "device": c.device, "officer": c.officer,
            "bytes": c.bytes, "blake3": c.blake3, "sha256": c.sha256, "kind": c.kind,
            "time": {"start": c.recorded_start, "end": c.recorded_end, "source": c.time_source,
                     "start_local": c.recorded_start.as_deref().map(|t| zone.local(t)), "zone": zone.name()},
            "place": tag.as_ref().and_then(|t| t.site.clone()),
            "matter": tag.as_ref().map(|t| serde_json::json!({"case": t.case, "category": t.category, "description": t.note})),
            "method": "body-worn camera recording (audio/video), original file, byte-exact",
            "damaged": c.damaged, "damage_reason": c.damage_reason,
            "interruptions": gaps,
        }));
        store.log_mut().record_event(
            &id.actor(),
            "clip.exported",
            &c.clip,
            &serde_json::json!({"request": req.id, "file": rel}),
        )?;
    }
    // Each clip's custody trail (its ingest, tags, interruptions and
    // their explanations, the request and its approval, its export), read
    // now that its export is on record, with each row's inclusion proof to
    // the checkpoint signed with it.
    let kept = store.log().checkpoint()?.ok_or_else(|| {
        ServiceError::store("the station has signed no checkpoint of its audit log".into())
    })?;
    let key = store
        .log()
        .station_key()
        .map_err(ServiceError::doing("reading the station key"))?;
    let all: BTreeSet<String> = trails.iter().flatten().cloned().collect();
    let rows = store
        .custody()
        .audit_about(&all.into_iter().collect::<Vec<_>>())?;
    for (entry, subjects) in entries.iter_mut().zip(&trails) {
        let mut custody = Vec::new();
        for r in rows
            .iter()
            .filter(|r| subjects.contains(&r.subject) && r.seq as u64 <= kept.size)
        {
            let mut v =
                serde_json::to_value(r).map_err(|e| ServiceError::bad_request(e.to_string()))?;
            v["detail_json"] = r.detail_text.clone().into();
            v["proof"] = crate::checkpoints::inclusion(store, r.seq as u64, kept.size)?.into();
            custody.push(v);
        }
        entry["custody"] = custody.into();
    }
    let checkpoint = crate::checkpoints::describe(&kept, &key)?;
    // The newest checkpoint the centre's witness cosigned, and the proof
    // that the package's checkpoint extends it: the witness vouches for
    // the log up to its size, the station's signature for the rest.
    let cosigned = store
        .log()
        .cosigned_latest()?
        .filter(|c| c.size <= kept.size);
    let witnessed = match &cosigned {
        Some(c) => serde_json::json!({
            "size": c.size,
            "consistency": store.log().consistency_proof(c.size, kept.size)?
                .iter().map(|h| B64.encode(h)).collect::<Vec<_>>(),
        }),
        None => serde_json::Value::Null,
    };
    let officers: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e["officer"].as_str().map(str::to_owned))
        .collect();
    let metadata = serde_json::json!({
        "request": {"id": req.id, "reason": req.reason, "requester": req.requester, "approved_by": plan.approver,
                    "approved_at": req.approved_at, "outsider": req.outsider, "case": req.case},
        "exported_by": id.actor(), "exported_at": vigil_store::now_rfc3339(),
        "officers": officers, "clips": entries,
        "checkpoint": {"origin": checkpoint["origin"], "size": checkpoint["size"], "root": checkpoint["root"]},
        "witnessed": witnessed,
        "verify": "b3sum -c MANIFEST.b3 && sha256sum -c MANIFEST.sha256; vigil verify-export . --key KEY (the station key you keep) [--witness VKEY (the agency centre's witness key)]",
    });
    let metadata = serde_json::to_string_pretty(&metadata)
        .map_err(|e| ServiceError::bad_request(e.to_string()))?;
    let public = format!("{}\n", key.to_key_string());
    let readme = readme(req, entries.len(), bytes, &checkpoint, zone);
    for (name, text) in MANIFESTS
        .iter()
        .zip([&readme, &b3, &sha, &metadata, &kept.note, &public])
    {
        add(&mut tar, name, text.len() as u64, text.as_bytes())?;
    }
    if let Some(c) = &cosigned {
        add(&mut tar, COSIGNED, c.note.len() as u64, c.note.as_bytes())?;
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(io("ending the package"))?;
    store.log_mut().record_event(
        &id.actor(),
        "request.exported",
        &req.id,
        &serde_json::json!({"clips": req.clips.len(), "bytes": bytes}),
    )?;
    Ok(serde_json::json!({"request": req.id, "clips": req.clips.len(), "bytes": bytes}))
}

/// The package's `README.txt`: what it holds and how to check it with
/// standard tools, in English and in Chinese.
fn readme(
    req: &Request,
    clips: usize,
    bytes: u64,
    checkpoint: &serde_json::Value,
    zone: &vigil_i18n::Zone,
) -> String {
    let (origin, size) = (
        checkpoint["origin"].as_str().unwrap_or_default(),
        checkpoint["size"].to_string(),
    );
    let outsider = req.outsider.as_deref().unwrap_or("-");
    let size_h = crate::reports::human_bytes(bytes);
    let z = zone.name();
    format!(
        "Vigil evidence package - request {id}\n\
         ==========================================\n\
         \n\
         For: {outsider}. Why: {reason}.\n\
         Station: {origin}. {clips} recording(s), {size_h}.\n\
         \n\
         What is in it\n\
         - clips/: the original recordings, byte for byte, named\n\
           OFFICER_RECORDER_START_ORIGINAL-NAME, START in {z} time\n\
           (YYYYMMDDTHHMMSS; \"undated\" when the recorder had no usable clock).\n\
         - MANIFEST.b3, MANIFEST.sha256: each recording's BLAKE3 and SHA-256.\n\
         - metadata.json: the request and its approval, and for each recording\n\
           its officer, recorder, times, place, matter, interruptions with their\n\
           explanations, and its custody trail from the station's audit log.\n\
         - CHECKPOINT: the station's signed checkpoint of its audit log\n\
           ({size} rows); station.pub: the key it was signed with.\n\
         - COSIGNED (when the station sends its log to an agency centre): the\n\
           newest checkpoint the centre's witness cosigned; metadata.json's\n\
           \"witnessed\" proves CHECKPOINT extends it.\n\
         \n\
         How to check it without Vigil\n\
         1. In this directory: b3sum -c MANIFEST.b3 and sha256sum -c MANIFEST.sha256.\n\
            Every line must say OK: the recordings are the ones the station stored.\n\
         2. Compare station.pub with the station key the agency keeps on paper;\n\
            CHECKPOINT is signed with it (a C2SP signed note).\n\
         3. With Vigil: vigil verify-export . --key KEY checks the manifests, the\n\
            checkpoint's signature and every custody row's inclusion proof;\n\
            --witness VKEY also the centre's cosignature on COSIGNED.\n\
         \n\
         Vigil 证据包 - 调取申请 {id}\n\
         ==========================================\n\
         \n\
         接收单位：{outsider}。事由：{reason}。\n\
         工作站：{origin}。共 {clips} 条记录，{size_h}。\n\
         \n\
         包内容\n\
         - clips/：原始音视频文件，逐字节一致，文件名为\n\
           执法人员编号_记录仪编号_开始时间_原文件名，开始时间为 {z} 时间\n\
           （YYYYMMDDTHHMMSS；记录仪无可用时钟时为 \"undated\"）。\n\
         - MANIFEST.b3、MANIFEST.sha256：每个文件的 BLAKE3 与 SHA-256 值。\n\
         - metadata.json：调取申请及其审批，以及每条记录的执法人员、记录仪、时间、\n\
           地点、事项、中断及其说明，和取自工作站审计日志的保管记录。\n\
         - CHECKPOINT：工作站对审计日志的签名检查点（{size} 条）；\n\
           station.pub：签名所用的工作站公钥。\n\
         - COSIGNED（工作站向机构中心报送日志时）：中心见证方联署的最新检查点；\n\
           metadata.json 的 \"witnessed\" 证明 CHECKPOINT 是其延续。\n\
         \n\
         不使用 Vigil 的核对方法\n\
         1. 在本目录运行：b3sum -c MANIFEST.b3 与 sha256sum -c MANIFEST.sha256，\n\
            每行均应为 OK：文件即工作站所存的原始文件。\n\
         2. 将 station.pub 与本单位纸面保存的工作站公钥比对；CHECKPOINT 由其签名\n\
            （C2SP 签名注记格式）。\n\
         3. 使用 Vigil：vigil verify-export . --key 公钥，核对清单、检查点签名及\n\
            每条保管记录的包含证明；加 --witness 见证公钥 同时核对 COSIGNED 的联署。\n",
        id = req.id,
        reason = req.reason,
    )
}

/// Writes an ISO 9660 image (Rock Ridge and Joliet names) of the unpacked
/// package in `dir` to `iso`, labelled after the request, with xorriso.
pub fn make_iso(
    dir: &std::path::Path,
    iso: &std::path::Path,
    label: &str,
) -> Result<(), ServiceError> {
    let status = std::process::Command::new("xorriso")
        .args(["-as", "mkisofs", "-quiet", "-r", "-J", "-V"])
        .arg(safe(label).to_uppercase())
        .arg("-o")
        .arg(iso)
        .arg(dir)
        .status()
        .map_err(|e| {
            ServiceError::bad_request(format!("running xorriso (apt-get install xorriso): {e}"))
        })?;
    if !status.success() {
        return Err(ServiceError::bad_request(format!(
            "xorriso failed making {}: {status}",
            iso.display()
        )));
    }
    Ok(())
}

/// Makes the package of `plan` as an ISO image in the directory `work`
/// (emptied by the caller afterwards): the tar stream is unpacked there
/// and imaged; returns the image's path.
pub fn iso_in(
    station: &mut Station,
    id: &Identity,
    plan: &Plan,
    zone: &vigil_i18n::Zone,
    work: &std::path::Path,
) -> Result<std::path::PathBuf, ServiceError> {
    let io = |what: &str, e: std::io::Error| ServiceError::bad_request(format!("{what}: {e}"));
    let tar_path = work.join("package.tar");
    let mut file = std::fs::File::create(&tar_path).map_err(|e| io("writing the package", e))?;
    write(station, id, plan, zone, &mut file)?;
    drop(file);
    let dir = work.join("package");
    let mut archive = tar::Archive::new(
        std::fs::File::open(&tar_path).map_err(|e| io("reading the package", e))?,
    );
    archive
        .unpack(&dir)
        .map_err(|e| io("unpacking the package", e))?;
    std::fs::remove_file(&tar_path).map_err(|e| io("removing the tar", e))?;
    let iso = work.join("package.iso");
    make_iso(&dir, &iso, plan.request())?;
    Ok(iso)
}
