#!/usr/bin/env bash
# `make run`: the whole API on http://127.0.0.1:${PORT:-3000}, as API Gateway
# serves it, in front of DynamoDB Local (port 8000) and the SES emulator (8005).
#
#   1. installs what is missing (scripts/install-tools.sh) and builds the
#      local gateway (debug);
#   2. configuration: variables already set in the environment win, then
#      `.env` (if present), then the defaults in `.env.example`;
#   3. starts DynamoDB Local and the SES emulator (scripts/stack.sh, state in
#      .stack/), creates the table and seeds the demo payables (local-setup);
#   4. prints demo tokens (also written to .stack/demo.env), the inbox URL and
#      a few curl lines, then runs the gateway in the foreground.
#
# Ctrl-C (or SIGTERM) stops the gateway, then DynamoDB Local and the SES
# emulator (by the PIDs stack.sh recorded).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DYNAMODB_PORT=8000
SES_PORT=8005

say() { echo "run: $*" >&2; }
die() {
  echo "run: error: $*" >&2
  exit 1
}

# --- configuration ------------------------------------------------------------
# KEY=VALUE lines (optional `export `, optional quotes, # comments); a variable
# is only set when it is not set yet, so earlier sources win.
load_env_file() {
  local file="$1" line key value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line#"${line%%[![:space:]]*}"}" # trim leading space
    [ -z "$line" ] || [ "${line:0:1}" = "#" ] && continue
    line="${line#export }"
    [[ "$line" == *=* ]] || continue
    key="${line%%=*}"
    value="${line#*=}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || {
      say "ignoring '$key' in $file"
      continue
    }
    if [[ "$value" =~ ^\"(.*)\"$ ]] || [[ "$value" =~ ^\'(.*)\'$ ]]; then
      value="${BASH_REMATCH[1]}"
    fi
    [ -n "${!key+x}" ] && continue
    export "$key=$value"
  done <"$file"
}
load_env_file .env
load_env_file .env.example
# This is a developer's machine: the short example secrets are accepted here only.
export APP_ENV="${APP_ENV:-local}"

PORT="${PORT:-3000}"
export PORT
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
  die "PORT must be a port number, not '$PORT'"
fi
# Secrets come from the variables above, not from Secrets Manager.
unset SECRET_ARN

# --- ports ----------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for spec in "$PORT:the local gateway (set PORT to use another)" \
  "$DYNAMODB_PORT:DynamoDB Local" "$SES_PORT:the SES emulator"; do
  p="${spec%%:*}"
  if port_busy "$p"; then
    die "port $p, needed for ${spec#*:}, is already in use. Another \`make run\`?" \
      "A stack left behind by a killed one stops with: (. scripts/stack.sh && stack_down)"
  fi
done

# --- tools and build ------------------------------------------------------------
bash scripts/install-tools.sh
say "building the local gateway (cargo build -p local-gateway)..."
cargo build -p local-gateway
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
if ! [ -x "$BIN/local-gateway" ] || ! [ -x "$BIN/local-setup" ]; then
  die "local-gateway binaries not found in $BIN"
fi

# --- stack, with cleanup on every exit ------------------------------------------
# shellcheck source=scripts/stack.sh
. scripts/stack.sh
gateway_pid=""
demo_env=""
stopped_by=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$gateway_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$gateway_pid" 2>/dev/null; then
      say "gateway (pid $gateway_pid) did not stop; killing it"
      kill -KILL "$gateway_pid" 2>/dev/null || true
    fi
  fi
  if [ -n "$gateway_pid" ]; then wait "$gateway_pid" 2>/dev/null || true; fi
  say "stopping DynamoDB Local and the SES emulator..."
  stack_down
  [ -n "$demo_env" ] && rm -f "$demo_env"
  if [ -n "$stopped_by" ]; then
    say "stopped ($stopped_by)"
    exit 0
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'stopped_by=SIGINT; exit 130' INT
trap 'stopped_by=SIGTERM; exit 143' TERM

stack_up "$DYNAMODB_PORT" "$SES_PORT" "" 0 || die "the local stack did not start (see above)"

# --- table, demo data, tokens -----------------------------------------------------
demo_env="$STACK_DIR/demo.env"
API="http://127.0.0.1:$PORT"
INBOX="http://127.0.0.1:$SES_PORT/"
API_KEY="${SERVICE_API_KEY%%,*}"
{
  echo "# written by scripts/run.sh (make run); in another shell: . ${demo_env#"$ROOT"/}"
  printf 'export API=%q\nexport API_KEY=%q\nexport INBOX=%q\n' "$API" "$API_KEY" "$INBOX"
  "$BIN/local-setup"
} >"$demo_env.tmp" || die "local-setup failed (see above)"
mv "$demo_env.tmp" "$demo_env"
# shellcheck disable=SC1090
. "$demo_env"

shown_env="${demo_env#"$ROOT"/}"
cat <<EOF

  payment-service on $API  (table ${TABLE_NAME:-payments}; DynamoDB Local :$DYNAMODB_PORT, SES emulator :$SES_PORT)

  Demo tokens (HS256, valid 12 h), also in $shown_env:
    demo-user-1 (owns registration REG-DEMO-1, 112.00 USD)
      ${TOKEN_USER1:-}
    demo-user-2 (owns order ORD-DEMO-1, 2 line items)
      ${TOKEN_USER2:-}
    demo-admin (Admin)
      ${TOKEN_ADMIN:-}
  X-API-Key: $API_KEY

  OTP emails: $INBOX   (JSON: ${INBOX}store)

  Try it from another terminal:
    . $shown_env
    curl -s -X POST \$API/payment/intents -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' -d '{"registration_id":"REG-DEMO-1"}'
    curl -s -X POST \$API/payment/intents/request-otp -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' -d '{"intent_id":"<intent_id>"}'
    curl -s -X POST \$API/payment/intents/confirm -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' -d '{"intent_id":"<intent_id>","otp_code":"<code from $INBOX>"}'
    curl -s \$API/payment/intents/user/demo-user-1 -H "Authorization: Bearer \$TOKEN"

  Ctrl-C stops the gateway, DynamoDB Local and the SES emulator.

EOF

# --- the gateway, in the foreground ------------------------------------------------
# Started in the background and waited for, so a signal to this script reaches
# the trap at once (cleanup then stops the gateway by its PID).
"$BIN/local-gateway" &
gateway_pid=$!
set +e
wait "$gateway_pid"
rc=$?
set -e
gateway_pid=""
[ "$rc" -eq 0 ] || die "the gateway exited with status $rc"
