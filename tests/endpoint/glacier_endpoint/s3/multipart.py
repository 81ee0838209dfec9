"""Multipart uploads: create, upload parts (checksummed like PutObject), list, abort, complete (part rules,
ETag md5-of-md5s-N, COMPOSITE and FULL_OBJECT checksums, If-None-Match, x-amz-mp-object-size)."""

import base64
import hashlib
import time

from . import checksums, xmlio
from .body import Checks, declared_length, receive, small_body
from .errors import S3Error, invalid_argument, invalid_request, malformed_xml, not_implemented, too_large
from .objects import MAX_PAGE, _encoder, check_key, object_fields, preconditions
from .replies import empty_reply, int_query, owner, xml_reply
from .store import MAX_PART_SIZE, MAX_PARTS, iso


def _algorithm(handler):
    raw = handler.headers.get("x-amz-checksum-algorithm")
    kind = handler.headers.get("x-amz-checksum-type")
    if raw is None:
        if kind is not None:
            raise invalid_request("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
        return None, None
    algorithm = raw.strip().upper()
    if algorithm in checksums.UNSUPPORTED_ALGORITHMS:
        raise not_implemented("x-amz-checksum-algorithm")
    if algorithm not in checksums.ALGORITHMS:
        raise invalid_request("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [%s]"
                              % ", ".join(checksums.ALGORITHMS))
    if kind is None:
        kind = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
    kind = kind.strip().upper()
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise invalid_request("Value for x-amz-checksum-type header is invalid.")
    if kind == "FULL_OBJECT" and algorithm not in checksums.CRC_ALGORITHMS:
        raise invalid_request("The FULL_OBJECT checksum type cannot be used with the %s checksum algorithm." % algorithm.lower())
    if kind == "COMPOSITE" and algorithm == "CRC64NVME":
        raise invalid_request("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.")
    return algorithm, kind


def create_multipart_upload(handler, route):
    s3 = handler.s3
    settings = s3.bucket_settings(route.bucket)
    check_key(route.key)
    fields = object_fields(handler, settings)
    algorithm, kind = _algorithm(handler)
    small_body(handler)
    fields.update({"checksum_algorithm": algorithm, "checksum_type": kind})
    upload_id = s3.create_upload(route.bucket, route.key, fields)
    headers = {"x-amz-server-side-encryption": fields["sse"]}
    if algorithm:
        headers.update({"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": kind})
    xml_reply(handler, "InitiateMultipartUploadResult", [("Bucket", route.bucket), ("Key", route.key), ("UploadId", upload_id)], headers=headers)


def _part_number(handler):
    raw = handler.query.get("partNumber")
    if raw is None or not raw.isdigit() or not 1 <= int(raw) <= MAX_PARTS:
        raise invalid_argument("Part number must be an integer between 1 and %d, inclusive" % MAX_PARTS, "partNumber", raw)
    return int(raw)


def upload_part(handler, route):
    s3 = handler.s3
    number = _part_number(handler)
    upload_id = handler.query.get("uploadId", "")
    upload = s3.upload(route.bucket, route.key, upload_id)
    checks = Checks(handler)
    wanted = upload["checksum_algorithm"]
    if wanted and checks.algorithm != wanted:
        raise invalid_request("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s"
                              % (wanted.lower(), checks.algorithm.lower() if checks.algorithm else "null"))
    length = declared_length(handler, checks)
    if length is None:
        raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
    if length > MAX_PART_SIZE:
        raise too_large(length, MAX_PART_SIZE)
    received = receive(handler, checks, to_file=True, corrupt=handler.flags.get("corrupt", False))
    entry = {"size": received.size, "etag": '"%s"' % received.md5, "algorithm": received.algorithm,
             "checksum": checksums.b64(received.digest) if received.algorithm else None}
    try:
        s3.commit_part(route.bucket, route.key, upload_id, number, received.path, entry)
    except S3Error:
        received.discard()
        raise
    headers = {"ETag": entry["etag"], "x-amz-server-side-encryption": upload["sse"]}
    if received.algorithm:
        headers["x-amz-checksum-" + received.algorithm.lower()] = entry["checksum"]
    empty_reply(handler, 200, headers)


def list_parts(handler, route):
    s3 = handler.s3
    upload_id = handler.query.get("uploadId", "")
    upload = s3.upload(route.bucket, route.key, upload_id)
    maximum = int_query(handler, "max-parts", MAX_PAGE, MAX_PAGE)
    marker = int_query(handler, "part-number-marker", 0)
    parts = [part for part in s3.parts(route.bucket, route.key, upload_id) if part["number"] > marker]
    page = parts[:maximum]
    entries = []
    for part in page:
        item = [("PartNumber", part["number"]), ("LastModified", iso(part["modified_ts"])), ("ETag", part["etag"]), ("Size", part["size"])]
        if part.get("checksum"):
            item.append(("Checksum" + part["algorithm"], part["checksum"]))
        entries.append(("Part", item))
    truncated = len(parts) > maximum
    xml_reply(handler, "ListPartsResult", [
        ("Bucket", route.bucket), ("Key", route.key), ("UploadId", upload_id), ("PartNumberMarker", marker),
        ("NextPartNumberMarker", page[-1]["number"] if page else marker), ("MaxParts", maximum), ("IsTruncated", truncated),
    ] + entries + [
        ("Initiator", owner(s3)), ("Owner", owner(s3)), ("StorageClass", upload["storage_class"]),
        ("ChecksumAlgorithm", upload["checksum_algorithm"]), ("ChecksumType", upload["checksum_type"]),
    ])


def list_multipart_uploads(handler, route):
    s3 = handler.s3
    uploads = s3.list_uploads(route.bucket)
    encode = _encoder(handler)
    prefix, delimiter = handler.query.get("prefix", ""), handler.query.get("delimiter") or None
    maximum = int_query(handler, "max-uploads", MAX_PAGE, MAX_PAGE)
    key_marker, id_marker = handler.query.get("key-marker") or "", handler.query.get("upload-id-marker") or ""
    # After the marker: keys after key_marker; with an upload id marker, later uploads of key_marker as well.
    if id_marker and key_marker:
        ids = [upload["upload_id"] for upload in uploads if upload["key"] == key_marker]
        position = ids.index(id_marker) + 1 if id_marker in ids else len(ids)
        later = set(ids[position:])
    else:
        later = set()
    items, truncated, last, seen_prefixes = [], False, None, set()
    for upload in uploads:
        key = upload["key"]
        if not key.startswith(prefix):
            continue
        if key_marker and not (key.encode("utf-8") > key_marker.encode("utf-8") or upload["upload_id"] in later):
            continue
        rest = key[len(prefix):]
        common = prefix + rest[:rest.index(delimiter) + len(delimiter)] if delimiter and delimiter in rest else None
        if common and (common in seen_prefixes or (key_marker and common.encode("utf-8") <= key_marker.encode("utf-8"))):
            continue
        if len(items) >= maximum:
            truncated = True
            break
        if common:
            seen_prefixes.add(common)
            items.append(("CommonPrefixes", [("Prefix", encode(common))]))
            last = (common, None)
            continue
        items.append(("Upload", [
            ("Key", encode(key)), ("UploadId", upload["upload_id"]), ("Initiator", owner(s3)), ("Owner", owner(s3)),
            ("StorageClass", upload["storage_class"]), ("Initiated", iso(upload["initiated_ts"])),
            ("ChecksumAlgorithm", upload["checksum_algorithm"]), ("ChecksumType", upload["checksum_type"]),
        ]))
        last = (key, upload["upload_id"])
    children = [("Bucket", route.bucket), ("KeyMarker", encode(key_marker)), ("UploadIdMarker", id_marker)]
    if truncated:
        children += [("NextKeyMarker", encode(last[0])), ("NextUploadIdMarker", last[1] or "")]
    children += [("Prefix", encode(prefix)), ("Delimiter", encode(delimiter)), ("MaxUploads", maximum),
                 ("EncodingType", handler.query.get("encoding-type")), ("IsTruncated", truncated)]
    xml_reply(handler, "ListMultipartUploadsResult", children + items)


def abort_multipart_upload(handler, route):
    handler.s3.abort_upload(route.bucket, route.key, handler.query.get("uploadId", ""))
    empty_reply(handler, 204)


def _completion_reply(handler, route, result):
    children = [("Location", "http://%s/%s/%s" % (handler.headers.get("Host", "localhost"), route.bucket, route.key)),
                ("Bucket", route.bucket), ("Key", route.key), ("ETag", result["etag"])]
    if result.get("checksum"):
        children += [("Checksum" + result["checksum"]["algorithm"], result["checksum"]["value"]), ("ChecksumType", result["checksum"]["type"])]
    headers = {"x-amz-server-side-encryption": result["sse"]}
    if result.get("version_id"):
        headers["x-amz-version-id"] = result["version_id"]
    xml_reply(handler, "CompleteMultipartUploadResult", children, headers=headers)


def complete_multipart_upload(handler, route):
    s3 = handler.s3
    upload_id = handler.query.get("uploadId", "")
    raw = small_body(handler, limit=16 * 1024 * 1024, body_checksums=False)
    memo = s3.completed_before(route.bucket, route.key, upload_id)
    if memo is not None:
        _completion_reply(handler, route, memo)
        return
    upload = s3.upload(route.bucket, route.key, upload_id)
    document = xmlio.parse(raw, "CompleteMultipartUpload")
    listed = document.all("Part")
    if not listed or len(listed) > MAX_PARTS:
        raise malformed_xml()
    stored = {part["number"]: part for part in s3.parts(route.bucket, route.key, upload_id)}
    algorithm, kind = upload["checksum_algorithm"], upload["checksum_type"]
    chosen, previous = [], 0
    for node in listed:
        number_text, etag = node.value("PartNumber"), node.value("ETag")
        if number_text is None or not number_text.isdigit() or etag is None:
            raise malformed_xml()
        number = int(number_text)
        if number <= previous:
            raise S3Error(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
                          UploadId=upload_id)
        previous = number
        part = stored.get(number)
        if part is None or part["etag"].strip('"') != etag.strip().strip('"'):
            raise _invalid_part(upload_id, number, etag)
        if algorithm:
            sent = node.value("Checksum" + algorithm)
            if sent is None:
                raise invalid_request("The upload was created using a %s checksum. The complete request must include the checksum for each part. "
                                      "It was missing for part %d in the request." % (algorithm.lower(), number))
            if sent != part["checksum"]:
                raise _invalid_part(upload_id, number, etag)
        chosen.append(part)
    for part in chosen[:-1]:
        if part["size"] < s3.min_part_size:
            raise S3Error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.",
                          ProposedSize=part["size"], MinSizeAllowed=s3.min_part_size, PartNumber=part["number"], ETag=part["etag"].strip('"'))
    total = sum(part["size"] for part in chosen)
    expected_size = handler.headers.get("x-amz-mp-object-size")
    if expected_size is not None and (not expected_size.strip().isdigit() or int(expected_size) != total):
        raise invalid_request("The provided 'x-amz-mp-object-size' header value %s does not match what was computed: %d" % (expected_size, total))
    sent_kind = handler.headers.get("x-amz-checksum-type")
    if sent_kind is not None and sent_kind.strip().upper() != (kind or ""):
        raise S3Error(400, "BadDigest", "The checksum type you specified did not match the checksum type of the upload.")
    checksum = None
    if algorithm:
        digests = [base64.b64decode(part["checksum"]) for part in chosen]
        if kind == "COMPOSITE":
            value = checksums.composite(algorithm, digests)
        else:
            value = checksums.full_object(algorithm, [(digest, part["size"]) for digest, part in zip(digests, chosen)])
        checksum = {"algorithm": algorithm, "type": kind, "value": value}
    for name in checksums.ALGORITHMS:
        sent = handler.headers.get("x-amz-checksum-" + name.lower())
        if sent is not None and (checksum is None or name != algorithm or sent.strip().split("-")[0] != checksum["value"].split("-")[0]):
            raise S3Error(400, "BadDigest", "The %s you specified did not match the calculated checksum." % name)
    etag = '"%s-%d"' % (hashlib.md5(b"".join(bytes.fromhex(part["etag"].strip('"')) for part in chosen)).hexdigest(), len(chosen))
    if_none_match, if_match = preconditions(handler)
    fields = {name: upload[name] for name in ("storage_class", "meta", "headers", "content_type", "tags", "sse", "legal_hold")}
    fields.update({
        "size": total, "etag": etag, "checksum": checksum,
        "parts": [{"number": part["number"], "size": part["size"], "etag": part["etag"], "checksum": part.get("checksum")} for part in chosen],
    })
    result = s3.complete_upload(route.bucket, route.key, upload_id, [part["number"] for part in chosen], fields,
                                {"etag": etag, "checksum": checksum, "sse": upload["sse"], "completed_ts": time.time()},
                                if_none_match, if_match)
    _completion_reply(handler, route, result)


def _invalid_part(upload_id, number, etag):
    return S3Error(400, "InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, "
                   "or the specified entity tag may not match the part's entity tag.", UploadId=upload_id, PartNumber=number, ETag=etag)


OPERATIONS = {
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
    "AbortMultipartUpload": abort_multipart_upload,
    "CompleteMultipartUpload": complete_multipart_upload,
}
