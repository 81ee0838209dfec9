#!/usr/bin/env bash
# Eight runs of coldvault.glacier.upload to one bucket at the same moment on one machine (eight inventory names
# for the local host, --forks 8), all writing one catalog: every record of every run must be in it (concurrent.yml).
set -eu -o pipefail

export ANSIBLE_ROLES_PATH=..
work=$(mktemp -d "${TMPDIR:-/tmp}/cvg-s3-concurrent.XXXXXX")
trap 'rm -rf "$work"' EXIT

ansible-playbook -i "$INVENTORY_PATH" -i writers.ini --forks 8 \
  -e @../../integration_config.yml -e work="$work" concurrent.yml "$@"
