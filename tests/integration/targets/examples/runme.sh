#!/usr/bin/env bash
# Every module's EXAMPLES and every playbook in README.md and docs/*.md, run as written (run_examples.py).
# They use paths such as /srv, /var/backups and /etc/ansible/facts.d: a private mount namespace puts a tmpfs over
# each, so nothing on the host is touched. Credentials, region and endpoint come from the environment, as the
# docs recommend.
set -eu -o pipefail

config=../../integration_config.yml
endpoint=$(sed -n 's/^glacier_endpoint_url: *//p' "$config")
if [ -z "$endpoint" ]; then
  echo "glacier_endpoint_url is not in $config: run this target with make integration" >&2
  exit 1
fi
python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}
export AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=AKIAEXAMPLEEXAMPLE00 AWS_SECRET_ACCESS_KEY=example-secret-key
export AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
# The docs' inventory sets ansible_become; this host has su but maybe no sudo.
export ANSIBLE_BECOME_METHOD=su
export ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
# ansible-test runs this from a copy of the target; the collection itself is on the collections path it exports.
collection_root=$("$python" - <<'PY'
import os
for base in os.environ.get('ANSIBLE_COLLECTIONS_PATH', os.environ.get('ANSIBLE_COLLECTIONS_PATHS', '')).split(os.pathsep):
    candidate = os.path.join(base, 'ansible_collections', 'coldvault', 'glacier')
    if os.path.isfile(os.path.join(candidate, 'galaxy.yml')):
        print(candidate)
        break
PY
)
if [ -z "$collection_root" ]; then
  echo "coldvault.glacier is not on ANSIBLE_COLLECTIONS_PATH (${ANSIBLE_COLLECTIONS_PATH:-unset})" >&2
  exit 1
fi

exec unshare --mount --propagation private -- "$python" run_examples.py --collection "$collection_root" \
  --endpoint "$endpoint" --python "$python" "$@"
