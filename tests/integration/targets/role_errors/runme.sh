#!/usr/bin/env bash
# The first error a user reads must say which set, which option and what is wrong. For each bad backup set, the
# message of the task that fails (what a playbook that wraps the role in block/rescue gets in
# ansible_failed_result.msg, and what the play shows last) must be exactly the expected one, and nothing is built or
# sent when the settings are wrong. A set with a missing path fails with the path named, and the other sets are
# still backed up. Against the local Glacier endpoint whose URL `make integration` writes into integration_config.yml.
set -eux -o pipefail

. ../setup_glacier/files/role_test_env.sh role-errors
# What it set (named here for shellcheck, which does not follow the file):
endpoint=${endpoint:?} python=${python:?} work=${work:?}
here=$(pwd)

vault="cvg-errors-${work##*.}"
src="$work/src"
facts="$work/facts.d/glacier.fact"
staging="$work/staging"
inventory="$work/inventory"
log="$work/play.log"
error="$work/error.json"
export vault endpoint src facts staging inventory

# Write the inventory: localhost in group glacier_backup, backup_sets from the JSON list $1, in which @src@ and
# @staging@ stand for those paths; $2 (JSON) is merged over backup_config.
configure() {
  export CONFIG=${2:-'{}'}
  mkdir -p "$inventory/group_vars"
  printf 'glacier_backup:\n  hosts:\n    localhost:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n' \
    "$python" > "$inventory/hosts.yml"
  SETS=$1 "$python" - <<'PY'
import json, os
env = os.environ
text = env['SETS'].replace('@src@', env['src']).replace('@staging@', env['staging'])
config = {
    'vault': env['vault'],
    'aws': {'endpoint_url': env['endpoint'], 'region': 'us-east-1',
            'access_key': 'AKIACOLDVAULTERRORS1', 'secret_key': 'cvg-errors-SECRET-77a1c3'},
    'staging_dir': env['staging'],
    'facts_file': env['facts'],
}
config.update(json.loads(env['CONFIG']))
with open(os.path.join(env['inventory'], 'group_vars', 'glacier_backup.yml'), 'w', encoding='utf-8') as f:
    json.dump({'backup_config': config, 'backup_sets': json.loads(text)}, f, indent=2, ensure_ascii=False)
PY
}

# Run the role with the sets $1 (and backup_config changes $4); the message of the task that failed must be $2, and the
# task's name $3.
expect_error() {
  configure "$1" "${4:-}"
  rm -f "$error"
  ansible-playbook "$here/first_error.yml" -i "$inventory" -e "error_file=$error" 2>&1 | tee "$log"
  [ -e "$error" ] || { echo "no task failed" >&2; exit 1; }
  actual=$("$python" -c 'import json, sys; e = json.load(open(sys.argv[1])); print(e["task"] + "\n" + e["msg"])' "$error")
  expected=$(printf '%s\n%s' "$3" "$2")
  if [ "$actual" != "$expected" ]; then
    printf 'expected:\n%s\nactual:\n%s\n' "$expected" "$actual" >&2
    exit 1
  fi
}

mkdir -p "$src/docs"
echo "some text" > "$src/docs/readme.txt"

# --- settings the role refuses before it reads, builds or sends anything ---------------------------------------------
check='Check the settings and the backup sets'
expect_error '[{"name": "docs", "paths": ["@src@/docs"]}, {"name": "docs", "paths": ["@src@"]}]' \
  'coldvault.glacier.backup: backup_sets[1] "docs": name: backup_sets[0] has the same name (each set is one name in the catalog and the vault)' \
  "$check"
expect_error '[{"name": "docs", "paths": ["@src@/docs", "relative/path"]}]' \
  'coldvault.glacier.backup: backup_sets[0] "docs": paths: "relative/path" is not an absolute path' "$check"
expect_error '[{"name": "docs/etc", "paths": ["@src@/docs"]}]' \
  'coldvault.glacier.backup: backup_sets[0] "docs/etc": name: only a-z, A-Z, 0-9, "_", "-" and "." are allowed (the name names the archives and the staged file), not "/"' \
  "$check"
