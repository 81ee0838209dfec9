"""Object operations: PUT, GET (ranges, part numbers, checksums), HEAD, DELETE (one or many, versions and delete
markers), listings, restores of archived objects, Object Lock retention and legal hold, tags, attributes."""

import base64
import json
import time
from urllib.parse import parse_qsl, quote

from . import checksums, xmlio
from .body import Checks, declared_length, receive, small_body
from .buckets import parse_tag_set
from .errors import S3Error, invalid_argument, invalid_request, malformed_xml, missing_lock_configuration, not_implemented, too_large
from .replies import empty_reply, int_query, owner, parse_timestamp, truthy, xml_reply
from .store import ARCHIVED, MAX_PART_SIZE, http_date, iso, lock_state, restore_state

# Storage classes of general purpose buckets; the model's others (OUTPOSTS, SNOW, EXPRESS_ONEZONE, FSX_*, AWS_BACKUP_*)
# belong to other kinds of storage and get InvalidStorageClass, as they do on AWS.
STORAGE_CLASSES = ("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR")
STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Language", "Expires", "x-amz-website-redirect-location")
MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
MAX_OBJECT_TAGS = 10
MAX_PAGE = 1000
MAX_DELETE = 1000
SSE = ("AES256", "aws:kms", "aws:kms:dsse")


# -- what PutObject and CreateMultipartUpload share ----------------------------------------------


def check_key(key):
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error(400, "KeyTooLongError", "Your key is too long", Size=len(key.encode("utf-8")), MaxSizeAllowed=MAX_KEY_BYTES)


def parse_tags(text):
    pairs = parse_qsl(text or "", keep_blank_values=True)
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise invalid_argument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
                               "x-amz-tagging", text)
    if len(pairs) > MAX_OBJECT_TAGS:
        raise S3Error(400, "BadRequest", "Object tags cannot be greater than %d" % MAX_OBJECT_TAGS)
    for key, value in pairs:
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise S3Error(400, "InvalidTag", "The TagKey you have provided is invalid", TagKey=key)
    return [list(pair) for pair in pairs]


