"""Identifiers shaped like AWS's: base64url alphabet, fixed lengths."""

import base64
import os

ARCHIVE_ID_LENGTH = 138
UPLOAD_ID_LENGTH = 92
JOB_ID_LENGTH = 92
REQUEST_ID_LENGTH = 47
S3_REQUEST_ID_LENGTH = 16
S3_HOST_ID_BYTES = 48


def token(length):
    """length characters of the base64url alphabet, starting with a letter or digit."""
    raw = base64.urlsafe_b64encode(os.urandom(length)).decode("ascii").rstrip("=")
    value = raw[:length]
    # Real ids may start with '-', which trips up command-line parsers ("--archive-id -abc");
    # tests should not flake on that 1-in-32 chance, so the first character is alphanumeric.
    while value[0] in "-_":
        value = base64.urlsafe_b64encode(os.urandom(3)).decode("ascii")[0] + value[1:]
    return value


def new_archive_id():
    return token(ARCHIVE_ID_LENGTH)


def new_upload_id():
    return token(UPLOAD_ID_LENGTH)


def new_job_id():
    return token(JOB_ID_LENGTH)


def new_request_id():
    return token(REQUEST_ID_LENGTH)


def new_s3_request_id():
    """S3's x-amz-request-id: 16 upper-case hexadecimal-looking characters."""
    return os.urandom(S3_REQUEST_ID_LENGTH // 2).hex().upper()


def new_host_id():
    """S3's x-amz-id-2 (HostId in error bodies): base64 of random bytes."""
    return base64.b64encode(os.urandom(S3_HOST_ID_BYTES)).decode("ascii")
