"""S3 objects through boto3: PUT/GET/HEAD, metadata, ETags, ranges, conditions, storage classes, deletes, listings."""

import base64
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import raw_s3, xml_error


def error_of(caught):
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_head_round_trip(s3, bucket):
    data = os.urandom(70000)
    description = '{"cvg1": {"name": "etc", "sha256": "%s"}}' % hashlib.sha256(data).hexdigest()
    put = s3.put_object(Bucket=bucket, Key="backups/etc.tar", Body=data, Metadata={"cvg1": description}, ContentType="application/x-tar",
                        CacheControl="no-cache", StorageClass="GLACIER_IR", Tagging="set=etc&host=web1")
    assert put["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    assert "VersionId" not in put and put["ServerSideEncryption"] == "AES256"
    assert put["ResponseMetadata"]["HTTPHeaders"]["x-amz-id-2"] and len(put["ResponseMetadata"]["RequestId"]) == 16
    head = s3.head_object(Bucket=bucket, Key="backups/etc.tar")
    assert head["ContentLength"] == len(data) and head["ETag"] == put["ETag"]
    assert head["Metadata"] == {"cvg1": description}
    assert head["ContentType"] == "application/x-tar" and head["CacheControl"] == "no-cache"
    assert head["StorageClass"] == "GLACIER_IR" and "Restore" not in head
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    got = s3.get_object(Bucket=bucket, Key="backups/etc.tar")
    assert got["Body"].read() == data and got["AcceptRanges"] == "bytes"
    assert s3.get_object_tagging(Bucket=bucket, Key="backups/etc.tar")["TagSet"] == [{"Key": "set", "Value": "etc"}, {"Key": "host", "Value": "web1"}]
    # STANDARD is implied: S3 sends no x-amz-storage-class for it.
    s3.put_object(Bucket=bucket, Key="plain", Body=b"")
    head = s3.head_object(Bucket=bucket, Key="plain")
    assert "StorageClass" not in head and head["ContentType"] == "binary/octet-stream"
    assert head["ETag"] == '"%s"' % hashlib.md5(b"").hexdigest()


def test_storage_classes(s3, s3_endpoint, bucket):
    for storage_class in ("STANDARD", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                          "REDUCED_REDUNDANCY"):
        s3.put_object(Bucket=bucket, Key=storage_class, Body=b"x", StorageClass=storage_class)
    listed = {item["Key"]: item["StorageClass"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert all(key == storage_class for key, storage_class in listed.items()) and len(listed) == 8
    for invalid in ("OUTPOSTS", "EXPRESS_ONEZONE", "COLD"):
        status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s/bad" % bucket, b"x", {"x-amz-storage-class": invalid})
        error = xml_error(body)
        assert status == 400 and error["Code"] == "InvalidStorageClass" and error["StorageClassRequested"] == invalid


def test_ranges(s3, bucket):
    data = bytes(range(256)) * 40
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    for spec, first, last in (("bytes=0-99", 0, 99), ("bytes=10000-", 10000, 10239), ("bytes=-40", 10200, 10239), ("bytes=10200-99999", 10200, 10239)):
        got = s3.get_object(Bucket=bucket, Key="r", Range=spec)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert got["ContentRange"] == "bytes %d-%d/%d" % (first, last, len(data))
        assert got["Body"].read() == data[first:last + 1]
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10240-")
    assert error_of(caught) == ("InvalidRange", 416)
    assert caught.value.response["Error"]["ActualObjectSize"] == str(len(data))
    # S3 ignores a Range it cannot parse (or several ranges) and sends the whole object.
    for ignored in ("bytes=5-2", "items=0-1", "bytes=0-1,5-6"):
        got = s3.get_object(Bucket=bucket, Key="r", Range=ignored)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 200 and got["Body"].read() == data


def test_conditions(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"first")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="c", Body=b"second", IfNoneMatch="*")
    assert error_of(caught) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"first"
    s3.put_object(Bucket=bucket, Key="new", Body=b"n", IfNoneMatch="*")
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=put["ETag"])
    assert error_of(caught) == ("304", 304)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"0000"')
    assert error_of(caught) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=put["ETag"])["Body"].read() == b"first"
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="c", Body=b"third", IfMatch='"0000"')
    assert error_of(caught) == ("PreconditionFailed", 412)
    s3.put_object(Bucket=bucket, Key="c", Body=b"third", IfMatch=put["ETag"])
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"third"


