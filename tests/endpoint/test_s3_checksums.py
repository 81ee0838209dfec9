"""S3 integrity checks: flexible checksums (headers and aws-chunked trailers), Content-MD5, the SigV4 payload hash, and the
COMPOSITE / FULL_OBJECT checksums of multipart objects, each checked against a computation made here or by botocore."""

import hashlib
import http.client
import io
import os
import zlib

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from endpoint_helpers import MIB, S3_AUTHORIZATION, Control, b64, botocore_checksum, make_s3_client, raw_s3, reference_digest, xml_error

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5")


def headers_of(request):
    return {name.lower(): value.decode() if isinstance(value, bytes) else value for name, value in request.headers.items()}


def code_of(caught):
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_reference_checksums_know_the_check_values():
    # The standard check values of each CRC ("123456789"), so the reference below is right before it judges anything.
    assert reference_digest("CRC32", b"123456789").hex() == "cbf43926"
    assert reference_digest("CRC32C", b"123456789").hex() == "e3069283"
    assert reference_digest("CRC64NVME", b"123456789").hex() == "ae8b14860a799888"
    assert b64(reference_digest("CRC32", b"abc")) == botocore_checksum("CRC32", b"abc")


def test_botocore_default_crc32_and_sha256(s3, bucket):
    data = os.urandom(300000)
    sent = []
    s3.meta.events.register("before-send.s3.PutObject", lambda request, **_kw: sent.append(headers_of(request)))
    put = s3.put_object(Bucket=bucket, Key="default", Body=data)
    # botocore >= 1.36 adds a CRC32 by itself (when_supported); over plain HTTP it goes in a header.
    assert "x-amz-checksum-crc32" in sent[0] and put["ChecksumCRC32"] == botocore_checksum("CRC32", data)
    assert put["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="default", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == botocore_checksum("CRC32", data) and head["ChecksumType"] == "FULL_OBJECT"
    assert "ChecksumCRC32" not in s3.head_object(Bucket=bucket, Key="default")
    got = s3.get_object(Bucket=bucket, Key="default", ChecksumMode="ENABLED")
    assert type(got["Body"]).__name__ == "StreamingChecksumBody" and got["Body"].read() == data
    put = s3.put_object(Bucket=bucket, Key="sha", Body=data, ChecksumAlgorithm="SHA256")
    assert put["ChecksumSHA256"] == botocore_checksum("SHA256", data) == b64(hashlib.sha256(data).digest())
    assert s3.get_object_attributes(Bucket=bucket, Key="sha", ObjectAttributes=["Checksum"])["Checksum"] == {
        "ChecksumSHA256": b64(hashlib.sha256(data).digest()), "ChecksumType": "FULL_OBJECT"}
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="sha")["Contents"][0]
    assert listed["ChecksumAlgorithm"] == ["SHA256"] and listed["ChecksumType"] == "FULL_OBJECT"


def test_no_checksum_when_the_client_sends_none(s3_endpoint, bucket):
    quiet = make_s3_client(s3_endpoint, request_checksum_calculation="when_required")
    quiet.put_object(Bucket=bucket, Key="bare", Body=b"bare")
    head = quiet.head_object(Bucket=bucket, Key="bare", ChecksumMode="ENABLED")
    assert not [name for name in head if name.startswith("Checksum")]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_header_checksums(s3_endpoint, s3, bucket, algorithm):
    data = os.urandom(5000)
    header = "x-amz-checksum-" + algorithm.lower()
    good = b64(reference_digest(algorithm, data))
    status, headers, _body = raw_s3(s3_endpoint, "PUT", "/%s/good" % bucket, data, {header: good})
    assert status == 200 and headers[header] == good
    assert s3.head_object(Bucket=bucket, Key="good", ChecksumMode="ENABLED")["ResponseMetadata"]["HTTPHeaders"][header] == good
    wrong = b64(reference_digest(algorithm, data + b"!"))
    status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s/wrong" % bucket, data, {header: wrong})
    assert status == 400 and xml_error(body)["Code"] == "BadDigest"
    assert xml_error(body)["Message"] == "The %s you specified did not match the calculated checksum." % algorithm
    status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s/malformed" % bucket, data, {header: "AAAA" + good})
    assert status == 400 and xml_error(body)["Message"] == "Value for %s header is invalid." % header
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="wrong")
    assert code_of(caught) == ("404", 404)


