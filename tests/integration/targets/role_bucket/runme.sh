#!/usr/bin/env bash
# Disaster recovery with the coldvault.glacier.backup role on an S3 bucket, run the way docs/ci.md's pipelines run
# the playbooks:
#   1. back up 3 sets (gzip, zstd, and xz encrypted to a throwaway GPG key) to DEEP_ARCHIVE in a bucket that the
#      role creates (one CreateBucket, versioned, Object Lock with a default GOVERNANCE retention, a lifecycle rule
#      that aborts incomplete multipart uploads); a second run, and a check-mode run, change nothing;
#   2. lose the catalog (the facts file and its history) and the staging directory;
#   3. rebuild the catalog from the bucket (coldvault.glacier.inventory, rebuild: true) with rebuild.yml;
#   4. restore: check mode sends no RestoreObject; wait: false requests one restore per set (held by the endpoint)
#      and reports the sets pending; a rerun requests none; once the endpoint completes the restores, every set is
#      downloaded, decrypted and extracted, and compared byte for byte with the original;
#   5. restore again: no RestoreObject, no GetObject (the endpoint's counters), no change.
# Restores are held by the endpoint until the test releases them (its hold and complete-restores controls), so no
# step waits on the clock. Against the local endpoint whose URL `make integration` writes into
# integration_config.yml.
set -eux -o pipefail

. ../setup_glacier/files/role_test_env.sh role-bucket
# What it set (named here for shellcheck, which does not follow the file):
endpoint=${endpoint:?} python=${python:?} work=${work:?} gnupg=${gnupg:?}
here=$(pwd)

suffix=$(printf '%s' "${work##*.}" | tr '[:upper:]' '[:lower:]')
bucket="cvg-dr-$suffix"
src="$work/src"
docs="$src/docs"
weird=$(printf '%s/dir with spaces/it%ss "quoted"/ünïcødé ✓' "$src" "'")
secret="$src/secret"
dest="$work/restored"
facts="$work/facts.d/glacier.fact"
history="$work/facts.d/glacier.history.sqlite"
staging="$work/staging"
inventory="$work/inventory"
log="$work/play.log"
export bucket endpoint docs weird secret dest facts staging gnupg work

# --- helpers -----------------------------------------------------------------------------------------------------

# POST the JSON $2 to the endpoint's control call $1.
control() {
  "$python" - "$endpoint" "$1" "$2" <<'PY'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + '/_control/' + sys.argv[2], data=sys.argv[3].encode(), method='POST')
with urllib.request.urlopen(request, timeout=30) as reply:
    print(json.dumps(json.load(reply)))
PY
}

# Hold new S3 restores until complete-restores releases them; switched off again when the test ends.
control hold '{"restores": true}'
finish() {
  control hold '{"restores": false}' || true
  cleanup
}
trap finish EXIT

# S3 requests the endpoint counted for operation $1.
count() {
  "$python" - "$endpoint" "$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + '/_control/counters', timeout=10) as reply:
    print(json.load(reply)['s3']['requests'].get(sys.argv[2], 0))
PY
}

# Objects created so far.
uploads() {
  echo $(( $(count PutObject) + $(count CompleteMultipartUpload) ))
}

play() {
  ansible-playbook -i "$inventory" "$@" 2>&1 | tee "$log"
}

recap() {
  grep -E "^localhost +: ok=[0-9]+ +$1" "$log"
}

restored() {
  printf '%s/%s%s' "$dest" "$1" "$2"
}

compare() {
  for set_dir in "docs:$docs" "weird:$weird" "secret:$secret"; do
    diff -r --no-dereference "${set_dir#*:}" "$(restored "${set_dir%%:*}" "${set_dir#*:}")"
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
ln -s readme.txt "$docs/link to readme"
chmod 0640 "$docs/sub/notes.md"
touch -d '2001-02-03 04:05:06' "$docs/readme.txt"
# Incompressible and over 8 MiB: with part_size 8 the docs set is a multipart upload of 2 parts.
"$python" -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(9 * 1024 * 1024))' "$docs/random.bin"
printf 'quotes " and \x27, spaces, ünïcødé\n' > "$weird/it's a \"file\" ✓.txt"
echo "second" > "$weird/nested dir/plain.txt"
echo "the combination is 12-34-56" > "$secret/safe.txt"
"$python" -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(300000))' "$secret/key material.bin"
chmod 0600 "$secret/safe.txt"