# The "$(...)" is the name itself, never run (single quotes on purpose).
# shellcheck disable=SC2016
expect_error '[{"name": "x$(touch pwned)", "paths": ["@src@/docs"]}]' \
  'coldvault.glacier.backup: backup_sets[0] "x$(touch pwned)": name: only a-z, A-Z, 0-9, "_", "-" and "." are allowed (the name names the archives and the staged file), not "$", "(", " ", ")"' \
  "$check"
[ ! -e pwned ] && [ ! -e "$work/pwned" ]
expect_error '[{"name": "docs", "paths": ["@src@/docs"]}, {"name": "tarballs", "paths": ["@staging@/old"]}]' \
  "coldvault.glacier.backup: backup_sets[1] \"tarballs\": paths: \"$staging/old\" is inside backup_config.staging_dir ($staging), which is never backed up" \
  "$check"
# Every problem of every set in the one message, in order.
expect_error '[{"name": ".hidden", "paths": []}, {"name": "ok", "paths": ["@src@"], "exclude": [""]}]' \
  'coldvault.glacier.backup: backup_sets[0] ".hidden": name: must not start with "."; backup_sets[0] ".hidden": paths: list at least one path; backup_sets[1] "ok": exclude: an empty pattern' \
  "$check"
# A bucket as the target: its name, the one target, Object Lock only on a bucket the role manages, and a retention
# policy that would delete objects before their storage class's minimum duration (billed anyway).
one='[{"name": "docs", "paths": ["@src@/docs"]}]'
expect_error "$one" \
  'coldvault.glacier.backup: backup_config: set either vault (a Glacier vault) or bucket (an S3 bucket), not both' \
  "$check" '{"bucket": "cvg-errors"}'
expect_error "$one" \
  'coldvault.glacier.backup: backup_config.bucket: "Cvg_Errors" is not a bucket name (3-63 characters of a-z, 0-9, "." and "-", starting and ending with a letter or digit, no "..", not an IP address)' \
  "$check" '{"vault": "", "bucket": "Cvg_Errors"}'
expect_error "$one" \
  'coldvault.glacier.backup: backup_config.object_lock: the role sets Object Lock only on a bucket it manages: set backup_config.create_bucket to true, or set the lock on the bucket yourself and leave object_lock off' \
  "$check" '{"vault": "", "bucket": "cvg-errors", "object_lock": {"enabled": true, "days": 30}}'
expect_error "$one" \
  'coldvault.glacier.backup: backup_config.retention.min_age_days: 30 day(s) would delete DEEP_ARCHIVE objects before their minimum storage duration of 180 days, which S3 bills in full anyway: set it to at least 180, or set backup_config.retention.allow_early_deletion to true' \
  "$check" '{"vault": "", "bucket": "cvg-errors", "retention": {"enabled": true, "min_age_days": 30}}'
expect_error "$one" \
  'coldvault.glacier.backup: backup_config.retention.min_age_days: 89 day(s) would delete GLACIER objects before their minimum storage duration of 90 days, which S3 bills in full anyway: set it to at least 90, or set backup_config.retention.allow_early_deletion to true' \
  "$check" '{"vault": "", "bucket": "cvg-errors", "storage_class": "GLACIER", "retention": {"enabled": true, "min_age_days": 89}}'
expect_error "$one" \
  'coldvault.glacier.backup: backup_config.part_size: must be at least 8 (MiB) for a bucket (S3 parts are 5 MiB to 5 GiB)' \
  "$check" '{"vault": "", "bucket": "cvg-errors", "part_size": 4}'
# Nothing was built or sent.
[ ! -e "$staging" ] && [ ! -e "$facts" ]

# --- a path that does not exist: its set fails with the path named, the other set is backed up ---------------------------
expect_error '[{"name": "docs", "paths": ["@src@/docs"]}, {"name": "missing", "paths": ["@src@/docs", "@src@/no such dir"]}]' \
  "coldvault.glacier.backup: 1 of 2 backup set(s) failed: set \"missing\": paths: \"$src/no such dir\" does not exist" \
  'Fail when a set could not be backed up'
grep -F 'docs: uploaded archive' "$log"
# (The debug output is JSON: its quotes are escaped.)
grep -F "missing: FAILED: paths: \\\"$src/no such dir\\\" does not exist" "$log"
"$python" -c 'import json, sys; a = [n for v in json.load(open(sys.argv[1]))["vaults"].values() for n in v["archives"]]; assert a == ["docs"], a' "$facts"
