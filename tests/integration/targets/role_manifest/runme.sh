#!/usr/bin/env bash
# The no-change decision of the coldvault.glacier.backup role: a set whose members match the manifest recorded with
# its latest archive is not packed, read or sent. Each kind of change below must be noticed (the set is packed and a
# new archive uploaded), and a run after it must find the set unchanged again without packing it:
#   changed file, added file, removed file, renamed file, changed mode, changed symlink target, content written with
#   its modification time put back (noticed by the ctime check, and by change_detection: content), a status change
#   that leaves the tarball as it was (packed, nothing uploaded), a change of an excluded file (nothing packed), a
#   manifest file that is lost (the first run after upgrading: packed, nothing uploaded), and sparse files packed as
#   sparse. Against the local Glacier endpoint whose URL `make integration` writes into integration_config.yml.
set -eux -o pipefail

. ../setup_glacier/files/role_test_env.sh role-manifest
# What it set (named here for shellcheck, which does not follow the file):
endpoint=${endpoint:?} python=${python:?} work=${work:?}

vault="cvg-manifest-${work##*.}"
data="$work/data"
facts="$work/facts.d/glacier.fact"
manifests="$work/facts.d/glacier_manifests.fact"
staging="$work/staging"
inventory="$work/inventory"
log="$work/play.log"
export vault endpoint data facts staging inventory

# Requests the endpoint counted for operation $1.
count() {
  "$python" - "$endpoint" "$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + '/_control/counters', timeout=10) as reply:
    print(json.load(reply)['requests'].get(sys.argv[2], 0))
PY
}

# Archives created so far.
uploads() {
  echo $(( $(count UploadArchive) + $(count CompleteMultipartUpload) ))
}

# Write the inventory; $1: the change_detection of set "data".
configure() {
  mkdir -p "$inventory/group_vars"
  printf 'glacier_backup:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n' \
    "$python" > "$inventory/hosts.yml"
  DETECTION=${1:-metadata} "$python" - <<'PY'
import json, os
env = os.environ
config = {
    'vault': env['vault'],
    'aws': {'endpoint_url': env['endpoint'], 'region': 'us-east-1',
            'access_key': 'AKIACOLDVAULTMANIFEST', 'secret_key': 'cvg-manifest-SECRET-4e2b9d'},
    'staging_dir': env['staging'],
    'facts_file': env['facts'],
}
sets = [{'name': 'data', 'paths': [env['data']], 'exclude': ['*.tmp'], 'compression': 'none',
         'change_detection': env['DETECTION']}]
with open(os.path.join(env['inventory'], 'group_vars', 'glacier_backup.yml'), 'w', encoding='utf-8') as f:
    json.dump({'backup_config': config, 'backup_sets': sets}, f, indent=2)
PY
}

# The manifest's record time is taken whole seconds early (so that file systems with one-second timestamps miss no
# change), so a member whose status changed in the two seconds before a run is packed once more on the next one.
# Every run here starts after that: wait for the clock, a condition, not a delay, whatever the machine's speed.
settle() {
  "$python" - "$data" <<'PY'
import os, sys, time
newest = max(os.lstat(os.path.join(d, n)).st_ctime for d, ds, fs in os.walk(sys.argv[1]) for n in ds + fs + ['.'])
while time.time() < int(newest) + 2:
    time.sleep(0.05)
PY
}

backup() {
  settle
  ansible-playbook coldvault.glacier.backup -i "$inventory" 2>&1 | tee "$log"
}

# Whether the last run packed set "data" (an item of the packing task).
packed() {
  awk '/^TASK \[.*: Pack each set/ {on = 1; next} /^TASK \[/ {on = 0} on && /\(item=data\)/ {found = 1} END {exit !found}' "$log"
}

# Run the role after a change that must be noticed: the set is packed and one archive uploaded, because of $1.
expect_new_archive() {
  before=$(uploads)
  backup
  packed
  [ "$(uploads)" -eq $((before + 1)) ]
  grep -F "data: uploaded archive" "$log"
  grep -F "packed because $1" "$log"
}

# Run the role with nothing changed: nothing packed, nothing sent, nothing changed.
expect_untouched() {
  before=$(uploads)
  backup
  if packed; then echo "set data was packed, though nothing changed" >&2; exit 1; fi
  [ "$(uploads)" -eq "$before" ]
  grep -F 'data: unchanged: archive' "$log"
  grep -F 'already holds these files (same manifest: nothing was packed)' "$log"
  grep -E '^localhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$log"
}

