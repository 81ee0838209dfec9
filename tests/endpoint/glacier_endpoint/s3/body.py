"""S3 request payloads: aws-chunked decoding, trailers, and the integrity checks S3 makes.

A payload is checked against everything the client sent: x-amz-content-sha256 (the SigV4 payload hash), Content-MD5,
one x-amz-checksum-<algorithm> header or an x-amz-trailer checksum sent after the data (aws-chunked bodies, which
botocore >= 1.36 sends over HTTPS). Bodies stream through in blocks; nothing is held in memory.
"""

import base64
import binascii
import hashlib
import os
import re

from . import checksums
from .errors import S3Error, invalid_argument, invalid_request, not_implemented

BLOCK = 1024 * 1024
MAX_LINE = 8192
STREAMING_TOKENS = (
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
)
HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# Operations whose request body S3 requires Content-MD5 or a checksum for (the model's requestChecksumRequired).
CHECKSUM_REQUIRED = frozenset((
    "CreateBucketMetadataConfiguration", "CreateBucketMetadataTableConfiguration", "DeleteObjects", "PutBucketAcl", "PutBucketCors",
    "PutBucketEncryption", "PutBucketLifecycle", "PutBucketLifecycleConfiguration", "PutBucketLogging", "PutBucketNotification",
    "PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketReplication", "PutBucketRequestPayment", "PutBucketTagging",
    "PutBucketVersioning", "PutBucketWebsite", "PutObjectAcl", "PutObjectLegalHold", "PutObjectLockConfiguration", "PutObjectRetention",
    "PutObjectTagging", "PutPublicAccessBlock", "UpdateBucketMetadataAnnotationTableConfiguration",
    "UpdateBucketMetadataInventoryTableConfiguration", "UpdateBucketMetadataJournalTableConfiguration", "UpdateObjectEncryption",
))


class ChunkedError(Exception):
    """The aws-chunked framing is broken."""


