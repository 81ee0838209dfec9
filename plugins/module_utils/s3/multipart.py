# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Uploads to a bucket: part planning, object keys, PutObject and multipart uploads with SHA-256 checksums.

Every byte of the file is read once: each 1 MiB read feeds the part's SHA-256 (handed to botocore as
``ChecksumSHA256``, which S3 verifies, so botocore computes no CRC32 of its own) and a leaf of the Glacier tree
hash (parts are a power of two MiB, so the object's tree hash is combined from the parts'). Payload signing is
off (see api.client), so SigV4 reads nothing either. Parts up to ``BUFFER_LIMIT`` are sent from that read,
bigger ones streamed from disk: memory is bounded by the thread count, not by the part size.

Parts are hashed ahead, as for a vault (transfer.run_pipeline): at most ``concurrency`` parts are sent at once
while the next ones are hashed, so a connection never waits for the CPU to hash its next part (on a WAN that wait
is what keeps a link below its cap).

A multipart object's checksum is S3's COMPOSITE SHA-256: the SHA-256 of the parts' binary SHA-256s, shown as
``<base64>-<parts>``; it is computed here too and compared with what S3 reports. Every write is conditional
(``If-None-Match: *``) on a key no earlier run used, so nothing is ever overwritten.
"""

import base64
import binascii
import hashlib
import os
import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.api import MAX_KEY_BYTES
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import (
    Attempts, FileSlice, Stats, TransferError, is_power_of_two, part_ranges, retryable, run_parallel, run_pipeline)
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import (
    MIB, PartHash, TreeHasher, TreeHashError, hash_part, tree_hash)

MAX_PARTS = 10000
# S3 parts are 5 MiB to 5 GiB: the powers of two MiB in that range.
MIN_PART_MIB = 8
MAX_PART_MIB = 4096
DEFAULT_MIN_PART_MIB = 8
# Parts up to this size are read once and sent from memory; bigger ones are re-read from disk while sending.
BUFFER_LIMIT = 16 * MIB
# Attempts per part on top of botocore's own retries, as for vaults.
PART_ATTEMPTS = 3
METADATA_KEY = 'coldvault-description'
ALGORITHM = 'SHA256'
# Errors of bytes damaged on the way: another checksum or payload hash on arrival, a malformed digest header.
DAMAGED = ('BadDigest', 'XAmzContentSHA256Mismatch', 'InvalidDigest', 'IncompleteBody')


class UploadGone(TransferError):
    """The multipart upload id is unknown to S3 (aborted, or completed by an earlier run)."""


class KeyTaken(TransferError):
    """The conditional write found an object at the key that is not this upload's."""


