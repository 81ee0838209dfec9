"""The control API: faults of every kind, WAN shaping, counters and upload expiry."""

import os
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from endpoint_helpers import MIB, Control, error_of, make_client, tree_hash

ERROR_KINDS = [
    ("500", "ServiceUnavailableException", 500),
    ("503", "ServiceUnavailableException", 503),
    ("408", "RequestTimeoutException", 408),
    ("throttle", "ThrottlingException", 400),
]


@pytest.mark.parametrize("kind,code,status", ERROR_KINDS)
def test_error_faults(endpoint, control, vault, kind, code, status):
    once = make_client(endpoint, attempts=1)
    control.add_fault("DescribeVault", kind)
    with pytest.raises(ClientError) as caught:
        once.describe_vault(vaultName=vault)
    assert error_of(caught)[0::2] == (code, status)
    assert once.describe_vault(vaultName=vault)["VaultName"] == vault
    counters = control.counters()
    assert counters["errors"][code] == 1 and counters["faults"][kind] == 1


def test_fault_is_retried_by_botocore(control, glacier, vault):
    control.reset_counters()
    control.add_fault("UploadArchive", "500", count=2)
    reply = glacier.upload_archive(vaultName=vault, body=b"retried")
    assert reply["ResponseMetadata"]["RetryAttempts"] == 2
    assert control.counters()["requests"]["UploadArchive"] == 3


def test_nth_and_count(endpoint, control, vault):
    once = make_client(endpoint, attempts=1)
    control.add_fault("DescribeVault", "throttle", nth=2, count=2, message="Slow down")
    pending = control.faults()
    assert [(item["operation"], item["kind"], item["nth"], item["count"]) for item in pending] == [("DescribeVault", "throttle", 2, 2)]
    outcomes = []
    for _attempt in range(4):
        try:
            once.describe_vault(vaultName=vault)
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Message"])
    assert outcomes == ["ok", "Slow down", "Slow down", "ok"]
    assert control.faults() == []
    control.add_fault("*", "500", nth=5)
    assert control.clear_faults() == {"cleared": 1}


def test_drop_before_reply_and_mid_body(endpoint, control, vault):
    once = make_client(endpoint, attempts=1)
    control.add_fault("DescribeVault", "drop")
    with pytest.raises(BotoCoreError):
        once.describe_vault(vaultName=vault)
    upload_id = once.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"]
    part = os.urandom(MIB)
    control.add_fault("UploadMultipartPart", "drop")
    with pytest.raises(BotoCoreError):
        once.upload_multipart_part(vaultName=vault, uploadId=upload_id, range="bytes 0-%d/*" % (MIB - 1), body=part)
    assert once.list_parts(vaultName=vault, uploadId=upload_id)["Parts"] == []
    # The default client retries the dropped request and succeeds.
    control.add_fault("UploadMultipartPart", "drop")
    make_client(endpoint).upload_multipart_part(vaultName=vault, uploadId=upload_id, range="bytes 0-%d/*" % (MIB - 1), body=part)
    assert control.counters()["faults"]["drop"] == 3


def test_drop_and_corrupt_job_output(endpoint, control, glacier, vault):
    data = os.urandom(2 * MIB)
    archive_id = glacier.upload_archive(vaultName=vault, body=data)["archiveId"]
    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id})["jobId"]
    once = make_client(endpoint, attempts=1)
    control.add_fault("GetJobOutput", "drop")
    output = once.get_job_output(vaultName=vault, jobId=job_id)
    with pytest.raises(BotoCoreError):
        output["body"].read()
    control.add_fault("GetJobOutput", "corrupt")
    output = once.get_job_output(vaultName=vault, jobId=job_id, range="bytes=0-%d" % (MIB - 1))
    body = output["body"].read()
    assert len(body) == MIB and body != data[:MIB]
    assert output["checksum"] == tree_hash(data[:MIB]) != tree_hash(body)
    assert once.get_job_output(vaultName=vault, jobId=job_id)["body"].read() == data


def test_corrupt_upload_is_refused(control, glacier, vault):
    control.add_fault("UploadArchive", "corrupt")
    with pytest.raises(ClientError) as caught:
        glacier.upload_archive(vaultName=vault, body=b"some bytes")
    assert error_of(caught)[0::2] == ("InvalidSignatureException", 403)


def test_slow(endpoint, control, vault):
    control.add_fault("DescribeVault", "slow", delay=1.0)
    started = time.monotonic()
    make_client(endpoint, attempts=1).describe_vault(vaultName=vault)
    assert time.monotonic() - started >= 1.0
    control.add_fault("DescribeVault", "slow", delay=2.0)
    with pytest.raises(ReadTimeoutError):
        make_client(endpoint, attempts=1, read_timeout=0.5).describe_vault(vaultName=vault)


