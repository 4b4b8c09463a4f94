#!/usr/bin/env bash
# `make bench`: builds what it measures (the functions in release, the bench
# itself), installs the Python peer's runtime, then measures every function's
# cold starts on a private stack (local-stack bench) into BENCHMARKS.md.
# Not part of `make test`: tests check behaviour, this measures.
#
# A trial run (to see the bench work, not to keep its numbers):
#   cargo build --locked -p functions
#   BENCH_BIN_DIR=target/debug BENCH_OUT=/tmp/BENCHMARKS.md bash scripts/bench.sh
# measures the debug binaries (no release build) and leaves BENCHMARKS.md as it is.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-tools.sh
echo "== the Python peer's runtime (bench/python-peer/requirements.txt, in its own virtualenv)"
venv=.stack/bench/python-peer
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# The peer is a comparison, not the measurement: without it (no network for
# pip) the bench still measures every function and says the peer is missing.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/python-peer/requirements.txt ||
    echo "bench.sh: the Python peer's runtime did not install; the report will go without the peer" >&2
export PYTHON="$PWD/$venv/bin/python"
if [ -n "${BENCH_BIN_DIR:-}" ]; then
    echo "== the functions of $BENCH_BIN_DIR (BENCH_BIN_DIR), as built"
else
    echo "== cargo build --release -p functions"
    cargo build --release --locked -p functions
fi
cargo build --locked -p local-gateway --bin bench --bin local-stack
exec target/debug/local-stack bench