def object_fields(handler, settings):
    """Metadata, storage class, tags, encryption and Object Lock settings of a new object, from its headers."""
    headers = handler.headers
    storage_class = (headers.get("x-amz-storage-class") or "STANDARD").strip()
    if storage_class not in STORAGE_CLASSES:
        raise S3Error(400, "InvalidStorageClass", "The storage class you specified is not valid", StorageClassRequested=storage_class)
    meta = {}
    for name, value in headers.items():
        if name.lower().startswith("x-amz-meta-"):
            meta[name.lower()[len("x-amz-meta-"):]] = value.strip()
    meta_size = sum(len(name.encode("utf-8")) + len(value.encode("utf-8")) for name, value in meta.items())
    if meta_size > MAX_METADATA_BYTES:
        raise S3Error(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size", Size=meta_size,
                      MaxSizeAllowed=MAX_METADATA_BYTES)
    sse = headers.get("x-amz-server-side-encryption")
    if sse is not None and sse not in SSE:
        raise invalid_argument("The encryption method specified is not supported", "x-amz-server-side-encryption", sse)
    if headers.get("x-amz-server-side-encryption-customer-algorithm"):
        raise not_implemented("x-amz-server-side-encryption-customer-algorithm")
    encodings = [item.strip() for item in (headers.get("Content-Encoding") or "").split(",") if item.strip() and item.strip().lower() != "aws-chunked"]
    stored = {name: headers.get(name) for name in STORED_HEADERS if headers.get(name) is not None}
    if encodings:
        stored["Content-Encoding"] = ",".join(encodings)
    fields = {
        "storage_class": storage_class, "meta": meta, "headers": stored,
        "content_type": headers.get("Content-Type") or "binary/octet-stream",
        "tags": parse_tags(headers.get("x-amz-tagging")), "sse": sse or "AES256",
        "lock": None, "legal_hold": None,
    }
    mode, until_text = headers.get("x-amz-object-lock-mode"), headers.get("x-amz-object-lock-retain-until-date")
    hold = headers.get("x-amz-object-lock-legal-hold")
    if (mode or until_text or hold) and not settings["object_lock"]:
        raise missing_lock_configuration()
    if bool(mode) != bool(until_text):
        raise invalid_argument("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
    if mode:
        if mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise invalid_argument("Unknown wormMode directive.", "x-amz-object-lock-mode", mode)
        until = parse_timestamp(until_text)
        if until is None:
            raise invalid_argument("The retain until date must be provided in ISO 8601 format", "x-amz-object-lock-retain-until-date", until_text)
        if until <= time.time():
            raise invalid_argument("The retain until date must be in the future!", "x-amz-object-lock-retain-until-date", until_text)
        fields["lock"] = {"mode": mode, "until_ts": until, "until": iso(until)}
    if hold:
        if hold not in ("ON", "OFF"):
            raise invalid_argument("Legal Hold must be either of 'ON' or 'OFF'", "x-amz-object-lock-legal-hold", hold)
        fields["legal_hold"] = hold
    return fields


def checksum_headers(checksum, with_type=True):
    if not checksum:
        return {}
    headers = {"x-amz-checksum-" + checksum["algorithm"].lower(): checksum["value"]}
    if with_type:
        headers["x-amz-checksum-type"] = checksum["type"]
    return headers


def preconditions(handler):
    """(if_none_match, if_match) of a write; If-None-Match takes only '*'."""
    none_match = handler.headers.get("If-None-Match")
    if none_match is not None and none_match.strip() != "*":
        raise not_implemented("If-None-Match")
    return none_match is not None, handler.headers.get("If-Match")


# -- PutObject -----------------------------------------------------------------------------------


def put_object(handler, route):
    s3 = handler.s3
    settings = s3.bucket_settings(route.bucket)
    check_key(route.key)
    fields = object_fields(handler, settings)
    checks = Checks(handler)
    if (fields["lock"] or settings["lock_rule"]) and checks.md5 is None and checks.algorithm is None:
        raise invalid_request("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters")
    length = declared_length(handler, checks)
    if length is None:
        raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
    if length > MAX_PART_SIZE:
        raise too_large(length, MAX_PART_SIZE)
    if_none_match, if_match = preconditions(handler)
    if if_none_match:
        s3.check_not_exists(route.bucket, route.key)  # early, to spare the upload; checked again when stored
    received = receive(handler, checks, to_file=True, corrupt=handler.flags.get("corrupt", False))
    fields.update({
        "size": received.size, "etag": '"%s"' % received.md5, "parts": None,
        "checksum": {"algorithm": received.algorithm, "type": "FULL_OBJECT", "value": checksums.b64(received.digest)} if received.algorithm else None,
    })
    try:
        version, versioned = s3.put_object(route.bucket, route.key, received.path, fields, if_none_match, if_match)
    except S3Error:
        received.discard()
        raise
    headers = {"ETag": version["etag"], "x-amz-server-side-encryption": version["sse"]}
    if versioned:
        headers["x-amz-version-id"] = version["id"]
    headers.update(checksum_headers(version["checksum"]))
    empty_reply(handler, 200, headers)


# -- GetObject and HeadObject --------------------------------------------------------------------


def version_headers(handler, version, versioned):
    headers = {
        "Last-Modified": http_date(version["modified_ts"]), "ETag": version["etag"], "Accept-Ranges": "bytes",
        "x-amz-server-side-encryption": version["sse"],
    }
    if versioned:
        headers["x-amz-version-id"] = version["id"]
    if version["storage_class"] != "STANDARD":
        headers["x-amz-storage-class"] = version["storage_class"]
    state, expiry = restore_state(version)
    if state == "ongoing":
        headers["x-amz-restore"] = 'ongoing-request="true"'
    elif state == "restored":
        headers["x-amz-restore"] = 'ongoing-request="false", expiry-date="%s"' % http_date(expiry)
    headers.update(version["headers"])
    for name, value in version["meta"].items():
        headers["x-amz-meta-" + name] = value
    if version.get("lock"):
        headers["x-amz-object-lock-mode"] = version["lock"]["mode"]
        headers["x-amz-object-lock-retain-until-date"] = version["lock"]["until"]
    if version.get("legal_hold"):
        headers["x-amz-object-lock-legal-hold"] = version["legal_hold"]
    if version["tags"]:
        headers["x-amz-tagging-count"] = str(len(version["tags"]))
    for name in ("Content-Type", "Content-Language", "Expires", "Cache-Control", "Content-Disposition", "Content-Encoding"):
        override = handler.query.get("response-" + name.lower())
        if override is not None:
            headers[name] = override
    return headers


def parse_range(text, size):
    """(first, last) of a single 'bytes=' range, None when S3 ignores the header, 416 when it cannot be satisfied."""
    text = text.strip()
    if not text.startswith("bytes=") or "," in text:
        return None
    start, dash, end = text[len("bytes="):].partition("-")
    start, end = start.strip(), end.strip()
    if not dash or (start and not start.isdigit()) or (end and not end.isdigit()) or not (start or end):
        return None
    if not start:
        first, last = max(0, size - int(end)), size - 1
        if int(end) == 0:
            first = size
    else:
        first = int(start)
        last = min(int(end), size - 1) if end else size - 1
        if end and int(end) < first:
            return None
    if first >= size or first > last:
        raise S3Error(416, "InvalidRange", "The requested range is not satisfiable", headers={"Content-Range": "bytes */%d" % size},
                      RangeRequested=text, ActualObjectSize=size)
    return first, last


def check_conditions(handler, version):
    """If-Match / If-Unmodified-Since (412) and If-None-Match / If-Modified-Since (304), with S3's precedence."""
    headers = handler.headers
    etag = version["etag"]
    modified = int(version["modified_ts"])
    if_match, if_none_match = headers.get("If-Match"), headers.get("If-None-Match")
    if if_match is not None:
        if etag not in [item.strip() for item in if_match.split(",")] and if_match.strip() != "*":
            raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", Condition="If-Match")
    else:
        since = parse_timestamp(headers.get("If-Unmodified-Since"))
        if since is not None and modified > since:
            raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", Condition="If-Unmodified-Since")
    not_modified = {"ETag": etag, "Last-Modified": http_date(version["modified_ts"])}
    if if_none_match is not None:
        if etag in [item.strip() for item in if_none_match.split(",")] or if_none_match.strip() == "*":
            raise S3Error(304, "NotModified", "Not Modified", headers=not_modified)
    else:
        since = parse_timestamp(headers.get("If-Modified-Since"))
        if since is not None and modified <= since:
            raise S3Error(304, "NotModified", "Not Modified", headers=not_modified)


def _selected_version(handler, route):
    version_id = handler.query.get("versionId")
    version, versioned = handler.s3.find_version(route.bucket, route.key, version_id)
    if version["marker"]:
        headers = {"x-amz-delete-marker": "true", "x-amz-version-id": version["id"], "Last-Modified": http_date(version["modified_ts"])}
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", headers=headers,
                      Method=handler.command, ResourceType="DeleteMarker")
    return version, versioned


