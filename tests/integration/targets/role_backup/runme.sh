#!/usr/bin/env bash
# The coldvault.glacier.backup role, run as docs/ci.md's pipelines run it:
#   ansible-playbook coldvault.glacier.backup -i INVENTORY              (scheduled backups)
#   ansible-playbook coldvault.glacier.backup -i INVENTORY --check --diff (pull requests)
# against the local Glacier endpoint whose URL `make integration` writes into integration_config.yml. Checks use the
# play recap, the endpoint's request counters (GET /_control/counters) and the catalog (the facts file).
set -eux -o pipefail

. ../setup_glacier/files/role_test_env.sh role-backup
# What it set (named here for shellcheck, which does not follow the file):
endpoint=${endpoint:?} python=${python:?} work=${work:?} gnupg=${gnupg:?}
# For the AWS CLI that retrieves an archive; the endpoint accepts any credentials.
export AWS_ACCESS_KEY_ID=AKIACOLDVAULTROLE001 AWS_SECRET_ACCESS_KEY=cvg-role-SECRET-8d2e61 AWS_DEFAULT_REGION=us-east-1

vault="cvg-role-${work##*.}"
src="$work/src"
docs="$src/docs"
# Spaces, both quotes and non-ASCII characters.
weird=$(printf '%s/dir with spaces/it%ss "quoted"/ünïcødé ✓' "$src" "'")
data="$src/data"
facts="$work/facts.d/glacier.fact"
staging="$work/staging"
inventory="$work/inventory"
log="$work/play.log"
export vault endpoint src docs weird data facts staging inventory

# --- helpers -----------------------------------------------------------------------------------------------------

# Requests the endpoint counted for operation $1.
count() {
  "$python" - "$endpoint" "$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + '/_control/counters', timeout=10) as reply:
    print(json.load(reply)['requests'].get(sys.argv[2], 0))
PY
}

# Archives created so far (single-request uploads plus completed multipart uploads).
uploads() {
  echo $(( $(count UploadArchive) + $(count CompleteMultipartUpload) ))
}

# Evaluate a Python expression over the catalog entries of the vault: `entries` maps set name -> catalog entry,
# each with its whole "history" (from the history beside the facts file, read by the collection's own code).
catalog() {
  "$python" - "$facts" "$vault" "$1" <<'PY'
import os, sys
# Where ansible-test put the collection (it runs playbooks with the same path).
sys.path[:0] = (os.environ.get('ANSIBLE_COLLECTIONS_PATH') or os.environ.get('ANSIBLE_COLLECTIONS_PATHS', '')).split(os.pathsep)
from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
data = catalog.expand(catalog.read(sys.argv[1]))
vaults = [v for v in data['vaults'].values() if v['vault'] == sys.argv[2]]
entries = vaults[0]['archives'] if vaults else {}
print(eval(sys.argv[3]))
PY
}

# Write the inventory: host localhost in group glacier_backup, with backup_config and backup_sets as group vars.
# $1: JSON merged into the test's backup_config; $2: JSON list that replaces the default sets. In both, @docs@,
# @weird@, @src@ and @staging@ stand for those paths (which hold quotes, so they go through the environment).
configure() {
  mkdir -p "$inventory/group_vars"
  printf 'glacier_backup:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n' \
    "$python" > "$inventory/hosts.yml"
  CONFIG=${1:-'{}'} SETS=${2:-null} "$python" - <<'PY'
import json, os
env = os.environ

def paths(text):
    for key in ('docs', 'weird', 'src', 'staging'):
        text = text.replace('@%s@' % key, json.dumps(env[key])[1:-1])
    return json.loads(text)

config = {
    'vault': env['vault'],
    'vault_tags': {'purpose': 'role-backup-test'},
    'aws': {'endpoint_url': env['endpoint'], 'region': 'us-east-1',
            'access_key': env['AWS_ACCESS_KEY_ID'], 'secret_key': env['AWS_SECRET_ACCESS_KEY']},
    'staging_dir': env['staging'],
    'facts_file': env['facts'],
    # Small parts, so that the set with 2 MiB goes as a multipart upload.
    'part_size': 1,
}
config.update(paths(env['CONFIG']))
sets = paths(env['SETS']) or [
    # Two paths; the 2 MiB file in data/ makes it a multipart upload.
    {'name': 'docs', 'paths': [env['docs'], env['data'] + '/'], 'exclude': ['*.tmp', 'cache']},
    {'name': 'weird', 'paths': [env['weird']], 'compression': 'zstd'},
]
with open(os.path.join(env['inventory'], 'group_vars', 'glacier_backup.yml'), 'w', encoding='utf-8') as f:
    json.dump({'backup_config': config, 'backup_sets': sets}, f, indent=2, ensure_ascii=False)
PY
}

