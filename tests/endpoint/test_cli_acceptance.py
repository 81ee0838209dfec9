"""Acceptance test: the AWS CLI uploads 5 MiB in 1 MiB parts and gets the bytes back through a retrieval job."""

import json
import os

from endpoint_helpers import MIB, tree_hash

ACCOUNT = ("--account-id", "-")


def test_multipart_upload_and_archive_retrieval(aws_cli, tmp_path):
    data = os.urandom(5 * MIB)
    aws_cli("create-vault", *ACCOUNT, "--vault-name", "cli-vault")
    initiated = aws_cli("initiate-multipart-upload", *ACCOUNT, "--vault-name", "cli-vault",
                        "--part-size", str(MIB), "--archive-description", "five mebibytes")
    upload_id = initiated["uploadId"]
    assert len(upload_id) == 92
    assert initiated["location"] == "/123456789012/vaults/cli-vault/multipart-uploads/" + upload_id

    for index in range(5):
        part = data[index * MIB:(index + 1) * MIB]
        path = tmp_path / ("part-%d" % index)
        path.write_bytes(part)
        reply = aws_cli("upload-multipart-part", *ACCOUNT, "--vault-name", "cli-vault", "--upload-id", upload_id,
                        "--range", "bytes %d-%d/*" % (index * MIB, (index + 1) * MIB - 1),
                        "--body", str(path), "--checksum", tree_hash(part))
        assert reply["checksum"] == tree_hash(part)

    parts = aws_cli("list-parts", *ACCOUNT, "--vault-name", "cli-vault", "--upload-id", upload_id)
    assert [part["RangeInBytes"] for part in parts["Parts"]] == ["%d-%d" % (i * MIB, (i + 1) * MIB - 1) for i in range(5)]

    checksum = tree_hash(data)
    completed = aws_cli("complete-multipart-upload", *ACCOUNT, "--vault-name", "cli-vault", "--upload-id", upload_id,
                        "--archive-size", str(len(data)), "--checksum", checksum)
    archive_id = completed["archiveId"]
    assert completed["checksum"] == checksum
    assert len(archive_id) == 138
    assert completed["location"] == "/123456789012/vaults/cli-vault/archives/" + archive_id

    job = aws_cli("initiate-job", *ACCOUNT, "--vault-name", "cli-vault", "--job-parameters",
                  json.dumps({"Type": "archive-retrieval", "ArchiveId": archive_id, "Tier": "Expedited"}))
    job_id = job["jobId"]
    described = aws_cli("describe-job", *ACCOUNT, "--vault-name", "cli-vault", "--job-id", job_id)
    assert described["StatusCode"] == "Succeeded" and described["Completed"] is True
    assert described["Action"] == "ArchiveRetrieval"
    assert described["ArchiveSizeInBytes"] == len(data)
    assert described["ArchiveSHA256TreeHash"] == checksum == described["SHA256TreeHash"]
    assert described["RetrievalByteRange"] == "0-%d" % (len(data) - 1)
    assert described["Tier"] == "Expedited"

    restored = tmp_path / "restored"
    output = aws_cli("get-job-output", *ACCOUNT, "--vault-name", "cli-vault", "--job-id", job_id, str(restored))
    assert restored.read_bytes() == data
    assert output["checksum"] == checksum
    assert output["status"] == 200


def expect_cli_error(result, operation, code, message):
    assert result.returncode != 0
    assert "An error occurred (%s) when calling the %s operation: %s" % (code, operation, message) in result.stderr, result.stderr


def test_bad_part_size_misaligned_range_and_wrong_tree_hash(aws_cli, tmp_path):
    aws_cli("create-vault", *ACCOUNT, "--vault-name", "cli-vault")
    expect_cli_error(
        aws_cli("initiate-multipart-upload", *ACCOUNT, "--vault-name", "cli-vault", "--part-size", str(3 * MIB), check=False),
        "InitiateMultipartUpload", "InvalidParameterValueException",
        "Invalid part size: 3145728. Part size must not be null, must be a power of two and be between 1048576 and 4294967296 bytes.")

    initiated = aws_cli("initiate-multipart-upload", *ACCOUNT, "--vault-name", "cli-vault", "--part-size", str(MIB))
    upload = ("--vault-name", "cli-vault", "--upload-id", initiated["uploadId"])
    part = os.urandom(MIB)
    path = tmp_path / "part"
    path.write_bytes(part)

    misaligned = "bytes %d-%d/*" % (MIB // 2, MIB // 2 + MIB - 1)
    expect_cli_error(
        aws_cli("upload-multipart-part", *ACCOUNT, *upload, "--range", misaligned, "--body", str(path), "--checksum", tree_hash(part), check=False),
        "UploadMultipartPart", "InvalidParameterValueException",
        "Content-Range: %s is not aligned with the part size %d" % (misaligned, MIB))

    wrong = "0" * 64
    expect_cli_error(
        aws_cli("upload-multipart-part", *ACCOUNT, *upload, "--range", "bytes 0-%d/*" % (MIB - 1), "--body", str(path), "--checksum", wrong, check=False),
        "UploadMultipartPart", "InvalidParameterValueException",
        "Checksum mismatch: expected %s, computed %s" % (wrong, tree_hash(part)))

    # Nothing was stored by the refused requests.
    parts = aws_cli("list-parts", *ACCOUNT, *upload)
    assert parts["Parts"] == []