def _part_number(handler):
    raw = handler.query.get("partNumber")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", raw)
    return int(raw)


def get_object(handler, route):
    version, versioned = _selected_version(handler, route)
    check_conditions(handler, version)
    head = handler.command == "HEAD"
    if not head and version["storage_class"] in ARCHIVED and restore_state(version)[0] != "restored":
        raise S3Error(403, "InvalidObjectState", "The operation is not valid for the object's storage class", StorageClass=version["storage_class"])
    headers = version_headers(handler, version, versioned)
    size = version["size"]
    part_number = _part_number(handler)
    requested = handler.headers.get("Range")
    if part_number is not None and requested is not None:
        raise invalid_request("Cannot specify both Range header and partNumber query parameter")
    parts = version.get("parts") or [{"number": 1, "size": size, "checksum": None}]
    span = None
    checksum = version["checksum"]
    if part_number is not None:
        if part_number > len(parts):
            raise S3Error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable", PartNumberRequested=part_number,
                          ActualPartCount=len(parts))
        first = sum(part["size"] for part in parts[:part_number - 1])
        span = (first, first + parts[part_number - 1]["size"] - 1)
        if version.get("parts"):
            headers["x-amz-mp-parts-count"] = str(len(parts))
            part = parts[part_number - 1]
            checksum = {"algorithm": checksum["algorithm"], "type": checksum["type"], "value": part["checksum"]} if checksum and part.get("checksum") else None
    elif requested is not None:
        span = parse_range(requested, size)
    if (handler.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED" and checksum and (span is None or part_number is not None):
        headers.update(checksum_headers(checksum))
    content_type = handler.query.get("response-content-type") or version["content_type"]
    headers.pop("Content-Type", None)
    if span is not None and size:
        headers["Content-Range"] = "bytes %d-%d/%d" % (span[0], span[1], size)
    first, last = span if span is not None else (0, size - 1)
    status = 206 if span is not None else 200
    if head:
        handler.respond_head(status, headers, last - first + 1, content_type)
        return
    handler.respond_stream(status, headers, last - first + 1, read_span(handler.s3.data_files(version), first, last), content_type)


def read_span(files, first, last):
    """Bytes [first, last] of an object stored as consecutive files."""
    offset = 0
    for path, size in files:
        if offset + size > first and offset <= last:
            start = max(first, offset) - offset
            stop = min(last, offset + size - 1) - offset
            with open(path, "rb") as handle:
                handle.seek(start)
                remaining = stop - start + 1
                while remaining > 0:
                    block = handle.read(min(1024 * 1024, remaining))
                    if not block:
                        raise IOError("%s ends early" % path)
                    remaining -= len(block)
                    yield block
        offset += size


def get_object_attributes(handler, route):
    wanted = [item.strip() for item in (handler.headers.get("x-amz-object-attributes") or "").split(",") if item.strip()]
    known = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
    if not wanted or any(item not in known for item in wanted):
        raise invalid_argument("Invalid attribute name specified.", "x-amz-object-attributes", ",".join(wanted))
    version_id = handler.query.get("versionId")
    version, versioned = handler.s3.find_version(route.bucket, route.key, version_id)
    if version["marker"]:
        raise S3Error(405 if version_id else 404, "MethodNotAllowed" if version_id else "NoSuchKey",
                      "The specified method is not allowed against this resource." if version_id else "The specified key does not exist.",
                      headers={"x-amz-delete-marker": "true", "x-amz-version-id": version["id"]})
    children = []
    checksum = version["checksum"]
    if "ETag" in wanted:
        children.append(("ETag", version["etag"].strip('"')))
    if "Checksum" in wanted and checksum:
        # The object's checksum without the '-<parts>' suffix HeadObject shows for COMPOSITE ones.
        children.append(("Checksum", [("Checksum" + checksum["algorithm"], checksum["value"].split("-")[0]), ("ChecksumType", checksum["type"])]))
    if "ObjectParts" in wanted and version.get("parts"):
        parts = version["parts"]
        maximum = _int_header(handler, "x-amz-max-parts", MAX_PAGE)
        marker = _int_header(handler, "x-amz-part-number-marker", 0)
        after = [(index + 1, part) for index, part in enumerate(parts) if index + 1 > marker]
        page = after[:maximum]
        entries = []
        for number, part in page:
            item = [("PartNumber", number), ("Size", part["size"])]
            if checksum and part.get("checksum"):
                item.append(("Checksum" + checksum["algorithm"], part["checksum"]))
            entries.append(("Part", item))
        truncated = len(after) > maximum
        children.append(("ObjectParts", [("PartsCount", len(parts)), ("PartNumberMarker", marker),
                                         ("NextPartNumberMarker", page[-1][0] if page else marker), ("MaxParts", maximum),
                                         ("IsTruncated", truncated)] + entries))
    if "StorageClass" in wanted:
        children.append(("StorageClass", version["storage_class"]))
    if "ObjectSize" in wanted:
        children.append(("ObjectSize", version["size"]))
    headers = {"Last-Modified": http_date(version["modified_ts"])}
    if versioned:
        headers["x-amz-version-id"] = version["id"]
    xml_reply(handler, "GetObjectAttributesResponse", children, headers=headers)


def _int_header(handler, name, default):
    raw = handler.headers.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit():
        raise invalid_argument("Invalid %s" % name, name, raw)
    return min(int(raw), MAX_PAGE) if name == "x-amz-max-parts" else int(raw)


# -- deleting ------------------------------------------------------------------------------------


def delete_object(handler, route):
    version_id = handler.query.get("versionId")
    if version_id is None and handler.headers.get("If-Match"):
        handler.s3.check_match(route.bucket, route.key, handler.headers["If-Match"])
    bypass = truthy(handler.headers.get("x-amz-bypass-governance-retention"))
    deleted, marker, versioned = handler.s3.delete_object(route.bucket, route.key, version_id, bypass)
    headers = {}
    if marker:
        headers["x-amz-delete-marker"] = "true"
    if versioned and deleted:
        headers["x-amz-version-id"] = deleted
    empty_reply(handler, 204, headers)


def delete_objects(handler, route):
    handler.s3.bucket(route.bucket)
    document = xmlio.parse(small_body(handler), "Delete")
    quiet = document.value("Quiet") == "true"
    entries = document.all("Object")
    if not entries or len(entries) > MAX_DELETE:
        raise malformed_xml()
    bypass = truthy(handler.headers.get("x-amz-bypass-governance-retention"))
    results = []
    for entry in entries:
        key, version_id = entry.value("Key"), entry.value("VersionId")
        if not key:
            raise malformed_xml()
        try:
            if handler.s3.denied("DeleteObject", route.bucket, key):
                raise S3Error(403, "AccessDenied", "Access Denied")
            deleted, marker, _versioned = handler.s3.delete_object(route.bucket, key, version_id, bypass)
        except S3Error as err:
            results.append(("Error", [("Key", key), ("VersionId", version_id), ("Code", err.code), ("Message", err.message)]))
            continue
        if quiet:
            continue
        item = [("Key", key), ("VersionId", version_id)]
        if marker:
            item += [("DeleteMarker", True), ("DeleteMarkerVersionId", deleted)]
        results.append(("Deleted", item))
    xml_reply(handler, "DeleteResult", results)


# -- listings ------------------------------------------------------------------------------------


def _encoder(handler):
    encoding = handler.query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise invalid_argument("Invalid Encoding Method specified in Request", "encoding-type", encoding)
    if encoding == "url":
        return lambda text: None if text is None else quote(text, safe="/")
    return lambda text: text


def _walk(keys, prefix, delimiter, after):
    """(key, common prefix or None) after the marker, in S3's order (UTF-8 bytes), folding keys into common prefixes."""
    last_prefix = None
    for key in keys:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if delimiter and delimiter in rest:
            common = prefix + rest[:rest.index(delimiter) + len(delimiter)]
            if common == last_prefix or (after is not None and common.encode("utf-8") <= after.encode("utf-8")):
                continue
            last_prefix = common
            yield key, common
        elif after is None or key.encode("utf-8") > after.encode("utf-8"):
            yield key, None


def _restore_status(handler, version):
    if "RestoreStatus" not in (handler.headers.get("x-amz-optional-object-attributes") or ""):
        return None
    state, expiry = restore_state(version)
    if state is None:
        return None
    return [("IsRestoreInProgress", state == "ongoing"), ("RestoreExpiryDate", iso(expiry) if expiry else None)]


def _content(handler, key, version, encode, with_owner):
    checksum = version["checksum"]
    return ("Contents", [
        ("Key", encode(key)), ("LastModified", iso(version["modified_ts"])), ("ETag", version["etag"]),
        ("ChecksumAlgorithm", checksum["algorithm"] if checksum else None), ("ChecksumType", checksum["type"] if checksum else None),
        ("Size", version["size"]), ("StorageClass", version["storage_class"]),
        ("Owner", owner(handler.s3) if with_owner else None), ("RestoreStatus", _restore_status(handler, version)),
    ])


def _current(handler, route):
    objects, _versioning = handler.s3.listing(route.bucket)
    current = {key: versions[-1] for key, versions in objects.items() if not versions[-1]["marker"]}
    return current, sorted(current, key=lambda key: key.encode("utf-8"))


def list_objects_v2(handler, route):
    current, keys = _current(handler, route)
    encode = _encoder(handler)
    prefix, delimiter = handler.query.get("prefix", ""), handler.query.get("delimiter") or None
    max_keys = int_query(handler, "max-keys", MAX_PAGE, MAX_PAGE)
    token = handler.query.get("continuation-token")
    start_after = handler.query.get("start-after")
    after = start_after
    if token is not None:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))["after"]
        except (ValueError, KeyError, TypeError) as exc:
            raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token) from exc
    entries, common, truncated, last = [], [], False, None
    for key, prefix_found in _walk(keys, prefix, delimiter, after):
        if len(entries) + len(common) >= max_keys:
            truncated = True
            break
        if prefix_found:
            common.append(("CommonPrefixes", [("Prefix", encode(prefix_found))]))
            last = prefix_found
        else:
            entries.append(_content(handler, key, current[key], encode, truthy(handler.query.get("fetch-owner"))))
            last = key
    next_token = base64.urlsafe_b64encode(json.dumps({"after": last}).encode()).decode("ascii") if truncated else None
    xml_reply(handler, "ListBucketResult", [
        ("Name", route.bucket), ("Prefix", encode(prefix)), ("Delimiter", encode(delimiter)), ("MaxKeys", max_keys),
        ("EncodingType", handler.query.get("encoding-type")), ("KeyCount", len(entries) + len(common)), ("IsTruncated", truncated),
        ("ContinuationToken", token), ("NextContinuationToken", next_token), ("StartAfter", encode(start_after)),
    ] + entries + common)


