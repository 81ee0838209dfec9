"""Multipart uploads: parallel parts, listing and pagination, completion, abort and validation."""

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import MIB, error_of, make_client, raw_request, tree_hash, upload_in_parts


def put_part(client, vault, upload_id, first, part):
    return client.upload_multipart_part(vaultName=vault, uploadId=upload_id, range="bytes %d-%d/*" % (first, first + len(part) - 1),
                                        body=part, checksum=tree_hash(part))


def test_parallel_parts_and_idempotent_complete(endpoint, glacier, vault):
    data = os.urandom(8 * MIB + 777)
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB), archiveDescription="parallel")["uploadId"]
    listed = glacier.list_multipart_uploads(vaultName=vault)["UploadsList"]
    assert [(item["MultipartUploadId"], item["PartSizeInBytes"], item["ArchiveDescription"]) for item in listed] == [(upload_id, MIB, "parallel")]

    def send(first):
        # One client per thread: several connections upload at once.
        return put_part(make_client(endpoint), vault, upload_id, first, data[first:first + MIB])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(0, len(data), MIB)))
    done = glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(len(data)), checksum=tree_hash(data))
    assert done["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert done["checksum"] == tree_hash(data)
    again = glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(len(data)), checksum=tree_hash(data))
    assert again["archiveId"] == done["archiveId"]
    assert glacier.list_multipart_uploads(vaultName=vault)["UploadsList"] == []
    with pytest.raises(ClientError) as caught:
        glacier.list_parts(vaultName=vault, uploadId=upload_id)
    assert error_of(caught) == ("ResourceNotFoundException", "The upload ID was not found: " + upload_id, 404)
    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "archive-retrieval", "ArchiveId": done["archiveId"]})["jobId"]
    assert glacier.get_job_output(vaultName=vault, jobId=job_id)["body"].read() == data


def test_larger_part_size_and_replaced_part(glacier, vault):
    data = os.urandom(5 * MIB + MIB // 2)
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(2 * MIB))["uploadId"]
    put_part(glacier, vault, upload_id, 0, os.urandom(2 * MIB))  # replaced below: the last upload of a range wins
    for first in range(0, len(data), 2 * MIB):
        put_part(glacier, vault, upload_id, first, data[first:first + 2 * MIB])
    done = glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(len(data)), checksum=tree_hash(data))
    assert done["checksum"] == tree_hash(data)


def test_list_parts_pagination(glacier, vault):
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"]
    # Short parts are accepted on upload (only completion checks sizes), which keeps this test small.
    for index in range(55):
        put_part(glacier, vault, upload_id, index * MIB, b"%d" % index)
    first = glacier.list_parts(vaultName=vault, uploadId=upload_id)
    assert len(first["Parts"]) == 50 and first["Marker"]
    assert first["PartSizeInBytes"] == MIB and first["MultipartUploadId"] == upload_id
    assert glacier.list_parts(vaultName=vault, uploadId=upload_id, limit="1000")["Parts"] == first["Parts"]
    ranges, marker = [], None
    while True:
        page = glacier.list_parts(vaultName=vault, uploadId=upload_id, limit="7", **({"marker": marker} if marker else {}))
        assert len(page["Parts"]) <= 7
        ranges += [part["RangeInBytes"] for part in page["Parts"]]
        marker = page.get("Marker")
        if not marker:
            break
    assert ranges == ["%d-%d" % (index * MIB, index * MIB + len(b"%d" % index) - 1) for index in range(55)]
    assert glacier.list_parts(vaultName=vault, uploadId=upload_id, limit="2")["Parts"][1]["SHA256TreeHash"] == tree_hash(b"1")


