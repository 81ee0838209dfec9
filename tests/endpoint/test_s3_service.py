"""S3 beside Glacier on one port: routing, virtual-host style, access errors, wrong regions, faults, shaping and counters,
and the routes checked against botocore's S3 service model."""

import os
import threading
import time
import urllib.error
import urllib.request

import botocore.session
import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import MIB, make_client, make_s3_client, raw_s3, xml_error
from glacier_endpoint.s3 import routes
from glacier_endpoint.s3.handler import OPERATIONS


def code_of(caught):
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_glacier_and_s3_share_the_port(s3_endpoint, s3, s3_control, bucket):
    glacier = make_client(s3_endpoint)
    glacier.create_vault(vaultName="vaults")  # a vault and a bucket may share a name
    s3.create_bucket(Bucket="vaults")
    archive = glacier.upload_archive(vaultName="vaults", body=b"glacier bytes")["archiveId"]
    s3.put_object(Bucket="vaults", Key="-/vaults/x", Body=b"s3 bytes")
    assert s3.get_object(Bucket="vaults", Key="-/vaults/x")["Body"].read() == b"s3 bytes"
    assert glacier.describe_vault(vaultName="vaults")["NumberOfArchives"] == 1 and archive
    counters = s3_control.counters()
    assert counters["requests"] == {"CreateVault": 1, "UploadArchive": 1, "DescribeVault": 1}
    assert counters["s3"]["requests"] == {"CreateBucket": 2, "PutObject": 1, "GetObject": 1}
    assert counters["s3"]["bytes_received"] >= len(b"s3 bytes") and counters["s3"]["bytes_sent"] >= len(b"s3 bytes")
    assert counters["bytes_received"] == len(b"glacier bytes")
    # Glacier errors stay JSON, S3 errors are XML.
    with pytest.raises(ClientError) as caught:
        glacier.describe_vault(vaultName="nothing")
    assert code_of(caught) == ("ResourceNotFoundException", 404)
    status, headers, body = raw_s3(s3_endpoint, "GET", "/nothing-here/key")
    assert status == 404 and headers["content-type"] == "application/xml" and xml_error(body)["Code"] == "NoSuchBucket"
    assert len(headers["x-amz-request-id"]) == 16 and headers["x-amz-id-2"] and xml_error(body)["RequestId"] == headers["x-amz-request-id"]
    assert s3_control.s3_counters()["errors"] == {"NoSuchBucket": 1}


def test_virtual_host_style(s3_endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/file.txt", Body=b"virtual")
    for host in ("%s.localhost:%d" % (bucket, s3_endpoint.port), "%s.s3.us-east-1.amazonaws.com" % bucket, "%s.s3.amazonaws.com" % bucket):
        status, _headers, body = raw_s3(s3_endpoint, "GET", "/dir/file.txt", headers={"Host": host})
        assert (status, body) == (200, b"virtual"), host
    status, _headers, body = raw_s3(s3_endpoint, "GET", "/?list-type=2", headers={"Host": "%s.localhost" % bucket})
    assert status == 200 and b"<Key>dir/file.txt</Key>" in body


def test_virtual_host_style_with_botocore(s3_endpoint, s3, bucket):
    # bucket.localhost does not resolve everywhere; botocore reaches it through the endpoint acting as an HTTP proxy.
    virtual = make_s3_client(s3_endpoint, url="http://localhost:%d" % s3_endpoint.port, s3={"addressing_style": "virtual"},
                             proxies={"http": s3_endpoint.url})
    sent = []
    virtual.meta.events.register("before-send.s3.*", lambda request, **_kw: sent.append(request.url))
    virtual.put_object(Bucket=bucket, Key="virtual/key", Body=b"through the host name")
    assert sent[-1] == "http://%s.localhost:%d/virtual/key" % (bucket, s3_endpoint.port)
    assert s3.get_object(Bucket=bucket, Key="virtual/key")["Body"].read() == b"through the host name"
    assert [item["Key"] for item in virtual.list_objects_v2(Bucket=bucket)["Contents"]] == ["virtual/key"]


def test_presigned_urls(s3_endpoint, s3, bucket):
    for signature_version in ("s3", "s3v4"):
        client = make_s3_client(s3_endpoint, signature_version=signature_version)
        get_url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "absent"}, ExpiresIn=600)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(get_url, timeout=30)
        assert caught.value.code == 404 and xml_error(caught.value.read())["Code"] == "NoSuchKey"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presigned"}, ExpiresIn=600)
    request = urllib.request.Request(put_url, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presigned"}, ExpiresIn=600)
    with urllib.request.urlopen(get_url, timeout=30) as reply:
        assert reply.read() == b"presigned body"


def test_access_errors(s3_endpoint, s3, s3_control, bucket):
    s3.put_object(Bucket=bucket, Key="secret/a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="public/b", Body=b"b")
    status, _headers, body = raw_s3(s3_endpoint, "GET", "/%s/public/b" % bucket, sign=False)
    assert status == 403 and xml_error(body)["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="public/b", ExpectedBucketOwner="999999999999")
    assert code_of(caught) == ("AccessDenied", 403)
    s3_control.call("POST", "s3/deny", {"bucket": bucket, "operations": ["GetObject", "DeleteObject"], "key_prefix": "secret/"})
    s3_control.call("POST", "s3/deny", {"bucket": "someone-elses"})
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="secret/a")
    assert code_of(caught) == ("AccessDenied", 403) and caught.value.response["Error"]["Message"] == "Access Denied"
    assert s3.get_object(Bucket=bucket, Key="public/b")["Body"].read() == b"b"
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "secret/a"}, {"Key": "public/b"}]})
    assert [item["Key"] for item in result["Errors"]] == ["secret/a"] and [item["Key"] for item in result["Deleted"]] == ["public/b"]
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket="someone-elses")
    assert code_of(caught) == ("BucketAlreadyExists", 409)
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket="someone-elses")
    assert code_of(caught) == ("403", 403)
    assert len(s3_control.call("GET", "s3/deny")["rules"]) == 2
    assert s3_control.call("DELETE", "s3/deny") == {"cleared": 2}
    assert s3.get_object(Bucket=bucket, Key="secret/a")["Body"].read() == b"a"