def list_objects(handler, route):
    """ListObjects (version 1): marker-based."""
    current, keys = _current(handler, route)
    encode = _encoder(handler)
    prefix, delimiter = handler.query.get("prefix", ""), handler.query.get("delimiter") or None
    max_keys = int_query(handler, "max-keys", MAX_PAGE, MAX_PAGE)
    marker = handler.query.get("marker")
    entries, common, truncated, last = [], [], False, None
    for key, prefix_found in _walk(keys, prefix, delimiter, marker or None):
        if len(entries) + len(common) >= max_keys:
            truncated = True
            break
        if prefix_found:
            common.append(("CommonPrefixes", [("Prefix", encode(prefix_found))]))
            last = prefix_found
        else:
            entries.append(_content(handler, key, current[key], encode, True))
            last = key
    xml_reply(handler, "ListBucketResult", [
        ("Name", route.bucket), ("Prefix", encode(prefix)), ("Marker", encode(marker or "")),
        ("NextMarker", encode(last) if truncated and delimiter else None), ("MaxKeys", max_keys), ("Delimiter", encode(delimiter)),
        ("EncodingType", handler.query.get("encoding-type")), ("IsTruncated", truncated),
    ] + entries + common)


def list_object_versions(handler, route):
    objects, _versioning = handler.s3.listing(route.bucket)
    keys = sorted(objects, key=lambda key: key.encode("utf-8"))
    encode = _encoder(handler)
    prefix, delimiter = handler.query.get("prefix", ""), handler.query.get("delimiter") or None
    max_keys = int_query(handler, "max-keys", MAX_PAGE, MAX_PAGE)
    key_marker, version_marker = handler.query.get("key-marker") or None, handler.query.get("version-id-marker") or None
    if version_marker and not key_marker:
        raise invalid_argument("A version-id marker cannot be specified without a key marker.", "version-id-marker", version_marker)
    # Resume inside key_marker's versions after version_marker, or after all of them.
    resume_inside = None
    if key_marker and version_marker and key_marker in objects:
        ids = [version["id"] for version in reversed(objects[key_marker])]
        if version_marker not in ids:
            raise invalid_argument("Invalid version id specified", "version-id-marker", version_marker)
        resume_inside = ids.index(version_marker) + 1
    walk_after = key_marker if resume_inside is None else None
    items, truncated, last = [], False, (None, None)
    for key, prefix_found in _walk(keys, prefix, delimiter, walk_after):
        if resume_inside is not None and key.encode("utf-8") < key_marker.encode("utf-8"):
            continue
        if prefix_found:
            if len(items) >= max_keys:
                truncated = True
                break
            items.append(("CommonPrefixes", [("Prefix", encode(prefix_found))]))
            last = (prefix_found, None)
            continue
        newest_first = list(reversed(objects[key]))
        start = resume_inside if key == key_marker and resume_inside is not None else 0
        stop = False
        for position, version in enumerate(newest_first[start:], start):
            if len(items) >= max_keys:
                truncated, stop = True, True
                break
            is_latest = position == 0
            if version["marker"]:
                items.append(("DeleteMarker", [("Owner", owner(handler.s3)), ("Key", encode(key)), ("VersionId", version["id"]),
                                               ("IsLatest", is_latest), ("LastModified", iso(version["modified_ts"]))]))
            else:
                checksum = version["checksum"]
                items.append(("Version", [
                    ("ETag", version["etag"]), ("ChecksumAlgorithm", checksum["algorithm"] if checksum else None),
                    ("ChecksumType", checksum["type"] if checksum else None), ("Size", version["size"]),
                    ("StorageClass", version["storage_class"]), ("Key", encode(key)), ("VersionId", version["id"]),
                    ("IsLatest", is_latest), ("LastModified", iso(version["modified_ts"])), ("Owner", owner(handler.s3)),
                    ("RestoreStatus", _restore_status(handler, version)),
                ]))
            last = (key, version["id"])
        resume_inside = None
        if stop:
            break
    children = [
        ("Name", route.bucket), ("Prefix", encode(prefix)), ("KeyMarker", encode(key_marker or "")),
        ("VersionIdMarker", version_marker or ""), ("MaxKeys", max_keys), ("Delimiter", encode(delimiter)),
        ("EncodingType", handler.query.get("encoding-type")), ("IsTruncated", truncated),
    ]
    if truncated:
        children[6:6] = [("NextKeyMarker", encode(last[0])), ("NextVersionIdMarker", last[1])]
    xml_reply(handler, "ListVersionsResult", children + items)