GNUPGHOME="$gnupg" gpg --batch --passphrase '' --quick-gen-key 'coldvault bucket test <bucket-test@example.invalid>' \
  default default never

mkdir -p "$inventory/group_vars"
printf 'glacier_backup:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n' \
  "$python" > "$inventory/hosts.yml"
"$python" - <<'PY'
import json, os
env = os.environ
config = {
    'bucket': env['bucket'],
    'storage_class': 'DEEP_ARCHIVE',
    'create_bucket': True,
    'object_lock': {'enabled': True, 'mode': 'GOVERNANCE', 'days': 1},
    'aws': {'endpoint_url': env['endpoint'], 'region': 'us-east-1',
            'access_key': 'AKIACOLDVAULTBUCKET1', 'secret_key': 'cvg-bucket-SECRET-3a9e51'},
    'staging_dir': env['staging'],
    'facts_file': env['facts'],
    'part_size': 8,
    # The default min_age_days of DEEP_ARCHIVE (180 days): nothing here is old enough to go.
    'retention': {'enabled': True, 'keep': 2},
    'encryption': {'enabled': False, 'recipient': 'bucket-test@example.invalid', 'gpg_homedir': env['gnupg']},
}
encrypted = dict(config, encryption=dict(config['encryption'], enabled=True))
sets = [
    {'name': 'docs', 'paths': [env['docs']]},
    {'name': 'weird', 'paths': [env['weird']], 'compression': 'zstd'},
    {'name': 'secret', 'paths': [env['secret']], 'compression': 'xz'},
]
files = {
    'inventory/group_vars/glacier_backup.yml': {'backup_config': config, 'backup_sets': sets},
    'plain.json': {'backup_sets': sets[:2]},
    'encrypted.json': {'backup_config': encrypted, 'backup_sets': sets[2:]},
    'restore.json': {'backup_restore': {'dest': env['dest'], 'wait': False, 'restore_days': 2}},
    'restore-wait.json': {'backup_restore': {'dest': env['dest'], 'poll_interval': 1, 'wait_timeout': 60}},
}
for name, value in files.items():
    with open(os.path.join(env['work'], name), 'w', encoding='utf-8') as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
PY

# --- 1. back up the 3 sets into a bucket the role creates ---------------------------------------------------------------
creates=$(count CreateBucket)
play coldvault.glacier.backup -e "@$work/plain.json"
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
grep -E 'docs: uploaded object localhost/docs/' "$log"
play coldvault.glacier.backup -e "@$work/encrypted.json"
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
grep -E 'secret: uploaded object localhost/secret/' "$log"
[ "$(count CreateBucket)" -eq $((creates + 1)) ]
# What an independent client sees: the bucket's settings, and each set's one object in DEEP_ARCHIVE under the
# host's prefix, the docs set in 2 parts, the secret one not readable as plain text.
"$python" - "$endpoint" "$bucket" <<'PY'
import boto3, botocore.config, sys
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='x',
                  aws_secret_access_key='x', config=botocore.config.Config(s3={'addressing_style': 'path'}))
bucket = sys.argv[2]
assert s3.get_bucket_versioning(Bucket=bucket)['Status'] == 'Enabled'
lock = s3.get_object_lock_configuration(Bucket=bucket)['ObjectLockConfiguration']
assert lock == {'ObjectLockEnabled': 'Enabled', 'Rule': {'DefaultRetention': {'Mode': 'GOVERNANCE', 'Days': 1}}}, lock
rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)['Rules']
assert [(r['ID'], r['Status'], r['AbortIncompleteMultipartUpload']) for r in rules] == [
    ('coldvault-glacier-abort-incomplete-uploads', 'Enabled', {'DaysAfterInitiation': 7})], rules
