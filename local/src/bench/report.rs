//! `BENCHMARKS.md`: every function's row against its budget.

use std::fmt::Write as _;
use std::time::Duration;

use super::runtime_api::ColdStart;
use super::warm::Warm;

/// What each function must stay within.
pub const SIZE_BUDGET_BYTES: u64 = 5 * 1024 * 1024;
pub const INIT_BUDGET: Duration = Duration::from_millis(5);
pub const FIRST_INVOKE_BUDGET: Duration = Duration::from_millis(10);
pub const RSS_BUDGET_KIB: u64 = 12 * 1024;

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
    pub calls: Option<Vec<String>>,
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
    floor: Duration,
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Benchmarks\n\nWritten by `make bench` on {}: {runs} cold starts of every function, each a new process \
         against a local Lambda Runtime API with the function's sample event (`events/<function>.json`, its ids \
         replaced by data created for each run, so every run takes the success path) \
         and DynamoDB Local. \"DynamoDB calls\" are those the same request makes (counted once more through the \
         local API); the floor beside them is that many raw GetItem round trips to this DynamoDB Local, \
         the part of a first invoke no code of ours can remove. Timings and memory come from this machine's native release build; sizes from the \
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
        "Budgets: arm64 bootstrap ≤ {} MiB; init ≤ {} ms and first invoke ≤ {} ms (medians); peak RSS ≤ {} MiB.\n",
        SIZE_BUDGET_BYTES / (1024 * 1024),
        INIT_BUDGET.as_millis(),
        FIRST_INVOKE_BUDGET.as_millis(),
        RSS_BUDGET_KIB / 1024
    );
    let _ = writeln!(
        md,
        "| function | arm64 MiB | native MiB | init ms (median / max) | first invoke ms (median / max) | DynamoDB calls (floor ms) | peak RSS MiB | answered |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for row in rows.iter().chain(peer) {
        let calls = row
            .calls
            .as_ref()
            .map(|c| {
                let floor = floor * u32::try_from(c.len()).unwrap_or(u32::MAX);
                format!("{} ({})", c.len(), ms(floor))
            })
            .unwrap_or_else(|| "—".into());
        let arm64 = match row.arm64_bytes {
            Some(b) => format!("{} {}", mib(b), mark(b <= SIZE_BUDGET_BYTES)),
            None if row.native_bytes.is_some() && peer.is_some_and(|p| p.name == row.name) => {
                "(runtime's)".into()
            }
            None => "not built".into(),
        };
        let native = row.native_bytes.map(mib).unwrap_or_else(|| "—".into());
        let init = median_and_max(row.init(), INIT_BUDGET);
        let invoke = median_and_max(row.first_invoke(), FIRST_INVOKE_BUDGET);
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
            "| {} | {arm64} | {native} | {init} | {invoke} | {calls} | {rss} | {} |",
            row.name,
            row.statuses()
        );
    }
    if let (Some(peer), Some(rust)) = (peer, rows.iter().find(|r| r.name == "intents-create")) {
        let ratio = |a: Option<Spread<Duration>>, b: Option<Spread<Duration>>| match (a, b) {
            (Some(a), Some(b)) => times(a.median.as_micros(), b.median.as_micros()),
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
        let _ = writeln!(
            md,
            "\nThe Python peer (`bench/python-peer`: the same create-intent path with boto3 under `awslambdaric`) \
             against `intents-create`: init {}, first invoke {}, peak RSS {}, size {} the Rust function's. \
             Its size is its handler plus the packages it imports (boto3, botocore, awslambdaric and their \
             dependencies) as installed; on Lambda's managed Python runtime those come with the runtime, \
             so there is no arm64 package of its own to weigh.",
            ratio(peer.init(), rust.init()),
            ratio(peer.first_invoke(), rust.first_invoke()),
            rss,
            size
        );
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
pub fn render_warm(warm: &Warm) -> String {
    let mut md = String::new();
    let raw = percentile(&warm.raw_round_trip, 50).unwrap_or_default();
    let _ = writeln!(
        md,
        "\n## Warm requests\n\n{} requests per flow through the local gateway (the same handlers, over keep-alive \
         connections). \"calls\" are the DynamoDB round trips of one \
         request, counted by an SDK interceptor; the floor is that many raw GetItem round trips to the same \
         DynamoDB Local (median {} ms, measured in this run).\n",
        super::warm::REQUESTS,
        ms(raw)
    );
    let _ = writeln!(
        md,
        "| flow | route | p50 ms | p99 ms | DynamoDB calls | floor ms | answered |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for flow in &warm.flows {
        let p50 = percentile(&flow.latencies, 50).unwrap_or_default();
        let p99 = percentile(&flow.latencies, 99).unwrap_or_default();
        let floor = raw * u32::try_from(flow.calls.len()).unwrap_or(u32::MAX);
        let mut statuses = flow.statuses.clone();
        statuses.sort();
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {}: {} | {} | {} |",
            flow.name,
            flow.route,
            ms(p50),
            ms(p99),
            flow.calls.len(),
            flow.calls.join(", "),
            ms(floor),
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

    #[test]
    fn the_median_of_an_even_sample_is_its_lower_middle() {
        assert_eq!(spread(&[5, 1, 3, 9]), Some(Spread { median: 3, max: 9 }));
        assert_eq!(spread(&[2]), Some(Spread { median: 2, max: 2 }));
        assert_eq!(spread::<u32>(&[]), None);
    }
}