# -- restores ------------------------------------------------------------------------------------


def restore_object(handler, route):
    handler.s3.bucket(route.bucket)
    document = xmlio.parse(small_body(handler), "RestoreRequest")
    if document.value("Type") is not None:
        raise not_implemented("RestoreRequest Type")
    days = document.value("Days")
    if days is None:
        raise malformed_xml()
    if not days.isdigit() or int(days) < 1:
        raise invalid_argument("Days must be a positive integer", "Days", days)
    params = document.one("GlacierJobParameters")
    tier = params.value("Tier") if params is not None else None
    tier = tier or "Standard"
    if tier not in ("Standard", "Bulk", "Expedited"):
        raise malformed_xml()
    status = handler.s3.restore(route.bucket, route.key, handler.query.get("versionId"), int(days), tier)
    empty_reply(handler, status)


# -- Object Lock ---------------------------------------------------------------------------------


def _require_lock(handler, route):
    if not handler.s3.bucket_settings(route.bucket)["object_lock"]:
        raise missing_lock_configuration()


def _version_reply_headers(versioned, version_id):
    return {"x-amz-version-id": version_id} if versioned and version_id else None


def get_object_retention(handler, route):
    _require_lock(handler, route)
    version, _versioned = _selected_version(handler, route)
    if not version.get("lock"):
        raise S3Error(404, "NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration")
    xml_reply(handler, "Retention", [("Mode", version["lock"]["mode"]), ("RetainUntilDate", version["lock"]["until"])])


