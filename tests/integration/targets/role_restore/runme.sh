#!/usr/bin/env bash
# Disaster recovery with the coldvault.glacier.backup role, run the way docs/ci.md's pipelines run the playbooks:
#   1. back up 3 sets (gzip, zstd, and xz encrypted to a throwaway GPG key) with playbooks/backup.yml;
#   2. lose the catalog (the facts file) and the staging directory;
#   3. rebuild the catalog from a vault inventory (coldvault.glacier.inventory, rebuild: true) with rebuild.yml;
#   4. restore every set with playbooks/restore.yml (the role's restore entry point) and compare every restored file
#      byte for byte with the original;
#   5. restore again: no new retrieval job (the endpoint's InitiateJob counter), nothing downloaded, no change;
#   6. check mode sees a damaged restore, which a real run repairs from the kept download, still without a job;
#      extract: false leaves the decrypted tarball in the destination.
# Against the local Glacier endpoint whose URL `make integration` writes into integration_config.yml.
set -eux -o pipefail

. ../setup_glacier/files/role_test_env.sh role-restore
# What it set (named here for shellcheck, which does not follow the file):
endpoint=${endpoint:?} python=${python:?} work=${work:?} gnupg=${gnupg:?}
here=$(pwd)

vault="cvg-restore-${work##*.}"
src="$work/src"
docs="$src/docs"
# Spaces, both quotes and non-ASCII characters, in the backed-up paths and in the destination.
weird=$(printf '%s/dir with spaces/it%ss "quoted"/ünïcødé ✓' "$src" "'")
secret="$src/secret"
dest=$(printf '%s/restored "here" it%ss ✓' "$work" "'")
facts="$work/facts.d/glacier.fact"
staging="$work/staging"
inventory="$work/inventory"
log="$work/play.log"
export vault endpoint docs weird secret dest facts staging gnupg work

# --- helpers -----------------------------------------------------------------------------------------------------

# Requests the endpoint counted for operation $1.
count() {
  "$python" - "$endpoint" "$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + '/_control/counters', timeout=10) as reply:
    print(json.load(reply)['requests'].get(sys.argv[2], 0))
PY
}

# Run a playbook (a collection playbook name or a file) with extra arguments; the output goes to $log too.
play() {
  ansible-playbook -i "$inventory" "$@" 2>&1 | tee "$log"
}

# The recap line of localhost must match $1 (for example 'changed=0 .*failed=0').
recap() {
  grep -E "^localhost +: ok=[0-9]+ +$1" "$log"
}

# Changes reported per set: each step is one task that loops over the sets, so the recap counts steps, not sets.
changed_items() {
  grep -c '^changed: \[localhost\] => (item=' "$log" || true
}

# The restored copy of backed-up directory $2 in set $1.
restored() {
  printf '%s/%s%s' "$dest" "$1" "$2"
}

# Every restored file must be byte for byte the original, with the same mode and modification time.
compare() {
  diff -r --no-dereference "$docs" "$(restored docs "$docs")"
  diff -r --no-dereference "$weird" "$(restored weird "$weird")"
  diff -r --no-dereference "$secret" "$(restored secret "$secret")"
  for set_dir in "docs:$docs" "weird:$weird" "secret:$secret"; do
    (cd "${set_dir#*:}" && find . -print0 | sort -z | xargs -0 stat -c '%n %a %s %Y %F') > "$work/before"
    (cd "$(restored "${set_dir%%:*}" "${set_dir#*:}")" && find . -print0 | sort -z | xargs -0 stat -c '%n %a %s %Y %F') \
      > "$work/after"
    diff "$work/before" "$work/after"
  done
}

# --- the files to back up ----------------------------------------------------------------------------------------
mkdir -p "$docs/sub" "$weird/nested dir" "$secret"
echo "first version" > "$docs/readme.txt"
echo "notes" > "$docs/sub/notes.md"
: > "$docs/empty"
ln -s readme.txt "$docs/link to readme"
chmod 0640 "$docs/sub/notes.md"
touch -d '2001-02-03 04:05:06' "$docs/readme.txt"
# Incompressible and over 1 MiB: with part_size 1 the docs set goes as a multipart upload.
"$python" -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(2 * 1024 * 1024 + 4096))' "$docs/random.bin"
printf 'quotes " and \x27, spaces, ünïcødé\n' > "$weird/it's a \"file\" ✓.txt"
echo "second" > "$weird/nested dir/plain.txt"
echo "the combination is 12-34-56" > "$secret/safe.txt"
"$python" -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(300000))' "$secret/key material.bin"
chmod 0600 "$secret/safe.txt"

# A throwaway GPG key without passphrase; its secret key stays in $gnupg for the restore.
GNUPGHOME="$gnupg" gpg --batch --passphrase '' --quick-gen-key 'coldvault restore test <restore-test@example.invalid>' \
  default default never

# The inventory: localhost in group glacier_backup, with the settings of the backups and of the restore as group vars
# (every set listed, unencrypted). Extra-vars files for the two backup runs: encryption is a setting of the whole
# run, so the encrypted set is backed up by a run of its own.
mkdir -p "$inventory/group_vars"
printf 'glacier_backup:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n' \
  "$python" > "$inventory/hosts.yml"
