#!/usr/bin/env bash
# Start an upload of 8 parts, one at a time, while the endpoint holds back the answers from the 4th part on (until the
# faults are cleared, so no timing is involved); kill -9 the module once the vault holds 4 parts; then check that the
# next run resumes: it keeps those 4 parts and sends the other 4 (verify.yml).
set -eu -o pipefail

config=../../integration_config.yml
endpoint=$(sed -n 's/^glacier_endpoint_url: *//p' "$config")
python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}
export ANSIBLE_ROLES_PATH=..
work=$(mktemp -d "${TMPDIR:-/tmp}/cvg-resume.XXXXXX")
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

# Parts the vault holds for the upload this run recorded in its catalog (0 until it is recorded). Only that
# upload counts: the endpoint keeps its data between runs.
upload_parts() {
  "$python" - "$endpoint" "$work/facts.d/resume.fact" <<'PY'
import json, sys, urllib.request
try:
    with open(sys.argv[2]) as catalog:
        vaults = json.load(catalog)['vaults']
except (OSError, ValueError):
    vaults = {}
upload_ids = [upload['upload_id'] for vault in vaults.values() for upload in vault.get('uploads', {}).values()]
with urllib.request.urlopen(sys.argv[1] + '/_control/state', timeout=10) as reply:
    state = json.load(reply)
print(sum(upload['parts'] for upload in state['store']['uploads'] if upload['upload_id'] in upload_ids))
PY
}

# The pid of the module process, if it is running yet: the python process that the worker's shell started
# (with pipelining its command line is just the interpreter; without, it names AnsiballZ_upload.py).
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

playbook upload.yml "$@" > "$work/killed-run.log" 2>&1 &
bg=$!

# Wait for the vault to hold 4 parts of this run's upload (the answers are held until the faults are cleared, so the
# upload cannot get further); the bound only ends a run whose upload never started.
parts=0
deadline=$((SECONDS + 600))
while [ "$SECONDS" -lt "$deadline" ]; do
  parts=$(upload_parts)
  if [ "$parts" -ge 4 ]; then
    break
  fi
  if ! kill -0 "$bg" 2>/dev/null; then
    echo "the upload ended before it could be killed:" >&2
    cat "$work/killed-run.log" >&2
    exit 1
  fi
  sleep 0.2
done
if [ "$parts" -lt 4 ]; then
  echo "the vault holds $parts parts of the upload after 600 s, expected 4" >&2
  cat "$work/killed-run.log" >&2
  exit 1
fi

if ! pid=$(module_pid); then
  echo "no module process found below the playbook:" >&2
  ps -o pid,ppid,pgid,stat,args -p "$bg $(descendants "$bg" | tr '\n' ' ')" >&2
  exit 1
fi
echo "killing the module (pid $pid, process group $(ps -o pgid= -p "$pid" | tr -d ' ')) with $parts parts in the vault"
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

# Nothing more arrives once the module is dead.
parts=$(upload_parts)
echo "the vault holds $parts parts of the killed upload"

playbook verify.yml -e expected_resumed="$parts" "$@"
