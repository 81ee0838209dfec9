"""Fixtures: the endpoint as a subprocess on a free port (tmp data dir), its control API, boto3 and the AWS CLI."""

import pytest

from endpoint_helpers import S3_MIN_PART, Control, Endpoint, cli_runner, make_client, make_s3_client


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
    return cli_runner(endpoint.url, tmp_path, "glacier")


@pytest.fixture
def s3_endpoint(start_endpoint):
    """An endpoint for S3 tests: small multipart parts allowed, restores held until released."""
    return start_endpoint("--s3-min-part-size", str(S3_MIN_PART), "--hold-restores", name="s3")


@pytest.fixture
def s3_control(s3_endpoint):
    return Control(s3_endpoint.url)


@pytest.fixture
def s3(s3_endpoint):
    return make_s3_client(s3_endpoint)


@pytest.fixture
def bucket(s3):
    s3.create_bucket(Bucket="test-bucket")
    return "test-bucket"


@pytest.fixture
def s3api(s3_endpoint, tmp_path):
    """Run `aws s3api ...` against the S3 endpoint (see aws_cli)."""
    return cli_runner(s3_endpoint.url, tmp_path, "s3api")