def put_object_retention(handler, route):
    _require_lock(handler, route)
    document = xmlio.parse(small_body(handler), "Retention")
    mode, until_text = document.value("Mode"), document.value("RetainUntilDate")
    if bool(mode) != bool(until_text) or (mode and mode not in ("GOVERNANCE", "COMPLIANCE")):
        raise malformed_xml()
    until = None
    if until_text:
        until = parse_timestamp(until_text)
        if until is None:
            raise malformed_xml()
        if until <= time.time():
            raise invalid_argument("The retain until date must be in the future!", "RetainUntilDate", until_text)
    bypass = truthy(handler.headers.get("x-amz-bypass-governance-retention"))

    def change(_bucket, version):
        if version["marker"]:
            raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", Method="PUT", ResourceType="DeleteMarker")
        current_mode, current_until = lock_state(version)
        weaker = current_mode and (until is None or until < current_until or (current_mode == "COMPLIANCE" and mode != "COMPLIANCE"))
        if weaker and (current_mode == "COMPLIANCE" or not bypass):
            raise S3Error(403, "AccessDenied", "Access Denied because object protected by object lock.")
        version["lock"] = {"mode": mode, "until_ts": until, "until": iso(until)} if mode else None

    handler.s3.update_version(route.bucket, route.key, handler.query.get("versionId"), change)
    empty_reply(handler)


