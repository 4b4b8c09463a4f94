#!/usr/bin/env bash
# `make test`: everything CI runs. Installs what is missing, checks formatting,
# lints the code and the template, then runs every test against a private
# local AWS stack on free ports (local-stack test: DynamoDB Local, the SES
# emulator and moto, stopped when the tests end). Its last line is
# `tests: N passed, M failed`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-tools.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cfn-lint template.yaml"
cfn-lint template.yaml

# exec: local-stack is then the process that signals reach.
exec cargo run --quiet --locked -p local-gateway --bin local-stack -- test
