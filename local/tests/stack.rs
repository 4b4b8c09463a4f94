//! The local stack's process handling, with harmless children (`sleep`,
//! Python's http.server) instead of the emulators: no stack needed.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use local_gateway::stack::process_group::ProcessGroup;
use local_gateway::stack::{PortChoice, Service, Stack, StartError, http_probe, port};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "local-stack-{name}-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Not a timing assertion: a bound so that a broken child fails the test
/// instead of hanging it.
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < give_up, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Running, as `ps` sees it: listed and not a zombie.
fn running(pid: u32) -> bool {
    let out = Command::new("ps")
        .args(["-o", "stat=", "-p", &pid.to_string()])
        .output()
        .expect("ps runs");
    let stat = String::from_utf8_lossy(&out.stdout);
    let stat = stat.trim();
    !stat.is_empty() && !stat.starts_with('Z')
}

#[test]
fn dropping_a_process_group_stops_every_process_in_it() {
    let dir = scratch("group");
    let log = dir.join("sleepers.log");
    let mut command = Command::new("sh");
    command.args(["-c", "sleep 300 & echo $!; wait"]);
    let group = ProcessGroup::spawn("sleepers", command, &log).expect("sh starts");
    let leader = group.pgid();
    let grandchild: u32 = eventually("the background sleep reports its pid", || {
        std::fs::read_to_string(&log).ok()?.trim().parse().ok()
    });
    assert!(running(leader) && running(grandchild));

    drop(group);

    assert!(!running(leader), "the leader {leader} is gone");
    assert!(!running(grandchild), "its child {grandchild} is gone too");
}

static WEB: Service = Service {
    name: "web",
    label: "a test web server",
    command: |_, port| {
        Ok(["python3", "-m", "http.server", "--bind", "127.0.0.1"]
            .iter()
            .map(OsString::from)
            .chain([OsString::from(port.to_string())])
            .collect())
    },
    ready: |port| http_probe::get(port, "/").is_some_and(|a| a.status == 200),
    env: &["WEB_URL"],
};

static BROKEN: Service = Service {
    name: "broken",
    label: "a server that cannot start",
    command: |_, port| {
        Ok(vec![
            "sh".into(),
            "-c".into(),
            format!("echo cannot bind {port} >&2; exit 3").into(),
        ])
    },
    ready: |_| false,
    env: &[],
};

fn never_stop() -> Option<&'static str> {
    None
}

#[test]
fn a_started_stack_serves_on_a_free_port_until_dropped() {
    let dir = scratch("web");
    let stack = Stack::start(&dir, &dir, &[(&WEB, PortChoice::Free)], &never_stop)
        .expect("the web server starts");
    let port = stack.port(&WEB).expect("a port");
    assert!(port::is_busy(port));
    let env = stack.env();
    assert!(env.contains(&("WEB_URL".into(), format!("http://127.0.0.1:{port}"))));
    assert!(env.contains(&("AWS_REGION".into(), "us-east-1".into())));
    assert!(http_probe::get(port, "/").is_some_and(|a| a.status == 200));

    drop(stack);

    assert!(
        http_probe::get(port, "/").is_none(),
        "nothing answers on {port} after the drop"
    );
}

#[test]
fn a_fixed_port_in_use_is_refused_before_anything_starts() {
    let dir = scratch("busy");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let result = Stack::start(&dir, &dir, &[(&WEB, PortChoice::Fixed(port))], &never_stop);
    let Err(StartError::Failed(message)) = result else {
        panic!("a busy port is an error");
    };
    assert!(message.contains(&format!("port {port}")), "{message}");
    assert!(!dir.join("web.log").exists(), "nothing was started");
}

#[test]
fn a_service_that_keeps_exiting_is_retried_then_reported_with_its_log() {
    let dir = scratch("broken");
    let result = Stack::start(&dir, &dir, &[(&BROKEN, PortChoice::Free)], &never_stop);
    let Err(StartError::Failed(message)) = result else {
        panic!("a service that exits is an error");
    };
    assert!(message.contains("exited during startup"), "{message}");
    assert!(message.contains("cannot bind"), "the log's tail: {message}");
    // Two earlier attempts on other ports kept their logs.
    assert!(dir.join("broken.1.log").is_file() && dir.join("broken.2.log").is_file());
}

#[test]
fn a_stop_request_abandons_the_start() {
    let dir = scratch("stop");
    let result = Stack::start(&dir, &dir, &[(&WEB, PortChoice::Free)], &|| Some("SIGINT"));
    assert!(matches!(result, Err(StartError::Interrupted("SIGINT"))));
}

/// `make run`'s configuration: the shell wins over `.env`, which wins over
/// `.env.example`; the stack's endpoints win over all three.
#[test]
fn configuration_precedence() {
    let dir = scratch("env");
    std::fs::write(dir.join(".env"), "A=from-dot-env\nB=from-dot-env\n").expect("write .env");
    std::fs::write(
        dir.join(".env.example"),
        "A=from-example\nB=from-example\nC=from-example\nD=from-example\nAWS_ENDPOINT_URL_DYNAMODB=http://elsewhere\n",
    )
    .expect("write .env.example");
    let out = Command::new(env!("CARGO_BIN_EXE_local-stack"))
        .arg("env")
        .current_dir(&dir)
        .env("B", "from-shell")
        .env("D", "from-shell")
        .env_remove("A")
        .env_remove("C")
        .output()
        .expect("local-stack env runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    for expected in [
        "A=from-dot-env",
        "B=from-shell",
        "C=from-example",
        "D=from-shell",
        "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000",
        "AWS_ENDPOINT_URL_SES=http://127.0.0.1:8005",
        // localstripe, which `make run` starts beside them.
        "STRIPE_API_BASE=http://127.0.0.1:8420",
    ] {
        assert!(lines.contains(&expected), "{expected} in {lines:?}");
    }
    assert!(!text.contains("elsewhere"), "{text}");
}