def test_list_multipart_uploads_pagination(glacier, vault):
    ids = [glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"] for _attempt in range(3)]
    page = glacier.list_multipart_uploads(vaultName=vault, limit="2")
    assert len(page["UploadsList"]) == 2 and page["Marker"]
    rest = glacier.list_multipart_uploads(vaultName=vault, marker=page["Marker"])
    assert sorted(item["MultipartUploadId"] for item in page["UploadsList"] + rest["UploadsList"]) == sorted(ids)


def test_abort(glacier, vault):
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"]
    put_part(glacier, vault, upload_id, 0, b"data")
    assert glacier.abort_multipart_upload(vaultName=vault, uploadId=upload_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    glacier.abort_multipart_upload(vaultName=vault, uploadId=upload_id)  # aborting again succeeds for a while
    with pytest.raises(ClientError) as caught:
        put_part(glacier, vault, upload_id, 0, b"data")
    assert error_of(caught) == ("ResourceNotFoundException", "The upload ID was not found: " + upload_id, 404)


@pytest.mark.parametrize("size", ["0", str(MIB - 1), str(3 * MIB), str(8192 * MIB), "abc"])
def test_invalid_part_sizes(glacier, vault, size):
    with pytest.raises(ClientError) as caught:
        glacier.initiate_multipart_upload(vaultName=vault, partSize=size)
    assert error_of(caught) == ("InvalidParameterValueException", "Invalid part size: %s. Part size must not be null, must be a power of two "
                                "and be between 1048576 and 4294967296 bytes." % size, 400)


def test_largest_part_size_is_accepted(glacier, vault):
    assert glacier.initiate_multipart_upload(vaultName=vault, partSize=str(4096 * MIB))["uploadId"]


def test_more_than_10000_parts(glacier, vault):
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"]
    put_part(glacier, vault, upload_id, 9999 * MIB, b"last allowed part")
    with pytest.raises(ClientError) as caught:
        put_part(glacier, vault, upload_id, 10000 * MIB, b"one too many")
    assert error_of(caught) == ("InvalidParameterValueException",
                                "This is part number 10001 for the current multipart upload. It exceeds the limit of 10000 parts.", 400)


def test_content_range_checks(endpoint, glacier, vault):
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"]
    path = "/-/vaults/%s/multipart-uploads/%s" % (vault, upload_id)
    part = os.urandom(1000)
    headers = {"x-amz-sha256-tree-hash": tree_hash(part), "x-amz-content-sha256": hashlib.sha256(part).hexdigest()}
    cases = [
        ("bytes 0-999/*", part, 204, None),
        ("bytes 0-1000/*", part, 400, "Content-Range: bytes 0-1000/* is incompatible with Content-Length: 1000"),
        ("bytes 10-5/*", part, 400, "Invalid Content-Range: bytes 10-5/*"),
        ("0-999", part, 400, "Invalid Content-Range: 0-999"),
        (None, part, 400, "Required parameter missing: Content-Range"),
    ]
    for content_range, body, status, message in cases:
        extra = dict(headers, **({"Content-Range": content_range} if content_range else {}))
        got_status, _headers, got_body = raw_request(endpoint, "PUT", path, body, extra)
        assert got_status == status, (content_range, got_body)
        if message:
            assert json.loads(got_body)["message"] == message
    bad_body = dict(headers, **{"Content-Range": "bytes 0-999/*", "x-amz-content-sha256": "00" * 32})
    status, _headers, body = raw_request(endpoint, "PUT", path, part, bad_body)
    assert (status, json.loads(body)["code"]) == (403, "InvalidSignatureException")


def test_completion_checks_part_sizes_and_totals(glacier, vault):
    data = os.urandom(3 * MIB)
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"]
    put_part(glacier, vault, upload_id, 0, data[:MIB // 2])  # a short non-final part: accepted now, refused at completion
    put_part(glacier, vault, upload_id, 2 * MIB, data[2 * MIB:])

    def complete(size, checksum):
        with pytest.raises(ClientError) as caught:
            glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(size), checksum=checksum)
        return error_of(caught)

    assert complete(len(data), tree_hash(data)) == (
        "InvalidParameterValueException", "Content range missing from the multipart upload: bytes %d-%d" % (MIB, 2 * MIB - 1), 400)
    put_part(glacier, vault, upload_id, MIB, data[MIB:2 * MIB])
    assert complete(len(data), tree_hash(data)) == (
        "InvalidParameterValueException",
        "Invalid part size for range bytes 0-%d: every part except the last must be exactly %d bytes" % (MIB // 2 - 1, MIB), 400)
    put_part(glacier, vault, upload_id, 0, data[:MIB])
    assert complete(len(data) + 1, tree_hash(data)) == (
        "InvalidParameterValueException", "Invalid x-amz-archive-size: %d. The uploaded parts add up to %d bytes." % (len(data) + 1, len(data)), 400)
    assert complete(len(data), "12" * 32) == ("InvalidParameterValueException", "Invalid x-amz-sha256-tree-hash: " + "12" * 32, 400)
    # A refused completion leaves the upload open, so it can be retried with the right values.
    assert glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(len(data)), checksum=tree_hash(data))["archiveId"]


def test_complete_requires_headers(endpoint, glacier, vault):
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MIB))["uploadId"]
    status, _headers, body = raw_request(endpoint, "POST", "/-/vaults/%s/multipart-uploads/%s" % (vault, upload_id), headers={"x-amz-archive-size": "1"})
    assert (status, json.loads(body)["message"]) == (400, "Required parameter missing: x-amz-sha256-tree-hash")


def test_upload_helper_round_trip(glacier, vault):
    data = os.urandom(3 * MIB + 1)
    archive_id, checksum = upload_in_parts(glacier, vault, data, MIB)[1:]
    assert checksum == tree_hash(data) and archive_id
