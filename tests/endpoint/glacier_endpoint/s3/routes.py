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

# Operations on a bucket sub-resource, by (method, sub-resource); those without a function answer 501 NotImplemented.
BUCKET_SUBRESOURCES = {}
for _sub, _get, _put, _delete in (
    ("versioning", "GetBucketVersioning", "PutBucketVersioning", None),
    ("object-lock", "GetObjectLockConfiguration", "PutObjectLockConfiguration", None),
    ("lifecycle", "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle"),
    ("location", "GetBucketLocation", None, None),
    ("tagging", "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"),
    ("policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    ("policyStatus", "GetBucketPolicyStatus", None, None),
    ("encryption", "GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"),
    ("publicAccessBlock", "GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock"),
    ("ownershipControls", "GetBucketOwnershipControls", "PutBucketOwnershipControls", "DeleteBucketOwnershipControls"),
    ("acl", "GetBucketAcl", "PutBucketAcl", None),
    ("requestPayment", "GetBucketRequestPayment", "PutBucketRequestPayment", None),
    ("accelerate", "GetBucketAccelerateConfiguration", "PutBucketAccelerateConfiguration", None),
    ("inventory", "GetBucketInventoryConfiguration", "PutBucketInventoryConfiguration", "DeleteBucketInventoryConfiguration"),
    ("analytics", "GetBucketAnalyticsConfiguration", "PutBucketAnalyticsConfiguration", "DeleteBucketAnalyticsConfiguration"),
    ("metrics", "GetBucketMetricsConfiguration", "PutBucketMetricsConfiguration", "DeleteBucketMetricsConfiguration"),
    ("intelligent-tiering", "GetBucketIntelligentTieringConfiguration", "PutBucketIntelligentTieringConfiguration",
     "DeleteBucketIntelligentTieringConfiguration"),
    ("cors", "GetBucketCors", "PutBucketCors", "DeleteBucketCors"),
    ("website", "GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    ("logging", "GetBucketLogging", "PutBucketLogging", None),
    ("notification", "GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration", None),
    ("replication", "GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication"),
    ("metadataTable", "GetBucketMetadataTableConfiguration", None, "DeleteBucketMetadataTableConfiguration"),
    ("metadataConfiguration", "GetBucketMetadataConfiguration", None, "DeleteBucketMetadataConfiguration"),
    ("metadataAnnotationTable", None, "UpdateBucketMetadataAnnotationTableConfiguration", None),
    ("metadataInventoryTable", None, "UpdateBucketMetadataInventoryTableConfiguration", None),
    ("metadataJournalTable", None, "UpdateBucketMetadataJournalTableConfiguration", None),
    ("abac", "GetBucketAbac", "PutBucketAbac", None),
    ("session", "CreateSession", None, None),
):
    for _method, _name in (("GET", _get), ("PUT", _put), ("DELETE", _delete)):
        if _name:
            BUCKET_SUBRESOURCES[(_method, _sub)] = _name
BUCKET_SUBRESOURCES.update({
    ("POST", "delete"): "DeleteObjects",
    ("POST", "metadataConfiguration"): "CreateBucketMetadataConfiguration",
    ("POST", "metadataTable"): "CreateBucketMetadataTableConfiguration",
    ("GET", "uploads"): "ListMultipartUploads",
    ("GET", "versions"): "ListObjectVersions",
})
# GET of these without ?id= lists the configurations.
LISTED_SUBRESOURCES = {
    "inventory": "ListBucketInventoryConfigurations",
    "analytics": "ListBucketAnalyticsConfigurations",
    "metrics": "ListBucketMetricsConfigurations",
    "intelligent-tiering": "ListBucketIntelligentTieringConfigurations",
}
OBJECT_SUBRESOURCES = {
    ("GET", "retention"): "GetObjectRetention", ("PUT", "retention"): "PutObjectRetention",
    ("GET", "legal-hold"): "GetObjectLegalHold", ("PUT", "legal-hold"): "PutObjectLegalHold",
    ("GET", "tagging"): "GetObjectTagging", ("PUT", "tagging"): "PutObjectTagging", ("DELETE", "tagging"): "DeleteObjectTagging",
    ("GET", "acl"): "GetObjectAcl", ("PUT", "acl"): "PutObjectAcl",
    ("GET", "attributes"): "GetObjectAttributes", ("GET", "torrent"): "GetObjectTorrent",
    ("GET", "annotation"): "GetObjectAnnotation", ("PUT", "annotation"): "PutObjectAnnotation", ("DELETE", "annotation"): "DeleteObjectAnnotation",
    ("PUT", "renameObject"): "RenameObject", ("PUT", "encryption"): "UpdateObjectEncryption",
    ("POST", "uploads"): "CreateMultipartUpload", ("POST", "restore"): "RestoreObject", ("POST", "select"): "SelectObjectContent",
}


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
    bucket, _slash, key = rest.partition("/")
    return unquote(bucket), unquote(key) or None, False


def match(method, host, path, query, headers):
    bucket, key, virtual = target(host, path)
    if bucket is None:
        return S3Route("ListBuckets" if method == "GET" else "Unknown", virtual=virtual)
    route = S3Route("Unknown", bucket, key, virtual)
    route.operation = _object_operation(method, query, headers) if key is not None else _bucket_operation(method, query)
    return route


def _subresource(table, method, query):
    for (wanted, name), operation in table.items():
        if wanted == method and name in query:
            return operation
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
        return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
    return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, "Unknown")


def _object_operation(method, query, headers):
    if method == "GET" and "annotation" in query and "annotationName" not in query:
        return "ListObjectAnnotations"
    found = _subresource(OBJECT_SUBRESOURCES, method, query)
    if found:
        return found
    copy = headers.get("x-amz-copy-source") is not None
    if "uploadId" in query:
        return {"PUT": "UploadPartCopy" if copy else "UploadPart", "GET": "ListParts", "POST": "CompleteMultipartUpload",
                "DELETE": "AbortMultipartUpload"}.get(method, "Unknown")
    return {"PUT": "CopyObject" if copy else "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, "Unknown")
