//! `BENCHMARKS.md`: every function's row against its budget.

use std::fmt::Write as _;
use std::time::Duration;

use super::calls::Call;
use super::floors::{Floors, floor_of};
use super::runtime_api::ColdStart;
use super::waiting::Waited;
use super::warm::Warm;

/// What each function must stay within.
pub const SIZE_BUDGET_BYTES: u64 = 4 * 1024 * 1024;
/// The docs functions carry the whole OpenAPI document (and its schema
/// code), which no other function links.
pub const DOCS_SIZE_BUDGET_BYTES: u64 = 5 * 1024 * 1024;
const DOCS_FUNCTIONS: [&str; 2] = ["docs-openapi", "docs-ui"];

/// The arm64 bootstrap size `function` must stay within.
pub fn size_budget(function: &str) -> u64 {
    if DOCS_FUNCTIONS.contains(&function) {
        DOCS_SIZE_BUDGET_BYTES
    } else {
        SIZE_BUDGET_BYTES
    }
}
pub const INIT_BUDGET: Duration = Duration::from_millis(5);
pub const FIRST_INVOKE_BUDGET: Duration = Duration::from_millis(10);
pub const RSS_BUDGET_KIB: u64 = 12 * 1024;
/// A first invoke less its waiting on the services it calls.
pub const OUR_TIME_BUDGET: Duration = Duration::from_millis(1);
/// A warm request's p50 against the floor of its calls.
pub const FLOOR_RATIO_GOAL_TENTHS: u128 = 13;

/// Median and maximum of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread<T> {
    pub median: T,
    pub max: T,
}

/// Median (the lower middle one of an even count) and maximum.
pub fn spread<T: Ord + Copy>(values: &[T]) -> Option<Spread<T>> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let max = *sorted.last()?;
    Some(Spread {
        median: sorted[(sorted.len() - 1) / 2],
        max,
    })
}

/// One function's measurements.
pub struct Row {
    pub name: String,
    /// The arm64 bootstrap `make build` produced, if it exists.
    pub arm64_bytes: Option<u64>,
    /// This machine's native release binary.
    pub native_bytes: Option<u64>,
    pub starts: Vec<ColdStart>,
    /// Why some cold starts failed, if any did.
    pub failures: Vec<String>,
    /// The DynamoDB calls the same request makes, in order, when counted.
    pub calls: Option<Vec<Call>>,
    /// Each cold start's first invoke split into waiting and our time, when
    /// the timing proxies ran (one per entry of `starts`).
    pub waited: Vec<Waited>,
    /// The calls one first invoke waited on, as the proxies saw them.
    pub waited_on: Vec<Call>,
}

