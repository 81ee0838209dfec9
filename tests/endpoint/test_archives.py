"""UploadArchive and DeleteArchive, with the body validations AWS applies."""

import hashlib
import json
import os
import re

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import MIB, error_of, raw_request, tree_hash

ARCHIVE_ID = re.compile(r"[A-Za-z0-9_-]{138}")


def test_upload_and_delete_archive(glacier, vault):
    data = os.urandom(2 * MIB + 12345)
    reply = glacier.upload_archive(vaultName=vault, body=data, archiveDescription="  nightly backup")
    archive_id = reply["archiveId"]
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert ARCHIVE_ID.fullmatch(archive_id)
    assert reply["checksum"] == tree_hash(data)
    assert reply["location"] == "/123456789012/vaults/%s/archives/%s" % (vault, archive_id)
    described = glacier.describe_vault(vaultName=vault)
    assert (described["NumberOfArchives"], described["SizeInBytes"]) == (1, len(data))

    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "inventory-retrieval"})["jobId"]
    inventory = json.loads(glacier.get_job_output(vaultName=vault, jobId=job_id)["body"].read())
    # AWS strips leading whitespace from descriptions.
    assert inventory["ArchiveList"][0]["ArchiveDescription"] == "nightly backup"

    assert glacier.delete_archive(vaultName=vault, archiveId=archive_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    assert error_of(caught) == ("ResourceNotFoundException", "The archive ID was not found: " + archive_id, 404)


def test_archive_of_another_vault(glacier, vault):
    glacier.create_vault(vaultName="other")
    archive_id = glacier.upload_archive(vaultName="other", body=b"data")["archiveId"]
    with pytest.raises(ClientError) as caught:
        glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    assert error_of(caught) == ("InvalidParameterValueException", "Invalid vault name: arn:aws:glacier:us-east-1:123456789012:vaults/" + vault, 400)


def test_zero_byte_archive_is_rejected(glacier, vault):
    with pytest.raises(ClientError) as caught:
        glacier.upload_archive(vaultName=vault, body=b"")
    assert error_of(caught)[:2] == ("InvalidParameterValueException", "Invalid Content-Length: 0. An archive must hold 1 byte to 4 GB.")


@pytest.mark.parametrize("description", ["x" * 1025, "caf\u00e9", "tab\there", "delete\x7f"])
def test_bad_descriptions_are_rejected(endpoint, vault, description):
    headers = {"x-amz-archive-description": description.encode("latin-1"), "x-amz-sha256-tree-hash": tree_hash(b"a"),
               "x-amz-content-sha256": hashlib.sha256(b"a").hexdigest()}
    status, _headers, body = raw_request(endpoint, "POST", "/-/vaults/%s/archives" % vault, b"a", headers)
    assert status == 400 and json.loads(body)["code"] == "InvalidParameterValueException"
    assert json.loads(body)["message"].startswith("Invalid archive description")
    status, _headers, body = raw_request(endpoint, "POST", "/-/vaults/%s/multipart-uploads" % vault,
                                         headers={"x-amz-part-size": str(MIB), "x-amz-archive-description": description.encode("latin-1")})
    assert status == 400 and json.loads(body)["message"].startswith("Invalid archive description")


def test_longest_description_is_accepted(glacier, vault):
    description = "".join(chr(32 + number % 95) for number in range(1024))
    assert glacier.upload_archive(vaultName=vault, body=b"a", archiveDescription=description)["archiveId"]


def test_wrong_tree_hash(glacier, vault):
    data = os.urandom(1500000)
    with pytest.raises(ClientError) as caught:
        glacier.upload_archive(vaultName=vault, body=data, checksum="ab" * 32)
    assert error_of(caught) == ("InvalidParameterValueException", "Checksum mismatch: expected %s, computed %s" % ("ab" * 32, tree_hash(data)), 400)
    assert glacier.describe_vault(vaultName=vault)["NumberOfArchives"] == 0


def test_content_sha256_mismatch_is_forbidden(endpoint, vault):
    data = os.urandom(3000)
    wrong = hashlib.sha256(b"something else").hexdigest()
    headers = {"x-amz-sha256-tree-hash": tree_hash(data), "x-amz-content-sha256": wrong}
    status, _headers, body = raw_request(endpoint, "POST", "/-/vaults/%s/archives" % vault, data, headers)
    assert status == 403
    assert json.loads(body) == {
        "code": "InvalidSignatureException", "type": "Client",
        "message": "The value passed in as x-amz-content-sha256 does not match the computed payload hash. Computed digest: %s expected hash: %s"
                   % (hashlib.sha256(data).hexdigest(), wrong),
    }


def test_required_headers(endpoint, vault):
    data = b"abc"
    status, _headers, body = raw_request(endpoint, "POST", "/-/vaults/%s/archives" % vault, data, {"x-amz-content-sha256": hashlib.sha256(data).hexdigest()})
    assert (status, json.loads(body)) == (400, {"code": "MissingParameterValueException", "type": "Client",
                                                "message": "Required parameter missing: x-amz-sha256-tree-hash"})
    status, _headers, body = raw_request(endpoint, "POST", "/-/vaults/nope/archives", data, {"x-amz-sha256-tree-hash": tree_hash(data)})
    assert (status, json.loads(body)["code"]) == (404, "ResourceNotFoundException")
