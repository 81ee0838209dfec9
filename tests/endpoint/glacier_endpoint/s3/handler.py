"""The S3 side of a request: route it, apply faults and the checks S3 makes before any operation, dispatch."""

from . import buckets, multipart, objects, routes
from .body import check_content_sha256
from .errors import S3Error, access_denied, not_implemented

OPERATIONS = dict(buckets.OPERATIONS, **objects.OPERATIONS, **multipart.OPERATIONS)
# Operations that address a bucket but may be sent from any region (no redirect), or create it.
REGION_FREE = ("CreateBucket", "GetBucketLocation", "ListBuckets")


def redirect_error(handler, bucket, bucket_region):
    """What S3 answers a request signed for another region than the bucket's (botocore follows both)."""
    headers = {"x-amz-bucket-region": bucket_region}
    if handler.s3_region == handler.s3.region:
        # Sent to this endpoint's own region, correctly signed for it: the bucket lives elsewhere.
        endpoint = "s3.amazonaws.com" if bucket_region == "us-east-1" else "s3.%s.amazonaws.com" % bucket_region
        return S3Error(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint. "
                       "Please send all future requests to this endpoint.", headers=headers, Bucket=bucket, Endpoint=endpoint)
    return S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed; the region '%s' is wrong; expecting '%s'"
                   % (handler.s3_region, bucket_region), headers=headers, Region=bucket_region)


def authenticated(handler):
    """Signed somehow (signatures are not verified): an Authorization header, or a presigned URL (SigV4 or SigV2)."""
    query = handler.query
    return bool(handler.headers.get("Authorization")) or "X-Amz-Signature" in query or ("Signature" in query and "AWSAccessKeyId" in query)


def check_common(handler, route):
    if not authenticated(handler):
        raise access_denied()  # anonymous requests to private buckets
    check_content_sha256(handler)
    owner = handler.headers.get("x-amz-expected-bucket-owner")
    if owner is not None and owner.strip() != handler.s3.account_id:
        raise access_denied()
    if route.bucket is None:
        return
    s3 = handler.s3
    if s3.denied(route.operation, route.bucket, route.key):
        if route.operation == "CreateBucket" and s3.bucket_region(route.bucket) is None:
            # A name denied to this account and not in it: someone else's bucket.
            raise S3Error(409, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all "
                          "users of the system. Please select a different name and try again.", BucketName=route.bucket)
        raise access_denied()
    region = s3.bucket_region(route.bucket)
    if region and handler.s3_region and region != handler.s3_region and route.operation not in REGION_FREE:
        raise redirect_error(handler, route.bucket, region)


def handle(handler, url):
    route = routes.match(handler.command, handler.headers.get("Host", ""), url.path, handler.query, handler.headers)
    handler.operation = route.operation
    handler.s3_region = routes.signing_region(handler.headers, handler.query)
    server = handler.server
    server.counters.request(route.operation, "s3")
    server.network.delay()
    fault = server.faults.take(route.operation, "s3")
    if fault is not None:
        handler.apply_fault(fault)
    check_common(handler, route)
    operation = OPERATIONS.get(route.operation)
    if operation is None:
        if route.operation == "Unknown":
            raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.", Method=handler.command,
                          ResourceType="OBJECT" if route.key else "BUCKET")
        raise not_implemented()
    operation(handler, route)