impl Row {
    fn init(&self) -> Option<Spread<Duration>> {
        spread(&self.starts.iter().map(|s| s.init).collect::<Vec<_>>())
    }
    fn first_invoke(&self) -> Option<Spread<Duration>> {
        spread(
            &self
                .starts
                .iter()
                .map(|s| s.first_invoke)
                .collect::<Vec<_>>(),
        )
    }
    fn exec_to_response(&self) -> Option<Spread<Duration>> {
        spread(
            &self
                .starts
                .iter()
                .map(|s| s.init + s.first_invoke)
                .collect::<Vec<_>>(),
        )
    }
    fn waited_by(&self, part: impl Fn(&Waited) -> Duration) -> Option<Spread<Duration>> {
        spread(&self.waited.iter().map(part).collect::<Vec<_>>())
    }
    /// First invoke less waiting, per cold start.
    pub fn our_time(&self) -> Option<Spread<Duration>> {
        self.waited_by(Waited::ours)
    }
    fn peak_rss_kib(&self) -> Option<u64> {
        self.starts.iter().map(|s| s.peak_rss_kib).max()
    }
    fn statuses(&self) -> String {
        let mut statuses: Vec<u16> = self.starts.iter().map(|s| s.status).collect();
        statuses.sort();
        statuses.dedup();
        statuses
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Milliseconds with one decimal.
fn ms(d: Duration) -> String {
    let tenths = d.as_micros() / 100;
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// Milliseconds with two decimals: our time is a fraction of one.
fn ms2(d: Duration) -> String {
    let hundredths = d.as_micros() / 10;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// MiB with two decimals.
fn mib(bytes: u64) -> String {
    let hundredths = bytes * 100 / (1024 * 1024);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// `a / b` with one decimal.
fn times(a: u128, b: u128) -> String {
    if b == 0 {
        return "—".into();
    }
    let tenths = a * 10 / b;
    format!("{}.{}×", tenths / 10, tenths % 10)
}

/// "median / max", marked by whether the median is within `budget`.
fn median_and_max(spread: Option<Spread<Duration>>, budget: Duration) -> String {
    spread
        .map(|s| {
            format!(
                "{} / {} {}",
                ms(s.median),
                ms(s.max),
                mark(s.median <= budget)
            )
        })
        .unwrap_or_else(|| "—".into())
}

/// The same in hundredths of a millisecond.
fn median_and_max_fine(spread: Option<Spread<Duration>>, budget: Duration) -> String {
    spread
        .map(|s| {
            format!(
                "{} / {} {}",
                ms2(s.median),
                ms2(s.max),
                mark(s.median <= budget)
            )
        })
        .unwrap_or_else(|| "—".into())
}

/// The calls in order, a run of the same type as one entry with its count.
fn call_list(calls: &[Call]) -> String {
    let mut runs: Vec<(String, usize)> = Vec::new();
    for call in calls {
        let name = call.kind.to_string();
        match runs.last_mut() {
            Some((last, n)) if *last == name => *n += 1,
            _ => runs.push((name, 1)),
        }
    }
    runs.into_iter()
        .map(|(name, n)| {
            if n == 1 {
                name
            } else {
                format!("{n} × {name}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn mark(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

/// The machine and toolchain the numbers come from.
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub arch: String,
    pub kernel: String,
    pub rustc: String,
    pub python: String,
    pub date: String,
}

pub fn render(
    machine: &Machine,
    rows: &[Row],
    peer: Option<&Row>,
    runs: usize,
    floors: &Floors,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Benchmarks\n\nWritten by `make bench` on {}: {runs} cold starts of every function, each a new process \
         against a local Lambda Runtime API with the function's sample event (`events/<function>.json`, its ids \
         replaced by data created for each run, so every run takes the success path) \
         and DynamoDB Local. \"DynamoDB calls\" are those the same request makes (counted once more through the \
         local API); the floor beside them is the sum of those calls' floors, each call type's median raw round \
         trip to this DynamoDB Local (a TransactWriteItems per item count; see \"Floors\" below), \
         the part of a first invoke no code of ours can remove. \"our time\" is each first invoke less the time it \
         waited on the services it called (see \"Where our time goes\"). Timings and memory come from this machine's \
         native release build; sizes from the \
         arm64 bootstraps `make build` produces (native sizes beside them).\n",
        machine.date
    );
    let _ = writeln!(
        md,
        "Machine: {} ({} cores, {}), {}; {}; {}.\n",
        machine.cpu, machine.cores, machine.arch, machine.kernel, machine.rustc, machine.python
    );
    let _ = writeln!(
        md,
        "Budgets: arm64 bootstrap ≤ {} MiB ({} MiB for the docs functions); init ≤ {} ms, first invoke ≤ {} ms \
         and our time ≤ {} ms (medians); peak RSS ≤ {} MiB.\n",
        SIZE_BUDGET_BYTES / (1024 * 1024),
        DOCS_SIZE_BUDGET_BYTES / (1024 * 1024),
        INIT_BUDGET.as_millis(),
        FIRST_INVOKE_BUDGET.as_millis(),
        OUR_TIME_BUDGET.as_millis(),
        RSS_BUDGET_KIB / 1024
    );
    let _ = writeln!(
        md,
        "| function | arm64 MiB | native MiB | init ms (median / max) | first invoke ms (median / max) | our time ms (median / max) | DynamoDB calls (floor ms) | peak RSS MiB | answered |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for row in rows.iter().chain(peer) {
        let calls = row
            .calls
            .as_ref()
            .map(|c| match floor_of(c, floors) {
                Some(floor) => format!("{} ({})", c.len(), ms(floor)),
                None => format!("{} (—)", c.len()),
            })
            .unwrap_or_else(|| "—".into());
        let arm64 = match row.arm64_bytes {
            Some(b) => format!("{} {}", mib(b), mark(b <= size_budget(&row.name))),
            None if row.native_bytes.is_some() && peer.is_some_and(|p| p.name == row.name) => {
                "(runtime's)".into()
            }
            None => "not built".into(),
        };
        let native = row.native_bytes.map(mib).unwrap_or_else(|| "—".into());
        let init = median_and_max(row.init(), INIT_BUDGET);
        let invoke = median_and_max(row.first_invoke(), FIRST_INVOKE_BUDGET);
        let ours = median_and_max_fine(row.our_time(), OUR_TIME_BUDGET);
        let rss = row
            .peak_rss_kib()
            .map(|k| {
                let tenths = k * 10 / 1024;
                format!(
                    "{}.{} {}",
                    tenths / 10,
                    tenths % 10,
                    mark(k <= RSS_BUDGET_KIB)
                )
            })
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(
            md,
            "| {} | {arm64} | {native} | {init} | {invoke} | {ours} | {calls} | {rss} | {} |",
            row.name,
            row.statuses()
        );
    }
    match (peer, rows.iter().find(|r| r.name == "intents-create")) {
        (Some(peer), Some(rust)) => md.push_str(&peer_comparison(peer, rust)),
        (None, _) => md.push_str(
            "\nThe Python peer was not measured: its interpreter (`PYTHON`, as `make bench` installs it in \
             `.stack/bench/python-peer`) cannot import `awslambdaric` and `boto3`.\n",
        ),
        _ => {}
    }
    let failures: Vec<String> = rows
        .iter()
        .chain(peer)
        .flat_map(|r| r.failures.iter().cloned())
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(md, "\nFailed cold starts (not in the numbers above):\n");
        for f in failures {
            let _ = writeln!(md, "- {f}");
        }
    }
    let _ = writeln!(
        md,
        "\n\"answered\" is the HTTP status each function gave. A budget marked ❌ is not met; why, as \
         measured, is under \"Where a budget is not met\" at the end."
    );
    md.push_str(&render_our_time(rows.iter().chain(peer)));
    md.push_str(&render_floors(floors));
    md
}

/// The peer against `intents-create`: after init (the first invoke alone)
/// and exec → first response (init and first invoke: what a caller waits
/// for on a cold start), then memory and size.
fn peer_comparison(peer: &Row, rust: &Row) -> String {
    let both = |a: Option<Spread<Duration>>, b: Option<Spread<Duration>>| match (a, b) {
        (Some(a), Some(b)) => format!(
            "{} ms against {} ms ({})",
            ms(a.median),
            ms(b.median),
            times(a.median.as_micros(), b.median.as_micros())
        ),
        _ => "—".into(),
    };
    let rss = match (peer.peak_rss_kib(), rust.peak_rss_kib()) {
        (Some(p), Some(r)) => times(u128::from(p), u128::from(r)),
        _ => "—".into(),
    };
    let size = match (peer.native_bytes, rust.native_bytes) {
        (Some(p), Some(r)) => times(u128::from(p), u128::from(r)),
        _ => "—".into(),
    };
    format!(
        "\nThe Python peer (`bench/python-peer`: the same create-intent path with boto3 under `awslambdaric`) \
         against `intents-create` (medians): after init (the first invoke) {}; exec → first response \
         (init and first invoke, what a caller of a cold function waits for) {}; our time {} ms against {} ms; \
         peak RSS {}, size {} the Rust function's. \
         Its size is its handler plus the packages it imports (boto3, botocore, awslambdaric and their \
         dependencies) as installed; on Lambda's managed Python runtime those come with the runtime, \
         so there is no arm64 package of its own to weigh.\n",
        both(peer.first_invoke(), rust.first_invoke()),
        both(peer.exec_to_response(), rust.exec_to_response()),
        peer.our_time().map_or("—".into(), |s| ms2(s.median)),
        rust.our_time().map_or("—".into(), |s| ms2(s.median)),
        rss,
        size
    )
}

/// Each function's first invoke split by the calls it waited on.
fn render_our_time<'a>(rows: impl Iterator<Item = &'a Row>) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n## Where our time goes\n\nDuring each cold start the function reaches DynamoDB Local, the SES emulator \
         (and a gateway's API or Secrets Manager, when the bench's stack runs one) through a timing proxy on \
         127.0.0.1, named by the usual variables (`AWS_ENDPOINT_URL_DYNAMODB`, …). A call's waiting runs from its \
         request's head reaching the proxy to the proxy holding the whole answer: it includes the proxy's own \
         hop to the service on loopback (tens of µs; a connection's first request also opens the proxy's \
         connection to the service) and not the function's connecting, signing, writing and \
         reading, which are ours. Waiting is the union of the calls' intervals inside the first invoke (parallel \
         calls count once); our time is the rest: before the first call (parsing the event, checking the \
         caller, a first connection), between calls, and after the last (the answer's JSON). Outgoing webhook \
         deliveries (webhook-dispatch: a POST to a local port nothing listens at) are not proxied and count as ours. \
         Medians over the cold starts; the calls are one run's.\n"
    );
    let _ = writeln!(
        md,
        "| function | waiting ms | our time ms | before the first call | between calls | after the last call | calls waited on |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for row in rows {
        let median = |part: fn(&Waited) -> Duration| {
            row.waited_by(part)
                .map_or_else(|| "—".into(), |s| ms2(s.median))
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            median(|w| w.waiting),
            median(Waited::ours),
            median(|w| w.before_first),
            median(|w| w.between),
            median(|w| w.after_last),
            call_list(&row.waited_on)
        );
    }
    md
}

/// The floor of each call type measured.
fn render_floors(floors: &Floors) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n## Floors\n\nEach call type the rows make, sent raw ({} times, over one keep-alive connection) to the \
         same DynamoDB Local on small items of a partition of its own, each written item keyed in every index \
         (as an intent or an event is); the median. A Query reads one item, so a list's page costs more than \
         its floor.\n",
        super::floors::ROUNDS
    );
    let _ = writeln!(md, "| call | floor ms |");
    let _ = writeln!(md, "|---|---|");
    for (kind, floor) in floors {
        let _ = writeln!(md, "| {kind} | {} |", ms2(*floor));
    }
    md
}

/// The value below which `percent` % of the sample lies (nearest rank).
pub fn percentile(values: &[Duration], percent: usize) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The warm flows, each against the floor of its DynamoDB round trips.
pub fn render_warm(warm: &Warm, floors: &Floors) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\n## Warm requests\n\n{} requests per flow through the local gateway (the same handlers, over keep-alive \
         connections). \"calls\" are the DynamoDB round trips of one \
         request, counted and timed by an SDK interceptor (from the request's transmission to its answer's \
         head); \"our time\" is each request less the union of its calls' waits; the floor is the sum of its \
         calls' floors by type (see \"Floors\"), and p50 / floor is the goal's ratio (≤ {}.{}×).\n",
        super::warm::REQUESTS,
        FLOOR_RATIO_GOAL_TENTHS / 10,
        FLOOR_RATIO_GOAL_TENTHS % 10,
    );
    let _ = writeln!(
        md,
        "| flow | route | p50 ms | p99 ms | our time p50 ms | DynamoDB calls | floor ms | p50 / floor | answered |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for flow in &warm.flows {
        let p50 = percentile(&flow.latencies, 50).unwrap_or_default();
        let p99 = percentile(&flow.latencies, 99).unwrap_or_default();
        let ours = percentile(&flow.ours, 50).map_or_else(|| "—".into(), ms2);
        let (floor, ratio) = match floor_of(&flow.calls, floors) {
            Some(floor) => (
                ms(floor),
                format!(
                    "{} {}",
                    times(p50.as_micros(), floor.as_micros()),
                    mark(p50.as_micros() * 10 <= floor.as_micros() * FLOOR_RATIO_GOAL_TENTHS)
                ),
            ),
            None => ("—".into(), "—".into()),
        };
        let mut statuses = flow.statuses.clone();
        statuses.sort();
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {ours} | {}: {} | {floor} | {ratio} | {} |",
            flow.name,
            flow.route,
            ms(p50),
            ms(p99),
            flow.calls.len(),
            call_list(&flow.calls),
            statuses
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        md,
        "\nEvery endpoint's calls, and why each is needed, follow (from \
         [bench/dynamodb-calls.md](bench/dynamodb-calls.md), which a test keeps true for the main flows)."
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_shown_without_floats() {
        assert_eq!(ms(Duration::from_micros(8_460)), "8.4");
        assert_eq!(mib(7_233_248), "6.89");
        assert_eq!(times(152_000, 5_000), "30.4×");
        assert_eq!(times(1, 0), "—");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sample: Vec<Duration> = (1..=200).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sample, 50), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&sample, 99), Some(Duration::from_millis(198)));
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 99),
            Some(Duration::from_millis(7))
        );
        assert_eq!(percentile(&[], 50), None);
    }

    use super::super::calls::CallKind;
    use super::super::warm::Flow;
    use std::time::Instant;

    fn call(operation: &str, items: usize, from_ms: u64, to_ms: u64, t: Instant) -> Call {
        Call {
            kind: CallKind {
                operation: operation.into(),
                items,
            },
            start: t + Duration::from_millis(from_ms),
            end: t + Duration::from_millis(to_ms),
        }
    }

    fn floors() -> Floors {
        let t = Instant::now();
        [
            (
                call("GetItem", 1, 0, 0, t).kind,
                Duration::from_micros(1_500),
            ),
            (
                call("TransactWriteItems", 3, 0, 0, t).kind,
                Duration::from_micros(3_000),
            ),
        ]
        .into_iter()
        .collect()
    }

    /// A row of three cold starts whose first invokes are 5, 6 and 9 ms,
    /// of which our time is 0.5, 1.2 and 0.8 ms.
    fn row(name: &str) -> Row {
        let t = Instant::now();
        let start = |invoke_us: u64| ColdStart {
            init: Duration::from_millis(2),
            first_invoke: Duration::from_micros(invoke_us),
            window: (t, t + Duration::from_micros(invoke_us)),
            peak_rss_kib: 8 * 1024,
            status: 200,
        };
        let waited = |ours_us: u64, invoke_us: u64| Waited {
            waiting: Duration::from_micros(invoke_us - ours_us),
            before_first: Duration::from_micros(ours_us),
            ..Waited::default()
        };
        Row {
            name: name.into(),
            arm64_bytes: Some(4 * 1024 * 1024),
            native_bytes: Some(5 * 1024 * 1024),
            starts: vec![start(5_000), start(6_000), start(9_000)],
            failures: Vec::new(),
            calls: Some(vec![
                call("GetItem", 1, 0, 2, t),
                call("TransactWriteItems", 3, 2, 5, t),
            ]),
            waited: vec![waited(500, 5_000), waited(1_200, 6_000), waited(800, 9_000)],
            waited_on: vec![
                call("GetItem", 1, 0, 2, t),
                call("GetItem", 1, 2, 3, t),
                call("TransactWriteItems", 3, 3, 5, t),
            ],
        }
    }

    fn machine() -> Machine {
        Machine {
            cpu: "cpu".into(),
            cores: 2,
            arch: "x86_64".into(),
            kernel: "Linux".into(),
            rustc: "rustc".into(),
            python: "Python".into(),
            date: "today".into(),
        }
    }

    #[test]
    fn a_row_shows_our_time_beside_the_first_invoke_and_the_floor_by_type() {
        let md = render(&machine(), &[row("intents-create")], None, 3, &floors());
        assert!(md.contains(
            "| function | arm64 MiB | native MiB | init ms (median / max) | first invoke ms (median / max) \
             | our time ms (median / max) | DynamoDB calls (floor ms) | peak RSS MiB | answered |"
        ));
        // Our time's median 0.8 ms is within 1 ms; the floor is 1.5 + 3.0.
        assert!(md.contains(
            "| intents-create | 4.00 ✅ | 5.00 | 2.0 / 2.0 ✅ | 6.0 / 9.0 ✅ | 0.80 / 1.20 ✅ | 2 (4.5) |"
        ));
        // Each part's own median: waiting is 4.5, 4.8 and 8.2 ms.
        assert!(md.contains("| intents-create | 4.80 | 0.80 | 0.80 | 0.00 | 0.00 | 2 × GetItem, TransactWriteItems [3] |"));
        assert!(md.contains("| TransactWriteItems [3] | 3.00 |"));
        assert!(md.contains("The Python peer was not measured"));
    }

    #[test]
    fn bootstraps_are_held_to_4_mib_and_the_docs_functions_to_5() {
        let mut small = row("intents-create");
        small.arm64_bytes = Some(4 * 1024 * 1024 + 1);
        let mut docs = row("docs-openapi");
        docs.arm64_bytes = Some(4_900_000);
        let md = render(&machine(), &[small, docs], None, 3, &floors());
        assert!(md.contains("Budgets: arm64 bootstrap ≤ 4 MiB (5 MiB for the docs functions);"));
        assert!(md.contains("| intents-create | 4.00 ❌ |"), "{md}");
        assert!(md.contains("| docs-openapi | 4.67 ✅ |"), "{md}");
    }

    #[test]
    fn the_peer_is_compared_after_init_and_from_exec() {
        let mut peer = row("python peer of intents-create");
        for start in &mut peer.starts {
            start.init = Duration::from_millis(170);
            start.first_invoke *= 10;
        }
        let md = render(
            &machine(),
            &[row("intents-create")],
            Some(&peer),
            3,
            &floors(),
        );
        assert!(md.contains("after init (the first invoke) 60.0 ms against 6.0 ms (10.0×)"));
        assert!(md.contains("exec → first response (init and first invoke, what a caller of a cold function waits for) 230.0 ms against 8.0 ms (28.7×)"));
    }

    #[test]
    fn a_warm_flow_is_held_against_its_floor() {
        let t = Instant::now();
        let flow = Flow {
            name: "create",
            route: "POST /x",
            latencies: vec![Duration::from_micros(5_000); 3],
            ours: vec![Duration::from_micros(400); 3],
            calls: vec![
                call("GetItem", 1, 0, 1, t),
                call("TransactWriteItems", 3, 1, 4, t),
            ],
            statuses: vec![200],
        };
        let md = render_warm(&Warm { flows: vec![flow] }, &floors());
        assert!(md.contains(
            "| create | `POST /x` | 5.0 | 5.0 | 0.40 | 2: GetItem, TransactWriteItems [3] | 4.5 | 1.1× ✅ | 200 |"
        ));
    }

    #[test]
    fn the_median_of_an_even_sample_is_its_lower_middle() {
        assert_eq!(spread(&[5, 1, 3, 9]), Some(Spread { median: 3, max: 9 }));
        assert_eq!(spread(&[2]), Some(Spread { median: 2, max: 2 }));
        assert_eq!(spread::<u32>(&[]), None);
    }
}
