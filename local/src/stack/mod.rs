//! The local AWS stack: the emulators the functions talk to, each a child
//! process this program owns. `Stack` starts them, waits until each answers
//! as itself, and stops them all when dropped (on return, on error, on a
//! signal our caller turns into a return, and on a panic).

pub mod http_probe;
pub mod port;
pub mod process_group;
pub mod service;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use process_group::ProcessGroup;
pub use service::{DYNAMODB, LOCALSTRIPE, MOTO, SES, Service, localstripe_webhook};

/// How long the emulators get to come up (DynamoDB Local's JVM is the slow one).
pub const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Starts on a free port that someone else took first are retried this often.
const ATTEMPTS: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortChoice {
    /// This port or fail (`make run`: the README and tools name 8000 and 8005).
    Fixed(u16),
    /// Any free port (tests: never collide with a running `make run`).
    Free,
}

struct Running {
    service: &'static Service,
    port: u16,
    group: ProcessGroup,
}

pub struct Stack {
    dir: PathBuf,
    running: Vec<Running>,
}

/// Why a start did not complete.
#[derive(Debug)]
pub enum StartError {
    /// The caller asked to stop (a signal) while waiting.
    Interrupted(&'static str),
    Failed(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Interrupted(signal) => write!(f, "{signal} while starting the local stack"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

impl Stack {
    /// Starts `services` from the repository `root`, logs in `dir`, and waits
    /// until every one answers. `stop` is polled while waiting: `Some(signal)`
    /// abandons the start (what has started is stopped again).
    pub fn start(
        root: &Path,
        dir: &Path,
        services: &[(&'static Service, PortChoice)],
        stop: &dyn Fn() -> Option<&'static str>,
    ) -> Result<Self, StartError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StartError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        for (service, choice) in services {
            if let PortChoice::Fixed(port) = choice {
                if port::is_busy(*port) {
                    return Err(StartError::Failed(format!(
                        "port {port}, needed for {}, is already in use. Another `make run`?",
                        service.label
                    )));
                }
            }
        }
        let started = Instant::now();
        let mut stack = Self {
            dir: dir.to_owned(),
            running: Vec::new(),
        };
        // Pending: (index into services, attempt).
        let mut pending: Vec<(usize, u32)> = Vec::new();
        for (i, service) in services.iter().enumerate() {
            stack.spawn(root, *service, 1)?;
            pending.push((i, 1));
        }
        while !pending.is_empty() {
            if let Some(signal) = stop() {
                return Err(StartError::Interrupted(signal));
            }
            let mut still = Vec::new();
            for (i, attempt) in pending {
                let (service, choice) = services[i];
                let at = stack.index_of(service);
                if let Some(status) = stack.running[at].group.exited() {
                    if choice == PortChoice::Free && attempt < ATTEMPTS {
                        eprintln!(
                            "stack: {} exited ({status}) on port {}; retrying on another port",
                            service.label, stack.running[at].port
                        );
                        stack.forget(at);
                        stack.spawn(root, (service, choice), attempt + 1)?;
                        still.push((i, attempt + 1));
                        continue;
                    }
                    return Err(StartError::Failed(format!(
                        "{} exited during startup ({status}); the end of {}:\n{}",
                        service.label,
                        stack.running[at].group.log().display(),
                        stack.running[at].group.log_tail(20)
                    )));
                }
                if !(service.ready)(stack.running[at].port) {
                    still.push((i, attempt));
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if started.elapsed() > START_TIMEOUT {
                let mut message =
                    format!("timed out after {} s waiting for:", START_TIMEOUT.as_secs());
                for (i, _) in &pending {
                    let at = stack.index_of(services[*i].0);
                    let group = &stack.running[at].group;
                    message.push_str(&format!(
                        "\n{} (the end of {}):\n{}",
                        services[*i].0.label,
                        group.log().display(),
                        group.log_tail(20)
                    ));
                }
                return Err(StartError::Failed(message));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let ports: Vec<String> = stack
            .running
            .iter()
            .map(|r| format!("{}={}", r.service.name, r.port))
            .collect();
        eprintln!(
            "stack: up in {} ms: {} (logs in {})",
            started.elapsed().as_millis(),
            ports.join(" "),
            dir.display()
        );
        Ok(stack)
    }

    fn spawn(
        &mut self,
        root: &Path,
        (service, choice): (&'static Service, PortChoice),
        attempt: u32,
    ) -> Result<(), StartError> {
        let port = match choice {
            PortChoice::Fixed(port) => port,
            PortChoice::Free => port::pick_free().map_err(StartError::Failed)?,
        };
        let argv = (service.command)(root, port).map_err(StartError::Failed)?;
        let log = self.dir.join(format!("{}.log", service.name));
        if attempt > 1 {
            // Keep the failed attempt's log next to the new one.
            let _ = std::fs::rename(
                &log,
                self.dir
                    .join(format!("{}.{}.log", service.name, attempt - 1)),
            );
        }
        let mut command = command(&argv);
        command.current_dir(root);
        let group = ProcessGroup::spawn(service.name, command, &log).map_err(StartError::Failed)?;
        self.running.push(Running {
            service,
            port,
            group,
        });
        Ok(())
    }

    fn index_of(&self, service: &Service) -> usize {
        self.running
            .iter()
            .position(|r| r.service.name == service.name)
            .unwrap_or_default()
    }

    fn forget(&mut self, at: usize) {
        // Dropping it stops whatever is left of its group.
        drop(self.running.remove(at));
    }

    /// The port `service` listens on, if it runs.
    pub fn port(&self, service: &Service) -> Option<u16> {
        self.running
            .iter()
            .find(|r| r.service.name == service.name)
            .map(|r| r.port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What a client of this stack needs: each service's endpoint variables,
    /// then the region and credentials AWS SDKs insist on.
    pub fn env(&self) -> Vec<(String, String)> {
        let endpoints = self
            .running
            .iter()
            .map(|r| (r.service, format!("http://127.0.0.1:{}", r.port)));
        env_for(endpoints)
    }
}

impl Stack {
    /// What a process run against this stack needs: [`env`](Self::env), the
    /// credentials the emulators accept unless the shell has its own, and `table`.
    pub fn client_env(&self, table: &str) -> Vec<(String, String)> {
        let mut env = self.env();
        for (key, value) in default_credentials() {
            if std::env::var_os(key).is_none() {
                env.push((key.into(), value.into()));
            }
        }
        env.push(("TABLE_NAME".into(), table.into()));
        env
    }
}

/// The variables pointing AWS clients at `services` (each with its base URL).
pub fn env_for<'a>(
    services: impl IntoIterator<Item = (&'a Service, String)>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = services
        .into_iter()
        .flat_map(|(service, url)| {
            service
                .env
                .iter()
                .map(move |k| (k.to_string(), url.clone()))
        })
        .collect();
    for (key, value) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        // No instance metadata to ask on a laptop; asking costs seconds.
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        env.push((key.to_owned(), value.to_owned()));
    }
    env
}

/// The emulators take any credentials, but the SDKs want some to sign with.
pub fn default_credentials() -> [(&'static str, &'static str); 2] {
    [
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
    ]
}

/// On Linux, under `setpriv --pdeathsig TERM`, so that the emulators stop even
/// when we are killed with SIGKILL and no Drop runs. The signal fires when the
/// thread that started the child ends: callers start the stack from the main
/// thread, which lives as long as the process.
fn command(argv: &[OsString]) -> Command {
    #[cfg(target_os = "linux")]
    if service::on_path("setpriv") {
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "TERM", "--"]).args(argv);
        return command;
    }
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

impl Drop for Stack {
    fn drop(&mut self) {
        if self.running.is_empty() {
            return;
        }
        let names: Vec<&str> = self.running.iter().map(|r| r.group.name()).collect();
        eprintln!("stack: stopping {}", names.join(", "));
        process_group::stop_all(
            self.running.iter_mut().map(|r| &mut r.group),
            process_group::GRACE,
        );
    }
}
