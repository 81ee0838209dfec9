# shellcheck shell=bash
# shellcheck disable=SC2154  # bg, python and endpoint are the sourcing script's
# Sourced by the targets that kill a running module with kill -9 (with `needs/target/setup_glacier` in their
# aliases) as
#   . ../setup_glacier/files/kill_run.sh
# The functions read bg (the pid of the playbook started in the background), python and endpoint (the local
# endpoint's URL) from the sourcing script.

# Every process below pid $1.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1"); do
    echo "$child"
    descendants "$child"
  done
}

# Kill the background playbook and everything it started. Ansible runs each task in a worker process that calls
# setsid, so the module is in the worker's own process group: kill that group, then the playbook itself (which
# shares this script's process group, so it is killed by pid).
kill_run() {
  local pid pgid own
  own=$(ps -o pgid= -p $$ | tr -d ' ')
  for pid in $(descendants "$bg"); do
    pgid=$(ps -o pgid= -p "$pid" | tr -d ' ') || continue
    if [ -n "$pgid" ] && [ "$pgid" != "$own" ]; then
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
    kill -KILL "$pid" 2>/dev/null || true
  done
  kill -KILL "$bg" 2>/dev/null || true
  wait "$bg" 2>/dev/null || true
}

# The pid of the module process, if it is running yet: the python process that the worker's shell started
# (with pipelining its command line is just the interpreter; without, it names AnsiballZ_<module>.py).
module_pid() {
  local pid comm parent
  for pid in $(descendants "$bg"); do
    comm=$(ps -o comm= -p "$pid") || continue
    parent=$(ps -o comm= -p "$(ps -o ppid= -p "$pid" | tr -d ' ')") || continue
    case "$comm" in
      python*)
        if [ "$parent" = sh ]; then
          echo "$pid"
          return 0
        fi
        ;;
    esac
  done
  return 1
}

# kill_when WANT LOG BOUND -- COUNTER [ARG...]: wait until COUNTER prints a count of at least WANT (what the held run
# has done: the endpoint holds the next reply, so the run cannot get further), then kill the module and the playbook
# (kill_run) and make sure the module is dead. LOG is the run's output, shown when it ended early or never got
# there; BOUND (seconds) only ends a broken run. Sets `counted` to the count the run was killed at.
kill_when() {
  local want=$1 log=$2 bound=$3 deadline pid state
  shift 4
  counted=0
  deadline=$((SECONDS + bound))
  while [ "$SECONDS" -lt "$deadline" ]; do
    counted=$("$@")
    if [ "$counted" -ge "$want" ]; then
      break
    fi
    if ! kill -0 "$bg" 2>/dev/null; then
      echo "the run ended before it could be killed:" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.2
  done
  if [ "$counted" -lt "$want" ]; then
    echo "$* counts $counted after $bound s, expected $want" >&2
    cat "$log" >&2
    return 1
  fi
  if ! pid=$(module_pid); then
    echo "no module process found below the playbook:" >&2
    ps -o pid,ppid,pgid,stat,args -p "$bg $(descendants "$bg" | tr '\n' ' ')" >&2
    return 1
  fi
  echo "killing the module (pid $pid, process group $(ps -o pgid= -p "$pid" | tr -d ' ')) at $* = $counted"
  kill_run
  bg=
  # Dead means gone, or a zombie nobody has reaped yet.
  for _ in $(seq 50); do
    state=$(ps -o stat= -p "$pid" || true)
    if [ -z "$state" ] || [ "${state:0:1}" = Z ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "the module process $pid survived kill -9 (state $state)" >&2
  return 1
}

# Remove the endpoint's pending faults; this also releases a held reply (to a client that is gone by then).
clear_faults() {
  "$python" - "$endpoint" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/_control/faults', method='DELETE'), timeout=10)
PY
}
