//! A child process that leads a process group of its own, stopped with the
//! whole group when its owner drops it.
//!
//! Each emulator runs in its own group so that a Ctrl-C at the terminal (which
//! signals the terminal's foreground group) reaches only us: we then stop the
//! emulators in order, and a signal never leaves one half-stopped. The price
//! is that nothing else stops them, hence the kill on drop.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long a group gets to exit on SIGTERM before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(5);

/// Groups started and not yet stopped, for the panic hook below.
static LIVE: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// With `panic = "abort"` (the release profile) a panic runs no Drop, so the
/// hook kills the groups instead; with unwinding, Drop stops them gracefully.
fn kill_groups_on_abort() {
    static HOOK: Once = Once::new();
    if cfg!(panic = "abort") {
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if let Ok(live) = LIVE.lock() {
                    for pgid in live.iter() {
                        let _ = killpg(Pid::from_raw(*pgid), Signal::SIGKILL);
                    }
                }
                previous(info);
            }));
        });
    }
}

fn track(pgid: u32, add: bool) {
    let (Ok(pgid), Ok(mut live)) = (i32::try_from(pgid), LIVE.lock()) else {
        return;
    };
    if add {
        live.push(pgid);
    } else {
        live.retain(|p| *p != pgid);
    }
}

pub struct ProcessGroup {
    name: String,
    child: Child,
    log: PathBuf,
    stopped: bool,
}

impl ProcessGroup {
    /// Starts `command` as the leader of a new process group, stdin closed and
    /// stdout/stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Result<Self, String> {
        let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", command.get_program()))?;
        kill_groups_on_abort();
        track(child.id(), true);
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
            stopped: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group id, which is the leader's pid.
    pub fn pgid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `None` while the leader runs; its exit status text once it has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(status.to_string()),
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// The last `lines` lines of the log, for an error message.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn signal(&self, signal: Signal) -> bool {
        let Ok(pgid) = i32::try_from(self.pgid()) else {
            return false;
        };
        killpg(Pid::from_raw(pgid), signal).is_ok()
    }

    /// True while any process of the group is left (the leader reaped first,
    /// so that a zombie leader does not count).
    fn group_alive(&mut self) -> bool {
        let _ = self.child.try_wait();
        let Ok(pgid) = i32::try_from(self.pgid()) else {
            return false;
        };
        !matches!(killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH))
    }
}

/// SIGTERM to every group, up to `grace` for all of them to exit, then SIGKILL
/// to what is left. Groups are signalled together so a slow one does not make
/// the others wait.
pub fn stop_all<'a>(groups: impl IntoIterator<Item = &'a mut ProcessGroup>, grace: Duration) {
    let mut live: Vec<&mut ProcessGroup> = groups.into_iter().filter(|g| !g.stopped).collect();
    for group in &live {
        group.signal(Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while live.iter_mut().any(|g| g.group_alive()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for group in &mut live {
        if group.group_alive() {
            eprintln!(
                "stack: {} (process group {}) ignored SIGTERM; killing it",
                group.name,
                group.pgid()
            );
            group.signal(Signal::SIGKILL);
        }
    }
    for group in &mut live {
        let _ = group.child.wait();
        group.stopped = true;
        track(group.pgid(), false);
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        stop_all([self], GRACE);
    }
}
