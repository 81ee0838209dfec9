#!/usr/bin/env bash
# coldvault.glacier.migrate against a private endpoint that holds every Glacier job until the test releases it:
# back up three files to a vault (four archives), migrate with wait=false while the jobs are held, release some,
# then all (pending.yml); kill -9 a migration once the bucket holds two parts whose answers are held back (no timing
# involved), resume it, catch a damaged range, finish, rerun, compare every copy with its file (resume.yml); delete
# the archives whose copies check out and that are old enough (delete_source.yml).
set -eu -o pipefail

python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}
export ANSIBLE_ROLES_PATH=..
work=$(mktemp -d "${TMPDIR:-/tmp}/cvg-migrate.XXXXXX")
bg=

collection_root=$("$python" - <<'PY'
import os
for base in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
    candidate = os.path.join(base, 'ansible_collections', 'coldvault', 'glacier')
    if os.path.isfile(os.path.join(candidate, 'galaxy.yml')):
        print(candidate)
        break
PY
)
endpoint_ctl=$collection_root/tests/endpoint/endpoint-ctl

. ../setup_glacier/files/kill_run.sh

cleanup() {
  if [ -n "$bg" ] && kill -0 "$bg" 2>/dev/null; then
    kill_run
  fi
  "$endpoint_ctl" stop "$work/endpoint" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$endpoint_ctl" start "$work/endpoint" --hold-jobs --quiet
endpoint="http://127.0.0.1:$(cat "$work/endpoint/port")"

control() {
  "$python" - "$endpoint" "$@" <<'PY'
import json, sys, urllib.request
url, method, action = sys.argv[1:4]
request = urllib.request.Request('%s/_control/%s' % (url, action), method=method)
with urllib.request.urlopen(request, timeout=10) as reply:
    print(json.dumps(json.load(reply)))
PY
}

# Parts the bucket holds for open uploads of the copy of "a".
bucket_parts() {
  control GET state | "$python" -c '
import json, sys
state = json.load(sys.stdin)
print(sum(u["parts"] for u in state["s3"]["uploads"] if u["key"].startswith("from-vault/a/")))'
}

playbook() {
  ansible-playbook -i "$INVENTORY_PATH" -e @../../integration_config.yml -e glacier_endpoint_url="$endpoint" \
    -e work="$work" "$@"
}

playbook prepare.yml "$@"
playbook pending.yml "$@"

playbook killed.yml "$@" > "$work/killed-run.log" 2>&1 &
bg=$!
# Two workers each store a part and wait for an answer that is held back: the migration cannot get further.
kill_when 2 "$work/killed-run.log" 600 -- bucket_parts
control DELETE faults > /dev/null  # the held answers go to a dead process
parts=$(bucket_parts)
echo "the bucket holds $parts parts of the killed upload"

playbook resume.yml -e killed_parts="$parts" "$@"
playbook delete_source.yml "$@"

# The collection's playbook, with the backup role's settings and a migrate_config, on an inventory of this host.
mkdir -p "$work/inventory/group_vars"
printf 'glacier_backup:\n  hosts:\n    migrating-host:\n      ansible_connection: local\n      ansible_python_interpreter: %s\n' \
  "$python" > "$work/inventory/hosts.yml"
cat > "$work/inventory/group_vars/glacier_backup.yml" <<YAML
backup_config:
  vault: cvg-it-migrate
  facts_file: $work/facts.d/migrate.fact
  aws: {endpoint_url: "$endpoint", region: us-east-1, access_key: AKIACOLDVAULTTEST001, secret_key: cvg-it-SECRET-5f0c7e1a9b3d}
migrate_config:
  bucket: cvg-it-migrate-copies
  prefix: from-vault
YAML
ansible-playbook -i "$work/inventory" "$collection_root/playbooks/migrate.yml" "$@" | tee "$work/playbook.log"
grep -q 'finished: every archive is in the bucket (4 of 4 copied, 0 by this run' "$work/playbook.log"
ansible-playbook -i "$work/inventory" "$collection_root/playbooks/migrate.yml" --check "$@" > "$work/check.log"
grep -q 'ok=3 .*changed=0' "$work/check.log" || { cat "$work/check.log" >&2; exit 1; }
