"""The Glacier operations: HTTP request in, store call, HTTP response out.

Each function takes the request handler (headers, body, respond helpers, store) and the route.
Messages follow the wording AWS returns where it is known; docs/endpoint.md lists them.
"""

import hashlib
import json
import os
import re

from .errors import GlacierError, invalid, missing, serialization
from .store import MAX_PARTS, valid_description
from .treehash import MIB, TreeHasher

MAX_PART_SIZE = 4096 * MIB
# UploadArchive takes up to 4 GB in one request.
MAX_SINGLE_UPLOAD = 4096 * MIB
MAX_JSON_BODY = 1024 * 1024
BODY_BLOCK = 1024 * 1024
# Page sizes: AWS's defaults, and the most it returns whatever limit is asked for.
VAULT_PAGE = 10
PAGE = 50


def require_header(handler, name):
    value = handler.headers.get(name)
    if value is None or not value.strip():
        raise missing(name)
    return value.strip()


def archive_description(handler):
    raw = handler.headers.get("x-amz-archive-description")
    if raw is None:
        return None
    # AWS removes leading whitespace from archive descriptions.
    text = raw.lstrip()
    if not valid_description(text):
        raise invalid("Invalid archive description: it must be at most 1024 characters of printable ASCII (0x20-0x7E).")
    return text


def page_limit(handler, default, maximum):
    raw = handler.query.get("limit")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise invalid("Invalid limit: %s. It must be a positive integer." % raw)
    return min(int(raw), maximum)


def read_json(handler):
    raw = handler.body.read_all(MAX_JSON_BODY)
    verify_content_sha256(handler, hashlib.sha256(raw).hexdigest())
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise serialization("The request body is not valid JSON: %s" % exc) from exc
    if not isinstance(document, dict):
        raise serialization("The request body must be a JSON object")
    return document


def verify_content_sha256(handler, computed):
    """SigV4's payload hash; AWS rejects a mismatch before the service looks at the request."""
    sent = handler.headers.get("x-amz-content-sha256")
    if not sent or sent.strip().upper() == "UNSIGNED-PAYLOAD":
        return
    if sent.strip().lower() != computed:
        raise GlacierError(
            403, "InvalidSignatureException",
            "The value passed in as x-amz-content-sha256 does not match the computed payload hash. Computed digest: %s expected hash: %s"
            % (computed, sent.strip()))


def receive_body(handler):
    """Stream the body to a temporary file, hashing as it goes; never holds it in memory."""
    path = handler.store.new_tmp_path()
    linear = hashlib.sha256()
    tree = TreeHasher()
    corrupt = handler.flags.get("corrupt", False)
    done = False
    try:
        with open(path, "wb") as out:
            for block in handler.body.blocks(BODY_BLOCK):
                if corrupt:
                    # Simulates damage in transit: the data no longer matches the client's hashes.
                    block = bytes([block[0] ^ 0xFF]) + block[1:]
                    corrupt = False
                linear.update(block)
                tree.update(block)
                out.write(block)
        done = True
    finally:
        if not done:
            discard(path)
    return path, linear.hexdigest(), tree


def discard(path):
    try:
        os.remove(path)
    except OSError:
        pass


def verify_upload(handler, path, linear_hex, tree):
    """Check the body against x-amz-content-sha256 (403) and x-amz-sha256-tree-hash (400)."""
    expected = handler.headers.get("x-amz-sha256-tree-hash", "").strip().lower()
    computed = tree.hexdigest()
    try:
        verify_content_sha256(handler, linear_hex)
        if expected != computed:
            raise invalid("Checksum mismatch: expected %s, computed %s" % (expected, computed))
    except GlacierError:
        discard(path)
        raise
    return computed


def location(handler, *parts):
    return "/%s/vaults/%s" % (handler.store.account_id, "/".join(parts))


# -- vaults ------------------------------------------------------------------------------------


def create_vault(handler, route):
    handler.store.create_vault(route.vault)
    handler.respond(201, {"Location": location(handler, route.vault)})


def describe_vault(handler, route):
    handler.respond(200, body=handler.store.describe_vault(route.vault))


def list_vaults(handler, _route):
    limit = page_limit(handler, VAULT_PAGE, VAULT_PAGE)
    handler.respond(200, body=handler.store.list_vaults(handler.query.get("marker"), limit))


