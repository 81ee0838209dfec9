"""Helpers shared by the endpoint tests: the endpoint process, control-API client, raw HTTP and hashing."""

import base64
import hashlib
import http.client
import io
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.httpchecksum import Crc32Checksum, Sha1Checksum, Sha256Checksum
from botocore.utils import calculate_tree_hash

ENDPOINT_DIR = Path(__file__).resolve().parent
MIB = 1024 * 1024
DUMMY_AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/glacier/aws4_request, "
                       "SignedHeaders=host;x-amz-date, Signature=0000")
S3_AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=testing/20250101/%s/s3/aws4_request, "
                    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000")
# The part size the S3 tests run with (--s3-min-part-size), so multipart tests stay small.
S3_MIN_PART = 1024


def tree_hash(data):
    """Reference tree hash (botocore's), never the endpoint's own."""
    return calculate_tree_hash(io.BytesIO(data))


class Endpoint:
    """One endpoint process; start() again after stop() to restart it on the same data dir."""

    def __init__(self, data_dir, log_path, args=()):
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.args = list(args)
        self.process = None
        self.port = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=120):
        port_file = self.data_dir.parent / ("port-%s" % self.data_dir.name)
        if port_file.exists():
            port_file.unlink()
        env = dict(os.environ, PYTHONPATH=str(ENDPOINT_DIR) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        command = [sys.executable, "-m", "glacier_endpoint", "--host", "127.0.0.1", "--port", "0",
                   "--data-dir", str(self.data_dir), "--port-file", str(port_file)] + self.args
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("endpoint did not start; log:\n" + self.log_path.read_text())
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        return self

    def stop(self):
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        code = self.process.returncode
        self.process = None
        return code

    def log(self):
        return self.log_path.read_text()


class Control:
    """Client for the JSON control API under /_control/."""

    def __init__(self, base_url, cafile=None):
        self.base_url = base_url
        self.context = ssl.create_default_context(cafile=str(cafile)) if cafile else None

    def call(self, method, name, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + "/_control/" + name, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError("%s /_control/%s -> %s %s" % (method, name, exc.code, exc.read())) from exc

    def counters(self):
        return self.call("GET", "counters")

    def reset_counters(self):
        return self.call("POST", "reset-counters", {})

    def add_fault(self, operation, kind, nth=1, count=1, **extra):
        return self.call("POST", "faults", dict(extra, operation=operation, kind=kind, nth=nth, count=count))

    def faults(self):
        return self.call("GET", "faults")["faults"]

    def clear_faults(self):
        return self.call("DELETE", "faults")

    def held(self):
        return self.call("GET", "faults")["held"]

    def release(self):
        return self.call("POST", "release", {})

    def network(self, **settings):
        return self.call("POST", "network", settings)

    def expire_upload(self, vault, upload_id=None, expire_all=False):
        body = {"vault": vault, "all": True} if expire_all else {"vault": vault, "upload_id": upload_id}
        return self.call("POST", "expire-upload", body)

    def complete_jobs(self, **selector):
        return self.call("POST", "complete-jobs", selector)

    def complete_restores(self, **selector):
        return self.call("POST", "s3/complete-restores", selector)["completed"]

    def expire_restores(self, **selector):
        return self.call("POST", "s3/expire-restores", selector)["expired"]

    def s3_counters(self):
        return self.counters()["s3"]

    def state(self):
        return self.call("GET", "state")


def make_client(endpoint, attempts=3, read_timeout=60):
    """A boto3 Glacier client for the endpoint; attempts=1 turns retries off so faults show."""
    config = Config(retries={"mode": "standard", "total_max_attempts": attempts}, read_timeout=read_timeout, connect_timeout=5)
    return boto3.client("glacier", endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=config)


def make_s3_client(endpoint, attempts=3, region="us-east-1", url=None, **config):
    """A boto3 S3 client for the endpoint, path-style; extra keyword arguments go to botocore's Config."""
    settings = dict({"retries": {"mode": "standard", "total_max_attempts": attempts}, "read_timeout": 60, "connect_timeout": 5,
                     "s3": {"addressing_style": "path"}}, **config)
    verify = settings.pop("verify", None)
    return boto3.client("s3", endpoint_url=url or endpoint.url, region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(**settings), verify=verify)


def raw_s3(endpoint, method, path, body=b"", headers=None, region="us-east-1", sign=True, payload_hash=True):
    """A hand-made S3 request; x-amz-content-sha256 is the body's unless given. Returns (status, headers, body)."""
    all_headers = {}
    if sign:
        all_headers["Authorization"] = S3_AUTHORIZATION % region
        all_headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest() if payload_hash and isinstance(body, bytes) else "UNSIGNED-PAYLOAD"
    all_headers.update(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, {key.lower(): value for key, value in response.getheaders()}, data
    finally:
        connection.close()


def xml_error(data):
    """{element: text} of an S3 <Error> body."""
    root = ET.fromstring(data)
    assert root.tag == "Error"
    return {child.tag: child.text for child in root}


def b64(raw):
    return base64.b64encode(raw).decode("ascii")


def botocore_checksum(algorithm, data):
    """base64 checksum computed by botocore (not by the endpoint)."""
    checksum = {"CRC32": Crc32Checksum, "SHA1": Sha1Checksum, "SHA256": Sha256Checksum}[algorithm]()
    checksum.update(data)
    return checksum.b64digest()


def bitwise_crc(width, poly, data):
    """A reference reflected CRC (init and final xor all ones), bit by bit: independent of the endpoint's tables."""
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _bit in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return (crc ^ mask).to_bytes(width // 8, "big")


def reference_digest(algorithm, data):
    """Raw digest of data, computed here: hashlib, zlib-free bitwise CRCs."""
    if algorithm == "CRC32":
        return bitwise_crc(32, 0xEDB88320, data)
    if algorithm == "CRC32C":
        return bitwise_crc(32, 0x82F63B78, data)
    if algorithm == "CRC64NVME":
        return bitwise_crc(64, 0x9A6C9329AC4BC9B5, data)
    return hashlib.new(algorithm.lower(), data).digest()


def cli_runner(endpoint_url, tmp_path, service, ca_bundle=None):
    """Run `aws <service> ...` against the endpoint with throw-away config and dummy credentials.

    run(*args) returns the parsed JSON output, or with check=False the CompletedProcess.
    """
    config = tmp_path / "aws-config"
    credentials = tmp_path / "aws-credentials"
    config.write_text("[default]\nregion = us-east-1\noutput = json\ns3 =\n    addressing_style = path\n")
    credentials.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
    })
    if ca_bundle:
        env["AWS_CA_BUNDLE"] = str(ca_bundle)
    aws = Path(sys.executable).with_name("aws")
    if not aws.exists():
        aws = Path(shutil.which("aws") or "aws")

    def run(*args, check=True):
        command = [str(aws), "--endpoint-url", endpoint_url, "--output", "json", service] + list(args)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        if not check:
            return result
        if result.returncode != 0:
            raise AssertionError("aws %s %s failed (%d): %s" % (service, " ".join(args), result.returncode, result.stderr))
        return json.loads(result.stdout) if result.stdout.strip() else None

    return run


def raw_request(endpoint, method, path, body=b"", headers=None, sign=True):
    """A hand-made request (no SigV4 needed: the endpoint only checks an Authorization header exists)."""
    all_headers = {"x-amz-glacier-version": "2012-06-01"}
    if sign:
        all_headers["Authorization"] = DUMMY_AUTHORIZATION
    all_headers.update(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, {key.lower(): value for key, value in response.getheaders()}, data
    finally:
        connection.close()


def upload_in_parts(client, vault, data, part_size, description=None):
    """Multipart upload through boto3; returns (upload id, archive id, checksum)."""
    kwargs = {"archiveDescription": description} if description else {}
    upload_id = client.initiate_multipart_upload(vaultName=vault, partSize=str(part_size), **kwargs)["uploadId"]
    for first in range(0, len(data), part_size):
        part = data[first:first + part_size]
        reply = client.upload_multipart_part(vaultName=vault, uploadId=upload_id, range="bytes %d-%d/*" % (first, first + len(part) - 1),
                                             body=part, checksum=tree_hash(part))
        assert reply["checksum"] == tree_hash(part)
    done = client.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(len(data)), checksum=tree_hash(data))
    return upload_id, done["archiveId"], done["checksum"]


def error_of(exc_info):
    """(code, message, HTTP status) of a botocore ClientError caught by pytest.raises."""
    response = exc_info.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]
