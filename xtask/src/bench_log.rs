//! `cargo xtask bench-log [--rows N]`: the transparency-log core (issue 12,
//! `vigil-tlog`) at audit-log scale: appending N leaves (default 1,000,000,
//! each a 200-byte row as the audit log holds them), signing a checkpoint,
//! and the size and verification time of inclusion and consistency proofs.
//! Release build of the library, in this process. Results to stdout and
//! `target/bench/log.json`. (The tree is not yet the store's audit log: the
//! SQLite append is not in these figures.)

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
    let doc = serde_json::json!({
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