# Run the backup playbook with extra arguments; the output goes to $log (and to the test log).
backup() {
  ansible-playbook coldvault.glacier.backup -i "$inventory" "$@" 2>&1 | tee "$log"
}

# The recap line of localhost must match $1 (for example 'changed=0 .*failed=0').
recap() {
  grep -E "^localhost +: ok=[0-9]+ +$1" "$log"
}

# Changes reported per set: each step is one task that loops over the sets, so the recap counts steps, not sets.
changed_items() {
  grep -c '^changed: \[localhost\] => (item=' "$log" || true
}

# --- the files to back up ----------------------------------------------------------------------------------------
mkdir -p "$docs/sub" "$docs/cache" "$weird" "$data"
echo "first version" > "$docs/readme.txt"
echo "notes" > "$docs/sub/notes.md"
echo "scratch" > "$docs/skip.tmp"
echo "cached" > "$docs/cache/blob"
printf 'quotes " and \x27, spaces, ünïcødé\n' > "$weird/it's a \"file\" ✓.txt"
echo "second" > "$weird/plain.txt"
# Incompressible and over 1 MiB: with part_size 1 the docs set goes as a multipart upload.
"$python" -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(2 * 1024 * 1024 + 4096))' "$data/random.bin"

configure

# --- check mode on a vault that does not exist yet: everything would be uploaded, nothing is sent --------------------
before_create=$(count CreateVault); before=$(uploads); before_parts=$(count UploadMultipartPart)
backup --check --diff
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
grep -F 'docs: would upload a new archive (2.' "$log"
grep -F 'weird: would upload a new archive' "$log"
[ "$(count CreateVault)" -eq "$before_create" ]
[ "$(uploads)" -eq "$before" ]
[ "$(count UploadMultipartPart)" -eq "$before_parts" ]
[ ! -e "$facts" ]

# --- first run: every set is uploaded -------------------------------------------------------------------------------
before=$(uploads); before_multipart=$(count CompleteMultipartUpload)
backup
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
[ "$(uploads)" -eq $((before + 2)) ]
[ "$(count CompleteMultipartUpload)" -eq $((before_multipart + 1)) ]
[ "$(catalog 'sorted(entries)')" = "['docs', 'weird']" ]
[ "$(catalog 'all(len(e["history"]) == 1 for e in entries.values())')" = True ]
grep -E 'docs: uploaded archive .*the catalog lists 1 archive of it' "$log"
# The staged files are gone.
[ -z "$(find "$staging" -mindepth 1 ! -name "*.manifest")" ]

# --- second run: nothing changed, nothing is sent -------------------------------------------------------------------
# Excluded files change nothing.
echo "more scratch" > "$docs/skip.tmp"
echo "more cache" > "$docs/cache/blob2"
before=$(uploads)
backup
recap 'changed=0 +unreachable=0 +failed=0'
[ "$(uploads)" -eq "$before" ]
grep -F 'weird: unchanged' "$log"

