#!/usr/bin/env bash
# `make bench`: builds what it measures (the functions in release, the bench
# itself), installs the Python peer's runtime, then measures every function's
# cold starts on a private stack (local-stack bench) into BENCHMARKS.md.
# Not part of `make test`: tests check behaviour, this measures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-tools.sh
echo "== the Python peer's runtime (bench/python-peer/requirements.txt, in its own virtualenv)"
venv=.stack/bench/python-peer
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/python-peer/requirements.txt
export PYTHON="$PWD/$venv/bin/python"
echo "== cargo build --release -p functions"
cargo build --release --locked -p functions
cargo build --locked -p local-gateway --bin bench --bin local-stack
exec target/debug/local-stack bench
