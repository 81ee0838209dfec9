#!/usr/bin/env bash
# Hosts run in parallel, whatever their sets: HOSTS local hosts, each with its own paths, facts file and staging
# directory (host_vars layered over group_vars with combine, as docs/backup-role.md shows), some with one set and
# some with two. No step is included per set or per host, so all hosts run each step together: runs of one kind
# (nothing to do, something to upload, a restore) have as many task banners for one host as for all of them. The
# shared vault is created by exactly one host (one CreateVault request, one host reports the change), every host's
# catalog holds its own sets, a second run changes nothing, and the restore entry point brings every host's files
# back. Against the local Glacier endpoint whose URL `make integration` writes into integration_config.yml.
set -eux -o pipefail

. ../setup_glacier/files/role_test_env.sh role-fleet
# What it set (named here for shellcheck, which does not follow the file):
endpoint=${endpoint:?} python=${python:?} work=${work:?}

hosts=12
vault="cvg-fleet-${work##*.}"
inventory="$work/inventory"
log="$work/play.log"
export vault endpoint work hosts python inventory

# Requests the endpoint counted for operation $1.
count() {
  "$python" - "$endpoint" "$1" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + '/_control/counters', timeout=10) as reply:
    print(json.load(reply)['requests'].get(sys.argv[2], 0))
PY
}

# Run a collection playbook on the inventory with extra arguments; forks enough for every host at once.
play() {
  ansible-playbook -i "$inventory" --forks "$hosts" "$@" 2>&1 | tee "$log"
}

banners() {
  grep -c '^TASK \[' "$log"
}

# Hosts that reported a change in the task whose banner starts with $1.
changed_in() {
  awk -v task="$1" 'index($0, "TASK [coldvault.glacier.backup : " task) == 1 {on = 1; next} /^TASK \[/ {on = 0}
                    on && /^changed: \[/ {n++} END {print n + 0}' "$log"
}

# Every host reports no failure; $1: a regex for its changed= count.
all_hosts() {
  [ "$(grep -cE "^h[0-9]+ +: ok=[0-9]+ +changed=$1 +unreachable=0 +failed=0" "$log")" -eq "$hosts" ]
}

# --- the hosts and their files -------------------------------------------------------------------------------------------
mkdir -p "$inventory/group_vars" "$inventory/host_vars"
"$python" - <<'PY'
import json, os
env = os.environ
work = env['work']
names = ['h%02d' % i for i in range(1, int(env['hosts']) + 1)]
with open(os.path.join(env['inventory'], 'hosts.yml'), 'w') as f:
    json.dump({'glacier_backup': {'hosts': {n: None for n in names}}}, f)
group = {
    'ansible_connection': 'local', 'ansible_python_interpreter': env['python'],
    'backup_config_group': {'vault': env['vault'],
                            'aws': {'endpoint_url': env['endpoint'], 'region': 'us-east-1',
                                    'access_key': 'AKIACOLDVAULTFLEET01', 'secret_key': 'cvg-fleet-SECRET-b1c7a2'}},
    'backup_config_host': {},
    'backup_config': '{{ backup_config_group | combine(backup_config_host, recursive=true) }}',
    'backup_sets_host': [],
    'backup_sets': '{{ backup_sets_group + backup_sets_host }}',
    'backup_sets_group': [{'name': 'etc-{{ inventory_hostname }}', 'paths': [work + '/files/{{ inventory_hostname }}/etc']}],
}
with open(os.path.join(env['inventory'], 'group_vars', 'glacier_backup.yml'), 'w') as f:
    json.dump(group, f, indent=1)
for i, name in enumerate(names):
    base = '%s/files/%s' % (work, name)
    os.makedirs(base + '/etc')
    with open(base + '/etc/hostname', 'w') as f:
        f.write(name + '\n')
    host = {'backup_config_host': {'staging_dir': '%s/state/%s/staging' % (work, name),
                                   'facts_file': '%s/state/%s/facts.d/glacier.fact' % (work, name)}}
    if i % 2:
        # Every other host has a second set.
        os.makedirs(base + '/db')
        with open(base + '/db/dump.sql', 'w') as f:
            f.write('-- %s\n' % name * 50)
        host['backup_sets_host'] = [{'name': 'db-' + name, 'paths': [base + '/db'], 'compression': 'xz'}]
    with open(os.path.join(env['inventory'], 'host_vars', name + '.yml'), 'w') as f:
        json.dump(host, f, indent=1)
PY

# --- every host at once: one vault, created once ---------------------------------------------------------------------------
creates=$(count CreateVault)
play coldvault.glacier.backup
all_hosts '[1-9][0-9]*'
[ "$(count CreateVault)" -eq $((creates + 1)) ]
[ "$(changed_in 'Create the vault if it is missing')" -eq 1 ]
[ "$(changed_in 'Look at the vault again')" -eq 0 ]
# Each host's catalog holds its own sets, and only those.
"$python" - <<'PY'
import json, os
env = os.environ
for i in range(1, int(env['hosts']) + 1):
    name = 'h%02d' % i
    data = json.load(open('%s/state/%s/facts.d/glacier.fact' % (env['work'], name)))
    sets = sorted(n for v in data['vaults'].values() for n in v['archives'])
    assert sets == sorted(['etc-' + name] + (['db-' + name] if i % 2 == 0 else [])), (name, sets)
PY

# --- a second run of every host changes nothing; the same run for one host has the same tasks --------------------------------
play coldvault.glacier.backup
all_hosts 0
[ "$(grep -c 'already holds these files (same manifest: nothing was packed)' "$log")" -eq $((hosts + hosts / 2)) ]
unchanged=$(banners)
play coldvault.glacier.backup --limit h02
grep -E '^h02 +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$log"
[ "$(banners)" -eq "$unchanged" ]

# --- a run that uploads on every host has the same tasks as one that uploads on one host --------------------------------------
for i in $(seq -w 1 "$hosts"); do
  echo "changed" >> "$work/files/h$i/etc/hostname"
done
play coldvault.glacier.backup
all_hosts 1
[ "$(grep -c ': uploaded archive' "$log")" -eq "$hosts" ]
uploading=$(banners)
echo "changed again" >> "$work/files/h02/etc/hostname"
play coldvault.glacier.backup --limit h02
grep -E '^h02 +: ok=[0-9]+ +changed=1 +unreachable=0 +failed=0' "$log"
[ "$(banners)" -eq "$uploading" ]

# --- the restore entry point, on every host at once, then on one ---------------------------------------------------------------
play coldvault.glacier.restore -e "{\"backup_restore\": {\"dest\": \"$work/restored/{{ inventory_hostname }}\", \"tier\": \"Expedited\", \"poll_interval\": 1}}"
all_hosts '[1-9][0-9]*'
restore_all=$(banners)
for i in $(seq -w 1 "$hosts"); do
  h="h$i"
  cmp "$work/files/$h/etc/hostname" "$work/restored/$h/etc-$h$work/files/$h/etc/hostname"
  if [ $((10#$i % 2)) -eq 0 ]; then
    cmp "$work/files/$h/db/dump.sql" "$work/restored/$h/db-$h$work/files/$h/db/dump.sql"
  fi
done
play coldvault.glacier.restore --limit h01 -e "{\"backup_restore\": {\"dest\": \"$work/restored/{{ inventory_hostname }}\"}}"
[ "$(banners)" -eq "$restore_all" ]
grep -E '^h01 +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$log"