def test_wrong_region(s3_endpoint, s3, s3_control):
    s3.create_bucket(Bucket="irish-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    # Signed for this endpoint's region (us-east-1): the bucket lives elsewhere, 301 PermanentRedirect.
    status, headers, body = raw_s3(s3_endpoint, "GET", "/irish-bucket/k")
    error = xml_error(body)
    assert status == 301 and error["Code"] == "PermanentRedirect" and error["Endpoint"] == "s3.eu-west-1.amazonaws.com"
    assert headers["x-amz-bucket-region"] == "eu-west-1" and error["Bucket"] == "irish-bucket"
    # Signed for a third region: AuthorizationHeaderMalformed naming the bucket's.
    status, headers, body = raw_s3(s3_endpoint, "GET", "/irish-bucket/k", region="ap-south-1")
    error = xml_error(body)
    assert status == 400 and error["Code"] == "AuthorizationHeaderMalformed" and error["Region"] == "eu-west-1"
    assert error["Message"] == "The authorization header is malformed; the region 'ap-south-1' is wrong; expecting 'eu-west-1'"
    status, headers, body = raw_s3(s3_endpoint, "HEAD", "/irish-bucket")
    assert (status, body, headers["x-amz-bucket-region"]) == (301, b"", "eu-west-1")
    # botocore follows both answers, re-signing for the bucket's region.
    s3_control.reset_counters()
    for region in ("us-east-1", "ap-south-1"):
        client = make_s3_client(s3_endpoint, region=region)
        client.put_object(Bucket="irish-bucket", Key="k-" + region, Body=b"found")
        assert client.get_object(Bucket="irish-bucket", Key="k-" + region)["Body"].read() == b"found"
    errors = s3_control.s3_counters()["errors"]
    assert errors["PermanentRedirect"] >= 1 and errors["AuthorizationHeaderMalformed"] >= 1
    assert make_s3_client(s3_endpoint, region="eu-west-1").head_bucket(Bucket="irish-bucket")["BucketRegion"] == "eu-west-1"
    assert s3.get_bucket_location(Bucket="irish-bucket")["LocationConstraint"] == "eu-west-1"


def test_s3_faults(s3_endpoint, s3, s3_control, bucket):
    data = os.urandom(200000)
    s3.put_object(Bucket=bucket, Key="k", Body=data)
    once = make_s3_client(s3_endpoint, attempts=1)
    for kind, code, status in (("500", "InternalError", 500), ("503", "ServiceUnavailable", 503), ("throttle", "SlowDown", 503),
                               ("denied", "AccessDenied", 403)):
        s3_control.add_fault("GetObject", kind, service="s3")
        with pytest.raises(ClientError) as caught:
            once.get_object(Bucket=bucket, Key="k")
        assert code_of(caught) == (code, status)
    # A Glacier fault does not touch S3 requests of the same name, and the other way round.
    s3_control.add_fault("ListParts", "500")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    assert once.list_parts(Bucket=bucket, Key="m", UploadId=upload_id)["UploadId"] == upload_id
    assert s3_control.faults()[0]["service"] == "glacier"
    s3_control.clear_faults()
    # Retried by botocore: the upload succeeds after a 500 and a dropped connection.
    s3_control.add_fault("PutObject", "500", service="s3")
    s3_control.add_fault("PutObject", "drop", service="s3", nth=2)
    s3.put_object(Bucket=bucket, Key="retried", Body=data)
    assert s3.get_object(Bucket=bucket, Key="retried")["Body"].read() == data
    # A damaged upload is caught by the payload hash; a damaged download by botocore's checksum check.
    s3_control.add_fault("UploadPart", "corrupt", service="s3")
    with pytest.raises(ClientError) as caught:
        once.upload_part(Bucket=bucket, Key="m", UploadId=upload_id, PartNumber=1, Body=data)
    assert code_of(caught) == ("XAmzContentSHA256Mismatch", 400)
    s3_control.add_fault("GetObject", "corrupt", service="s3")
    with pytest.raises(Exception, match="did not match"):
        once.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")["Body"].read()
    counters = s3_control.s3_counters()
    assert counters["faults"] == {"500": 2, "503": 1, "throttle": 1, "denied": 1, "drop": 1, "corrupt": 2}
    assert counters["requests"]["PutObject"] == 4


def test_hold_fault(s3, s3_control, bucket):
    """A "hold" fault keeps the reply (the request is processed) until the control API releases it: no timing involved."""
    s3_control.add_fault("PutObject", "hold", service="s3", count=10)
    done = []
    worker = threading.Thread(target=lambda: done.append(s3.put_object(Bucket=bucket, Key="held", Body=b"held")))
    worker.start()
    # The object is stored before the reply is held: wait for it to appear (an event, with a bound no machine needs).
    deadline = time.monotonic() + 300
    while True:
        try:
            assert s3.head_object(Bucket=bucket, Key="held")["ContentLength"] == 4
            break
        except ClientError:
            assert time.monotonic() < deadline
            worker.join(0.05)
    assert not done and worker.is_alive()
    assert s3_control.call("POST", "release-faults", {}) == {"released": 1}
    worker.join(60)
    assert done and done[0]["ETag"] and s3_control.faults() == []


def test_bandwidth_applies_to_s3(s3, s3_control, bucket):
    data = os.urandom(MIB)
    s3_control.network(bandwidth=4 * MIB)
    s3.put_object(Bucket=bucket, Key="shaped", Body=data)
    shaped = s3_control.call("GET", "network")["slept"]["bandwidth_seconds"]
    assert shaped > 0
    s3_control.network(bandwidth=0)
    assert s3.get_object(Bucket=bucket, Key="shaped")["Body"].read() == data
    assert s3_control.call("GET", "network")["slept"]["bandwidth_seconds"] == shaped


def test_routes_follow_the_service_model():
    """Every S3 operation of botocore's model routes to its own name (from its method, URI and query), where the
    HTTP request alone can tell it apart."""
    model = botocore.session.get_session().get_service_model("s3")
    # Pairs that the same request serves; the endpoint answers with the newer one.
    same_request = {"GetBucketLifecycle": "GetBucketLifecycleConfiguration", "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
                    "GetBucketNotification": "GetBucketNotificationConfiguration", "PutBucketNotification": "PutBucketNotificationConfiguration",
                    "ListDirectoryBuckets": "ListBuckets"}
    headers_for = {"CopyObject": {"x-amz-copy-source": "a/b"}, "UploadPartCopy": {"x-amz-copy-source": "a/b"}}
    checked = 0
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http["requestUri"]
        if name == "WriteGetObjectResponse":
            continue
        path, _mark, query_text = uri.partition("?")
        path = path.replace("{Bucket}", "some-bucket").replace("{Key+}", "some/key")
        query = {}
        for item in query_text.split("&") if query_text else []:
            key, _equals, value = item.partition("=")
            query[key] = value
        operation = model.operation_model(name)
        for member_name, member in operation.input_shape.members.items():
            # The query parameters a client must send are part of what tells the operation apart.
            if member.serialization.get("location") == "querystring" and member_name in operation.input_shape.required_members:
                query.setdefault(member.serialization["name"], "1")
        route = routes.match(http["method"], "127.0.0.1:9000", path, query, headers_for.get(name, {}))
        assert route.operation == same_request.get(name, name), (name, uri)
        checked += 1
    assert checked > 100
    # The operations implemented are all model operations.
    assert set(OPERATIONS) <= set(model.operation_names)


def test_storage_classes_and_checksum_rules_follow_the_model():
    from glacier_endpoint.s3 import body, checksums, objects
    model = botocore.session.get_session().get_service_model("s3")
    required = {name for name in model.operation_names if model.operation_model(name).http_checksum.get("requestChecksumRequired")
                or model.operation_model(name).http_checksum_required}
    assert body.CHECKSUM_REQUIRED == required
    assert set(objects.STORAGE_CLASSES) <= set(model.shape_for("StorageClass").enum)
    assert set(checksums.ALGORITHMS + checksums.UNSUPPORTED_ALGORITHMS) == set(model.shape_for("ChecksumAlgorithm").enum)
    from glacier_endpoint.s3 import buckets
    assert all(buckets.REGION.fullmatch(region) for region in model.shape_for("BucketLocationConstraint").enum if region != "EU")
