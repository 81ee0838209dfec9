#!/usr/bin/env bash
# Start a retrieve of an archive of 8 MiB, in 1 MiB ranges one at a time, while the endpoint holds back the answer
# to the 5th range; kill -9 the module once the journal of its temporary file records 4 verified ranges (half the
# archive); then check that the next run resumes: it fetches only the other 4 ranges (verify.yml).
set -eu -o pipefail

config=../../integration_config.yml
endpoint=$(sed -n 's/^glacier_endpoint_url: *//p' "$config")
python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}
export ANSIBLE_ROLES_PATH=..
work=$(mktemp -d "${TMPDIR:-/tmp}/cvg-retrieve-resume.XXXXXX")
bg=

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

cleanup() {
  if [ -n "$bg" ] && kill -0 "$bg" 2>/dev/null; then
    kill_run
  fi
  "$python" - "$endpoint" <<'PY' || true
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/_control/faults', method='DELETE'), timeout=10)
PY
  rm -rf "$work"
}
trap cleanup EXIT

# Ranges the journal next to dest records as verified (0 until the download has started). The journal is the
# download's own record of progress: a header line, then one line per verified range.
recorded_ranges() {
  local journal lines
  for journal in "$work"/.restored.bin.*.cvg-part.jsonl; do
    if [ -f "$journal" ]; then
      lines=$(wc -l < "$journal")
      echo $((lines - 1))
      return 0
    fi
  done
  echo 0
}

# The pid of the module process, if it is running yet: the python process that the worker's shell started
# (with pipelining its command line is just the interpreter; without, it names AnsiballZ_retrieve.py).
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

playbook() {
  ansible-playbook -i "$INVENTORY_PATH" -e @"$config" -e work="$work" "$@"
}

playbook prepare.yml "$@"

playbook retrieve.yml "$@" > "$work/killed-run.log" 2>&1 &
bg=$!

# Wait at most 100 s for the journal to record 4 ranges. Once it does, the 5th answer is held back for 60 s (the
# module's read timeout), and the module is killed within a poll or two of that.
ranges=0
deadline=$((SECONDS + 100))
while [ "$SECONDS" -lt "$deadline" ]; do
  ranges=$(recorded_ranges)
  if [ "$ranges" -ge 4 ]; then
    break
  fi
  if ! kill -0 "$bg" 2>/dev/null; then
    echo "the retrieve ended before it could be killed:" >&2
    cat "$work/killed-run.log" >&2
    exit 1
  fi
  sleep 0.2
done
if [ "$ranges" -lt 4 ]; then
  echo "the journal records $ranges ranges after 100 s, expected 4" >&2
  cat "$work/killed-run.log" >&2
  exit 1
fi

if ! pid=$(module_pid); then
  echo "no module process found below the playbook:" >&2
  ps -o pid,ppid,pgid,stat,args -p "$bg $(descendants "$bg" | tr '\n' ' ')" >&2
  exit 1
fi
echo "killing the module (pid $pid, process group $(ps -o pgid= -p "$pid" | tr -d ' ')) with $ranges ranges verified"
kill_run
bg=
# Dead means gone, or a zombie nobody has reaped yet.
for _ in $(seq 50); do
  state=$(ps -o stat= -p "$pid" || true)
  if [ -z "$state" ] || [ "${state:0:1}" = Z ]; then
    break
  fi
  sleep 0.1
done
if [ -n "$state" ] && [ "${state:0:1}" != Z ]; then
  echo "the module process $pid survived kill -9 (state $state)" >&2
  exit 1
fi

# Nothing more is verified once the module is dead.
ranges=$(recorded_ranges)
echo "the journal of the killed retrieve records $ranges ranges"

playbook verify.yml -e expected_recorded="$ranges" "$@"
