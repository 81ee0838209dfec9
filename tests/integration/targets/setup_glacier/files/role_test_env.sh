# shellcheck shell=bash
# Sourced by the role targets' runme.sh (with `needs/target/setup_glacier` in their aliases) as
#   . ../setup_glacier/files/role_test_env.sh NAME
# Sets endpoint (the local Glacier endpoint's URL that `make integration` writes into integration_config.yml),
# python, work (a scratch directory) and gnupg (a GnuPG home), and removes work and gnupg on exit.
config=../../integration_config.yml
endpoint=$(sed -n 's/^glacier_endpoint_url: *//p' "$config")
if [ -z "$endpoint" ]; then
  echo "glacier_endpoint_url is not in $config: run this target with make integration" >&2
  exit 1
fi
# shellcheck disable=SC2034  # used by the scripts that source this file
python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}
export ANSIBLE_NOCOLOR=1

work=$(mktemp -d "${TMPDIR:-/tmp}/cvg-${1:?name}.XXXXXX")
# gpg-agent's socket path must stay short: the GnuPG home goes directly under /tmp.
gnupg=$(mktemp -d /tmp/cvg-gpg.XXXXXX)
cleanup() {
  gpgconf --homedir "$gnupg" --kill all 2>/dev/null || true
  rm -rf "$work" "$gnupg"
}
trap cleanup EXIT
