//! Project automation, run as `cargo xtask <task>`:
//!
//! - `test`: install what is missing, make fixtures, then fmt check, clippy
//!   with warnings denied, and every test (what CI runs);
//! - `demo`: ingest the fixture recorders into a store under `target/` and
//!   print the ingest report;
//! - `bench`: the ingest benchmark (see `bench.rs`);
//! - `fixtures`: make the media fixtures.

mod bench;
mod deps;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    match task {
        "test" => test(),
        "demo" => demo(),
        "bench" => bench::run(&args[1..]),
        "bench-dock" => bench::dock(&args[1..]),
        "fuzz" => fuzz(&args[1..]),
        "fixtures" => {
            deps::ensure()?;
            fixtures()
        }
        _ => {
            eprintln!("usage: cargo xtask <test|demo|bench|fixtures>");
            eprintln!("  test      install dependencies, make fixtures, fmt, clippy, all tests");
            eprintln!("  demo      ingest the fixture recorders and print the report");
            eprintln!("  bench     ingest benchmark: vigil vs cp -r vs cp+b3sum+sha256sum+ffprobe");
            eprintln!("  bench-dock  dock transfer benchmark: payload efficiency and throughput over a pty");
            eprintln!("  fuzz [SECONDS]  fuzz the dock frame decoder (cargo-fuzz, default 60 s)");
            eprintln!("  fixtures  make the media fixtures");
            if task == "help" {
                Ok(())
            } else {
                bail!("unknown task {task:?}")
            }
        }
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent")
        .to_owned()
}

/// Runs a command in the workspace root, failing with its name if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: {shown}");
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    let status = cmd.status().with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed: {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn fixtures() -> Result<()> {
    run(Command::new("bash").arg(root().join("fixtures/make-fixtures.sh")))
}

fn fuzz(args: &[String]) -> Result<()> {
    let secs: u64 = args.first().map(|s| s.parse()).transpose()?.unwrap_or(60);
    if Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        run(cargo().args(["install", "--locked", "cargo-fuzz"]))?;
    }
    // cargo-fuzz needs unstable flags; the stable toolchain allows them with
    // RUSTC_BOOTSTRAP (no nightly can be fetched here).
    run(Command::new("cargo")
        .current_dir(root().join("firmware-bridge/proto/fuzz"))
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "frame_decoder", "--"])
        .arg(format!("-max_total_time={secs}"))
        .arg("-print_final_stats=1"))
}

fn test() -> Result<()> {
    deps::ensure()?;
    fixtures()?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args(["build", "--workspace", "--bins"]))?;
    run(cargo().args(["test", "--workspace"]))?;
    Ok(())
}

fn demo() -> Result<()> {
    deps::ensure()?;
    fixtures()?;
    run(cargo().args(["build", "--release", "--quiet", "-p", "vigil-cli"]))?;
    let vigil = root().join("target/release/vigil");
    let store = root().join("target/demo-store");
    if store.exists() {
        // Objects are read-only; make them removable first.
        run(Command::new("chmod").args(["-R", "u+w"]).arg(&store))?;
        std::fs::remove_dir_all(&store).with_context(|| format!("removing {}", store.display()))?;
    }
    let vigil_at = |args: &[&str]| -> Result<()> {
        let mut c = Command::new(&vigil);
        c.arg("--store").arg(&store).args(args);
        run(&mut c)
    };
    let fixtures = root().join("fixtures/generated");
    let (a, seq) = (fixtures.join("recorder-a"), fixtures.join("recorder-seq"));
    let a = a.to_str().context("fixture path is UTF-8")?;
    let seq = seq.to_str().context("fixture path is UTF-8")?;
    println!("== Recorder BWC001 (officer 1001): clips, a photo, audio, a GPS log, a clip cut off mid-write");
    vigil_at(&["ingest", a, "--device", "BWC001", "--officer", "1001"])?;
    println!("\n== The same recorder again: nothing new is stored");
    vigil_at(&["ingest", a, "--device", "BWC001", "--officer", "1001"])?;
    println!("\n== Recorder BWC002 (officer 1002): segment files with a pause and a missing file");
    vigil_at(&["ingest", seq, "--device", "BWC002", "--officer", "1002"])?;
    println!("\n== What is stored");
    vigil_at(&["clips"])?;
    println!("\n== Interruptions that need an explanation (R7, R8)");
    vigil_at(&["gaps"])?;
    println!("\n== Verifying every object, clip and the audit chain");
    vigil_at(&["verify"])?;
    println!(
        "\nThe store is at {} (index: vigil.db, inspect with sqlite3).",
        store.display()
    );
    Ok(())
}
