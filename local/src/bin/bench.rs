//! `bench`: measures every function's cold starts and the Python peer, and
//! writes `BENCHMARKS.md` (see `local_gateway::bench`). Run by `make bench`
//! inside the stack `local-stack bench` starts, from the repository root.

use std::path::PathBuf;
use std::process::ExitCode;

use local_gateway::{bench, env_file};

fn main() -> ExitCode {
    let root = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    // The stack's variables are set already and win; the rest is `.env.example`'s.
    if let Err(e) = env_file::load(&root) {
        eprintln!("bench: error: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bench: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench::run(&root)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}
