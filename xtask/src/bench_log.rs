//! `cargo xtask bench-log [--rows N]`: the transparency-log core
//! (`vigil-tlog`) at audit-log scale: appending N leaves (default 1,000,000,
//! each a 200-byte row as the audit log holds them), signing a checkpoint,
//! and the size and verification time of inclusion and consistency proofs.
//! Then the same in a real store (`vigil-store`, SQLite WAL with
//! synchronous=FULL): N audit rows appended with their Merkle leaves and
//! subtrees in transactions of 1,000 (as an ingest batches them), the
//! checkpoint signed over them, proofs made from the stored tree; and
//! durable single-row commits through the store's API, each with its
//! signed checkpoint (fsync-bound). Optimised builds of the library and
//! SQLite, in this process. Results to stdout and `target/bench/log.json`.

use std::time::Instant;

use anyhow::{Context, Result};
use vigil_tlog::{note, Leaves, Levels};

use crate::root;

pub fn run(args: &[String]) -> Result<()> {
    let mut rows: u64 = 1_000_000;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => rows = it.next().context("--rows N")?.parse()?,
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    anyhow::ensure!(rows >= 2, "--rows must be at least 2");
    let mut row = vec![b'x'; 200];
    let mut tree = Levels::new();
    let start = Instant::now();
    for i in 0..rows {
        row[..8].copy_from_slice(&i.to_be_bytes());
        tree.push(vigil_tlog::leaf_hash(&row));
    }
    let append = start.elapsed();
    let rate = rows as f64 / append.as_secs_f64();
    let t = Instant::now();
    let root_hash = vigil_tlog::root(&tree, rows);
    let root_time = t.elapsed();
    let signer = note::Signer::from_seed("vigil.bench/station-1", [42; 32])?;
    let cp = note::Checkpoint {
        origin: "vigil.bench/station-1".into(),
        size: rows,
        root: root_hash,
    };
    let t = Instant::now();
    let n = 1000u32;
    let mut signed = String::new();
    for _ in 0..n {
        signed = cp.sign(&signer)?;
    }
    let sign = t.elapsed() / n;
    let verifier = signer.verifier();
    let t = Instant::now();
    for _ in 0..n {
        note::Checkpoint::open(&signed, &verifier)?;
    }
    let open = t.elapsed() / n;
    // Proofs for spread-out leaves and earlier sizes.
    let samples: Vec<u64> = (0..1000).map(|k| (k * 7919 * 131) % rows).collect();
    let (mut inc_len, mut inc_make, mut inc_check) = (0usize, 0f64, 0f64);
    for &i in &samples {
        let t = Instant::now();
        let p = vigil_tlog::inclusion_proof(&tree, i, rows)?;
        inc_make += t.elapsed().as_secs_f64();
        inc_len = inc_len.max(p.len());
        let t = Instant::now();
        vigil_tlog::verify_inclusion(i, rows, &tree.leaf(i), &p, &root_hash)?;
        inc_check += t.elapsed().as_secs_f64();
    }
    let (mut con_len, mut con_make, mut con_check) = (0usize, 0f64, 0f64);
    for &m in &samples {
        let old = m.max(1);
        let old_root = vigil_tlog::root(&tree, old);
        let t = Instant::now();
        let p = vigil_tlog::consistency_proof(&tree, old, rows)?;
        con_make += t.elapsed().as_secs_f64();
        con_len = con_len.max(p.len());
        let t = Instant::now();
        vigil_tlog::verify_consistency(old, rows, &old_root, &root_hash, &p)?;
        con_check += t.elapsed().as_secs_f64();
    }
    let k = samples.len() as f64;
    let us = |s: f64| s / k * 1e6;
    println!(
        "{rows} leaves appended in {:.3} s: {rate:.0} leaves/s (leaf hash + tree levels)",
        append.as_secs_f64()
    );
    println!(
        "root of {rows} leaves: {:.1} µs",
        root_time.as_secs_f64() * 1e6
    );
    println!(
        "checkpoint: sign {:.1} µs, verify {:.1} µs ({} bytes)",
        sign.as_secs_f64() * 1e6,
        open.as_secs_f64() * 1e6,
        signed.len()
    );
    println!("inclusion proof: at most {inc_len} hashes ({} bytes), made in {:.1} µs, verified in {:.1} µs", inc_len * 32, us(inc_make), us(inc_check));
    println!("consistency proof: at most {con_len} hashes ({} bytes), made in {:.1} µs, verified in {:.1} µs", con_len * 32, us(con_make), us(con_check));
    let store = store_figures(rows)?;
    let doc = serde_json::json!({
        "store": store,
        "rows": rows, "append_s": append.as_secs_f64(), "leaves_per_s": rate,
        "checkpoint_sign_us": sign.as_secs_f64() * 1e6, "checkpoint_verify_us": open.as_secs_f64() * 1e6,
        "inclusion": {"max_hashes": inc_len, "make_us": us(inc_make), "verify_us": us(inc_check)},
        "consistency": {"max_hashes": con_len, "make_us": us(con_make), "verify_us": us(con_check)},
    });
    std::fs::create_dir_all(root().join("target/bench"))?;
    std::fs::write(
        root().join("target/bench/log.json"),
        serde_json::to_string_pretty(&doc)?,
    )?;
    Ok(())
}

