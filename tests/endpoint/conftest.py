"""Fixtures: the endpoint as a subprocess on a free port (tmp data dir), its control API, boto3 and the AWS CLI."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from endpoint_helpers import Control, Endpoint, make_client


@pytest.fixture
def start_endpoint(tmp_path):
    """Factory: start_endpoint(*flags) -> running Endpoint; all are stopped at teardown."""
    started = []

    def factory(*args, name="data"):
        endpoint = Endpoint(tmp_path / name, tmp_path / ("%s.log" % name), args).start()
        started.append(endpoint)
        return endpoint

    yield factory
    for endpoint in started:
        endpoint.stop()


@pytest.fixture
def endpoint(start_endpoint):
    return start_endpoint()


@pytest.fixture
def control(endpoint):
    return Control(endpoint.url)


@pytest.fixture
def glacier(endpoint):
    return make_client(endpoint)


@pytest.fixture
def vault(glacier):
    glacier.create_vault(vaultName="test-vault")
    return "test-vault"


@pytest.fixture
def aws_cli(endpoint, tmp_path):
    """Run `aws glacier ...` against the endpoint with throw-away config.

    Returns the parsed JSON output, or with check=False the CompletedProcess (returncode, stdout, stderr).
    """
    config = tmp_path / "aws-config"
    credentials = tmp_path / "aws-credentials"
    config.write_text("[default]\nregion = us-east-1\noutput = json\n")
    credentials.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
    })
    aws = Path(sys.executable).with_name("aws")
    if not aws.exists():
        aws = Path(shutil.which("aws") or "aws")

    def run(*args, check=True):
        command = [str(aws), "--endpoint-url", endpoint.url, "--output", "json", "glacier"] + list(args)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        if not check:
            return result
        if result.returncode != 0:
            raise AssertionError("aws %s failed (%d): %s" % (" ".join(args), result.returncode, result.stderr))
        return json.loads(result.stdout) if result.stdout.strip() else None

    return run
