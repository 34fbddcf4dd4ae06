//! Crash safety of `vigil ingest` (brief rule 1): the real process is
//! SIGKILLed at every durable step of every file (fail points) and at random
//! moments from outside; after each kill the index holds no clip without a
//! durable object, and running the same command again stores every file
//! exactly once with `vigil verify` clean.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use vigil_e2e::{blake3_file, describe, files_under, Vigil};

/// Files of awkward sizes: empty, tiny, exactly one chunk, several chunks
/// ending mid-chunk, and two with identical content.
fn recorder(v: &Vigil) -> std::path::PathBuf {
    let rec = v.scratch("recorder");
    std::fs::create_dir_all(rec.join("DCIM")).unwrap();
    let pattern = |n: usize, seed: u8| -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
    };
    std::fs::write(rec.join("empty.log"), b"").unwrap();
    std::fs::write(rec.join("DCIM/a.log"), pattern(1000, 1)).unwrap();
    std::fs::write(rec.join("DCIM/b.bin"), pattern(1 << 20, 2)).unwrap();
    std::fs::write(rec.join("DCIM/c.bin"), pattern((3 << 20) + 12345, 3)).unwrap();
    std::fs::write(rec.join("DCIM/d.bin"), pattern((2 << 20) + 1, 4)).unwrap();
    std::fs::write(rec.join("DCIM/copy-of-a.log"), pattern(1000, 1)).unwrap();
    rec
}

/// What must hold at any moment, even right after a kill: every clip row's
/// object exists with the indexed content, and no temp file looks complete.
fn assert_consistent(v: &Vigil, when: &str) {
    if !v.store().join("vigil.db").exists() {
        return;
    }
    let db = v.db();
    let rows: Vec<(String, String, i64)> = db
        .prepare(
            "SELECT c.id, o.blake3, o.bytes FROM clips c JOIN objects o ON o.blake3 = c.object",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (clip, b3, bytes) in rows {
        let obj = v.store().join("objects").join(&b3[..2]).join(&b3);
        let meta = std::fs::metadata(&obj)
            .unwrap_or_else(|e| panic!("{when}: clip {clip} has no object: {e}"));
        assert_eq!(meta.len() as i64, bytes, "{when}: clip {clip}");
        assert_eq!(blake3_file(&obj), b3, "{when}: clip {clip}");
    }
    // Any object file present is complete: its name is its hash.
    for obj in v.object_files() {
        assert_eq!(
            blake3_file(&obj),
            obj.file_name().unwrap().to_string_lossy(),
            "{when}: half-written object {obj:?}"
        );
    }
}

/// After a clean re-run: every source file exactly once, hashes equal,
/// nothing left over, verify clean.
fn assert_complete(v: &Vigil, rec: &Path, when: &str) {
    let out = v.run(&[
        "ingest",
        rec.to_str().unwrap(),
        "--device",
        "BWC9",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{when}: re-run failed: {}",
        describe(&out)
    );
    let sources = files_under(rec);
    let db = v.db();
    let clips: Vec<(Vec<u8>, String)> = db
        .prepare("SELECT path, object FROM clips")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(clips.len(), sources.len(), "{when}: one clip per file");
    for (rel, path) in &sources {
        let matching: Vec<_> = clips.iter().filter(|(p, _)| p == rel.as_bytes()).collect();
        assert_eq!(matching.len(), 1, "{when}: {rel} stored exactly once");
        assert_eq!(matching[0].1, blake3_file(path), "{when}: {rel}");
    }
    let distinct: BTreeSet<String> = sources.iter().map(|(_, p)| blake3_file(p)).collect();
    assert_eq!(
        v.object_files().len(),
        distinct.len(),
        "{when}: one object per distinct content"
    );
    assert!(
        std::fs::read_dir(v.store().join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "{when}: temp files left"
    );
    let verify = v.json(&["verify", "--json"]);
    assert_eq!(verify["ok"], true, "{when}: {verify:#}");
    assert!(
        verify["warnings"].as_array().unwrap().is_empty(),
        "{when}: {verify:#}"
    );
}

fn kill_at(point: &str, hit: u32) -> bool {
    let v = Vigil::new();
    let rec = recorder(&v);
    let out = v
        .cmd()
        .args([
            "ingest",
            rec.to_str().unwrap(),
            "--device",
            "BWC9",
            "--json",
        ])
        .env("VIGIL_FAILPOINT", format!("{point}:{hit}"))
        .output()
        .unwrap();
    let when = format!("killed at {point}:{hit}");
    let killed = out.status.signal() == Some(libc::SIGKILL);
    if !killed {
        // The run had fewer hits than that: it must have finished cleanly.
        assert!(out.status.success(), "{when}: {}", describe(&out));
    }
    assert_consistent(&v, &when);
    assert_complete(&v, &rec, &when);
    killed
}

#[test]
fn killed_mid_copy_at_every_chunk_of_every_file() {
    // 0 + 1 + 1 + 4 + 3 + 1 = 10 chunk hits over the six files.
    let mut kills = 0;
    for hit in 1..=11 {
        kills += u32::from(kill_at("object.chunk", hit));
    }
    assert_eq!(kills, 10, "every chunk of every file was a kill point");
}

#[test]
fn killed_between_the_durable_steps_of_every_file() {
    // Six files; five distinct contents, so five renames (the copy of a.log
    // is deduplicated and never renamed into place).
    for (point, hits) in [
        ("object.synced", 6),
        ("object.renamed", 5),
        ("index.before_commit", 6),
        ("index.committed", 6),
    ] {
        let mut kills = 0;
        for hit in 1..=hits + 1 {
            kills += u32::from(kill_at(point, hit));
        }
        assert_eq!(
            kills, hits,
            "{point}: one kill point per file that reaches it"
        );
    }
}

#[test]
fn killed_from_outside_at_random_moments() {
    let v = Vigil::new();
    let rec = recorder(&v);
    // More data, so a kill lands mid-transfer.
    for i in 0..8 {
        let data: Vec<u8> = (0..(5 << 20))
            .map(|j: usize| (j as u8) ^ (i as u8 * 17))
            .collect();
        std::fs::write(rec.join(format!("DCIM/big{i}.bin")), data).unwrap();
    }
    // Deterministic pseudo-random delays, so a failure can be replayed.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..8 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_millis(x % 400);
        let mut child = v
            .cmd()
            .args([
                "ingest",
                rec.to_str().unwrap(),
                "--device",
                "BWC9",
                "--json",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert_consistent(&v, &format!("round {round}, killed after {delay:?}"));
    }
    assert_complete(&v, &rec, "after 8 random kills");
}
