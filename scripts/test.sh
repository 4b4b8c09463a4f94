#!/usr/bin/env bash
# `make test`: everything CI runs. Installs what is missing, checks formatting,
# lints the code and the template, starts a private local AWS stack (DynamoDB
# Local, SES emulator, moto) on free ports, runs every test, stops the stack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-tools.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cfn-lint template.yaml"
cfn-lint template.yaml

# A stack of its own, so tests never touch one that `make run` started.
export STACK_DIR="$PWD/.stack/test"
# shellcheck source=scripts/stack.sh
. scripts/stack.sh
trap stack_down EXIT
stack_up

# Tests create their own tables; this is only a default for code that reads it.
export TABLE_NAME="${TABLE_NAME:-payments-test}"
echo "== cargo test"
log="$STACK_DIR/cargo-test.log"
status=0
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
