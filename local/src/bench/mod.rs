//! `make bench`: cold starts, memory and size of every function, and a
//! Python peer of create-intent for comparison, written to `BENCHMARKS.md`.
//! Runs inside the stack `local-stack bench` starts (DynamoDB Local and the
//! SES emulator), with the configuration of `.env.example`.
//!
//! Two variables serve a trial run that must not overwrite the report:
//! `BENCH_BIN_DIR`, the functions' binaries (default `target/release`; a
//! debug build measures nothing worth keeping but builds in a fraction of
//! the time), and `BENCH_OUT`, the report's path (default `BENCHMARKS.md`).
//! `BENCH_TRACE=1` prints each cold start's calls as the proxies timed them
//! (offsets from the event's handover), to see where a first invoke goes.

pub mod calls;
pub mod fixtures;
pub mod floors;
pub mod proxy;
pub mod report;
pub mod runtime_api;
pub mod waiting;
pub mod warm;

use std::path::{Path, PathBuf};
use std::process::Command;

use payment_shared::app::App;
use payment_shared::routes;

use crate::{setup, template};
use report::{Machine, Row};

/// Cold starts per function.
pub const RUNS: usize = 20;

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| format!("{program}: unknown"))
}

fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        arch: std::env::consts::ARCH.into(),
        kernel: format!("Linux {}", command_line("uname", &["-r"])),
        rustc: command_line("rustc", &["-V"]),
        python: command_line("python3", &["-V"]),
        date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    }
}

/// The sample event of `binary`, as `events/<binary>.json` holds it
/// (`events/background/` for the functions AWS feeds rather than API
/// Gateway).
fn sample(root: &Path, binary: &str) -> Result<String, String> {
    let dir = if is_background(binary) {
        root.join("events/background")
    } else {
        root.join("events")
    };
    let path = dir.join(format!("{binary}.json"));
    std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
}

fn is_background(binary: &str) -> bool {
    routes::BACKGROUND_BINARIES.contains(&binary)
}

fn size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// The arm64 bootstrap of `binary`: `sam build`'s, else cargo-lambda's.
fn arm64_bootstrap(root: &Path, logical_id: Option<&str>, binary: &str) -> Option<u64> {
    logical_id
        .and_then(|id| size(&root.join(".aws-sam/build").join(id).join("bootstrap")))
        .or_else(|| size(&root.join("target/lambda").join(binary).join("bootstrap")))
}

fn tree_bytes(path: &Path) -> u64 {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| tree_bytes(&e.path()))
                    .sum()
            })
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// The peer's handler plus what it imports, as installed in its virtualenv:
/// everything in site-packages but the installer's own tools.
fn python_peer_bytes(python: &str, peer_dir: &Path) -> Option<u64> {
    let site = command_line(
        python,
        &[
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
    );
    let entries = std::fs::read_dir(&site).ok()?;
    let installer = [
        "pip",
        "setuptools",
        "_distutils_hack",
        "pkg_resources",
        "wheel",
    ];
    let packages: u64 = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_lowercase();
            !installer
                .iter()
                .any(|tool| name == *tool || name.starts_with(&format!("{tool}-")))
        })
        .map(|e| tree_bytes(&e.path()))
        .sum();
    Some(packages + tree_bytes(&peer_dir.join("create_intent.py")))
}