# A change of metadata or of names.
changed='files were added, removed or renamed, or their metadata changed'

mkdir -p "$data/sub"
echo "first" > "$data/a.txt"
echo "second" > "$data/sub/b.txt"
ln -s a.txt "$data/link"
echo "scratch" > "$data/skip.tmp"
# 1 GiB with 4 KiB of data at its end: packed as sparse, the tarball stays small.
"$python" -c 'import sys; f = open(sys.argv[1], "wb"); f.truncate(1 << 30); f.seek((1 << 30) - 4096); f.write(b"x" * 4096)' "$data/sparse.img"

configure
expect_new_archive 'the catalog has no archive of the set'
grep -E '^localhost +: ok=[0-9]+ +changed=[1-9]' "$log"
# The manifest is recorded beside the catalog, with the archive it describes.
"$python" - "$facts" "$manifests" <<'PY'
import json, sys
catalog, manifests = (json.load(open(p)) for p in sys.argv[1:])
(arn, vault), = catalog['vaults'].items()
entry = vault['archives']['data']
record = manifests['vaults'][arn]['data']
assert record['archive_id'] == entry['archive_id'], (record, entry)
assert record['fingerprint'] == entry['fingerprint'] and record['listing'].startswith('sha256:'), record
# Sparse: the 1 GiB file's holes are not in the tarball.
assert entry['size'] < 1 << 20, entry['size']
PY
expect_untouched

# --- each kind of change is noticed --------------------------------------------------------------------------------------
echo "first, changed" > "$data/a.txt"
expect_new_archive "$changed"
echo "third" > "$data/sub/c.txt"
expect_new_archive "$changed"
rm "$data/sub/c.txt"
expect_new_archive "$changed"
mv "$data/sub/b.txt" "$data/sub/b-renamed.txt"
expect_new_archive "$changed"
chmod 0600 "$data/a.txt"
expect_new_archive "$changed"
ln -sfn sub/b-renamed.txt "$data/link"
expect_new_archive "$changed"
expect_untouched

# Written with the same size, and the modification time put back: only the status change time (ctime) tells.
stamp=$(stat -c %y "$data/a.txt")
echo "FIRST, CHANGED" > "$data/a.txt"
touch -d "$stamp" "$data/a.txt"
expect_new_archive "$data/a.txt changed since the latest archive (its status change time is newer)"
expect_untouched

# --- change_detection: content packs on every run, and compares the tarball ------------------------------------------------
configure content
before=$(uploads)
backup
packed
[ "$(uploads)" -eq "$before" ]
grep -F 'data: unchanged: archive' "$log"
grep -F 'already holds this content; packed because change_detection is content' "$log"
stamp=$(stat -c %y "$data/sub/b-renamed.txt")
echo "SECOND" > "$data/sub/b-renamed.txt"
touch -d "$stamp" "$data/sub/b-renamed.txt"
expect_new_archive 'change_detection is content'
configure metadata
expect_untouched

# --- a status change that leaves the tarball as it was: packed, nothing uploaded, and not packed again --------------------
chmod 0600 "$data/a.txt"
before=$(uploads)
backup
packed
[ "$(uploads)" -eq "$before" ]
grep -F "packed because $data/a.txt changed since the latest archive" "$log"
grep -F 'already holds this content' "$log"
expect_untouched

# --- an excluded file changes nothing ----------------------------------------------------------------------------------------
echo "more scratch" > "$data/skip.tmp"
expect_untouched

# --- the manifests are lost (as on the first run after upgrading): packed once, nothing uploaded -----------------------------
rm "$manifests"
before=$(uploads)
backup
packed
[ "$(uploads)" -eq "$before" ]
grep -F 'packed because no manifest is recorded with the latest archive, or the settings changed' "$log"
[ -s "$manifests" ]
expect_untouched

# --- the sparse file comes back from the archive as it was, with its holes (the role's restore entry point) ----------------
ansible-playbook coldvault.glacier.restore -i "$inventory" \
  -e "{\"backup_restore\": {\"dest\": \"$work/restored\", \"tier\": \"Expedited\", \"poll_interval\": 1}}" 2>&1 | tee "$log"
grep -E '^localhost +: ok=[0-9]+ +changed=[1-9][0-9]* +unreachable=0 +failed=0' "$log"
cmp "$data/sparse.img" "$work/restored/data$data/sparse.img"
[ "$(stat -c %b "$work/restored/data$data/sparse.img")" -lt 1024 ]