"$python" - <<'PY'
import json, os
env = os.environ
config = {
    'vault': env['vault'],
    'aws': {'endpoint_url': env['endpoint'], 'region': 'us-east-1',
            'access_key': 'AKIACOLDVAULTRESTORE1', 'secret_key': 'cvg-restore-SECRET-5f1c07'},
    'staging_dir': env['staging'],
    'facts_file': env['facts'],
    'part_size': 1,
    'encryption': {'enabled': False, 'recipient': 'restore-test@example.invalid', 'gpg_homedir': env['gnupg']},
}
sets = [
    {'name': 'docs', 'paths': [env['docs']]},
    {'name': 'weird', 'paths': [env['weird']], 'compression': 'zstd'},
    {'name': 'secret', 'paths': [env['secret']], 'compression': 'xz'},
]
encrypted = dict(config, encryption=dict(config['encryption'], enabled=True))
files = {
    'inventory/group_vars/glacier_backup.yml': {'backup_config': config, 'backup_sets': sets},
    'plain.json': {'backup_sets': sets[:2]},
    'encrypted.json': {'backup_config': encrypted, 'backup_sets': sets[2:]},
    'restore.json': {'backup_restore': {'dest': env['dest'], 'tier': 'Expedited', 'poll_interval': 1}},
    'tarball.json': {'backup_restore': {'dest': env['work'] + '/tarballs', 'sets': ['secret'], 'extract': False}},
}
for name, value in files.items():
    with open(os.path.join(env['work'], name), 'w', encoding='utf-8') as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
PY

# --- 1. back up the 3 sets --------------------------------------------------------------------------------------------
play coldvault.glacier.backup -e "@$work/plain.json"
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
play coldvault.glacier.backup -e "@$work/encrypted.json"
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
grep -F 'secret: uploaded archive' "$log"
archives=$("$python" -c 'import json, sys; print(sorted(n for v in json.load(open(sys.argv[1]))["vaults"].values() for n in v["archives"]))' "$facts")
[ "$archives" = "['docs', 'secret', 'weird']" ]

# --- 2. disaster: the catalog and the staging directory are gone --------------------------------------------------------
rm -rf "$work/facts.d" "$staging"

# --- 3. rebuild the catalog from the vault's inventory -------------------------------------------------------------------
play "$here/rebuild.yml"
recap 'changed=1 +unreachable=0 +failed=0'

# --- check mode: says what would be restored, starts no job, writes nothing ----------------------------------------------
jobs=$(count InitiateJob)
play coldvault.glacier.restore -e "@$work/restore.json" --check
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
grep -F 'docs: would retrieve archive' "$log"
[ "$(count InitiateJob)" -eq "$jobs" ]
[ ! -e "$dest" ]

# --- 4. restore every set, and compare ----------------------------------------------------------------------------------
jobs=$(count InitiateJob); outputs=$(count GetJobOutput)
play coldvault.glacier.restore -e "@$work/restore.json"
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
# One retrieval job per set.
[ "$(count InitiateJob)" -eq $((jobs + 3)) ]
[ "$(count GetJobOutput)" -gt "$outputs" ]
grep -E 'docs: restored archive .* downloaded .*, extracted' "$log"
grep -E 'secret: restored archive .* decrypted, extracted' "$log"
compare
# Only the sets are in the destination; the downloads stayed in the staging directory, the secret one encrypted.
[ "$(find "$dest" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')" = "docs secret weird " ]
[ -z "$(find "$dest" -name '*.archive' -o -name '*.decrypted')" ]
[ "$(find "$staging/restore" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')" = "docs.archive secret.archive weird.archive " ]
[ "$(od -A n -t x1 -N 2 "$staging/restore/docs.archive" | tr -d ' ')" = 1f8b ]
if grep -aq 'the combination' "$staging/restore/secret.archive"; then exit 1; fi
if xz -t "$staging/restore/secret.archive" 2>/dev/null; then exit 1; fi

# --- 5. restore again: nothing to do, no new retrieval job, nothing downloaded -------------------------------------------
jobs=$(count InitiateJob); outputs=$(count GetJobOutput)
play coldvault.glacier.restore -e "@$work/restore.json"
recap 'changed=0 +unreachable=0 +failed=0'
[ "$(count InitiateJob)" -eq "$jobs" ]
[ "$(count GetJobOutput)" -eq "$outputs" ]
[ "$(grep -cE '(docs|weird|secret): unchanged: ' "$log")" -eq 3 ]
compare

# --- 6. a damaged restore is repaired from the kept download, still without a job ------------------------------------------
echo "damaged" > "$(restored docs "$docs")/readme.txt"
rm "$(restored weird "$weird")/nested dir/plain.txt"
# Check mode compares the kept downloads with the destination, and reports what it would extract.
play coldvault.glacier.restore -e "@$work/restore.json" --check
recap 'changed=1 +unreachable=0 +failed=0'
[ "$(changed_items)" -eq 2 ]
grep -E 'docs: would restore archive .* already downloaded, would extract' "$log"
grep -F 'secret: unchanged: ' "$log"
[ "$(cat "$(restored docs "$docs")/readme.txt")" = damaged ]
play coldvault.glacier.restore -e "@$work/restore.json"
recap 'changed=1 +unreachable=0 +failed=0'
[ "$(changed_items)" -eq 2 ]
grep -E 'docs: restored archive .* already downloaded, extracted \([0-9]+ difference' "$log"
grep -F 'secret: unchanged: ' "$log"
[ "$(count InitiateJob)" -eq "$jobs" ]
[ "$(count GetJobOutput)" -eq "$outputs" ]
compare

# extract: false leaves the decrypted tarball of the chosen set in the destination.
play coldvault.glacier.restore -e "@$work/tarball.json"
# The new destination directory, and the tarball.
recap 'changed=2 +unreachable=0 +failed=0'
[ "$(find "$work/tarballs" -mindepth 1 -printf '%f\n')" = secret.tar.xz ]
tar -xJf "$work/tarballs/secret.tar.xz" -C "$work/tarballs"
diff -r "$secret" "$work/tarballs/${secret#/}"
[ "$(count InitiateJob)" -eq "$jobs" ]