def incomplete_body():
    return S3Error(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")


class AwsChunkedReader:
    """Decodes '<hex size>[;chunk-signature=...]\\r\\n<data>\\r\\n' ... '0...\\r\\n<trailers>\\r\\n' from a RequestBody."""

    def __init__(self, body):
        self._body = body
        self._buffer = b""
        self._left = 0
        self.finished = False
        self.trailers = {}

    def _fill(self):
        data = self._body.read(64 * 1024)
        if not data:
            raise ChunkedError("the body ended inside the aws-chunked framing")
        self._buffer += data

    def _line(self):
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_LINE:
                raise ChunkedError("an aws-chunked line is too long")
            self._fill()
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.rstrip(b"\r")

    def _take(self, size):
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def read(self, size):
        if self.finished:
            return b""
        if self._left == 0:
            header = self._line()
            try:
                self._left = int(header.split(b";")[0].strip(), 16)
            except ValueError as exc:
                raise ChunkedError("bad aws-chunked chunk header %r" % header[:80]) from exc
            if self._left == 0:
                self._read_trailers()
                return b""
        if not self._buffer:
            self._fill()
        data = self._buffer[:min(size, self._left)]
        self._buffer = self._buffer[len(data):]
        self._left -= len(data)
        if self._left == 0 and self._take(2) != b"\r\n":
            raise ChunkedError("an aws-chunked chunk is not followed by CRLF")
        return data

    def _read_trailers(self):
        while True:
            line = self._line()
            if not line:
                break
            name, _colon, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()
        self.finished = True
        # Whatever follows is not part of the payload; the HTTP layer drains it.


class Checks:
    """What a request asks to have verified, parsed from its headers (errors are AWS's)."""

    def __init__(self, handler, required_checksum=False, body_checksums=True):
        headers = handler.headers
        self.aws_chunked = "aws-chunked" in [item.strip().lower() for item in headers.get("Content-Encoding", "").split(",")]
        self.content_sha256 = (headers.get("x-amz-content-sha256") or "").strip()
        self.md5 = None
        self.algorithm = None  # the x-amz-checksum-* algorithm, from a header or the trailer
        self.expected = None  # raw digest from the header (a trailer's arrives at the end)
        self.trailer_name = None
        raw_md5 = headers.get("Content-MD5")
        if raw_md5 is not None:
            try:
                self.md5 = base64.b64decode(raw_md5.strip(), validate=True)
            except (binascii.Error, ValueError):
                self.md5 = b""
            if len(self.md5) != 16:
                raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        sent = {}
        # CompleteMultipartUpload's x-amz-checksum-* describe the object, not the request body.
        for name in checksums.ALGORITHMS + checksums.UNSUPPORTED_ALGORITHMS if body_checksums else ():
            value = headers.get("x-amz-checksum-" + name.lower())
            if value is not None:
                sent[name] = value
        trailer = headers.get("x-amz-trailer")
        if trailer:
            names = [item.strip().lower() for item in trailer.split(",") if item.strip()]
            for name in names:
                if not name.startswith("x-amz-checksum-"):
                    raise invalid_request("The value specified in the x-amz-trailer header is not supported")
                algorithm = name[len("x-amz-checksum-"):].upper()
                if algorithm in checksums.UNSUPPORTED_ALGORITHMS:
                    raise not_implemented("x-amz-trailer")
                if algorithm not in checksums.ALGORITHMS:
                    raise invalid_request("The value specified in the x-amz-trailer header is not supported")
                sent.setdefault(algorithm, None)
                self.trailer_name = name
            if not self.aws_chunked:
                raise invalid_request("The value specified in the x-amz-trailer header is not supported")
        if len(sent) > 1 or (trailer and len(sent) == 1 and sent[next(iter(sent))] is not None):
            raise invalid_request("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
        if sent:
            self.algorithm, value = next(iter(sent.items()))
            if self.algorithm in checksums.UNSUPPORTED_ALGORITHMS:
                raise not_implemented("x-amz-checksum-" + self.algorithm.lower())
            if value is not None:
                self.expected = checksums.decode(self.algorithm, value)
                if self.expected is None:
                    raise invalid_request("Value for x-amz-checksum-%s header is invalid." % self.algorithm.lower())
        sdk = headers.get("x-amz-sdk-checksum-algorithm")
        if sdk is not None:
            if sdk.strip().upper() not in checksums.ALGORITHMS + checksums.UNSUPPORTED_ALGORITHMS:
                raise invalid_request("Value for x-amz-sdk-checksum-algorithm header is invalid.")
            if self.algorithm is None:
                raise invalid_request("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
                                      "or x-amz-trailer headers were found.")
            if sdk.strip().upper() != self.algorithm:
                raise S3Error(400, "BadDigest", "The %s you specified did not match the calculated checksum." % self.algorithm)
        if required_checksum and self.md5 is None and self.algorithm is None:
            raise invalid_request("Missing required header for this request: Content-MD5")

    @property
    def signed_hash(self):
        """The hex SHA-256 the client signed, or None for UNSIGNED-PAYLOAD and the streaming forms."""
        return self.content_sha256.lower() if HEX_SHA256.fullmatch(self.content_sha256) else None


def check_content_sha256(handler):
    """x-amz-content-sha256 must be present (SigV4 in a header) and one of the values S3 knows."""
    value = handler.headers.get("x-amz-content-sha256")
    if value is None:
        if handler.headers.get("Authorization"):
            raise invalid_request("Missing required header for this request: x-amz-content-sha256")
        return
    value = value.strip()
    if value == "UNSIGNED-PAYLOAD" or value in STREAMING_TOKENS or HEX_SHA256.fullmatch(value):
        return
    raise invalid_argument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                           "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                           "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
                           "or a valid sha256 value.", "x-amz-content-sha256", value)


class Received:
    """A verified payload: where it is (a temporary file, or bytes), its size, MD5 and checksum."""

    def __init__(self, path, data, size, md5, algorithm, digest):
        self.path = path
        self.data = data
        self.size = size
        self.md5 = md5
        self.algorithm = algorithm
        self.digest = digest

    def discard(self):
        if self.path:
            try:
                os.remove(self.path)
            except OSError:
                pass
            self.path = None


def declared_length(handler, checks):
    """The payload's length as the headers state it (x-amz-decoded-content-length for aws-chunked); None if unknown."""
    if checks.aws_chunked:
        value = handler.headers.get("x-amz-decoded-content-length")
        if value is None or not value.strip().isdigit():
            raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        return int(value)
    if handler.body.chunked:
        # S3 takes HTTP chunked transfer only to carry aws-chunked payloads.
        raise not_implemented("Transfer-Encoding")
    if handler.headers.get("Content-Length") is None:
        return None
    return handler.body.length


def receive(handler, checks, to_file, corrupt=False):
    """Read and verify the payload; to a temporary file (to_file) or into memory. Raises S3Error on a mismatch."""
    length = declared_length(handler, checks)
    reader = AwsChunkedReader(handler.body) if checks.aws_chunked else handler.body
    md5 = hashlib.md5()
    sha256 = hashlib.sha256() if checks.signed_hash else None
    hashers = {checks.algorithm: checksums.Hasher(checks.algorithm)} if checks.algorithm else {}
    path = handler.s3.new_tmp_path() if to_file else None
    pieces = []
    size = 0
    out = open(path, "wb") if path else None
    ok = False
    try:
        try:
            while True:
                block = reader.read(BLOCK)
                if not block:
                    break
                if corrupt:
                    # A fault: the data is damaged on the way in, so the client's hashes no longer match.
                    block = bytes([block[0] ^ 0xFF]) + block[1:]
                    corrupt = False
                size += len(block)
                md5.update(block)
                if sha256 is not None:
                    sha256.update(block)
                for hasher in hashers.values():
                    hasher.update(block)
                if out:
                    out.write(block)
                else:
                    pieces.append(block)
        except ChunkedError as exc:
            raise S3Error(400, "InvalidChunkSizeError" if "header" in str(exc) else "IncompleteBody", str(exc)) from exc
        if length is not None and size != length:
            raise incomplete_body()
        if sha256 is not None and sha256.hexdigest() != checks.signed_hash:
            raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.",
                          ClientComputedContentSHA256=checks.signed_hash, S3ComputedContentSHA256=sha256.hexdigest())
        if checks.md5 is not None and md5.digest() != checks.md5:
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.",
                          ExpectedDigest=base64.b64encode(checks.md5).decode(), CalculatedDigest=base64.b64encode(md5.digest()).decode())
        digest = None
        if checks.algorithm:
            digest = hashers[checks.algorithm].digest()
            expected = checks.expected
            if checks.trailer_name:
                value = reader.trailers.get(checks.trailer_name)
                if value is None:
                    raise invalid_request("The x-amz-trailer header named %s, but the trailer did not carry it" % checks.trailer_name)
                expected = checksums.decode(checks.algorithm, value)
                if expected is None:
                    raise invalid_request("Value for %s trailing header is invalid." % checks.trailer_name)
            if digest != expected:
                raise S3Error(400, "BadDigest", "The %s you specified did not match the calculated checksum." % checks.algorithm)
        ok = True
    finally:
        if out:
            out.close()
        if not ok and path:
            try:
                os.remove(path)
            except OSError:
                pass
    return Received(path, None if to_file else b"".join(pieces), size, md5.hexdigest(), checks.algorithm, digest)


def small_body(handler, limit=2 * 1024 * 1024, body_checksums=True):
    """A verified small payload (XML or JSON documents) as bytes."""
    checks = Checks(handler, handler.operation in CHECKSUM_REQUIRED, body_checksums)
    length = declared_length(handler, checks)
    if length is not None and length > limit:
        raise S3Error(400, "MaxMessageLengthExceeded", "Your request was too big.")
    received = receive(handler, checks, to_file=False)
    return received.data
