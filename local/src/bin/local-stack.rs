//! The local stack's driver, run from the repository root:
//!
//! - `local-stack run`: `make run` (see `local_gateway::make_run`);
//! - `local-stack test [-- ARGS]`: `make test`'s test run on a private stack
//!   (see `local_gateway::make_test`); ARGS go to `cargo test`;
//! - `local-stack bench`: `make bench`'s measurements on a private stack (see
//!   `local_gateway::make_bench`);
//! - `local-stack env`: the configuration `make run` gives the functions (and
//!   writes to `.stack/lambda.env` for `cargo lambda watch`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use local_gateway::stop::Stop;
use local_gateway::{make_bench, make_run, make_test};

const USAGE: &str = "usage: local-stack run | test [-- CARGO TEST ARGS] | bench | env";

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn run(root: &Path, args: &[String]) -> Result<u8, String> {
    match args.first().map(String::as_str) {
        Some("run") if args.len() == 1 => {
            // Before the runtime: the environment is only set while we have one thread.
            let functions = make_run::configure(root)?;
            local_gateway::init_logging();
            runtime()?.block_on(make_run::run(root, &functions))?;
            Ok(0)
        }
        Some("test") => {
            let rest = match args.get(1).map(String::as_str) {
                Some("--") => &args[2..],
                _ => &args[1..],
            };
            let runtime = runtime()?;
            let _guard = runtime.enter();
            let stop = Stop::listen()?;
            make_test::run(root, rest, &stop)
        }
        Some("bench") if args.len() == 1 => {
            let runtime = runtime()?;
            let _guard = runtime.enter();
            let stop = Stop::listen()?;
            make_bench::run(root, &stop)
        }
        Some("env") if args.len() == 1 => {
            let functions = make_run::configure(root)?;
            print!("{}", make_run::env_file_text(&functions)?);
            Ok(0)
        }
        _ => Err(USAGE.into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match run(&root, &args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("local-stack: error: {e}");
            ExitCode::FAILURE
        }
    }
}
