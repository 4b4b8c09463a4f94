//! The test run of `make test`: a private stack (DynamoDB Local, the SES
//! emulator, moto and localstripe) on free ports, so tests never touch a running `make run`;
//! `cargo test` for the whole workspace against it; one closing line with the
//! totals, which CI reads; cargo's exit status.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::stack::{DYNAMODB, LOCALSTRIPE, MOTO, PortChoice, SES, Stack, StartError};
use crate::stop::Stop;

/// Tests create their own tables; this is only a default for code that reads it.
const TABLE_NAME: &str = "payments-test";

/// Passed and failed counts summed over cargo's `test result:` lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub passed: u64,
    pub failed: u64,
}

impl Totals {
    /// Adds the counts of one `test result: ok. 3 passed; 0 failed; ...` line;
    /// other lines change nothing.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim_start().strip_prefix("test result:") else {
            return;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        for pair in words.windows(2) {
            let Ok(n) = pair[0].parse::<u64>() else {
                continue;
            };
            match pair[1].trim_end_matches([';', ',']) {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                _ => {}
            }
        }
    }
}

impl std::fmt::Display for Totals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tests: {} passed, {} failed", self.passed, self.failed)
    }
}

/// Runs the tests; returns the exit code for the process. Must run on the
/// main thread (see `stack::command`).
pub fn run(root: &Path, cargo_args: &[String], stop: &Stop) -> Result<u8, String> {
    let services = [
        (&DYNAMODB, PortChoice::Free),
        (&SES, PortChoice::Free),
        (&MOTO, PortChoice::Free),
        // Tests point its webhooks at servers of their own (STRIPE_API_BASE says where it is).
        (&LOCALSTRIPE, PortChoice::Free),
    ];
    let stack = match Stack::start(root, &root.join(".stack/test"), &services, &|| {
        stop.requested()
    }) {
        Ok(stack) => stack,
        Err(StartError::Interrupted(signal)) => return Ok(exit_code_for(signal)),
        Err(e) => return Err(e.to_string()),
    };
    let mut env = stack.client_env(TABLE_NAME);
    // Tests pay with the test gateway's cards (a deployment has no such gateway).
    env.push(("ENABLE_TEST_GATEWAY".into(), "true".into()));

    eprintln!("== cargo test");
    // Under `cargo run`, CARGO is the cargo that started us.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Same process group as ours: a Ctrl-C at the terminal reaches the tests too.
    let mut child = Command::new(cargo)
        .args(["test", "--workspace", "--locked", "--no-fail-fast"])
        .args(cargo_args)
        .envs(env)
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or("cargo test's stdout is not piped")?;
    let tally = std::thread::spawn(move || {
        let mut totals = Totals::default();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            totals.add_line(&line);
        }
        totals
    });

    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("cargo test: {e}"))? {
            break Outcome::Finished(status);
        }
        if let Some(signal) = stop.requested() {
            eprintln!("test: {signal}: stopping cargo test");
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            break Outcome::Stopped(signal);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let totals = tally.join().unwrap_or_default();
    drop(stack);
    println!("{totals}");
    Ok(match status {
        Outcome::Finished(status) => status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
        Outcome::Stopped(signal) => exit_code_for(signal),
    })
}

enum Outcome {
    Finished(ExitStatus),
    Stopped(&'static str),
}

/// 128 + the signal's number, as a shell reports a process the signal ended.
pub fn exit_code_for(signal: &str) -> u8 {
    match signal {
        "SIGHUP" => 129,
        "SIGINT" => 130,
        _ => 143,
    }
}

#[cfg(test)]
mod tests {
    use super::Totals;

    #[test]
    fn sums_every_test_result_line() {
        let mut totals = Totals::default();
        for line in [
            "running 3 tests",
            "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test a ... FAILED",
            "test result: FAILED. 10 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s",
        ] {
            totals.add_line(line);
        }
        assert_eq!(
            totals,
            Totals {
                passed: 13,
                failed: 2
            }
        );
        assert_eq!(totals.to_string(), "tests: 13 passed, 2 failed");
    }
}
