"""Retrieval and inventory jobs: ranges, tree-hash headers, formats, delays and listing."""

import datetime
import json
import os
import time

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import MIB, Control, error_of, make_client, tree_hash, upload_in_parts


@pytest.fixture
def archive(glacier, vault):
    """A 6.5 MiB archive (the size AWS's tree-hash alignment example uses)."""
    data = os.urandom(6 * MIB + MIB // 2)
    archive_id = upload_in_parts(glacier, vault, data, 2 * MIB, description="six and a half")[1]
    return archive_id, data


def retrieval(glacier, vault, archive_id, **params):
    return glacier.initiate_job(vaultName=vault, jobParameters=dict(params, Type="archive-retrieval", ArchiveId=archive_id))["jobId"]


def test_whole_archive_output(glacier, vault, archive):
    archive_id, data = archive
    started = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id, "Description": "restore"})
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert started["location"] == "/123456789012/vaults/%s/jobs/%s" % (vault, started["jobId"])
    described = glacier.describe_job(vaultName=vault, jobId=started["jobId"])
    assert described["JobDescription"] == "restore" and described["Tier"] == "Standard"
    assert described["CompletionDate"] and described["VaultARN"].endswith(":vaults/" + vault)
    output = glacier.get_job_output(vaultName=vault, jobId=started["jobId"])
    assert output["status"] == 200 and "contentRange" not in output
    assert output["acceptRanges"] == "bytes"
    assert output["contentType"] == "application/octet-stream"
    assert output["archiveDescription"] == "six and a half"
    assert output["checksum"] == tree_hash(data)
    assert output["body"].read() == data


@pytest.mark.parametrize("first,last,aligned", [
    (0, MIB - 1, True), (MIB, 2 * MIB - 1, True), (4 * MIB, 6 * MIB + MIB // 2 - 1, True), (0, 4 * MIB - 1, True),
    (MIB, 3 * MIB - 1, False), (0, 1023, False), (2 * MIB, 5 * MIB - 1, False),
])
def test_ranged_output_tree_hash(glacier, vault, archive, first, last, aligned):
    archive_id, data = archive
    job_id = retrieval(glacier, vault, archive_id)
    output = glacier.get_job_output(vaultName=vault, jobId=job_id, range="bytes=%d-%d" % (first, last))
    body = output["body"].read()
    assert body == data[first:last + 1]
    assert output["status"] == 206
    assert output["contentRange"] == "bytes %d-%d/%d" % (first, last, len(data))
    if aligned:
        assert output["checksum"] == tree_hash(body)
    else:
        assert "checksum" not in output


def test_retrieval_byte_range(glacier, vault, archive):
    archive_id, data = archive
    job_id = retrieval(glacier, vault, archive_id, RetrievalByteRange="%d-%d" % (4 * MIB, len(data) - 1))
    described = glacier.describe_job(vaultName=vault, jobId=job_id)
    assert described["SHA256TreeHash"] == tree_hash(data[4 * MIB:])
    assert described["ArchiveSHA256TreeHash"] == tree_hash(data)
    output = glacier.get_job_output(vaultName=vault, jobId=job_id, range="bytes=%d-%d" % (MIB, 2 * MIB - 1))
    assert output["body"].read() == data[5 * MIB:6 * MIB]
    assert output["checksum"] == tree_hash(data[5 * MIB:6 * MIB])

    unaligned_job = retrieval(glacier, vault, archive_id, RetrievalByteRange="%d-%d" % (MIB, 3 * MIB - 1))
    assert glacier.describe_job(vaultName=vault, jobId=unaligned_job).get("SHA256TreeHash") is None
    output = glacier.get_job_output(vaultName=vault, jobId=unaligned_job)
    assert output["body"].read() == data[MIB:3 * MIB] and "checksum" not in output

    for bad in ("1-%d" % (MIB - 1), "0-1000", "0-%d" % (10 * MIB - 1), "nonsense"):
        with pytest.raises(ClientError) as caught:
            retrieval(glacier, vault, archive_id, RetrievalByteRange=bad)
        assert error_of(caught)[0] == "InvalidParameterValueException"


def test_inventory_reflects_current_archives(glacier, vault, archive):
    archive_id, data = archive
    small = glacier.upload_archive(vaultName=vault, body=b"small, \"quoted\"", archiveDescription='a, "b"')["archiveId"]
    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "inventory-retrieval"})["jobId"]
    described = glacier.describe_job(vaultName=vault, jobId=job_id)
    assert described["Action"] == "InventoryRetrieval" and described["InventorySizeInBytes"] > 0
    output = glacier.get_job_output(vaultName=vault, jobId=job_id)
    assert output["contentType"] == "application/json" and "checksum" not in output
    inventory = json.loads(output["body"].read())
    assert inventory["VaultARN"] == "arn:aws:glacier:us-east-1:123456789012:vaults/" + vault
    assert inventory["InventoryDate"].endswith("Z")
    entries = {item["ArchiveId"]: item for item in inventory["ArchiveList"]}
    assert entries[archive_id]["Size"] == len(data) and entries[archive_id]["SHA256TreeHash"] == tree_hash(data)
    assert entries[archive_id]["ArchiveDescription"] == "six and a half" and entries[archive_id]["CreationDate"]
    assert glacier.describe_vault(vaultName=vault)["LastInventoryDate"]

    glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    csv_job = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "inventory-retrieval", "Format": "CSV"})["jobId"]
    output = glacier.get_job_output(vaultName=vault, jobId=csv_job)
    assert output["contentType"] == "text/csv"
    lines = output["body"].read().decode().splitlines()
    assert lines[0] == "ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash"
    assert len(lines) == 2 and lines[1].startswith(small + ',"a, \\"b\\"",')
    # The retrieval job started before the deletion still serves the archive.
    assert glacier.get_job_output(vaultName=vault, jobId=retrieval(glacier, vault, small))["body"].read() == b"small, \"quoted\""


