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

. ../setup_glacier/files/kill_run.sh

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

playbook() {
  ansible-playbook -i "$INVENTORY_PATH" -e @"$config" -e work="$work" "$@"
}

playbook prepare.yml "$@"

playbook upload.yml "$@" > "$work/killed-run.log" 2>&1 &
bg=$!

# Killed once the vault holds 4 parts of this run's upload (the answers are held until the faults are cleared, so
# the upload cannot get further).
kill_when 4 "$work/killed-run.log" 600 -- upload_parts

# Nothing more arrives once the module is dead.
parts=$(upload_parts)
echo "the vault holds $parts parts of the killed upload"

playbook verify.yml -e expected_resumed="$parts" "$@"
