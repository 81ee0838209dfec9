"""Which requests are S3's, and which S3 operation a request is (method, bucket, key and sub-resource).

Glacier requests are recognised by their x-amz-glacier-version header, a SigV4 credential scoped to the
glacier service, or a /{account}/vaults... path; everything else is S3. The bucket comes from the path
(path style, /bucket/key) or from the Host header (virtual-host style, bucket.localhost or
bucket.s3[.region].amazonaws.com, as a client sees it through /etc/hosts or a proxy).
"""

import re
from urllib.parse import unquote

CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
GLACIER_ROOTS = ("vaults", "policies", "provisioned-capacity")
VIRTUAL_HOST = re.compile(r"(?P<bucket>.+?)\.(?:localhost|s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?)")

# Bucket sub-resources: (GET, PUT, DELETE) operation names. Those not in bucket_ops.IMPLEMENTED answer 501.
BUCKET_SUBRESOURCES = {
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "object-lock": ("GetObjectLockConfiguration", "PutObjectLockConfiguration", None),
    "lifecycle": ("GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle"),
    "location": ("GetBucketLocation", None, None),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "policyStatus": ("GetBucketPolicyStatus", None, None),
    "encryption": ("GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"),
    "publicAccessBlock": ("GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock"),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls", "DeleteBucketOwnershipControls"),
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment", None),
    "accelerate": ("GetBucketAccelerateConfiguration", "PutBucketAccelerateConfiguration", None),
    "inventory": ("GetBucketInventoryConfiguration", "PutBucketInventoryConfiguration", "DeleteBucketInventoryConfiguration"),
    "analytics": ("GetBucketAnalyticsConfiguration", "PutBucketAnalyticsConfiguration", "DeleteBucketAnalyticsConfiguration"),
    "metrics": ("GetBucketMetricsConfiguration", "PutBucketMetricsConfiguration", "DeleteBucketMetricsConfiguration"),
    "intelligent-tiering": ("GetBucketIntelligentTieringConfiguration", "PutBucketIntelligentTieringConfiguration",
                            "DeleteBucketIntelligentTieringConfiguration"),
    "cors": ("GetBucketCors", "PutBucketCors", "DeleteBucketCors"),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    "logging": ("GetBucketLogging", "PutBucketLogging", None),
    "notification": ("GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration", None),
    "replication": ("GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication"),
    "metadataTable": ("GetBucketMetadataTableConfiguration", None, "DeleteBucketMetadataTableConfiguration"),
    "metadataConfiguration": ("GetBucketMetadataConfiguration", None, "DeleteBucketMetadataConfiguration"),
    "abac": ("GetBucketAbac", "PutBucketAbac", None),
    "session": ("CreateSession", None, None),
}
# Listings of configurations with an id: GET without ?id= lists them.
LISTED_SUBRESOURCES = {
    "inventory": "ListBucketInventoryConfigurations",
    "analytics": "ListBucketAnalyticsConfigurations",
    "metrics": "ListBucketMetricsConfigurations",
    "intelligent-tiering": "ListBucketIntelligentTieringConfigurations",
}
OBJECT_SUBRESOURCES = {
    "retention": ("GetObjectRetention", "PutObjectRetention", None),
    "legal-hold": ("GetObjectLegalHold", "PutObjectLegalHold", None),
    "tagging": ("GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"),
    "acl": ("GetObjectAcl", "PutObjectAcl", None),
    "attributes": ("GetObjectAttributes", None, None),
    "torrent": ("GetObjectTorrent", None, None),
    "annotation": ("GetObjectAnnotation", "PutObjectAnnotation", "DeleteObjectAnnotation"),
    "renameObject": (None, "RenameObject", None),
    "encryption": (None, "UpdateObjectEncryption", None),
}
METHOD_INDEX = {"GET": 0, "PUT": 1, "DELETE": 2}


def is_glacier(headers, path, query):
    if headers.get("x-amz-glacier-version") is not None:
        return True
    match = CREDENTIAL.search(headers.get("Authorization") or "") or CREDENTIAL.search("Credential=" + query.get("X-Amz-Credential", ""))
    if match:
        return match.group(2) == "glacier"
    segments = path.split("/")
    return len(segments) > 2 and segments[2] in GLACIER_ROOTS and (segments[1] == "-" or re.fullmatch(r"\d{12}", segments[1]) is not None)


def signing_region(headers, query):
    match = CREDENTIAL.search(headers.get("Authorization") or "") or CREDENTIAL.search("Credential=" + query.get("X-Amz-Credential", ""))
    return match.group(1) if match else None


class S3Route:
    def __init__(self, operation, bucket=None, key=None, virtual=False):
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.virtual = virtual


def target(host, path):
    """(bucket, key, virtual) from the Host header and the raw (percent-encoded) path."""
    hostname = host.strip()
    if hostname.startswith("["):
        hostname = hostname.split("]")[0] + "]"
    else:
        hostname = hostname.rsplit(":", 1)[0]
    match = VIRTUAL_HOST.fullmatch(hostname.lower())
    if match:
        key = unquote(path[1:]) if len(path) > 1 else None
        return match.group("bucket"), key or None, True
    rest = path[1:]
    if not rest:
        return None, None, False
    bucket, _, key = rest.partition("/")
    return unquote(bucket), unquote(key) or None, False


def match(method, host, path, query, headers):
    bucket, key, virtual = target(host, path)
    if bucket is None:
        return S3Route("ListBuckets" if method == "GET" else "Unknown", virtual=virtual)
    route = S3Route("Unknown", bucket, key, virtual)
    route.operation = _object_operation(method, query, headers) if key is not None else _bucket_operation(method, query)
    return route


def _subresource(table, method, query):
    for name, operations in table.items():
        if name in query:
            index = METHOD_INDEX.get(method)
            return (operations[index] if index is not None else None) or "Unknown"
    return None


def _bucket_operation(method, query):
    if method == "GET":
        for name, listing in LISTED_SUBRESOURCES.items():
            if name in query and "id" not in query:
                return listing
    found = _subresource(BUCKET_SUBRESOURCES, method, query)
    if found:
        return found
    if method == "GET":
        if "uploads" in query:
            return "ListMultipartUploads"
        if "versions" in query:
            return "ListObjectVersions"
        return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, "Unknown")


def _object_operation(method, query, headers):
    found = _subresource(OBJECT_SUBRESOURCES, method, query)
    if found:
        return found
    copy = headers.get("x-amz-copy-source") is not None
    if method == "PUT":
        if "uploadId" in query or "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        return "CopyObject" if copy else "PutObject"
    if method == "GET":
        return "ListParts" if "uploadId" in query else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
        if "restore" in query:
            return "RestoreObject"
        if "select" in query:
            return "SelectObjectContent"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    return "Unknown"