# --- one file of one set changes: exactly one new archive ---------------------------------------------------------------
echo "second version" > "$docs/readme.txt"
before=$(uploads)
backup
recap 'changed=1 +unreachable=0 +failed=0'
[ "$(uploads)" -eq $((before + 1)) ]
grep -F 'docs: uploaded archive' "$log"
grep -F 'weird: unchanged' "$log"
[ "$(catalog '[len(entries[n]["history"]) for n in ("docs", "weird")]')" = "[2, 1]" ]

# --- pull request: check mode shows what would be uploaded and deleted, and sends nothing ------------------------------
# Retention from now on: keep the last archive of each set, whatever its age.
configure '{"retention": {"enabled": true, "keep": 1, "min_age_days": 0}}'
echo "changed" >> "$weird/plain.txt"
old_docs=$(catalog 'entries["docs"]["history"][0]["archive_id"]')
before=$(uploads); before_delete=$(count DeleteArchive)
backup --check --diff
# weird's upload, and docs' prune task: two steps, one set each.
recap 'changed=2 +unreachable=0 +failed=0'
[ "$(changed_items)" -eq 2 ]
grep -F 'weird: would upload a new archive' "$log"
grep -F 'docs: unchanged' "$log"
grep -E 'docs: .*would delete 1 older archive' "$log"
grep -F '"pending": "a new archive of' "$log"
[ "$(uploads)" -eq "$before" ]
[ "$(count DeleteArchive)" -eq "$before_delete" ]
[ "$(catalog '[r.get("deleted_at") for r in entries["docs"]["history"]]')" = "[None, None]" ]

# --- retention for real: the older archives are deleted, the catalog keeps their ids -----------------------------------
backup
# weird's upload, and the retention policy that deleted in both sets.
recap 'changed=2 +unreachable=0 +failed=0'
[ "$(changed_items)" -eq 3 ]
[ "$(uploads)" -eq $((before + 1)) ]
# docs' first archive, and weird's archive that this run's upload replaced.
[ "$(count DeleteArchive)" -eq $((before_delete + 2)) ]
[ "$(catalog "[(r['archive_id'] == '$old_docs', 'deleted_at' in r) for r in entries['docs']['history']]")" = "[(True, True), (False, False)]" ]
[ "$(catalog '[sum("deleted_at" not in r for r in e["history"]) for e in entries.values()]')" = "[1, 1]" ]
# The latest archive of each set is live, and is the one the entry shows.
[ "$(catalog 'all("deleted_at" not in e and e["archive_id"] == e["history"][-1]["archive_id"] for e in entries.values())')" = True ]

# --- encryption: a new archive per set (new fingerprint), stable on the next run, restorable ---------------------------
export GNUPGHOME="$gnupg"
gpg --batch --passphrase '' --quick-gen-key 'coldvault backup test <backup-test@example.invalid>' default default never
unset GNUPGHOME
configure "{\"retention\": {\"enabled\": true, \"keep\": 1, \"min_age_days\": 0},
            \"encryption\": {\"enabled\": true, \"recipient\": \"backup-test@example.invalid\", \"gpg_homedir\": \"$gnupg\"}}"
before=$(uploads); before_delete=$(count DeleteArchive)
backup
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
[ "$(uploads)" -eq $((before + 2)) ]
[ "$(count DeleteArchive)" -eq $((before_delete + 2)) ]
# GPG output differs on every run; the plaintext's fingerprint does not.
before=$(uploads)
backup
recap 'changed=0 +unreachable=0 +failed=0'
[ "$(uploads)" -eq "$before" ]

# Retrieve the encrypted archive of "weird" with the AWS CLI, decrypt it, unpack it and compare it with the source.
archive_id=$(catalog 'entries["weird"]["archive_id"]')
job=$(aws --endpoint-url "$endpoint" glacier initiate-job --account-id - --vault-name "$vault" \
  --job-parameters "{\"Type\": \"archive-retrieval\", \"ArchiveId\": \"$archive_id\"}" --query jobId --output text)
