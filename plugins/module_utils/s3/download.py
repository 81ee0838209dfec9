# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Parallel, verified, resumable download of one S3 object version to a file.

What is checked, and against what:

* A multipart object (a COMPOSITE SHA-256 ``<base64>-<parts>``, what the upload module writes) is fetched part by
  part: GetObject with ``PartNumber``, so each reply covers exactly one part and S3 sends that part's SHA-256 with
  it. Each part's bytes are hashed while they are streamed to disk and fetched again when they differ. The SHA-256
  of the part digests must then equal the composite checksum the catalog recorded: a part checksum S3 sent cannot
  vouch for bytes the catalog's record does not.
* A single-request object (a FULL_OBJECT SHA-256) is one range, checked against the recorded checksum.
* The SHA-256 tree hash of the whole, combined from the ranges' without reading the file again (the parts are a
  power of two MiB, so each is a node of the tree), must equal the one recorded at upload when there is one.

The bytes go into the object's temporary file next to ``dest`` with its journal of verified ranges
(partial_download.py, shared with the vault download): a killed or failed run keeps them and the next run for
the same object and ``dest`` fetches only the parts still missing. The file is fsynced and moved onto ``dest``
in one rename only when everything matched.
"""

import base64
import binascii
import hashlib
import os
import re
import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.files import fsync_dir
from ansible_collections.coldvault.glacier.plugins.module_utils.partial_download import PartialDownload
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import (
    Attempts, Stats, TransferError, is_power_of_two, pwrite_all, read_exact, retryable)
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, hash_part
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import tree_hash as combine

# Attempts per part on top of botocore's own retries: a body cut off, bytes that do not match their checksum.
RANGE_ATTEMPTS = 4
_CONTENT_RANGE = re.compile(r'\Abytes (\d+)-(\d+)/(\d+)\Z')
_COMPOSITE = re.compile(r'\A([A-Za-z0-9+/]{43}=)-(\d+)\Z')
_FULL = re.compile(r'\A[A-Za-z0-9+/]{43}=\Z')
EMPTY_SHA256 = base64.b64encode(hashlib.sha256(b'').digest()).decode('ascii')


class ObjectArchived(TransferError):
    """GetObject answered InvalidObjectState: the object is archived and not (or no longer) restored."""


class ObjectLayoutError(TransferError):
    """The object's parts are not those recorded: no retry can help."""


class Plan:
    """How an object is fetched: ranges of ``range_size`` bytes, by part number or as one whole."""

    def __init__(self, size, range_size, composite, parts, checksum):
        self.size = size
        self.range_size = range_size
        self.composite = composite
        self.parts = parts
        self.checksum = checksum