/// The audit log in a real store: batched append rate, durable per-row
/// commits, and proofs from the stored tree.
fn store_figures(rows: u64) -> Result<serde_json::Value> {
    let dir = root().join("target/bench/log-store");
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = vigil_store::Store::open(&dir)?;
    // Durable commits through the store's API: one row, one fsync, one
    // signed checkpoint each.
    let single = 2000u64;
    let t = Instant::now();
    for i in 0..single {
        store.log_mut().record_event(
            "bench",
            "bench.event",
            &format!("s{i}"),
            &serde_json::json!({"i": i}),
        )?;
    }
    let single_rate = single as f64 / t.elapsed().as_secs_f64();
    drop(store);
    // Batched: rows of an ingest's size in transactions of 1,000.
    let mut conn = rusqlite::Connection::open(dir.join(vigil_store::INDEX_FILE))?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA synchronous = FULL;")?;
    let detail = serde_json::json!({
        "path": "DCIM/100MEDIA/20261202_083015_0001.MP4", "device": "BWC0042", "officer": "1042",
        "blake3": "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        "bytes": 734003200u64, "status": "ok",
    });
    let batched = rows.saturating_sub(single);
    let t = Instant::now();
    let mut done = 0;
    while done < batched {
        let tx = conn.transaction()?;
        for _ in 0..1000.min(batched - done) {
            vigil_store::audit::append(
                &tx,
                "2026-12-02T08:30:15.000Z",
                "vigil",
                "clip.ingested",
                "c0123456789abcdef0123",
                &detail,
            )?;
            done += 1;
        }
        tx.commit()?;
    }
    let batched_s = t.elapsed().as_secs_f64();
    drop(conn);
    let t = Instant::now();
    let store = vigil_store::Store::open(&dir)?; // signs the checkpoint
    let open_sign = t.elapsed();
    let size = store.log().log_size()?;
    let kept = store.log().checkpoint()?.context("a checkpoint")?;
    let cp = note::Checkpoint::open(&kept.note, &store.log().station_key()?)?;
    let (mut inc, mut con, mut inc_len, mut con_len) = (0f64, 0f64, 0, 0);
    let samples: Vec<u64> = (1..=200).map(|k| (k * 7919 * 131) % size + 1).collect();
    for &s in &samples {
        let t = Instant::now();
        let p = store.log().inclusion_proof(s, size)?;
        inc += t.elapsed().as_secs_f64();
        inc_len = inc_len.max(p.len());
        let t = Instant::now();
        let p = store.log().consistency_proof(s, size)?;
        con += t.elapsed().as_secs_f64();
        con_len = con_len.max(p.len());
    }
    let k = samples.len() as f64;
    let bytes = std::fs::metadata(dir.join(vigil_store::INDEX_FILE))?.len();
    let rate = batched as f64 / batched_s;
    println!("store: {batched} audit rows appended with their Merkle tree in {batched_s:.1} s: {rate:.0} rows/s (transactions of 1,000, WAL, synchronous=FULL)");
    println!(
        "store: {single_rate:.0} durable single-row commits/s, each with its signed checkpoint"
    );
    println!(
        "store: open and sign a checkpoint of {size} rows: {:.1} ms; root verifies: {}",
        open_sign.as_secs_f64() * 1e3,
        cp.size == size
    );
    println!("store: proofs from the stored tree: inclusion ≤ {inc_len} hashes in {:.0} µs, consistency ≤ {con_len} hashes in {:.0} µs; index {:.0} MiB", inc / k * 1e6, con / k * 1e6, bytes as f64 / 1048576.0);
    let doc = serde_json::json!({
        "rows": size, "batched_rows_per_s": rate, "single_commits_per_s": single_rate,
        "open_and_sign_ms": open_sign.as_secs_f64() * 1e3,
        "inclusion_make_us": inc / k * 1e6, "consistency_make_us": con / k * 1e6,
        "index_bytes": bytes,
    });
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(doc)
}