def delete_vault(handler, route):
    handler.store.delete_vault(route.vault)
    handler.respond(204)


def add_tags_to_vault(handler, route):
    tags = read_json(handler).get("Tags")
    if tags is None:
        raise missing("Tags")
    if not isinstance(tags, dict):
        raise invalid("Tags must be a map of keys to values")
    handler.store.add_tags(route.vault, tags)
    handler.respond(204)


def remove_tags_from_vault(handler, route):
    keys = read_json(handler).get("TagKeys") or []
    if not isinstance(keys, list):
        raise invalid("TagKeys must be a list of keys")
    handler.store.remove_tags(route.vault, keys)
    handler.respond(204)


def list_tags_for_vault(handler, route):
    handler.respond(200, body={"Tags": handler.store.list_tags(route.vault)})


# -- archives ----------------------------------------------------------------------------------


def upload_archive(handler, route):
    store = handler.store
    store.check_vault(route.vault)
    description = archive_description(handler)
    require_header(handler, "x-amz-sha256-tree-hash")
    require_header(handler, "x-amz-content-sha256")
    length = handler.body.length
    if length is not None and not 0 < length <= MAX_SINGLE_UPLOAD:
        raise invalid("Invalid Content-Length: %d. An archive must hold 1 byte to 4 GB." % length)
    path, linear_hex, tree = receive_body(handler)
    if tree.size == 0:
        discard(path)
        raise invalid("Invalid Content-Length: 0. An archive must hold 1 byte to 4 GB.")
    checksum = verify_upload(handler, path, linear_hex, tree)
    try:
        archive_id = store.add_archive(route.vault, path, tree.chunk_digests(), tree.size, checksum, description)
    except GlacierError:
        discard(path)
        raise
    archive_created(handler, route, archive_id, checksum)


def archive_created(handler, route, archive_id, tree_hash):
    """201 with what UploadArchive and CompleteMultipartUpload both answer."""
    handler.respond(201, {
        "Location": location(handler, route.vault, "archives", archive_id),
        "x-amz-archive-id": archive_id,
        "x-amz-sha256-tree-hash": tree_hash,
    })


def delete_archive(handler, route):
    handler.store.delete_archive(route.vault, route.resource)
    handler.respond(204)


# -- multipart uploads -------------------------------------------------------------------------