def derive_part_size(size, parts):
    """The power-of-two MiB part size that cuts ``size`` bytes into exactly ``parts`` parts, or None.

    At most one exists (parts of p bytes give ``parts`` parts for p in [size/parts, size/(parts-1)), less than a
    factor two wide), so a record that lost its part size (a catalog rebuilt from the bucket) gets it back.
    """
    mib = 1
    while mib * MIB * parts < size:
        mib *= 2
    part_size = mib * MIB
    return part_size if parts >= 1 and -(-size // part_size) == max(parts, 1) else None


def plan(size, part_size, checksum):
    """The Plan for an object of ``size`` bytes with ``checksum`` (value as S3 shows it); ValueError says why not."""
    value = (checksum or {}).get('value') if isinstance(checksum, dict) else checksum
    if not isinstance(value, str) or not value:
        raise ValueError('it has no SHA-256 checksum to verify the download against (coldvault.glacier.upload '
                         'writes every object with one); download it with amazon.aws.s3_object instead')
    composite = _COMPOSITE.match(value)
    if composite:
        parts = int(composite.group(2))
        if part_size is None:
            part_size = derive_part_size(size, parts)
        if not part_size or part_size % MIB or not is_power_of_two(part_size // MIB) or -(-size // part_size) != parts:
            raise ValueError('its %d parts are not all of one power-of-two MiB size (%s bytes recorded), which the '
                             'part-by-part check needs' % (parts, part_size))
        return Plan(size, part_size, True, parts, value)
    if not _FULL.match(value):
        raise ValueError('its checksum %r is not a SHA-256 checksum' % value)
    range_size = MIB
    while range_size < size:
        range_size *= 2
    return Plan(size, range_size, False, 1, value)


def b64(raw):
    return base64.b64encode(raw).decode('ascii')


def composite_of(digests):
    """S3's COMPOSITE SHA-256 of raw part digests: ``<base64>-<parts>``."""
    return '%s-%d' % (b64(hashlib.sha256(b''.join(digests)).digest()), len(digests))


def file_digests(path, the_plan, fd=None, indices=None):
    """{range index: (raw SHA-256, raw tree hash)} of the ranges ``indices`` (default all) of a file, in one read."""
    wanted = range(the_plan.parts) if indices is None else indices
    digests = {}
    fh = os.fdopen(os.dup(fd), 'rb') if fd is not None else open(path, 'rb')  # pylint: disable=consider-using-with
    with fh:
        for index in wanted:
            offset = index * the_plan.range_size
            digest = hash_part(fh, offset, min(the_plan.range_size, the_plan.size - offset))
            digests[index] = (binascii.unhexlify(digest.sha256), digest.tree_hash_raw)
    return digests


def file_checksum(path, the_plan):
    """The checksum S3 would show for the file at ``path`` under ``the_plan`` (and its tree hash), one read."""
    if the_plan.size == 0:
        return EMPTY_SHA256, hashlib.sha256(b'').hexdigest()
    digests = file_digests(path, the_plan)
    whole = combine([digests[i][1] for i in range(the_plan.parts)]).hex()
    if the_plan.composite:
        return composite_of([digests[i][0] for i in range(the_plan.parts)]), whole
    return b64(digests[0][0]), whole


def object_identity(bucket_arn, key, version_id, the_plan):
    """What names an object version's bytes for partial_download (the same on every run)."""
    return 's3:%s:%s:%s:%s:%d' % (bucket_arn, key, version_id or 'null', the_plan.checksum, the_plan.range_size)


def _fatal(exc):
    """Errors no retry cures: the object archived again, gone, or refused (raised as they are)."""
    return isinstance(exc, botocore.exceptions.ClientError) and not retryable(exc)


class ObjectDownload:
    """Fetches the ranges of one object version with a thread-safe botocore S3 client."""

    def __init__(self, client, bucket, key, version_id, the_plan, sleep=time.sleep):
        self.client = client
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.plan = the_plan
        self.stats = Stats('download')
        self.sha256s = [None] * the_plan.parts  # raw SHA-256 of each range fetched by this run
        self.attempts = Attempts(RANGE_ATTEMPTS, fatal=(ObjectLayoutError,), sleep=sleep, on_retry=self.stats.retried)

    def where(self):
        return 's3://%s/%s%s' % (self.bucket, self.key, ' (version %s)' % self.version_id if self.version_id else '')

    def fetch_range(self, fd, offset, length, stop):
        """One part (or the whole object) into ``fd`` at its offset, checked; returns its raw tree hash."""
        index = offset // self.plan.range_size
        what = 'downloading %s of %s' % ('part %d' % (index + 1) if self.plan.composite else 'the object', self.where())
        try:
            return self.attempts.run(what, lambda: self._stream(fd, index, offset, length), stop, fatal_if=_fatal)
        except botocore.exceptions.ClientError as e:
            if error_code(e) == 'InvalidObjectState':
                raise ObjectArchived('%s is archived and its restored copy is not (or no longer) readable'
                                     % self.where()) from e
            raise

    def _get(self, index):
        kwargs = {'Bucket': self.bucket, 'Key': self.key, 'ChecksumMode': 'ENABLED'}
        if self.version_id:
            kwargs['VersionId'] = self.version_id
        if self.plan.composite:
            kwargs['PartNumber'] = index + 1
        return self.client.get_object(**kwargs)

    def _stream(self, fd, index, offset, length):
        reply = self._get(index)
        body = reply['Body']
        try:
            label = self._check_reply(reply, index, offset, length)
        except Exception:
            body.close()
            raise
        tree_digest, digest = read_exact(body, length, label, lambda block, done: pwrite_all(fd, block, offset + done),
                                         self.stats.moved, linear=True)
        # The part's own checksum from S3; a single-request object's is the one the catalog recorded.
        expected = reply.get('ChecksumSHA256') if self.plan.composite else self.plan.checksum
        if expected and '-' not in expected and expected != b64(digest):
            raise TransferError('SHA-256 mismatch for %s: S3 has %s, the bytes received hash to %s'
                                % (label, expected, b64(digest)))
        self.sha256s[index] = digest
        self.stats.piece_done()
        return tree_digest

    def _check_reply(self, reply, index, offset, length):
        """The label of the range; fail when S3 sent another range than the one planned."""
        if not self.plan.composite:
            label = self.where()
            if reply.get('ContentLength') not in (None, length):
                raise TransferError('%s: S3 sends %s bytes, the object has %d' % (label, reply.get('ContentLength'), length))
            return label
        label = 'part %d of %s' % (index + 1, self.where())
        match = _CONTENT_RANGE.match(reply.get('ContentRange') or '')
        if reply.get('PartsCount') not in (None, self.plan.parts) or not match \
                or tuple(int(n) for n in match.groups()) != (offset, offset + length - 1, self.plan.size):
            raise ObjectLayoutError('%s: S3 answers with bytes %s of %s parts, expected bytes %d-%d/%d of %d parts'
                                    % (label, reply.get('ContentRange'), reply.get('PartsCount'), offset,
                                       offset + length - 1, self.plan.size, self.plan.parts))
        return label


def download_object(client, bucket, key, version_id, dest, the_plan, identity, concurrency=4, tree_hash=None,
                    atomic_move=None, sleep=time.sleep):
    """Download an object version to ``dest`` (verified, resumable, atomic); return (tree hash hex, stats dict).

    ``tree_hash``: the tree hash recorded at upload, if any; the combined hash of the bytes must equal it.
    """
    output = ObjectDownload(client, bucket, key, version_id, the_plan, sleep)
    if the_plan.size == 0:
        _write_empty(dest, the_plan, tree_hash, atomic_move)
        return hashlib.sha256(b'').hexdigest(), output.stats.as_dict()
    with PartialDownload(dest, identity, the_plan.size, the_plan.range_size) as part:
        if part.range_size != the_plan.range_size:  # not reached: the range size is part of the identity
            raise TransferError('%s was started with other ranges; remove it' % part.path)
        object_hash = part.download(output.fetch_range, concurrency, output.stats, 's3-range')
        digests = output.sha256s
        resumed = [i for i, digest in enumerate(digests) if digest is None]
        if resumed:  # ranges an earlier run verified: their SHA-256 comes from the bytes on disk
            for index, (sha, dummy) in file_digests(part.path, the_plan, part.fd, resumed).items():
                digests[index] = sha
        got = composite_of(digests) if the_plan.composite else b64(digests[0])
        if got != the_plan.checksum:
            part.discard()
            raise TransferError('checksum mismatch for %s: the catalog records %s, the bytes received have %s'
                                % (output.where(), the_plan.checksum, got))
        part.finish(object_hash, {'catalog': tree_hash}, atomic_move)
    return object_hash, output.stats.as_dict()


def _write_empty(dest, the_plan, tree_hash, atomic_move):
    """An empty object needs no request: its bytes are known."""
    if the_plan.checksum != EMPTY_SHA256 or (tree_hash and tree_hash != hashlib.sha256(b'').hexdigest()):
        raise TransferError('the object is empty but its recorded checksum is of data (%s)' % the_plan.checksum)
    directory, base = os.path.split(os.path.abspath(dest))
    tmp = os.path.join(directory, '.%s.%s.cvg-empty' % (base, binascii.hexlify(os.urandom(4)).decode('ascii')))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        (atomic_move or os.replace)(tmp, dest)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    fsync_dir(directory)