def test_inventory_pages(glacier, vault):
    ids = [glacier.upload_archive(vaultName=vault, body=b"%d" % number)["archiveId"] for number in range(3)]
    parameters = {"Type": "inventory-retrieval", "InventoryRetrievalParameters": {"Limit": "2"}}
    first = glacier.initiate_job(vaultName=vault, jobParameters=parameters)["jobId"]
    listed = [item["ArchiveId"] for item in json.loads(glacier.get_job_output(vaultName=vault, jobId=first)["body"].read())["ArchiveList"]]
    marker = glacier.describe_job(vaultName=vault, jobId=first)["InventoryRetrievalParameters"]["Marker"]
    assert listed == ids[:2] and marker == ids[2]
    parameters["InventoryRetrievalParameters"]["Marker"] = marker
    second = glacier.initiate_job(vaultName=vault, jobParameters=parameters)["jobId"]
    listed = [item["ArchiveId"] for item in json.loads(glacier.get_job_output(vaultName=vault, jobId=second)["body"].read())["ArchiveList"]]
    assert listed == ids[2:]
    assert "Marker" not in glacier.describe_job(vaultName=vault, jobId=second)["InventoryRetrievalParameters"]


def test_held_jobs_and_listing(start_endpoint):
    endpoint = start_endpoint("--hold-jobs")
    glacier = make_client(endpoint)
    control = Control(endpoint.url)
    glacier.create_vault(vaultName="v")
    archive_id = glacier.upload_archive(vaultName="v", body=b"payload")["archiveId"]
    held_job = retrieval(glacier, "v", archive_id, Tier="Bulk")
    other_job = glacier.initiate_job(vaultName="v", jobParameters={"Type": "inventory-retrieval"})["jobId"]
    described = glacier.describe_job(vaultName="v", jobId=held_job)
    assert (described["StatusCode"], described["Completed"], described["StatusMessage"]) == ("InProgress", False, "Operation in progress.")
    # botocore drops the null fields AWS sends for a job in progress.
    assert described.get("CompletionDate") is None and described.get("SHA256TreeHash") is None
    with pytest.raises(ClientError) as caught:
        glacier.get_job_output(vaultName="v", jobId=held_job)
    assert error_of(caught) == ("InvalidParameterValueException", "The job is not currently available for download: " + held_job, 400)
    in_progress = glacier.list_jobs(vaultName="v", statuscode="InProgress")["JobList"]
    assert {job["JobId"] for job in in_progress} == {held_job, other_job}
    assert glacier.list_jobs(vaultName="v", completed="true")["JobList"] == []
    assert [job["held"] for job in control.state()["store"]["jobs"]] == [True, True]

    # One job released by id; the other stays held.
    assert control.complete_jobs(job_id=held_job) == {"completed": [held_job]}
    assert glacier.describe_job(vaultName="v", jobId=held_job)["StatusCode"] == "Succeeded"
    assert glacier.get_job_output(vaultName="v", jobId=held_job)["body"].read() == b"payload"
    assert glacier.describe_job(vaultName="v", jobId=other_job)["StatusCode"] == "InProgress"
    with pytest.raises(AssertionError, match="404"):
        control.complete_jobs(job_id="no-such-job")
    assert control.complete_jobs(vault="v") == {"completed": [other_job]}
    assert control.complete_jobs() == {"completed": []}
    page = glacier.list_jobs(vaultName="v", limit="1")
    assert len(page["JobList"]) == 1 and page["Marker"]
    assert len(glacier.list_jobs(vaultName="v", marker=page["Marker"])["JobList"]) == 1


