#!/usr/bin/env bash
# Three uploads killed with kill -9, each while the endpoint holds back one reply (the request itself takes effect,
# so nothing depends on timing), then rerun by verify.yml:
#   resume     killed with 4 of 6 parts in S3: the rerun keeps them and sends the other 2
#   changed    killed with 2 of 3 parts in S3, then the file changes: the rerun aborts that upload (S3 would bill
#              its parts forever) and uploads the new content
#   completed  killed after S3 completed the object, before the module recorded it: the rerun finds it, checks it
#              holds the file and records it, sending nothing
set -eu -o pipefail

config=../../integration_config.yml
endpoint=$(sed -n 's/^glacier_endpoint_url: *//p' "$config")
python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}
export ANSIBLE_ROLES_PATH=..
work=$(mktemp -d "${TMPDIR:-/tmp}/cvg-s3-resume.XXXXXX")
bg=

. ../setup_glacier/files/kill_run.sh

cleanup() {
  if [ -n "$bg" ] && kill -0 "$bg" 2>/dev/null; then
    kill_run
  fi
  clear_faults || true
  rm -rf "$work"
}
trap cleanup EXIT

# The parts S3 holds of the upload of $1 that the catalog records: those of the open upload, or the parts of the
# object it became once completed; 0 while nothing is recorded.
held_parts() {
  "$python" - "$endpoint" "$work/facts.d/resume.fact" "$1" <<'PY'
import json, sys, urllib.request
import boto3, botocore.config
endpoint, facts, name = sys.argv[1:]
try:
    with open(facts) as catalog:
        upload = json.load(catalog)['buckets']['arn:aws:s3:::cvg-it-s3-resume']['uploads'][name]
except (OSError, ValueError, KeyError):
    print(0)
    sys.exit()
with urllib.request.urlopen(endpoint + '/_control/state', timeout=10) as reply:
    uploads = {u['upload_id']: u['parts'] for u in json.load(reply)['s3']['uploads']}
if upload['upload_id'] in uploads:
    print(uploads[upload['upload_id']])
    sys.exit()
s3 = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x',
                  config=botocore.config.Config(s3={'addressing_style': 'path'}))
try:
    print(s3.head_object(Bucket='cvg-it-s3-resume', Key=upload['key'], PartNumber=1).get('PartsCount', 1))
except s3.exceptions.ClientError:
    print(0)
PY
}

playbook() {
  ansible-playbook -i "$INVENTORY_PATH" -e @"$config" -e work="$work" "$@"
}

# kill_at SCENARIO PARTS: run the upload of SCENARIO, kill -9 it once S3 holds PARTS parts of it, rerun and check.
kill_at() {
  local scenario=$1 want=$2 parts
  playbook hold.yml -e scenario="$scenario" "${@:3}"
  playbook upload.yml -e scenario="$scenario" "${@:3}" > "$work/$scenario-killed.log" 2>&1 &
  bg=$!
  # The held reply never comes, so the run waits until it is killed.
  kill_when "$want" "$work/$scenario-killed.log" 300 -- held_parts "$scenario"
  clear_faults
  parts=$(held_parts "$scenario")
  playbook verify.yml -e scenario="$scenario" -e held_parts="$parts" "${@:3}"
}

playbook prepare.yml "$@"
kill_at resume 4 "$@"
kill_at changed 2 "$@"
kill_at completed 3 "$@"