for _ in $(seq 50); do
  status=$(aws --endpoint-url "$endpoint" glacier describe-job --account-id - --vault-name "$vault" --job-id "$job" \
    --query StatusCode --output text)
  [ "$status" = Succeeded ] && break
  sleep 0.2
done
aws --endpoint-url "$endpoint" glacier get-job-output --account-id - --vault-name "$vault" --job-id "$job" \
  "$work/weird.tar.zst.gpg"
gpg --homedir "$gnupg" --batch --decrypt --output "$work/weird.tar.zst" "$work/weird.tar.zst.gpg"
mkdir "$work/restore"
tar --zstd -xf "$work/weird.tar.zst" -C "$work/restore"
diff -r "$weird" "$work/restore/${weird#/}"
# The members are relative to /, and nothing else is in the tarball.
[ "$(tar --zstd -tf "$work/weird.tar.zst" | grep -vc "^${src#/}/dir with spaces/")" -eq 0 ]

# --- a failing set: the others are still backed up, then the play fails ----------------------------------------------------
configure '{}' '[{"name": "docs", "paths": ["@docs@"], "exclude": ["*.tmp", "cache"]},
                {"name": "missing", "paths": ["@src@/no such dir"]},
                {"name": "weird", "paths": ["@weird@"], "compression": "xz"}]'
if backup; then
  echo "the play should have failed: set missing cannot be packed" >&2
  exit 1
fi
recap 'changed=[0-9]+ +unreachable=0 +failed=1'
grep -F "missing: FAILED: paths: \\\"$src/no such dir\\\" does not exist" "$log"
grep -F 'weird: uploaded archive' "$log"
grep -F '1 of 3 backup set(s) failed: set \"missing\": paths: ' "$log"
[ -z "$(find "$staging" -mindepth 1 ! -name "*.manifest")" ]

# --- bad settings are refused before anything is built or sent ---------------------------------------------------------
before=$(uploads)
configure '{}' '[{"name": "docs", "paths": ["@docs@"]}, {"name": "docs", "paths": ["relative/path", "@staging@/x"]}]'
if backup; then exit 1; fi
grep -F 'backup_sets[1] \"docs\": name: backup_sets[0] has the same name' "$log"
grep -F 'backup_sets[1] \"docs\": paths: \"relative/path\" is not an absolute path' "$log"
grep -F 'backup_sets[1] \"docs\": paths: \"'"$staging"'/x\" is inside backup_config.staging_dir' "$log"
configure '{"retention": {"enabled": true, "keep": 0}, "encryption": {"enabled": true}}'
if backup; then exit 1; fi
grep -F 'backup_config.retention.keep: must be at least 1' "$log"
grep -F 'backup_config.encryption.recipient: encryption is enabled' "$log"
[ "$(uploads)" -eq "$before" ]

# --- a host whose tar is not GNU tar: both entry points refuse it up front with the same message, and change nothing --
mkdir -p "$work/not-gnu"
printf '#!/bin/sh\necho "tar (busybox) 1.36.1"\n' > "$work/not-gnu/tar"
chmod +x "$work/not-gnu/tar"
configure
before=$(uploads)
if PATH="$work/not-gnu:$PATH" backup; then exit 1; fi
grep -F 'coldvault.glacier.backup needs GNU tar 1.28 or later on the host' "$log"
grep -F 'the host has: tar (busybox) 1.36.1' "$log"
if PATH="$work/not-gnu:$PATH" ansible-playbook coldvault.glacier.restore -i "$inventory" \
     -e "{\"backup_restore\": {\"dest\": \"$work/restored\"}}" 2>&1 | tee "$log"; then exit 1; fi
grep -F 'coldvault.glacier.backup needs GNU tar 1.28 or later on the host' "$log"
grep -F 'the host has: tar (busybox) 1.36.1' "$log"
[ ! -e "$work/restored" ]
[ "$(uploads)" -eq "$before" ]