def test_hold_switched_at_run_time(glacier, control, vault):
    archive_id = glacier.upload_archive(vaultName=vault, body=b"x")["archiveId"]
    assert glacier.describe_job(vaultName=vault, jobId=retrieval(glacier, vault, archive_id))["StatusCode"] == "Succeeded"
    assert control.call("GET", "hold") == {"jobs": False, "restores": False}
    assert control.call("POST", "hold", {"jobs": True}) == {"jobs": True, "restores": False}
    held = retrieval(glacier, vault, archive_id)
    assert glacier.describe_job(vaultName=vault, jobId=held)["StatusCode"] == "InProgress"
    # Switching the hold off does not release the jobs already held.
    control.call("POST", "hold", {"jobs": False})
    assert glacier.describe_job(vaultName=vault, jobId=held)["StatusCode"] == "InProgress"
    assert glacier.describe_job(vaultName=vault, jobId=retrieval(glacier, vault, archive_id))["StatusCode"] == "Succeeded"
    assert control.complete_jobs() == {"completed": [held]}
    with pytest.raises(AssertionError, match="400"):
        control.call("POST", "hold", {"jobs": "yes"})


def test_job_delay(start_endpoint):
    """--job-delay: a job completes by itself once the delay is over (waited for here, with a bound no machine reaches)."""
    endpoint = start_endpoint("--job-delay", "0.3")
    glacier = make_client(endpoint)
    glacier.create_vault(vaultName="v")
    archive_id = glacier.upload_archive(vaultName="v", body=b"payload")["archiveId"]
    job_id = retrieval(glacier, "v", archive_id)
    deadline = time.monotonic() + 300
    while not glacier.describe_job(vaultName="v", jobId=job_id)["Completed"]:
        assert time.monotonic() < deadline, "a job with a 0.3 s delay did not complete in 300 s"
        time.sleep(0.1)
    described = glacier.describe_job(vaultName="v", jobId=job_id)
    created = datetime.datetime.fromisoformat(described["CreationDate"].replace("Z", "+00:00"))
    completed = datetime.datetime.fromisoformat(described["CompletionDate"].replace("Z", "+00:00"))
    assert (completed - created).total_seconds() >= 0.3 - 0.001
    assert glacier.get_job_output(vaultName="v", jobId=job_id)["body"].read() == b"payload"


def test_job_errors(glacier, vault):
    with pytest.raises(ClientError) as caught:
        glacier.describe_job(vaultName=vault, jobId="missing-job")
    assert error_of(caught) == ("ResourceNotFoundException", "The job ID was not found: missing-job", 404)
    with pytest.raises(ClientError) as caught:
        glacier.list_jobs(vaultName=vault, statuscode="finished")
    assert error_of(caught) == ("InvalidParameterValueException", "The job status code is not valid: finished", 400)
    with pytest.raises(ClientError) as caught:
        retrieval(glacier, vault, "not-an-archive")
    assert error_of(caught)[0] == "ResourceNotFoundException"
    for params in ({"Type": "archive-retrieval"}, {"Type": "mystery"}, {"Type": "inventory-retrieval", "Format": "XML"}):
        with pytest.raises(ClientError) as caught:
            glacier.initiate_job(vaultName=vault, jobParameters=params)
        assert error_of(caught)[0] in ("MissingParameterValueException", "InvalidParameterValueException")
