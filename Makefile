# The two commands: `make run` serves the whole API locally, `make test` runs
# everything CI runs. The rest are conveniences.
.PHONY: test run bench webhook build lambda-binaries lint fmt validate deploy clean

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
# service `make run` serves. ARGS takes the other options (see docs/local-development.md).
webhook: ## sign and post a gateway webhook event: make webhook TYPE=succeeded INTENT=pi_test_… [ARGS="--amount 11200"]
	@test -n "$(TYPE)" -a -n "$(INTENT)" || { echo 'usage: make webhook TYPE=succeeded|processing|payment_failed|canceled|requires_action INTENT=<gateway intent id> [ARGS="--amount 11200 --currency usd --event-id evt_… --print"]' >&2; exit 2; }
	cargo run --quiet -p local-gateway --bin send-webhook -- $(TYPE) $(INTENT) $(ARGS)

build: lambda-binaries ## release Lambda binaries for arm64, then sam build (needs cargo-lambda and the SAM CLI: pip install cargo-lambda aws-sam-cli)
	sam build

# Every function's arm64 bootstrap in one cargo invocation (target/lambda/<binary>/bootstrap):
# the dependencies are compiled once, and cargo links the binaries side by side.
lambda-binaries:
	cargo lambda build --release --arm64 --locked -p functions

# What `sam build` runs for each function (BuildMethod: makefile, built in
# source, in parallel): a copy of its bootstrap from the build above, which
# `make build` runs first (parallel cargo-lambda runs would race on
# target/lambda). The binary is the logical id in kebab case, less "Function"
# (PaymentIntentsGetFunction is payment-intents-get; tests/api/template.rs
# checks every function).
build-%Function:
	@bootstrap=target/lambda/$$(echo '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr '[:upper:]' '[:lower:]')/bootstrap; \
	test -f "$$bootstrap" || { echo "$$bootstrap is missing: run make build (or make lambda-binaries) first" >&2; exit 1; }; \
	cp "$$bootstrap" "$(ARTIFACTS_DIR)/bootstrap"

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