def plan_part_size(size, part_size_mib=None):
    """Part size in bytes for a file of ``size`` bytes, or raise ValueError naming ``part_size``.

    Default: the smallest power of two of at least 8 MiB that keeps the file within 10,000 parts.
    """
    if part_size_mib is None:
        mib = DEFAULT_MIN_PART_MIB
        while mib * MIB * MAX_PARTS < size and mib < MAX_PART_MIB:
            mib *= 2
        if mib * MIB * MAX_PARTS < size:
            raise ValueError('src is %d bytes, more than this module can upload to S3 (10,000 parts of %d MiB)'
                             % (size, MAX_PART_MIB))
        return mib * MIB
    if not is_power_of_two(part_size_mib) or not MIN_PART_MIB <= part_size_mib <= MAX_PART_MIB:
        raise ValueError('part_size must be a power of two from %d to %d (MiB) for a bucket (S3 parts are 5 MiB to '
                         '5 GiB), got %s' % (MIN_PART_MIB, MAX_PART_MIB, part_size_mib))
    if part_size_mib * MIB * MAX_PARTS < size:
        raise ValueError('part_size %d MiB is too small for src (%d bytes): S3 allows at most %d parts; use at least %d'
                         % (part_size_mib, size, MAX_PARTS, plan_part_size(size) // MIB))
    return part_size_mib * MIB


def key_base(prefix, name):
    """The folder-like start of every key of ``name``: ``PREFIX/NAME/`` (a leading "/" of the name dropped)."""
    prefix = prefix or ''
    if prefix and not prefix.endswith('/'):
        prefix += '/'
    return prefix + name.lstrip('/') + '/'


def object_key(prefix, name, when=None, token=None):
    """A key no other upload uses: ``PREFIX/NAME/<UTC time>-<8 random hex digits>``."""
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(when))
    return '%s%s-%s' % (key_base(prefix, name), stamp, token or binascii.hexlify(os.urandom(4)).decode('ascii'))


def invalid_key(prefix, name):
    """None when the keys of ``name`` under ``prefix`` can exist in S3, else a message naming the parameter."""
    for option, value in (('prefix', prefix or ''), ('name', name)):
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            return '%s: %r is not valid UTF-8, which S3 keys must be; set name to a plain string' % (option, value)
    longest = len(object_key(prefix, name, 0, '0' * 8).encode('utf-8'))
    if longest > MAX_KEY_BYTES:
        return ('prefix, name: the object keys would be %d bytes long (%s + 26 for the version); S3 allows %d: '
                'shorten prefix or set a shorter name' % (longest, key_base(prefix, name)[:60] + '...', MAX_KEY_BYTES))
    return None


def b64(raw):
    return base64.b64encode(raw).decode('ascii')


def composite_checksum(part_sha256s):
    """S3's COMPOSITE SHA-256 of a multipart object from the parts' raw SHA-256 digests: ``<base64>-<parts>``."""
    return '%s-%d' % (b64(hashlib.sha256(b''.join(part_sha256s)).digest()), len(part_sha256s))


def hash_range(path, offset, length):
    """Hash a byte range in one read; small ranges keep their bytes for sending.

    A kept range is read into one buffer and hashed through views of it: no 1 MiB pieces joined into a second
    copy, so a part hashed ahead costs its length in memory, once.
    """
    with open(path, 'rb') as fh:
        if length > BUFFER_LIMIT:
            return hash_part(fh, offset, length)
        fh.seek(offset)
        data = fh.read(length)
    if len(data) != length:
        raise TreeHashError('%s: expected %d bytes at offset %d but the file ended after %d; was it changed while '
                            'being read?' % (path, length, offset, len(data)))
    view = memoryview(data)
    linear = hashlib.sha256()
    tree = TreeHasher()
    for start in range(0, length, MIB):
        chunk = view[start:start + MIB]
        linear.update(chunk)
        tree.add_leaf(hashlib.sha256(chunk).digest())
    return PartHash(linear.hexdigest(), tree.digest(), length, data)


def _damaged(exc):
    return error_code(exc) in DAMAGED


def _status(exc):
    return exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode', 0)


def _is_precondition_failed(exc):
    return isinstance(exc, botocore.exceptions.ClientError) and (error_code(exc) == 'PreconditionFailed' or _status(exc) == 412)


def _is_no_such_upload(exc):
    return isinstance(exc, botocore.exceptions.ClientError) and error_code(exc) == 'NoSuchUpload'


def _not_worth_retrying(exc):
    """A client error no retry cures (no such bucket, access denied...): raised as it is, for the caller to explain."""
    return isinstance(exc, botocore.exceptions.ClientError) and not retryable(exc, _damaged)


def checksum_of(reply):
    """The object checksum S3 reports in a reply, as the catalog records it, or None."""
    value = reply.get('ChecksumSHA256')
    if not value:
        return None
    return {'algorithm': ALGORITHM, 'type': reply.get('ChecksumType') or ('COMPOSITE' if '-' in value else 'FULL_OBJECT'),
            'value': value}


class S3Transfer:
    """Uploads one file to one key of a bucket with a botocore S3 client (thread-safe, shared by the workers)."""

    def __init__(self, client, bucket, key, path, size, part_size, storage_class, concurrency=4, sleep=time.sleep):
        self.client = client
        self.bucket = bucket
        self.key = key
        self.path = path
        self.size = size
        self.part_size = part_size
        self.storage_class = storage_class
        self.concurrency = concurrency
        self.stats = Stats('upload')
        self.attempts = Attempts(PART_ATTEMPTS, damaged=_damaged, fatal=(UploadGone, KeyTaken), sleep=sleep)
        self._parts = None
        self._part_sha256s = None

    def _archive(self, reply, tree_hash_hex, expected_checksum, description):
        """What the catalog records of the object a reply (PutObject, CompleteMultipartUpload, HeadObject) names."""
        checksum = checksum_of(reply)
        if checksum is not None and checksum['value'] != expected_checksum:
            raise TransferError('checksum mismatch for s3://%s/%s: computed %s locally, S3 has %s'
                                % (self.bucket, self.key, expected_checksum, checksum['value']))
        return {'key': self.key, 'version_id': reply.get('VersionId'), 'etag': reply.get('ETag'),
                'storage_class': self.storage_class, 'tree_hash': tree_hash_hex, 'description': description,
                'checksum': checksum or {'algorithm': ALGORITHM, 'type': 'COMPOSITE' if '-' in expected_checksum
                                         else 'FULL_OBJECT', 'value': expected_checksum}}

    def head(self):
        """HeadObject of the key with its checksum, or None when there is no object there."""
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key, ChecksumMode='ENABLED')
        except botocore.exceptions.ClientError as e:
            if error_code(e) in ('404', 'NoSuchKey', 'NotFound'):
                return None
            raise

    def _already_ours(self, expected_checksum, tree_hash_hex, description):
        """After a 412 (or an upload id S3 no longer knows at completion): the object an earlier attempt wrote.

        An attempt whose reply was lost (a dropped connection, a read timeout) may have stored the object; the
        retry then finds the key taken. It is this upload's object when its checksum is the one computed here.
        """
        head = self.head()
        if head is None:
            raise UploadGone('s3://%s/%s: the upload is no longer known to S3 and no object was stored'
                             % (self.bucket, self.key))
        if checksum_of(head) is None or checksum_of(head)['value'] != expected_checksum \
                or head.get('ContentLength') != self.size:
            raise KeyTaken('s3://%s/%s already holds another object; it was left alone' % (self.bucket, self.key))
        return self._archive(head, tree_hash_hex, expected_checksum, description)

    # -- single request ------------------------------------------------------------------------------------------
    def upload_single(self, description, digest=None):
        """PutObject of the whole file; returns the archive dict (key, version_id, etag, checksum...)."""
        digest = digest or hash_range(self.path, 0, self.size)
        checksum = b64(binascii.unhexlify(digest.sha256))

        def once():
            body = digest.data if digest.data is not None else FileSlice(self.path, 0, digest.length)
            try:
                reply = self.client.put_object(
                    Bucket=self.bucket, Key=self.key, Body=body, ContentLength=digest.length, StorageClass=self.storage_class,
                    Metadata={METADATA_KEY: description}, ChecksumAlgorithm=ALGORITHM, ChecksumSHA256=checksum,
                    IfNoneMatch='*')
            finally:
                if isinstance(body, FileSlice):
                    body.close()
            self.stats.sent(digest.length)
            return reply
        try:
            reply = self.attempts.run('uploading s3://%s/%s' % (self.bucket, self.key), once,
                                      fatal_if=lambda e: _is_precondition_failed(e) or _not_worth_retrying(e))
        except botocore.exceptions.ClientError as e:
            if not _is_precondition_failed(e):
                raise
            return self._already_ours(checksum, digest.tree_hash, description)
        return self._archive(reply, digest.tree_hash, checksum, description)

    # -- multipart -----------------------------------------------------------------------------------------------
    def initiate(self, description):
        reply = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, StorageClass=self.storage_class, Metadata={METADATA_KEY: description},
            ChecksumAlgorithm=ALGORITHM, ChecksumType='COMPOSITE')
        return reply['UploadId']

    def list_parts(self, upload_id):
        """{part number: (size, base64 SHA-256, ETag)} of the parts S3 holds for ``upload_id``, across every page."""
        parts = {}
        kwargs = {'Bucket': self.bucket, 'Key': self.key, 'UploadId': upload_id}
        try:
            while True:
                page = self.client.list_parts(**kwargs)
                for part in page.get('Parts', []):
                    parts[part['PartNumber']] = (part.get('Size'), part.get('ChecksumSHA256'), part.get('ETag'))
                if not page.get('IsTruncated'):
                    return parts
                kwargs['PartNumberMarker'] = page['NextPartNumberMarker']
        except botocore.exceptions.ClientError as e:
            if _is_no_such_upload(e):
                raise UploadGone('upload %s of s3://%s/%s is no longer known to S3' % (upload_id, self.bucket, self.key)) from e
            raise

    def abort(self, upload_id):
        """Abort an upload (S3 bills incomplete uploads until they are aborted); an unknown id is already gone."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)
        except botocore.exceptions.ClientError as e:
            if not _is_no_such_upload(e):
                raise

    def local_parts(self):
        """(raw SHA-256, raw tree hash) of every part of the file, hashed in parallel (one read per byte)."""
        ranges = part_ranges(self.size, self.part_size)
        digests = [None] * len(ranges)

        def work(index, stop, offset, length):
            del stop
            with open(self.path, 'rb') as fh:
                digest = hash_part(fh, offset, length)
            digests[index] = (binascii.unhexlify(digest.sha256), digest.tree_hash_raw)
        run_parallel(work, ranges, self.concurrency, 's3-hash')
        return digests

    def adopt(self, description=None):
        """The archive dict of an object an earlier run completed at this key, if it holds exactly this file.

        Hashes the file (one read) to compare its composite checksum and to get the tree hash; None when there is
        no object at the key, or another one.
        """
        head = self.head()
        if head is None or head.get('ContentLength') != self.size or checksum_of(head) is None:
            return None
        digests = self.local_parts()
        expected = composite_checksum([sha for sha, dummy in digests])
        if checksum_of(head)['value'] != expected:
            return None
        return self._archive(head, tree_hash([tree for dummy, tree in digests]).hex(), expected,
                             description or head.get('Metadata', {}).get(METADATA_KEY))

    def upload_parts(self, upload_id, existing=None):
        """Upload every part S3 does not already hold with the same bytes (same size and SHA-256).

        Returns (object tree hash hex, number of parts kept from an earlier run).
        """
        existing = existing or {}
        ranges = part_ranges(self.size, self.part_size)
        trees = [None] * len(ranges)
        shas = [None] * len(ranges)
        parts = [None] * len(ranges)
        kept = []

        def prepare(index, stop, offset, length):
            del stop
            number = index + 1
            digest = hash_range(self.path, offset, length)
            trees[index] = digest.tree_hash_raw
            shas[index] = binascii.unhexlify(digest.sha256)
            checksum = b64(shas[index])
            size, remote_checksum, etag = existing.get(number, (None, None, None))
            if size == length and remote_checksum == checksum and etag:
                kept.append(number)  # list.append is atomic: no lock needed
                parts[index] = {'PartNumber': number, 'ETag': etag, 'ChecksumSHA256': checksum}
                return None
            return offset, digest, checksum

        def send(index, stop, prepared):
            offset, digest, checksum = prepared
            etag = self._upload_part(upload_id, index + 1, offset, digest, checksum, stop)
            parts[index] = {'PartNumber': index + 1, 'ETag': etag, 'ChecksumSHA256': checksum}

        # The next parts are hashed while "concurrency" parts are sent, retries included (see run_pipeline).
        run_pipeline(prepare, send, ranges, self.concurrency, 's3-part')
        self._parts = parts
        self._part_sha256s = shas
        return tree_hash(trees).hex(), len(kept)

    def _upload_part(self, upload_id, number, offset, digest, checksum, stop):
        def once():
            body = digest.data if digest.data is not None else FileSlice(self.path, offset, digest.length)
            try:
                reply = self.client.upload_part(
                    Bucket=self.bucket, Key=self.key, UploadId=upload_id, PartNumber=number, Body=body,
                    ContentLength=digest.length, ChecksumAlgorithm=ALGORITHM, ChecksumSHA256=checksum)
            finally:
                if isinstance(body, FileSlice):
                    body.close()
            if reply.get('ChecksumSHA256') and reply['ChecksumSHA256'] != checksum:
                raise TransferError('checksum mismatch for part %d: computed %s locally, S3 has %s'
                                    % (number, checksum, reply['ChecksumSHA256']))
            self.stats.sent(digest.length)
            return reply['ETag']
        try:
            return self.attempts.run('uploading part %d of s3://%s/%s' % (number, self.bucket, self.key), once, stop,
                                     fatal_if=lambda e: _is_no_such_upload(e) or _not_worth_retrying(e))
        except botocore.exceptions.ClientError as e:
            if _is_no_such_upload(e):
                raise UploadGone('upload %s of s3://%s/%s is no longer known to S3' % (upload_id, self.bucket, self.key)) from e
            raise

    def complete(self, upload_id, tree_hash_hex, description=None):
        """CompleteMultipartUpload of the parts upload_parts() sent or kept, conditional, with the expected size."""
        expected = composite_checksum(self._part_sha256s)

        def once():
            return self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=upload_id, MultipartUpload={'Parts': self._parts},
                ChecksumType='COMPOSITE', MpuObjectSize=self.size, IfNoneMatch='*')
        try:
            reply = self.attempts.run('completing s3://%s/%s' % (self.bucket, self.key), once,
                                      fatal_if=lambda e: _is_precondition_failed(e) or _is_no_such_upload(e)
                                      or _not_worth_retrying(e))
        except botocore.exceptions.ClientError as e:
            if not (_is_precondition_failed(e) or _is_no_such_upload(e)):
                raise
            # An earlier attempt completed it and its reply was lost: the upload id is gone, the key taken.
            return self._already_ours(expected, tree_hash_hex, description)
        return self._archive(reply, tree_hash_hex, expected, description)
