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

# Remove the endpoint's pending faults; this also releases a held reply (to a client that is gone by then).
clear_faults() {
  "$python" - "$endpoint" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/_control/faults', method='DELETE'), timeout=10)
PY
}
