"""S3 multipart uploads: part rules at completion, listings and their pages, aborts, conditional completion."""

import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import S3_MIN_PART, make_s3_client, raw_s3, xml_error


def code_of(caught):
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def start(s3, bucket, key, sizes, storage_class="DEEP_ARCHIVE"):
    """Create an upload and send parts of the given sizes; returns (upload id, parts, data)."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, StorageClass=storage_class, Metadata={"cvg1": "m"})["UploadId"]
    parts, pieces = [], []
    for number, size in enumerate(sizes, 1):
        piece = os.urandom(size)
        reply = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=piece)
        assert reply["ETag"] == '"%s"' % hashlib.md5(piece).hexdigest()
        parts.append({"PartNumber": number, "ETag": reply["ETag"]})
        pieces.append(piece)
    return upload_id, parts, b"".join(pieces)


def test_complete_and_read_back(s3, bucket):
    upload_id, parts, data = start(s3, bucket, "big", [S3_MIN_PART, S3_MIN_PART, 17])
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)
    assert [part["Size"] for part in listed["Parts"]] == [S3_MIN_PART, S3_MIN_PART, 17] and listed["StorageClass"] == "DEEP_ARCHIVE"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id, MultipartUpload={"Parts": parts}, MpuObjectSize=len(data))
    assert done["ETag"].endswith('-3"') and done["Key"] == "big" and done["Bucket"] == bucket
    # A repeated completion answers the same, as S3 does for a while.
    again = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert again["ETag"] == done["ETag"]
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == len(data) and head["StorageClass"] == "DEEP_ARCHIVE" and head["Metadata"] == {"cvg1": "m"}
    assert s3.head_object(Bucket=bucket, Key="big", PartNumber=3)["PartsCount"] == 3
    with pytest.raises(ClientError) as caught:
        s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)
    assert code_of(caught) == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="big", PartNumber=4)
    assert code_of(caught) == ("416", 416)


def test_part_rules_at_completion(s3, bucket):
    upload_id, parts, _data = start(s3, bucket, "rules", [S3_MIN_PART, S3_MIN_PART - 1, S3_MIN_PART, 5])
    cases = [
        ([parts[0], parts[2], parts[1]], "InvalidPartOrder"),
        ([parts[0], dict(parts[1], ETag='"%s"' % ("0" * 32))], "InvalidPart"),
        ([parts[0], {"PartNumber": 9, "ETag": parts[0]["ETag"]}], "InvalidPart"),
        (parts, "EntityTooSmall"),
    ]
    for chosen, code in cases:
        with pytest.raises(ClientError) as caught:
            s3.complete_multipart_upload(Bucket=bucket, Key="rules", UploadId=upload_id, MultipartUpload={"Parts": chosen})
        assert code_of(caught) == (code, 400)
    assert caught.value.response["Error"]["MinSizeAllowed"] == str(S3_MIN_PART)
    assert caught.value.response["Error"]["ProposedSize"] == str(S3_MIN_PART - 1)
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(Bucket=bucket, Key="rules", UploadId=upload_id, MultipartUpload={"Parts": [parts[0], parts[2]]},
                                     MpuObjectSize=7)
    assert code_of(caught) == ("InvalidRequest", 400)
    # A refused completion leaves the upload open; skipping the short part (numbers need not be consecutive) works.
    done = s3.complete_multipart_upload(Bucket=bucket, Key="rules", UploadId=upload_id, MultipartUpload={"Parts": [parts[0], parts[2], parts[3]]})
    assert done["ETag"].endswith('-3"')
    assert s3.head_object(Bucket=bucket, Key="rules")["ContentLength"] == 2 * S3_MIN_PART + 5


def test_aws_minimum_part_size_by_default(start_endpoint):
    endpoint = start_endpoint()
    s3 = make_s3_client(endpoint)
    s3.create_bucket(Bucket="default-size")
    upload_id, parts, _data = start(s3, "default-size", "small", [1024, 1024])
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(Bucket="default-size", Key="small", UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert code_of(caught) == ("EntityTooSmall", 400) and caught.value.response["Error"]["MinSizeAllowed"] == str(5 * 1024 * 1024)
    # One part, however small, is fine (it is the last).
    done = s3.complete_multipart_upload(Bucket="default-size", Key="small", UploadId=upload_id, MultipartUpload={"Parts": parts[:1]})
    assert done["ETag"].endswith('-1"')


def test_part_numbers_and_sizes(s3_endpoint, s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="n")["UploadId"]
    for number in ("0", "10001", "x"):
        status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s/n?partNumber=%s&uploadId=%s" % (bucket, number, upload_id), b"abc")
        assert status == 400 and xml_error(body)["Code"] == "InvalidArgument"
    status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s/n?partNumber=10000&uploadId=%s" % (bucket, upload_id), b"abc")
    assert status == 200
    status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s/n?partNumber=1&uploadId=%s" % (bucket, upload_id), b"",
                                    {"Content-Length": str(5 * 1024 ** 3 + 1), "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert status == 400 and xml_error(body)["Code"] == "EntityTooLarge"
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=bucket, Key="n", UploadId="no-such-upload", PartNumber=1, Body=b"x")
    assert code_of(caught) == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=bucket, Key="other-key", UploadId=upload_id, PartNumber=1, Body=b"x")
    assert code_of(caught) == ("NoSuchUpload", 404)
    # A part sent again replaces the first one.
    first = s3.upload_part(Bucket=bucket, Key="n", UploadId=upload_id, PartNumber=1, Body=b"first")["ETag"]
    second = s3.upload_part(Bucket=bucket, Key="n", UploadId=upload_id, PartNumber=1, Body=b"second")["ETag"]
    assert [part["ETag"] for part in s3.list_parts(Bucket=bucket, Key="n", UploadId=upload_id)["Parts"]] == [second, '"%s"' % hashlib.md5(b"abc").hexdigest()]
    assert first != second


def test_list_parts_pages(s3_endpoint, s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="many")["UploadId"]
    for number in range(1, 1003):
        status, _headers, _body = raw_s3(s3_endpoint, "PUT", "/%s/many?partNumber=%d&uploadId=%s" % (bucket, number, upload_id), b"p")
        assert status == 200
    # At most 1000 a page, whatever is asked for.
    page = s3.list_parts(Bucket=bucket, Key="many", UploadId=upload_id, MaxParts=5000)
    assert len(page["Parts"]) == 1000 and page["IsTruncated"] and page["NextPartNumberMarker"] == 1000 and page["MaxParts"] == 1000
    rest = s3.list_parts(Bucket=bucket, Key="many", UploadId=upload_id, PartNumberMarker=page["NextPartNumberMarker"])
    assert [part["PartNumber"] for part in rest["Parts"]] == [1001, 1002] and not rest["IsTruncated"]
    small = s3.list_parts(Bucket=bucket, Key="many", UploadId=upload_id, MaxParts=3, PartNumberMarker=10)
    assert [part["PartNumber"] for part in small["Parts"]] == [11, 12, 13] and small["NextPartNumberMarker"] == 13
    numbers = [part["PartNumber"] for page in s3.get_paginator("list_parts").paginate(Bucket=bucket, Key="many", UploadId=upload_id)
               for part in page["Parts"]]
    assert numbers == list(range(1, 1003))


def test_list_uploads_and_abort(s3, bucket):
    ids = {}
    for key in ("a/1", "a/2", "b", "b", "c"):
        ids.setdefault(key, []).append(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [(upload["Key"], upload["UploadId"]) for upload in listed["Uploads"]] == [
        ("a/1", ids["a/1"][0]), ("a/2", ids["a/2"][0]), ("b", ids["b"][0]), ("b", ids["b"][1]), ("c", ids["c"][0])]
    assert listed["Uploads"][0]["StorageClass"] == "STANDARD" and listed["Uploads"][0]["Initiated"]
    grouped = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [prefix["Prefix"] for prefix in grouped["CommonPrefixes"]] == ["a/"] and len(grouped["Uploads"]) == 3
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=3)
    assert page["IsTruncated"] and (page["NextKeyMarker"], page["NextUploadIdMarker"]) == ("b", ids["b"][0])
    rest = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])
    assert [upload["UploadId"] for upload in rest["Uploads"]] == [ids["b"][1], ids["c"][0]] and not rest["IsTruncated"]
    assert s3.abort_multipart_upload(Bucket=bucket, Key="c", UploadId=ids["c"][0])["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        s3.abort_multipart_upload(Bucket=bucket, Key="c", UploadId=ids["c"][0])
    assert code_of(caught) == ("NoSuchUpload", 404)
    assert "c" not in [upload["Key"] for upload in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]]
    # Open uploads do not keep a bucket: deleting it removes them.
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as caught:
        s3.list_multipart_uploads(Bucket=bucket)
    assert code_of(caught) == ("NoSuchBucket", 404)


def test_conditional_completion(s3, bucket):
    s3.put_object(Bucket=bucket, Key="taken", Body=b"already here")
    upload_id, parts, data = start(s3, bucket, "taken", [10], storage_class="STANDARD")
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(Bucket=bucket, Key="taken", UploadId=upload_id, MultipartUpload={"Parts": parts}, IfNoneMatch="*")
    assert code_of(caught) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="taken")["Body"].read() == b"already here"
    s3.delete_object(Bucket=bucket, Key="taken")
    s3.complete_multipart_upload(Bucket=bucket, Key="taken", UploadId=upload_id, MultipartUpload={"Parts": parts}, IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="taken")["Body"].read() == data
