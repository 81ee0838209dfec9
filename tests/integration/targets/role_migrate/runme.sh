#!/usr/bin/env bash
# A vault's backups moved to a bucket the way docs/migrate.md tells a user to, with the collection's playbooks:
#   1. the backup role backs up 2 sets to a vault (playbooks/backup.yml);
#   2. playbooks/migrate.yml copies the vault's archives into a DEEP_ARCHIVE bucket, recorded in the same catalog;
#   3. the role is pointed at the bucket (backup_config.bucket instead of .vault): its restore entry point restores
#      both sets from the copies, byte for byte;
#   4. a backup run to the bucket uploads nothing, because the copies hold the sets (the migrated records keep the
#      archives' fingerprints), and the run after it packs nothing.
# Against the local endpoint whose URL `make integration` writes into integration_config.yml.
set -eux -o pipefail

. ../setup_glacier/files/role_test_env.sh role-migrate
# What it set (named here for shellcheck, which does not follow the file):
endpoint=${endpoint:?} python=${python:?} work=${work:?}

vault="cvg-migrate-role-${work##*.}"
bucket="cvg-migrate-role-$(echo "${work##*.}" | tr '[:upper:]' '[:lower:]')"
src="$work/src"
facts="$work/facts.d/glacier.fact"
staging="$work/staging"
inventory="$work/inventory"
dest="$work/restored"
log="$work/play.log"
export vault bucket endpoint src facts staging inventory

# Requests the endpoint counted for operation $2 of service $1 (glacier or s3).
count() {
  "$python" - "$endpoint" "$1" "$2" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + '/_control/counters', timeout=10) as reply:
    counters = json.load(reply)
print((counters if sys.argv[2] == 'glacier' else counters['s3'])['requests'].get(sys.argv[3], 0))
PY
}

# Archives and objects created so far.
stored() {
  echo $(( $(count glacier UploadArchive) + $(count glacier CompleteMultipartUpload) + $(count s3 PutObject)
           + $(count s3 CompleteMultipartUpload) ))
}

play() {
  ansible-playbook -i "$inventory" "$@" 2>&1 | tee "$log"
}

# Write the inventory: the role's settings with the vault ($1 = vault) or the bucket ($1 = bucket) as the target.
configure() {
  TARGET=$1 "$python" - <<'PY'
import json, os
env = os.environ
config = {
    'aws': {'endpoint_url': env['endpoint'], 'region': 'us-east-1',
            'access_key': 'AKIACOLDVAULTMIGRATE', 'secret_key': 'cvg-migrate-role-SECRET-3a9d'},
    'staging_dir': env['staging'],
    'facts_file': env['facts'],
}
config[env['TARGET']] = env['vault'] if env['TARGET'] == 'vault' else env['bucket']
if env['TARGET'] == 'bucket':
    config.update(storage_class='DEEP_ARCHIVE', prefix='from-vault')
else:
    config['part_size'] = 1  # S3 parts are 8 MiB at least: only the vault gets a multipart upload of this size
sets = [{'name': 'docs', 'paths': [env['src'] + '/docs']},
        {'name': 'data', 'paths': [env['src'] + '/data'], 'compression': 'none'}]
os.makedirs(os.path.join(env['inventory'], 'group_vars'), exist_ok=True)
with open(os.path.join(env['inventory'], 'hosts.yml'), 'w', encoding='utf-8') as f:
    json.dump({'glacier_backup': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': os.environ.get('python', 'python')}}}}, f)
with open(os.path.join(env['inventory'], 'group_vars', 'glacier_backup.yml'), 'w', encoding='utf-8') as f:
    json.dump({'backup_config': config, 'backup_sets': sets,
               'migrate_config': {'bucket': env['bucket'], 'prefix': 'from-vault', 'tier': 'Expedited'}}, f, indent=2)
PY
}
export python

# --- 1. the sets, backed up to the vault ----------------------------------------------------------------------------
mkdir -p "$src/docs/sub" "$src/data"
echo "first version" > "$src/docs/readme.txt"
echo "notes" > "$src/docs/sub/notes.md"
ln -s readme.txt "$src/docs/link"
# Incompressible and over 1 MiB: with part_size 1 the data set goes as a multipart upload, and is copied as one.
"$python" -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(3 * 1024 * 1024 + 512))' "$src/data/blob.bin"

configure vault
play coldvault.glacier.backup
grep -F 'docs: uploaded archive' "$log"
grep -F 'data: uploaded archive' "$log"

# --- 2. the archives, copied into the bucket ----------------------------------------------------------------------------
ansible localhost -i "$inventory" -m amazon.aws.s3_bucket \
  -a "name=$bucket state=present endpoint_url=$endpoint region=us-east-1 access_key=AKIACOLDVAULTMIGRATE secret_key=cvg-migrate-role-SECRET-3a9d"
# Jobs on this endpoint succeed at once: the first run starts them and copies what is ready, a second one the rest.
play coldvault.glacier.migrate
if ! grep -F 'finished: every archive is in the bucket' "$log"; then
  play coldvault.glacier.migrate
  grep -F 'finished: every archive is in the bucket' "$log"
fi
"$python" - "$facts" "$bucket" <<'PY'
import json, sys
catalog = json.load(open(sys.argv[1]))
(vault_arn, vault), = catalog['vaults'].items()
(bucket_arn, bucket), = catalog['buckets'].items()
assert bucket['bucket'] == sys.argv[2], bucket_arn
for name in ('docs', 'data'):
    archive, copy = vault['archives'][name], bucket['archives'][name]
    assert copy['migrated_from']['archive_id'] == archive['archive_id'], (archive, copy)
    assert copy['fingerprint'] == archive['fingerprint'], (archive, copy)
    assert copy['key'].startswith('from-vault/%s/' % name) and copy['storage_class'] == 'DEEP_ARCHIVE', copy
PY

# --- 3. the role, pointed at the bucket, restores both sets from the copies ----------------------------------------------
configure bucket
restores=$(count s3 RestoreObject)
play coldvault.glacier.restore -e "{\"backup_restore\": {\"dest\": \"$dest\", \"poll_interval\": 1}}"
diff -r --no-dereference "$src/docs" "$dest/docs$src/docs"
diff -r --no-dereference "$src/data" "$dest/data$src/data"
[ "$(count s3 RestoreObject)" -eq $((restores + 2)) ]

# --- 4. backing up to the bucket uploads nothing: the copies hold the sets ---------------------------------------------------
before=$(stored)
play coldvault.glacier.backup
[ "$(stored)" -eq "$before" ]
grep -F 'docs: unchanged: object from-vault/docs/' "$log"
grep -F 'already holds this content' "$log"
# The manifests are now recorded with the copies: the next run decides from them, packing nothing.
play coldvault.glacier.backup
[ "$(stored)" -eq "$before" ]
[ "$(grep -c 'already holds these files (same manifest: nothing was packed)' "$log")" -eq 2 ]
grep -E '^localhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$log"