def get_object_legal_hold(handler, route):
    _require_lock(handler, route)
    version, _versioned = _selected_version(handler, route)
    if not version.get("legal_hold"):
        raise S3Error(404, "NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration")
    xml_reply(handler, "LegalHold", [("Status", version["legal_hold"])])


def put_object_legal_hold(handler, route):
    _require_lock(handler, route)
    status = xmlio.parse(small_body(handler), "LegalHold").value("Status")
    if status not in ("ON", "OFF"):
        raise malformed_xml()

    def change(_bucket, version):
        version["legal_hold"] = status

    handler.s3.update_version(route.bucket, route.key, handler.query.get("versionId"), change)
    empty_reply(handler)


# -- tags ----------------------------------------------------------------------------------------


def get_object_tagging(handler, route):
    version, versioned = _selected_version(handler, route)
    xml_reply(handler, "Tagging", [("TagSet", [("Tag", [("Key", key), ("Value", value)]) for key, value in version["tags"]])],
              headers=_version_reply_headers(versioned, version["id"]))


def put_object_tagging(handler, route):
    tags = parse_tag_set(xmlio.parse(small_body(handler), "Tagging"), MAX_OBJECT_TAGS)

    def change(bucket, version):
        version["tags"] = [list(pair) for pair in tags]
        return bucket["versioning"] is not None, version["id"]

    versioned, version_id = handler.s3.update_version(route.bucket, route.key, handler.query.get("versionId"), change)
    empty_reply(handler, 200, _version_reply_headers(versioned, version_id))


def delete_object_tagging(handler, route):
    def change(bucket, version):
        version["tags"] = []
        return bucket["versioning"] is not None, version["id"]

    versioned, version_id = handler.s3.update_version(route.bucket, route.key, handler.query.get("versionId"), change)
    empty_reply(handler, 204, _version_reply_headers(versioned, version_id))


OPERATIONS = {
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": get_object,
    "GetObjectAttributes": get_object_attributes,
    "DeleteObject": delete_object,
    "DeleteObjects": delete_objects,
    "ListObjectsV2": list_objects_v2,
    "ListObjects": list_objects,
    "ListObjectVersions": list_object_versions,
    "RestoreObject": restore_object,
    "GetObjectRetention": get_object_retention,
    "PutObjectRetention": put_object_retention,
    "GetObjectLegalHold": get_object_legal_hold,
    "PutObjectLegalHold": put_object_legal_hold,
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
}
