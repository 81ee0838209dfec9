"""S3 error responses: XML <Error> bodies with AWS's codes, messages and extra elements."""

from ..errors import GlacierError


class S3Error(GlacierError):
    """An S3 error: status, Code, Message, and the extra elements AWS puts in the body (Key, BucketName...)."""

    def __init__(self, status, code, message, close=False, headers=None, drain=True, **fields):
        super().__init__(status, code, message, "Server" if status >= 500 else "Client", close=close or not drain)
        self.fields = fields
        # False for bodies refused by their declared size: answer at once and close rather than read gigabytes.
        self.drain = drain
        # Headers sent with the error (x-amz-bucket-region, x-amz-delete-marker, Content-Range...).
        self.headers = headers or {}


def too_large(length, maximum):
    return S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", drain=False, ProposedSize=length,
                   MaxSizeAllowed=maximum)


def no_such_bucket(bucket):
    return S3Error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)


def no_such_key(key, headers=None):
    return S3Error(404, "NoSuchKey", "The specified key does not exist.", headers=headers, Key=key)


def no_such_upload(upload_id):
    return S3Error(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
                   "or the upload may have been aborted or completed.", UploadId=upload_id)


def no_such_version(key, version_id):
    return S3Error(404, "NoSuchVersion", "The specified version does not exist.", Key=key, VersionId=version_id)


def invalid_argument(message, name=None, value=None):
    fields = {}
    if name is not None:
        fields = {"ArgumentName": name, "ArgumentValue": "" if value is None else str(value)}
    return S3Error(400, "InvalidArgument", message, **fields)


def invalid_request(message):
    return S3Error(400, "InvalidRequest", message)


def malformed_xml():
    return S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")


def access_denied(message="Access Denied"):
    return S3Error(403, "AccessDenied", message)


def not_implemented(what=None):
    fields = {"Header": what} if what else {}
    return S3Error(501, "NotImplemented", "A header you provided implies functionality that is not implemented", **fields)


def locked():
    return S3Error(403, "AccessDenied", "Access Denied because object protected by object lock.")


def missing_lock_configuration():
    return invalid_request("Bucket is missing Object Lock Configuration")
