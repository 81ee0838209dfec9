"""Identifiers shaped like AWS's: base64url alphabet, fixed lengths."""

import base64
import os

ARCHIVE_ID_LENGTH = 138
UPLOAD_ID_LENGTH = 92
JOB_ID_LENGTH = 92
REQUEST_ID_LENGTH = 47


def _token(length):
    raw = base64.urlsafe_b64encode(os.urandom(length)).decode("ascii").rstrip("=")
    token = raw[:length]
    # Real ids may start with '-', which trips up command-line parsers ("--archive-id -abc");
    # tests should not flake on that 1-in-32 chance, so the first character is alphanumeric.
    while token[0] in "-_":
        token = base64.urlsafe_b64encode(os.urandom(3)).decode("ascii")[0] + token[1:]
    return token


def new_archive_id():
    return _token(ARCHIVE_ID_LENGTH)


def new_upload_id():
    return _token(UPLOAD_ID_LENGTH)


def new_job_id():
    return _token(JOB_ID_LENGTH)


def new_request_id():
    return _token(REQUEST_ID_LENGTH)