def initiate_multipart_upload(handler, route):
    handler.store.check_vault(route.vault)
    raw = handler.headers.get("x-amz-part-size")
    text = raw.strip() if raw is not None else "null"
    size = int(text) if text.isdigit() else 0
    if size < MIB or size > MAX_PART_SIZE or size % MIB or (size // MIB) & (size // MIB - 1):
        raise invalid("Invalid part size: %s. Part size must not be null, must be a power of two and be between %d and %d bytes."
                      % (text, MIB, MAX_PART_SIZE))
    description = archive_description(handler)
    upload_id = handler.store.initiate_upload(route.vault, description, size)
    handler.respond(201, {
        "Location": location(handler, route.vault, "multipart-uploads", upload_id),
        "x-amz-multipart-upload-id": upload_id,
    })


def upload_multipart_part(handler, route):
    store = handler.store
    upload = store.get_upload(route.vault, route.resource)
    part_size = upload["part_size"]
    content_range = require_header(handler, "Content-Range")
    match = re.fullmatch(r"bytes\s+(\d+)-(\d+)/(\*|\d+)", content_range)
    if not match or int(match.group(2)) < int(match.group(1)):
        raise invalid("Invalid Content-Range: %s" % content_range)
    first, last = int(match.group(1)), int(match.group(2))
    length = handler.body.length
    if length is not None and length != last - first + 1:
        raise invalid("Content-Range: %s is incompatible with Content-Length: %d" % (content_range, length))
    if first % part_size or last - first + 1 > part_size:
        raise invalid("Content-Range: %s is not aligned with the part size %d: a part must start at a multiple of the part size "
                      "and hold at most that many bytes" % (content_range, part_size))
    index = first // part_size
    if index >= MAX_PARTS:
        raise invalid("This is part number %d for the current multipart upload. It exceeds the limit of %d parts." % (index + 1, MAX_PARTS))
    require_header(handler, "x-amz-sha256-tree-hash")
    require_header(handler, "x-amz-content-sha256")
    path, linear_hex, tree = receive_body(handler)
    if tree.size != last - first + 1:
        discard(path)
        raise invalid("Content-Range: %s is incompatible with Content-Length: %d" % (content_range, tree.size))
    checksum = verify_upload(handler, path, linear_hex, tree)
    try:
        store.commit_part(route.vault, route.resource, index, first, last, path, tree.chunk_digests(), checksum)
    except GlacierError:
        discard(path)
        raise
    handler.respond(204, {"x-amz-sha256-tree-hash": checksum})


def list_parts(handler, route):
    limit = page_limit(handler, PAGE, PAGE)
    handler.respond(200, body=handler.store.list_parts(route.vault, route.resource, handler.query.get("marker"), limit))


def list_multipart_uploads(handler, route):
    limit = page_limit(handler, PAGE, PAGE)
    handler.respond(200, body=handler.store.list_uploads(route.vault, handler.query.get("marker"), limit))


def complete_multipart_upload(handler, route):
    size_text = require_header(handler, "x-amz-archive-size")
    checksum = require_header(handler, "x-amz-sha256-tree-hash")
    if not size_text.isdigit():
        raise invalid("Invalid x-amz-archive-size: %s" % size_text)
    archive_id, computed = handler.store.complete_upload(route.vault, route.resource, int(size_text), checksum)
    archive_created(handler, route, archive_id, computed)


def abort_multipart_upload(handler, route):
    handler.store.abort_upload(route.vault, route.resource)
    handler.respond(204)


# -- jobs --------------------------------------------------------------------------------------


def initiate_job(handler, route):
    params = read_json(handler)
    # botocore sends the JobParameters object itself; the REST reference shows it wrapped.
    if isinstance(params.get("jobParameters"), dict):
        params = params["jobParameters"]
    job_id = handler.store.initiate_job(route.vault, params)
    handler.respond(202, {"Location": location(handler, route.vault, "jobs", job_id), "x-amz-job-id": job_id})


def describe_job(handler, route):
    handler.respond(200, body=handler.store.describe_job(route.vault, route.resource))


def list_jobs(handler, route):
    limit = page_limit(handler, PAGE, PAGE)
    result = handler.store.list_jobs(route.vault, handler.query.get("marker"), limit,
                                     handler.query.get("statuscode"), handler.query.get("completed"))
    handler.respond(200, body=result)


def parse_range(value, size):
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value)
    if not match or not (match.group(1) or match.group(2)):
        raise invalid("Invalid range: %s" % value)
    if not match.group(1):
        suffix = int(match.group(2))
        first, last = max(0, size - suffix), size - 1
        if suffix == 0:
            raise invalid("Invalid range: %s" % value)
    else:
        first = int(match.group(1))
        last = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    if first > last or first >= size:
        raise invalid("Invalid range: %s. The job output holds %d bytes." % (value, size))
    return first, last


def get_job_output(handler, route):
    output = handler.store.job_output(route.vault, route.resource)
    requested = handler.headers.get("Range")
    first, last = parse_range(requested, output.size) if requested else (0, output.size - 1)
    # AWS answers any request with a Range header with 206 Partial Content.
    partial = requested is not None
    headers = {
        "Accept-Ranges": "bytes",
        "x-amz-sha256-tree-hash": output.tree_hash(first, last),
        "Content-Range": "bytes %d-%d/%d" % (first, last, output.size) if partial else None,
        "x-amz-archive-description": output.description if output.is_archive and output.description else None,
    }
    handler.respond_stream(206 if partial else 200, headers, last - first + 1, output.chunks(first, last), output.content_type)


OPERATIONS = {
    "CreateVault": create_vault,
    "DescribeVault": describe_vault,
    "ListVaults": list_vaults,
    "DeleteVault": delete_vault,
    "AddTagsToVault": add_tags_to_vault,
    "RemoveTagsFromVault": remove_tags_from_vault,
    "ListTagsForVault": list_tags_for_vault,
    "UploadArchive": upload_archive,
    "DeleteArchive": delete_archive,
    "InitiateMultipartUpload": initiate_multipart_upload,
    "UploadMultipartPart": upload_multipart_part,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "InitiateJob": initiate_job,
    "DescribeJob": describe_job,
    "ListJobs": list_jobs,
    "GetJobOutput": get_job_output,
}
