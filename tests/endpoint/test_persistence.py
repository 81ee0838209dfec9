"""A restart on the same data directory keeps vaults, tags, archives, open uploads and jobs."""

import os

from endpoint_helpers import MIB, Control, make_client, tree_hash


def test_restart_keeps_everything(start_endpoint):
    endpoint = start_endpoint("--hold-jobs")
    glacier = make_client(endpoint)
    glacier.create_vault(vaultName="keep")
    glacier.add_tags_to_vault(vaultName="keep", Tags={"owner": "ops"})
    small = os.urandom(300000)
    small_id = glacier.upload_archive(vaultName="keep", body=small, archiveDescription="small")["archiveId"]
    data = os.urandom(2 * MIB + 99)
    upload_id = glacier.initiate_multipart_upload(vaultName="keep", partSize=str(MIB), archiveDescription="resumed")["uploadId"]
    for first in (0, MIB):
        part = data[first:first + MIB]
        glacier.upload_multipart_part(vaultName="keep", uploadId=upload_id, range="bytes %d-%d/*" % (first, first + MIB - 1), body=part)
    pending_job = glacier.initiate_job(vaultName="keep", jobParameters={"Type": "archive-retrieval", "ArchiveId": small_id})["jobId"]
    assert endpoint.stop() == 0

    # Restarted without the flag: a job held before the restart stays held.
    endpoint.args = []
    endpoint.start()
    glacier = make_client(endpoint)
    assert glacier.list_tags_for_vault(vaultName="keep")["Tags"] == {"owner": "ops"}
    assert glacier.describe_vault(vaultName="keep")["NumberOfArchives"] == 1
    parts = glacier.list_parts(vaultName="keep", uploadId=upload_id)
    assert parts["ArchiveDescription"] == "resumed"
    assert [part["SHA256TreeHash"] for part in parts["Parts"]] == [tree_hash(data[:MIB]), tree_hash(data[MIB:2 * MIB])]
    glacier.upload_multipart_part(vaultName="keep", uploadId=upload_id, range="bytes %d-%d/*" % (2 * MIB, len(data) - 1), body=data[2 * MIB:])
    big_id = glacier.complete_multipart_upload(vaultName="keep", uploadId=upload_id, archiveSize=str(len(data)), checksum=tree_hash(data))["archiveId"]

    assert glacier.describe_job(vaultName="keep", jobId=pending_job)["StatusCode"] == "InProgress"
    assert Control(endpoint.url).complete_jobs() == {"completed": [pending_job]}
    assert glacier.get_job_output(vaultName="keep", jobId=pending_job)["body"].read() == small

    big_job = glacier.initiate_job(vaultName="keep", jobParameters={"Type": "archive-retrieval", "ArchiveId": big_id})["jobId"]
    Control(endpoint.url).complete_jobs()
    assert endpoint.stop() == 0
    endpoint.start()
    glacier = make_client(endpoint)
    output = glacier.get_job_output(vaultName="keep", jobId=big_job)
    assert output["body"].read() == data and output["checksum"] == tree_hash(data)
    assert {job["JobId"] for job in glacier.list_jobs(vaultName="keep")["JobList"]} == {pending_job, big_job}
    assert "listening on http://127.0.0.1:" in endpoint.log()
