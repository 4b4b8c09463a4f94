# The two commands: `make run` serves the whole API locally, `make test` runs
# everything CI runs. The rest are conveniences.
.PHONY: test run bench webhook build lint fmt validate deploy clean

test: ## fmt, clippy, cfn-lint, unit and integration tests on a private local stack
	bash scripts/test.sh

# One process (local-stack) owns DynamoDB Local, the SES emulator and the
# gateway: Ctrl-C or SIGTERM to it stops them all. `cargo run` execs it, so
# make's signals reach it directly.
run: ## the whole API on http://127.0.0.1:3000 with DynamoDB Local, the SES emulator and localstripe
	bash scripts/install-tools.sh
	cargo run --quiet -p local-gateway --bin local-stack -- run

# Measures, never asserts: cold starts, memory and sizes of every function
# against their budgets, and a Python peer of create-intent, into BENCHMARKS.md.
bench: ## cold starts, peak memory and sizes of every function (and a Python peer) into BENCHMARKS.md
	bash scripts/bench.sh

# Like `stripe trigger`: signs a test-gateway event and posts it to the
# service `make run` serves. ARGS takes the other options (see the README).
webhook: ## sign and post a gateway webhook event: make webhook TYPE=succeeded INTENT=pi_test_… [ARGS="--amount 11200"]
	@test -n "$(TYPE)" -a -n "$(INTENT)" || { echo 'usage: make webhook TYPE=succeeded|processing|payment_failed|canceled|requires_action INTENT=<gateway intent id> [ARGS="--amount 11200 --currency usd --event-id evt_… --print"]' >&2; exit 2; }
	cargo run --quiet -p local-gateway --bin send-webhook -- $(TYPE) $(INTENT) $(ARGS)

build: ## release Lambda binaries for arm64 (needs cargo-lambda: pip install cargo-lambda)
	sam build

lint: ## formatting, clippy and the template linter, without tests
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cfn-lint template.yaml

fmt:
	cargo fmt --all

validate: ## SAM's own template validation
	sam validate --lint --region us-east-1

deploy: build ## first deploy: sam deploy --guided
	sam deploy

clean:
	cargo clean
	rm -rf .stack .aws-sam