/// True when `python` can run the peer (its runtime is installed).
fn peer_runs(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import awslambdaric, boto3"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One cold start's calls, each at its offset into the first invoke.
fn trace(
    name: &str,
    run: usize,
    start: &runtime_api::ColdStart,
    waited: &waiting::Waited,
    calls: &[calls::Call],
) -> String {
    // Hundredths of a millisecond, in integers as the report writes them.
    let ms = |d: std::time::Duration| {
        let hundredths = d.as_micros() / 10;
        format!("{}.{:02}", hundredths / 100, hundredths % 100)
    };
    let mut line = format!(
        "trace {name} #{run}: first invoke {} ms, waiting {}, ours {}:",
        ms(start.first_invoke),
        ms(waited.waiting),
        ms(waited.ours())
    );
    for call in calls {
        line.push_str(&format!(
            " {} +{}..{};",
            call.kind,
            ms(call.start.saturating_duration_since(start.window.0)),
            ms(call.end.saturating_duration_since(start.window.0))
        ));
    }
    line
}

async fn measure(
    name: &str,
    program: &Path,
    args: &[&str],
    dir: &Path,
    proxies: &proxy::Proxies,
    events: impl Fn(usize) -> Result<String, String>,
) -> Row {
    let mut row = Row {
        name: name.to_owned(),
        arm64_bytes: None,
        native_bytes: None,
        starts: Vec::new(),
        failures: Vec::new(),
        calls: None,
        waited: Vec::new(),
        waited_on: Vec::new(),
    };
    for run in 0..RUNS {
        let outcome = match events(run) {
            Ok(event) => {
                // Whatever an earlier process left in flight is not this run's.
                proxies.take();
                runtime_api::cold_start(program, args, dir, proxies.env(), &event).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(start) => {
                let mut calls = proxies.take();
                calls.retain(|c| c.end > start.window.0 && c.start < start.window.1);
                calls.sort_by_key(|c| c.start);
                let spans: Vec<_> = calls.iter().map(|c| (c.start, c.end)).collect();
                let waited = waiting::waited(start.window, &spans);
                if std::env::var_os("BENCH_TRACE").is_some() {
                    eprintln!("{}", trace(name, run, &start, &waited, &calls));
                }
                row.waited.push(waited);
                if run == 0 {
                    row.waited_on = calls;
                }
                row.starts.push(start);
            }
            Err(e) => {
                row.failures.push(e);
                break;
            }
        }
    }
    row
}

/// Measures every function, then the Python peer, and writes `BENCHMARKS.md`.
pub async fn run(root: &Path) -> Result<(), String> {
    let app = App::from_env()
        .await
        .map_err(|e| format!("configuration: {e}"))?;
    let tokens = setup::prepare(&app, true).await?;
    let functions = template::load(&root.join("template.yaml")).map_err(|e| e.to_string())?;
    let bin_dir = std::env::var("BENCH_BIN_DIR")
        .ok()
        .filter(|d| !d.is_empty())
        .map_or_else(|| root.join("target/release"), |d| root.join(d));
    let out = std::env::var("BENCH_OUT")
        .ok()
        .filter(|o| !o.is_empty())
        .map_or_else(|| root.join("BENCHMARKS.md"), |o| root.join(o));
    let mut api = warm::LocalApi::start(root).await?;
    let proxies = proxy::Proxies::start().await?;
    let mut rows = Vec::new();
    for binary in routes::BINARIES.iter().chain(routes::BACKGROUND_BINARIES) {
        let program = bin_dir.join(binary);
        if !program.is_file() {
            return Err(format!(
                "{} is missing: build the functions first (cargo build --release -p functions)",
                program.display()
            ));
        }
        eprintln!("bench: {binary}");
        let mut events = fixtures::events(
            &mut api.client,
            &tokens,
            binary,
            &sample(root, binary)?,
            RUNS + 1,
        )
        .await?;
        // The same request once more through the local API, whose DynamoDB
        // client counts the calls (no request reaches a background function).
        let counted = match events.pop() {
            Some(_) if is_background(binary) => None,
            Some(event) => Some(api.client.replay(&event).await?.calls),
            None => return Err(format!("no event for {binary}")),
        };
        let mut row = measure(binary, &program, &[], root, &proxies, |run| {
            events
                .get(run)
                .cloned()
                .ok_or_else(|| format!("no event for run {run}"))
        })
        .await;
        let logical_id = functions
            .iter()
            .find(|f| f.binary == *binary)
            .map(|f| f.logical_id.as_str());
        row.arm64_bytes = arm64_bootstrap(root, logical_id, binary);
        row.native_bytes = size(&program);
        row.calls = counted;
        rows.push(row);
    }
    let peer_dir: PathBuf = root.join("bench/python-peer");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    // Optional: a trial run without the peer's virtualenv still measures ours.
    let peer = if peer_runs(&python) {
        eprintln!("bench: the Python peer of intents-create");
        let mut peer = measure(
            "python peer of intents-create",
            Path::new(&python),
            &["-m", "awslambdaric", "create_intent.handler"],
            &peer_dir,
            &proxies,
            |_| sample(root, "intents-create"),
        )
        .await;
        peer.native_bytes = python_peer_bytes(&python, &peer_dir);
        Some(peer)
    } else {
        eprintln!("bench: {python} cannot import awslambdaric and boto3: no Python peer");
        None
    };
    drop(proxies);
    eprintln!("bench: warm latency of the main flows");
    let warm = warm::run(&mut api, &tokens).await;
    let kinds: Vec<_> = rows
        .iter()
        .filter_map(|r| r.calls.as_ref())
        .chain(warm.iter().flat_map(|w| w.flows.iter().map(|f| &f.calls)))
        .flatten()
        .map(|c| c.kind.clone())
        .collect();
    eprintln!("bench: the floor of each call type");
    let floors = floors::measure(&api.sdk, &api.table, kinds).await;
    api.stop().await;
    let (warm, floors) = (warm?, floors?);
    let mut text = report::render(&machine(), &rows, peer.as_ref(), RUNS, &floors);
    // A trial run's report must not pass for the budgets' evidence.
    if bin_dir != root.join("target/release") {
        if let Some(end) = text.find("\n\n") {
            text.insert_str(
                end + 2,
                &format!(
                    "> Trial run: the functions measured are those of `{}` (BENCH_BIN_DIR), not the release \
                     build; its timings, memory and sizes are not the budgets'.\n\n",
                    bin_dir.display()
                ),
            );
        }
    }
    text.push_str(&report::render_warm(&warm, &floors));
    // Each endpoint's DynamoDB calls and why, one heading level down.
    if let Ok(calls) = std::fs::read_to_string(root.join("bench/dynamodb-calls.md")) {
        text.push('\n');
        for line in calls.lines() {
            if line.starts_with('#') {
                text.push('#');
            }
            text.push_str(line);
            text.push('\n');
        }
    }
    // What a person found out about the rows still over budget, kept with
    // the code (bench/budgets.md) and carried into every report.
    if let Ok(notes) = std::fs::read_to_string(root.join("bench/budgets.md")) {
        text.push('\n');
        text.push_str(&notes);
    }
    std::fs::write(&out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!("bench: wrote {}", out.display());
    Ok(())
}
