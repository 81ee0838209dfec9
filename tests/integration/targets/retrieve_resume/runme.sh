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

playbook() {
  ansible-playbook -i "$INVENTORY_PATH" -e @"$config" -e work="$work" "$@"
}

playbook prepare.yml "$@"

playbook retrieve.yml "$@" > "$work/killed-run.log" 2>&1 &
bg=$!

# Killed once the journal records 4 ranges: the 5th answer is then held back for 60 s (the module's read timeout),
# and the module is killed within a poll or two of that.
kill_when 4 "$work/killed-run.log" 100 -- recorded_ranges

# Nothing more is verified once the module is dead.
ranges=$(recorded_ranges)
echo "the journal of the killed retrieve records $ranges ranges"

playbook verify.yml -e expected_recorded="$ranges" "$@"