def test_hold_until_released(endpoint, control, glacier, vault):
    control.add_fault("UploadArchive", "hold", delay=120)
    done = {}

    def upload():
        done["reply"] = glacier.upload_archive(vaultName=vault, body=b"held")

    thread = threading.Thread(target=upload)
    thread.start()
    while not control.held():  # a condition, not a time: the request has arrived and waits
        time.sleep(0.01)
    assert control.held() == [{"id": 1, "operation": "UploadArchive"}]
    # Meanwhile other requests go through; the held request was processed (its archive exists), its reply waits.
    assert glacier.describe_vault(vaultName=vault)["NumberOfArchives"] == 1
    assert control.counters()["faults"]["hold"] == 1 and "reply" not in done
    assert control.release() == {"released": 1}
    thread.join(60)
    assert done["reply"]["archiveId"] and control.held() == []
    assert control.release() == {"released": 0}


def test_bad_fault_specs(control):
    for spec in ({"operation": "X", "kind": "explode"}, {"kind": "500", "nth": 0}, ["not an object"]):
        with pytest.raises(AssertionError, match="400"):
            control.call("POST", "faults", spec)


def test_latency_and_bandwidth(endpoint, control, glacier, vault):
    control.network(latency_ms=200)
    started = time.monotonic()
    for _attempt in range(5):
        glacier.describe_vault(vaultName=vault)
    assert time.monotonic() - started >= 1.0

    data = os.urandom(2 * MIB)
    settings = control.network(latency_ms=0, bandwidth=2 * MIB)
    assert (settings["latency_ms"], settings["bandwidth"]) == (0, 2 * MIB) and settings["slept"]["latency_seconds"] >= 0.999
    started = time.monotonic()
    archive_id = glacier.upload_archive(vaultName=vault, body=data)["archiveId"]
    assert time.monotonic() - started >= 0.8
    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id})["jobId"]
    started = time.monotonic()
    assert glacier.get_job_output(vaultName=vault, jobId=job_id)["body"].read() == data
    assert time.monotonic() - started >= 0.8
    shaped = control.network(bandwidth=0)["slept"]["bandwidth_seconds"]
    assert shaped > 0
    # Unshaped, no time is spent waiting for tokens (what a stopwatch could only guess on a busy machine).
    assert glacier.get_job_output(vaultName=vault, jobId=job_id)["body"].read() == data
    assert control.call("GET", "network")["slept"]["bandwidth_seconds"] == shaped


def test_shaping_flags(start_endpoint):
    endpoint = start_endpoint("--latency-ms", "150", "--bandwidth", "500000")
    settings = Control(endpoint.url).call("GET", "network")
    assert (settings["latency_ms"], settings["bandwidth"]) == (150, 500000)
    started = time.monotonic()
    make_client(endpoint).list_vaults()
    assert time.monotonic() - started >= 0.15


def test_counters(control, glacier, vault):
    control.reset_counters()
    data = os.urandom(100000)
    archive_id = glacier.upload_archive(vaultName=vault, body=data)["archiveId"]
    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id})["jobId"]
    glacier.get_job_output(vaultName=vault, jobId=job_id)["body"].read()
    with pytest.raises(ClientError):
        glacier.describe_vault(vaultName="missing")
    counters = control.counters()
    assert counters["requests"] == {"UploadArchive": 1, "InitiateJob": 1, "GetJobOutput": 1, "DescribeVault": 1}
    assert counters["bytes_received"] >= len(data) and counters["bytes_sent"] >= len(data)
    assert counters["errors"] == {"ResourceNotFoundException": 1}
    assert counters["s3"]["requests"] == {} and counters["s3"]["bytes_received"] == 0
    zero = {"requests": {}, "bytes_received": 0, "bytes_sent": 0, "errors": {}, "faults": {}}
    assert control.reset_counters() == dict(zero, s3=zero)


def test_expire_upload(control, glacier, vault):
    first = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"]
    others = [glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"] for _attempt in range(2)]
    assert control.expire_upload(vault, first) == {"expired": [first]}
    with pytest.raises(ClientError) as caught:
        glacier.upload_multipart_part(vaultName=vault, uploadId=first, range="bytes 0-2/*", body=b"abc")
    assert error_of(caught) == ("ResourceNotFoundException", "The upload ID was not found: " + first, 404)
    with pytest.raises(ClientError):
        glacier.abort_multipart_upload(vaultName=vault, uploadId=first)
    assert sorted(control.expire_upload(vault, expire_all=True)["expired"]) == sorted(others)
    assert glacier.list_multipart_uploads(vaultName=vault)["UploadsList"] == []
    summary = control.state()
    assert summary["store"]["uploads"] == [] and summary["store"]["vaults"][vault]["archives"] == 0