objects = s3.list_objects_v2(Bucket=bucket)['Contents']
assert sorted(o['Key'].split('/')[1] for o in objects) == ['docs', 'secret', 'weird'], objects
assert all(o['Key'].startswith('localhost/') and o['StorageClass'] == 'DEEP_ARCHIVE' for o in objects), objects
docs = [o for o in objects if o['Key'].startswith('localhost/docs/')][0]
head = s3.head_object(Bucket=bucket, Key=docs['Key'])
assert head['ETag'].endswith('-2"'), head['ETag']
assert head['ObjectLockMode'] == 'GOVERNANCE', head
PY

# --- a second run and a check-mode run change nothing ------------------------------------------------------------------
before=$(uploads)
play coldvault.glacier.backup -e "@$work/plain.json"
recap 'changed=0 +unreachable=0 +failed=0'
[ "$(grep -c 'already holds these files (same manifest: nothing was packed)' "$log")" -eq 2 ]
play coldvault.glacier.backup -e "@$work/encrypted.json"
recap 'changed=0 +unreachable=0 +failed=0'
play coldvault.glacier.backup -e "@$work/plain.json" --check
recap 'changed=0 +unreachable=0 +failed=0'
[ "$(uploads)" -eq "$before" ]
[ "$(count CreateBucket)" -eq $((creates + 1)) ]

# --- 2. disaster: the catalog, its history and the staging directory are gone ---------------------------------------------
[ -s "$history" ]
rm -rf "$work/facts.d" "$staging"

# --- 3. rebuild the catalog from the bucket --------------------------------------------------------------------------------
lists=$(count ListObjectsV2)
play "$here/rebuild.yml"
recap 'changed=1 +unreachable=0 +failed=0'
[ "$(count ListObjectsV2)" -gt "$lists" ]

# --- 4. restore ---------------------------------------------------------------------------------------------------------------
restores=$(count RestoreObject); gets=$(count GetObject)
# Check mode: says what would happen, requests no restore, writes nothing.
play coldvault.glacier.restore -e "@$work/restore.json" --check
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
grep -E 'docs: would download object localhost/docs/[^ ]+ after a restore \(Standard\), and restore it into' "$log"
[ "$(count RestoreObject)" -eq "$restores" ]
[ ! -e "$dest" ]
# wait: false: one restore per set is requested (the endpoint holds them), the sets are pending, the host does not fail.
play coldvault.glacier.restore -e "@$work/restore.json"
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
[ "$(count RestoreObject)" -eq $((restores + 3)) ]
[ "$(grep -cE '(docs|weird|secret): object localhost/[a-z]+/[^ ]+: its restore is still running \(wait: false\)' "$log")" -eq 3 ]
# A rerun while the restores run requests none: they are recorded in the catalog.
play coldvault.glacier.restore -e "@$work/restore.json"
recap 'changed=0 +unreachable=0 +failed=0'
[ "$(grep -c ': its restore is still running (wait: false)' "$log")" -eq 3 ]
[ "$(count RestoreObject)" -eq $((restores + 3)) ]
[ "$(count GetObject)" -eq "$gets" ]
# The restores complete; the next run downloads, decrypts and extracts every set.
control s3/complete-restores "{\"bucket\": \"$bucket\"}"
play coldvault.glacier.restore -e "@$work/restore-wait.json"
recap 'changed=[1-9][0-9]* +unreachable=0 +failed=0'
[ "$(count RestoreObject)" -eq $((restores + 3)) ]
[ "$(count GetObject)" -gt "$gets" ]
grep -E 'docs: restored object localhost/docs/[^ ]+ into .*: downloaded .* from the bucket .*, extracted' "$log"
grep -E 'secret: restored object localhost/secret/[^ ]+ into .*: downloaded .*, decrypted, extracted' "$log"
compare
[ "$(find "$dest" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')" = "docs secret weird " ]

# --- 5. restore again: no restore requested, nothing downloaded, no change -----------------------------------------------------
restores=$(count RestoreObject); gets=$(count GetObject); heads=$(count HeadObject)
play coldvault.glacier.restore -e "@$work/restore-wait.json"
recap 'changed=0 +unreachable=0 +failed=0'
[ "$(count RestoreObject)" -eq "$restores" ]
[ "$(count GetObject)" -eq "$gets" ]
[ "$(count HeadObject)" -eq "$heads" ]
[ "$(grep -cE '(docs|weird|secret): unchanged: ' "$log")" -eq 3 ]
compare
