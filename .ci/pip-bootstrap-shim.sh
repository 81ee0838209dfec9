#!/usr/bin/env bash
# ansible-test bootstraps pip in its sanity venvs by downloading get-pip.py from a host this machine cannot reach,
# and runs it with PIP_CONFIG_FILE=/dev/null. Put a stand-in in its cache: ensurepip, then a normal pip install
# that trusts the system CA bundle. The file name follows the pip version ansible-test asks for.
set -euo pipefail
version=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; from ansible_test._internal.host_configs import NativePythonConfig as C; print(g(C(version="3.11", path="/"))["pip"])' 2>/dev/null || echo 24.2)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
cat > "$cache/get_pip_${version//./_}.py" <<'PY'
"""Stand-in for get-pip.py written by coldvault.glacier's .ci/pip-bootstrap-shim.sh."""
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--cert', '/etc/ssl/certs/ca-certificates.crt'] + args)
PY
echo "pip bootstrap stand-in: $cache/get_pip_${version//./_}.py"