def test_checksum_header_rules(s3_endpoint, bucket):
    data = b"payload"
    crc = b64(reference_digest("CRC32", data))
    sha = b64(reference_digest("SHA256", data))
    cases = [
        ({"x-amz-checksum-crc32": crc, "x-amz-checksum-sha256": sha}, "InvalidRequest",
         "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."),
        ({"x-amz-sdk-checksum-algorithm": "CRC32"}, "InvalidRequest",
         "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found."),
        ({"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-crc32": crc}, "BadDigest",
         "The CRC32 you specified did not match the calculated checksum."),
        ({"x-amz-checksum-xxhash64": "AAAAAAAAAAA="}, "NotImplemented", None),
        ({"Content-MD5": b64(hashlib.md5(b"other").digest())}, "BadDigest", "The Content-MD5 you specified did not match what we received."),
        ({"Content-MD5": "not base64!"}, "InvalidDigest", "The Content-MD5 you specified was invalid."),
        ({"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()}, "XAmzContentSHA256Mismatch",
         "The provided 'x-amz-content-sha256' header does not match what was computed."),
        ({"x-amz-content-sha256": "SIGNED-BY-ME"}, "InvalidArgument", None),
    ]
    for headers, code, message in cases:
        status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s/rules" % bucket, data, headers)
        error = xml_error(body)
        assert (status >= 400, error["Code"]) == (True, code), headers
        if message:
            assert error["Message"] == message
        assert error["RequestId"] and error["HostId"]
    status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s/rules" % bucket, data,
                                    {"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()})
    assert xml_error(body)["S3ComputedContentSHA256"] == hashlib.sha256(data).hexdigest()
    status, _headers, _body = raw_s3(s3_endpoint, "PUT", "/%s/rules" % bucket, data, {"Content-MD5": b64(hashlib.md5(data).digest())})
    assert status == 200


def chunked_request(endpoint, path, pieces, headers):
    """Send pieces (bytes) with HTTP chunked framing, as botocore sends an aws-chunked body."""
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=30)
    try:
        all_headers = {"Authorization": S3_AUTHORIZATION % "us-east-1", "Transfer-Encoding": "chunked"}
        all_headers.update(headers)
        connection.request("PUT", path, body=iter(pieces), headers=all_headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, {key.lower(): value for key, value in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_aws_chunked_trailers(s3_endpoint, s3, bucket):
    data = os.urandom(3 * MIB + 12345)
    headers = {"Content-Encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": str(len(data))}
    # botocore's own encoder writes the body and its trailer.
    wrapper = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32")
    status, reply, _body = chunked_request(s3_endpoint, "/%s/trailer" % bucket, iter(lambda: wrapper.read(70000), b""), headers)
    assert status == 200 and reply["x-amz-checksum-crc32"] == botocore_checksum("CRC32", data)
    assert s3.get_object(Bucket=bucket, Key="trailer")["Body"].read() == data
    # A trailer that does not match what arrived.
    encoded = b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % (len(data), data, botocore_checksum("CRC32", b"x").encode())
    status, _reply, body = chunked_request(s3_endpoint, "/%s/bad-trailer" % bucket, [encoded], headers)
    assert status == 400 and xml_error(body)["Code"] == "BadDigest"
    # A decoded length that is not what arrived.
    status, _reply, body = chunked_request(s3_endpoint, "/%s/short" % bucket, [encoded], dict(headers, **{"x-amz-decoded-content-length": "7"}))
    assert status == 400 and xml_error(body)["Code"] == "IncompleteBody"
    # The signed form (chunk signatures are not verified), framed by Content-Length instead of HTTP chunks.
    sha = b64(hashlib.sha256(data).digest())
    template = (b"10000;chunk-signature=%s\r\n%s\r\n%x;chunk-signature=%s\r\n%s\r\n0;chunk-signature=%s\r\n"
                b"x-amz-checksum-sha256:%s\r\nx-amz-trailer-signature:%s\r\n\r\n")
    signed = template % (b"0" * 64, data[:0x10000], len(data) - 0x10000, b"1" * 64, data[0x10000:], b"2" * 64, sha.encode(), b"3" * 64)
    status, reply, _body = raw_s3(s3_endpoint, "PUT", "/%s/signed" % bucket, signed, {
        "Content-Encoding": "aws-chunked,gzip", "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-sha256", "x-amz-decoded-content-length": str(len(data))})
    assert status == 200 and reply["x-amz-checksum-sha256"] == sha
    head = s3.head_object(Bucket=bucket, Key="signed", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data) and head["ChecksumSHA256"] == sha and head["ContentEncoding"] == "gzip"
    # Plain HTTP chunked transfer without aws-chunked is not something S3 takes.
    status, _reply, body = chunked_request(s3_endpoint, "/%s/plain-chunked" % bucket, [b"abc"], {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert status == 501 and xml_error(body)["Code"] == "NotImplemented"


@pytest.fixture
def tls_endpoint(start_endpoint, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = os.system("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 2 -subj /CN=127.0.0.1 "
                     "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1" % (key, cert))
    if made != 0:
        pytest.skip("openssl cannot make a test certificate here")
    endpoint = start_endpoint("--tls-cert", str(cert), "--tls-key", str(key), "--s3-min-part-size", "1", name="tls")
    return endpoint, "https://127.0.0.1:%d" % endpoint.port, cert


def test_botocore_trailers_over_https(tls_endpoint):
    endpoint, url, cert = tls_endpoint
    client = make_s3_client(endpoint, url=url, verify=str(cert), attempts=1)
    client.create_bucket(Bucket="tls-bucket")
    sent = []
    client.meta.events.register("before-send.s3.*", lambda request, **_kw: sent.append(headers_of(request)))
    data = os.urandom(2 * MIB + 7)
    put = client.put_object(Bucket="tls-bucket", Key="k", Body=data)
    # Over TLS botocore streams the body aws-chunked, the CRC32 in a trailer.
    assert sent[-1]["content-encoding"] == "aws-chunked" and sent[-1]["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert sent[-1]["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert put["ChecksumCRC32"] == botocore_checksum("CRC32", data)
    assert client.get_object(Bucket="tls-bucket", Key="k", ChecksumMode="ENABLED")["Body"].read() == data
    upload = client.create_multipart_upload(Bucket="tls-bucket", Key="m", ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, piece in enumerate((data[:MIB], data[MIB:]), 1):
        reply = client.upload_part(Bucket="tls-bucket", Key="m", UploadId=upload, PartNumber=number, Body=piece, ChecksumAlgorithm="SHA256")
        assert sent[-1]["x-amz-trailer"] == "x-amz-checksum-sha256"
        parts.append({"PartNumber": number, "ETag": reply["ETag"], "ChecksumSHA256": reply["ChecksumSHA256"]})
    done = client.complete_multipart_upload(Bucket="tls-bucket", Key="m", UploadId=upload, MultipartUpload={"Parts": parts})
    digests = [hashlib.sha256(data[:MIB]).digest(), hashlib.sha256(data[MIB:]).digest()]
    assert done["ChecksumSHA256"] == b64(hashlib.sha256(b"".join(digests)).digest()) + "-2"
    # Data damaged in transit: with an unsigned payload only the trailer can tell, and it does.
    Control(url, cafile=cert).add_fault("PutObject", "corrupt", service="s3")
    with pytest.raises(ClientError) as caught:
        client.put_object(Bucket="tls-bucket", Key="damaged", Body=data)
    assert code_of(caught) == ("BadDigest", 400)


def upload_parts(client, bucket, key, pieces, algorithm=None, **create):
    """A multipart upload through boto3; returns (upload id, [part dicts for CompleteMultipartUpload])."""
    extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **dict(extra, **create))["UploadId"]
    parts = []
    for number, piece in enumerate(pieces, 1):
        reply = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=piece, **extra)
        part = {"PartNumber": number, "ETag": reply["ETag"]}
        if algorithm:
            part["Checksum" + algorithm] = reply["Checksum" + algorithm]
        parts.append(part)
    return upload_id, parts


@pytest.mark.parametrize("algorithm", ["SHA256", "CRC32", "SHA1"])
def test_composite_checksums(s3, bucket, algorithm):
    pieces = [os.urandom(3000), os.urandom(3000), os.urandom(1001)]
    upload_id, parts = upload_parts(s3, bucket, "composite", pieces, algorithm)
    for piece, part in zip(pieces, parts):
        assert part["Checksum" + algorithm] == botocore_checksum(algorithm, piece)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="composite", UploadId=upload_id, MultipartUpload={"Parts": parts})
    expected = b64(reference_digest(algorithm, b"".join(reference_digest(algorithm, piece) for piece in pieces))) + "-3"
    assert done["Checksum" + algorithm] == expected and done["ChecksumType"] == "COMPOSITE"
    md5s = b"".join(hashlib.md5(piece).digest() for piece in pieces)
    assert done["ETag"] == '"%s-3"' % hashlib.md5(md5s).hexdigest()
    head = s3.head_object(Bucket=bucket, Key="composite", ChecksumMode="ENABLED")
    assert head["Checksum" + algorithm] == expected and head["ChecksumType"] == "COMPOSITE" and head["ETag"] == done["ETag"]
    # botocore cannot check a composite value (it says so by skipping it); the data still comes back whole.
    got = s3.get_object(Bucket=bucket, Key="composite", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(pieces) and got["Checksum" + algorithm] == expected
    second = s3.get_object(Bucket=bucket, Key="composite", PartNumber=2, ChecksumMode="ENABLED")
    assert second["PartsCount"] == 3 and second["Body"].read() == pieces[1]
    assert second["Checksum" + algorithm] == botocore_checksum(algorithm, pieces[1])
    attributes = s3.get_object_attributes(Bucket=bucket, Key="composite", ObjectAttributes=["Checksum", "ObjectParts", "ETag"], MaxParts=2)
    assert attributes["Checksum"] == {"Checksum" + algorithm: expected.split("-")[0], "ChecksumType": "COMPOSITE"}
    assert attributes["ObjectParts"]["TotalPartsCount"] == 3 and attributes["ObjectParts"]["IsTruncated"]
    expected_parts = [parts[0]["Checksum" + algorithm], parts[1]["Checksum" + algorithm]]
    assert [part["Checksum" + algorithm] for part in attributes["ObjectParts"]["Parts"]] == expected_parts
    assert attributes["ETag"] == done["ETag"].strip('"')


def test_full_object_crc32(s3, bucket):
    pieces = [os.urandom(2048), os.urandom(2048), os.urandom(10)]
    data = b"".join(pieces)
    whole = b64(zlib.crc32(data).to_bytes(4, "big"))
    upload_id, parts = upload_parts(s3, bucket, "full", pieces, "CRC32", ChecksumType="FULL_OBJECT")
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(Bucket=bucket, Key="full", UploadId=upload_id, MultipartUpload={"Parts": parts},
                                     ChecksumCRC32=b64(zlib.crc32(data + b"?").to_bytes(4, "big")), ChecksumType="FULL_OBJECT")
    assert code_of(caught) == ("BadDigest", 400)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="full", UploadId=upload_id, MultipartUpload={"Parts": parts},
                                        ChecksumCRC32=whole, ChecksumType="FULL_OBJECT")
    assert done["ChecksumCRC32"] == whole and done["ChecksumType"] == "FULL_OBJECT"
    # A full-object CRC is a plain CRC: botocore checks it on the way out.
    got = s3.get_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert type(got["Body"]).__name__ == "StreamingChecksumBody" and got["Body"].read() == data


@pytest.mark.parametrize("algorithm,kind", [("CRC32C", "FULL_OBJECT"), ("CRC32C", "COMPOSITE"), ("CRC64NVME", None)])
def test_crt_algorithms_by_hand(s3_endpoint, s3, bucket, algorithm, kind):
    """CRC32C and CRC64NVME need awscrt in botocore: the requests are made by hand, the checksums computed here."""
    pieces = [os.urandom(1500), os.urandom(1100)]
    headers = {"x-amz-checksum-algorithm": algorithm}
    if kind:
        headers["x-amz-checksum-type"] = kind
    status, reply, body = raw_s3(s3_endpoint, "POST", "/%s/crt?uploads" % bucket, b"", headers)
    assert status == 200 and reply["x-amz-checksum-type"] == (kind or "FULL_OBJECT")
    upload_id = body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    document = b"<CompleteMultipartUpload>"
    for number, piece in enumerate(pieces, 1):
        value = b64(reference_digest(algorithm, piece))
        status, reply, _body = raw_s3(s3_endpoint, "PUT", "/%s/crt?partNumber=%d&uploadId=%s" % (bucket, number, upload_id), piece,
                                      {"x-amz-checksum-" + algorithm.lower(): value})
        assert status == 200
        document += b"<Part><PartNumber>%d</PartNumber><ETag>%s</ETag><Checksum%s>%s</Checksum%s></Part>" % (
            number, reply["etag"].encode(), algorithm.encode(), value.encode(), algorithm.encode())
    document += b"</CompleteMultipartUpload>"
    status, _reply, body = raw_s3(s3_endpoint, "POST", "/%s/crt?uploadId=%s" % (bucket, upload_id), document)
    assert status == 200, body
    if kind == "COMPOSITE":
        expected = b64(reference_digest(algorithm, b"".join(reference_digest(algorithm, piece) for piece in pieces))) + "-2"
    else:
        expected = b64(reference_digest(algorithm, b"".join(pieces)))
    assert b"<Checksum%s>%s</Checksum%s>" % (algorithm.encode(), expected.encode(), algorithm.encode()) in body
    head = s3.head_object(Bucket=bucket, Key="crt", ChecksumMode="ENABLED")["ResponseMetadata"]["HTTPHeaders"]
    assert head["x-amz-checksum-" + algorithm.lower()] == expected


def test_multipart_checksum_rules(s3, bucket):
    for create, code in (({"ChecksumAlgorithm": "SHA256", "ChecksumType": "FULL_OBJECT"}, "InvalidRequest"),
                         ({"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "COMPOSITE"}, "InvalidRequest"),
                         ({"ChecksumType": "COMPOSITE"}, "InvalidRequest")):
        with pytest.raises(ClientError) as caught:
            s3.create_multipart_upload(Bucket=bucket, Key="rules", **create)
        assert code_of(caught) == (code, 400), create
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="rules", ChecksumAlgorithm="SHA256")["UploadId"]
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Bucket=bucket, Key="rules", UploadId=upload_id, PartNumber=1, Body=b"x" * 2000)  # botocore's CRC32
    assert code_of(caught) == ("InvalidRequest", 400)
    assert "expected checksum Type: sha256, actual checksum Type: crc32" in caught.value.response["Error"]["Message"]
    reply = s3.upload_part(Bucket=bucket, Key="rules", UploadId=upload_id, PartNumber=1, Body=b"x" * 2000, ChecksumAlgorithm="SHA256")
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(Bucket=bucket, Key="rules", UploadId=upload_id,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": reply["ETag"]}]})
    assert code_of(caught) == ("InvalidRequest", 400) and "It was missing for part 1" in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as caught:
        s3.complete_multipart_upload(Bucket=bucket, Key="rules", UploadId=upload_id, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": reply["ETag"], "ChecksumSHA256": b64(hashlib.sha256(b"y").digest())}]})
    assert code_of(caught) == ("InvalidPart", 400)


def test_s3transfer_multipart_defaults(s3, bucket):
    """boto3's managed upload: 5 MiB parts, CRC32 by default (COMPOSITE), or FULL_OBJECT when the caller gives the CRC."""
    data = os.urandom(5 * MIB + 4321)
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=2)
    s3.upload_fileobj(io.BytesIO(data), bucket, "managed", Config=config)
    head = s3.head_object(Bucket=bucket, Key="managed", ChecksumMode="ENABLED")
    crcs = [reference_digest("CRC32", data[:5 * MIB]), reference_digest("CRC32", data[5 * MIB:])]
    assert head["ChecksumCRC32"] == b64(reference_digest("CRC32", b"".join(crcs))) + "-2" and head["ChecksumType"] == "COMPOSITE"
    whole = b64(zlib.crc32(data).to_bytes(4, "big"))
    s3.upload_fileobj(io.BytesIO(data), bucket, "managed-full", Config=config, ExtraArgs={"ChecksumCRC32": whole})
    head = s3.head_object(Bucket=bucket, Key="managed-full", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == whole and head["ChecksumType"] == "FULL_OBJECT"
    out = io.BytesIO()
    s3.download_fileobj(bucket, "managed-full", out)
    assert out.getvalue() == data