def test_missing_things(s3, bucket):
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_of(caught) == ("NoSuchKey", 404) and caught.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="nope")
    assert error_of(caught) == ("404", 404)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x")
    assert error_of(caught) == ("NoSuchBucket", 404) and caught.value.response["Error"]["BucketName"] == "no-such-bucket"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="k" * 1025)
    assert error_of(caught)[0] in ("NoSuchKey", "KeyTooLongError")
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_of(caught) == ("KeyTooLongError", 400)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"big": "v" * 2048})
    assert error_of(caught) == ("MetadataTooLarge", 400)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key="t", Body=b"x", Tagging="&".join("k%d=v" % number for number in range(11)))
    assert error_of(caught)[1] == 400


def test_deletes(s3, s3_endpoint, bucket):
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    reply = s3.delete_object(Bucket=bucket, Key="a")
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 204 and "DeleteMarker" not in reply
    # Deleting what is not there succeeds, as on AWS.
    assert s3.delete_object(Bucket=bucket, Key="a")["ResponseMetadata"]["HTTPStatusCode"] == 204
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "c"}, {"Key": "absent"}]})
    assert sorted(item["Key"] for item in result["Deleted"]) == ["absent", "b", "c"] and "Errors" not in result
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="q", Body=b"q")
    assert "Deleted" not in s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q"}], "Quiet": True})
    # DeleteObjects takes at most 1000 keys, and needs Content-MD5 or a checksum.
    document = b"<Delete>" + b"".join(b"<Object><Key>k%d</Key></Object>" % number for number in range(1001)) + b"</Delete>"
    status, _headers, body = raw_s3(s3_endpoint, "POST", "/%s?delete" % bucket, document,
                                    {"Content-MD5": base64.b64encode(hashlib.md5(document).digest()).decode()})
    assert status == 400 and xml_error(body)["Code"] == "MalformedXML"
    status, _headers, body = raw_s3(s3_endpoint, "POST", "/%s?delete" % bucket, b"<Delete><Object><Key>q</Key></Object></Delete>")
    assert status == 400 and xml_error(body) == dict(xml_error(body), Code="InvalidRequest",
                                                     Message="Missing required header for this request: Content-MD5")


KEYS = ["a.txt", "dir/one", "dir/sub/two", "dir/three", "dir2/x", "space key", "plus+key", "ümlaut/é", "z"]


def test_list_objects_v2(s3, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    everything = s3.list_objects_v2(Bucket=bucket)
    expected = sorted(KEYS, key=lambda key: key.encode("utf-8"))
    assert [item["Key"] for item in everything["Contents"]] == expected
    assert everything["KeyCount"] == len(KEYS) and not everything["IsTruncated"] and everything["MaxKeys"] == 1000
    item = everything["Contents"][0]
    assert item["ETag"] == '"%s"' % hashlib.md5(b"a.txt").hexdigest() and item["Size"] == 5 and item["StorageClass"] == "STANDARD"
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [entry["Prefix"] for entry in top["CommonPrefixes"]] == ["dir/", "dir2/", "ümlaut/"]
    assert [entry["Key"] for entry in top["Contents"]] == ["a.txt", "plus+key", "space key", "z"]
    inside = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [entry["Key"] for entry in inside["Contents"]] == ["dir/one", "dir/three"]
    assert [entry["Prefix"] for entry in inside["CommonPrefixes"]] == ["dir/sub/"]
    # Pages of 2, keys and common prefixes counting alike, followed by continuation token.
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=2, **kwargs)
        pages += 1
        seen += [entry["Key"] for entry in page.get("Contents", [])] + [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] <= 2
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert sorted(seen) == sorted(["a.txt", "dir/", "dir2/", "plus+key", "space key", "ümlaut/", "z"]) and pages == 4
    paginated = [entry["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3})
                 for entry in page["Contents"]]
    assert paginated == expected
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="dir/three")
    assert [entry["Key"] for entry in after["Contents"]] == expected[expected.index("dir/three") + 1:]
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)["MaxKeys"] == 1000
    with pytest.raises(ClientError) as caught:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="not-a-token")
    assert error_of(caught) == ("InvalidArgument", 400)


def test_list_objects_v1_and_url_encoding(s3, s3_endpoint, bucket):
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    keys = [entry["Key"] for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
            for entry in page["Contents"]]
    assert keys == sorted(KEYS, key=lambda key: key.encode("utf-8"))
    # botocore asks for encoding-type=url and decodes; a raw request shows the encoded keys.
    status, _headers, body = raw_s3(s3_endpoint, "GET", "/%s?list-type=2&encoding-type=url&prefix=s" % bucket)
    assert status == 200 and b"<Key>space%20key</Key>" in body and b"<EncodingType>url</EncodingType>" in body
    status, _headers, body = raw_s3(s3_endpoint, "GET", "/%s?list-type=2&encoding-type=base64" % bucket)
    assert status == 400 and xml_error(body)["Code"] == "InvalidArgument"
