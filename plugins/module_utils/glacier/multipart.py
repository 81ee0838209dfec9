# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Uploads to a vault: part planning, single-request and multipart uploads (the pool and attempts: transfer.py).

Every byte of the file is read once for hashing: the linear SHA-256 (x-amz-content-sha256) and the tree-hash
leaves come from the same pass and are handed to botocore, so it never hashes a body again. Parts up to
``BUFFER_LIMIT`` are kept from that read and sent from memory; larger parts are streamed from disk through a
rewindable file slice, so memory is bounded by the thread count, never by the part size. The archive's tree
hash is combined from the part tree hashes: the file is never read a second time for it.
"""

import threading
import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import (
    Attempts, FileSlice, Stats, TransferError, is_power_of_two, part_ranges, run_pipeline)
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, hash_part, tree_hash

MAX_PARTS = 10000
MIN_PART_MIB = 1
MAX_PART_MIB = 4096
DEFAULT_MIN_PART_MIB = 8
MAX_SINGLE_UPLOAD = 4 * 1024 ** 3
# Parts up to this size are read once and sent from memory; bigger ones are re-read from disk while sending.
BUFFER_LIMIT = 16 * MIB
# Attempts per part on top of botocore's own retries (which cover throttling, 5xx, 408 and dropped connections):
# these cover what botocore gives up on, and a part whose tree hash the service saw differently.
PART_ATTEMPTS = 3


class UploadGone(TransferError):
    """The multipart upload id is unknown to the service (expired after 24 h, aborted or completed)."""


def plan_part_size(size, part_size_mib=None):
    """Return the part size in bytes for a file of ``size`` bytes, or raise ValueError naming ``part_size``.

    Default: the smallest power of two of at least 8 MiB that keeps the file within 10,000 parts.
    """
    if part_size_mib is None:
        mib = DEFAULT_MIN_PART_MIB
        while mib * MIB * MAX_PARTS < size and mib < MAX_PART_MIB:
            mib *= 2
        if mib * MIB * MAX_PARTS < size:
            raise ValueError('src is %d bytes, more than the largest Glacier archive (10,000 parts of 4096 MiB)' % size)
        return mib * MIB
    if not is_power_of_two(part_size_mib) or not MIN_PART_MIB <= part_size_mib <= MAX_PART_MIB:
        raise ValueError('part_size must be a power of two from %d to %d (MiB), got %s' % (MIN_PART_MIB, MAX_PART_MIB, part_size_mib))
    if part_size_mib * MIB * MAX_PARTS < size:
        needed = plan_part_size(size)
        raise ValueError('part_size %d MiB is too small for src (%d bytes): Glacier allows at most %d parts; use at least %d'
                         % (part_size_mib, size, MAX_PARTS, needed // MIB))
    return part_size_mib * MIB


# The linear SHA-256 of the body being sent, per worker thread, so that the handler below can set
# x-amz-content-sha256 before botocore's add_glacier_checksums runs (it hashes only when the header is absent).
# Thread-local rather than an attribute of the body: a plain bytes body goes out in one sendall, a file-like one
# in 16 KiB reads and sends.
_sending = threading.local()


def _set_content_sha256(params, **kwargs):
    sha = getattr(_sending, 'content_sha256', None)
    if sha:
        params['headers']['x-amz-content-sha256'] = sha


def install_checksum_handler(client):
    """Make ``client`` reuse the hashes we computed instead of re-reading each body twice."""
    for operation in ('UploadArchive', 'UploadMultipartPart'):
        client.meta.events.register_first('before-call.glacier.%s' % operation, _set_content_sha256,
                                          unique_id='coldvault-glacier-content-sha256-%s' % operation)


def _body_for(path, offset, digest):
    """The request body for a hashed range: the bytes kept from hashing, or a slice streamed from disk."""
    if digest.data is not None:
        return digest.data
    return FileSlice(path, offset, digest.length)


def hash_range(path, offset, length):
    """Hash a byte range in one read; small ranges keep their bytes for sending."""
    with open(path, 'rb') as fh:
        return hash_part(fh, offset, length, keep=length <= BUFFER_LIMIT)


class GlacierTransfer:
    """Uploads one file to one vault with a botocore Glacier client (thread-safe, shared by the workers)."""

    def __init__(self, client, vault, path, size, part_size, concurrency=4, sleep=time.sleep):
        self.client = client
        self.vault = vault
        self.path = path
        self.size = size
        self.part_size = part_size
        self.concurrency = concurrency
        self.stats = Stats('upload')
        self.attempts = Attempts(PART_ATTEMPTS, damaged=_damaged, fatal=(UploadGone,), sleep=sleep)
        install_checksum_handler(client)

    # -- single request ------------------------------------------------------------------------------------------
    def upload_single(self, description, digest=None):
        """UploadArchive of the whole file; returns dict(archive_id, tree_hash, location)."""
        digest = digest or hash_range(self.path, 0, self.size)

        def send(body):
            return self.client.upload_archive(vaultName=self.vault, archiveDescription=description,
                                              checksum=digest.tree_hash, body=body)
        reply = self._send_with_attempts('the archive', 0, digest, send)
        return {'archive_id': reply['archiveId'], 'tree_hash': digest.tree_hash, 'location': reply.get('location'),
                'description': description}

    def _send_with_attempts(self, what, offset, digest, send, stop=None):
        """Send a hashed range with ``send(body)``, again after what botocore's retries do not cover."""
        def once():
            body = _body_for(self.path, offset, digest)
            _sending.content_sha256 = digest.sha256
            try:
                reply = send(body)
            finally:
                _sending.content_sha256 = None
                if isinstance(body, FileSlice):
                    body.close()
            self._check_hash(what, digest.tree_hash, reply.get('checksum'))
            self.stats.sent(digest.length)
            return reply
        return self.attempts.run('uploading %s' % what, once, stop,
                                 fatal_if=lambda e: error_code(e) == 'ResourceNotFoundException')

    # -- multipart -----------------------------------------------------------------------------------------------
    def initiate(self, description):
        reply = self.client.initiate_multipart_upload(vaultName=self.vault, archiveDescription=description,
                                                      partSize=str(self.part_size))
        return reply['uploadId']

    def list_parts(self, upload_id):
        """{offset: tree hash} of the parts the service holds for ``upload_id``, across every page."""
        parts = {}
        kwargs = {'vaultName': self.vault, 'uploadId': upload_id}
        try:
            while True:
                page = self.client.list_parts(**kwargs)
                if int(page.get('PartSizeInBytes', self.part_size)) != self.part_size:
                    raise UploadGone('upload %s uses another part size' % upload_id)
                for part in page.get('Parts', []):
                    first, last = (int(x) for x in part['RangeInBytes'].split('-'))
                    parts[first] = (last - first + 1, part['SHA256TreeHash'])
                if not page.get('Marker'):
                    return parts
                kwargs['marker'] = page['Marker']
        except botocore.exceptions.ClientError as e:
            if error_code(e) == 'ResourceNotFoundException':
                raise UploadGone('upload %s is no longer known to the vault' % upload_id) from e
            raise

    def abort(self, upload_id):
        """Abort an upload; an id the service no longer knows is already gone."""
        try:
            self.client.abort_multipart_upload(vaultName=self.vault, uploadId=upload_id)
        except botocore.exceptions.ClientError as e:
            if error_code(e) != 'ResourceNotFoundException':
                raise

    def upload_parts(self, upload_id, existing=None):
        """Upload every part the service does not already hold with the same bytes.

        Returns (archive tree hash hex, number of parts kept from an earlier run).
        """
        existing = existing or {}
        ranges = part_ranges(self.size, self.part_size)
        hashes = [None] * len(ranges)
        kept = []

        def prepare(index, stop, offset, length):
            del stop
            digest = hash_range(self.path, offset, length)
            hashes[index] = digest.tree_hash_raw
            if existing.get(offset) == (length, digest.tree_hash):
                kept.append(offset)  # list.append is atomic: no lock needed
                return None
            return offset, digest

        def send(index, stop, prepared):
            del index
            self._upload_part(upload_id, prepared[0], prepared[1], stop)

        # The next parts are hashed while the last ones are sent (see run_pipeline).
        run_pipeline(prepare, send, ranges, self.concurrency, 'glacier-part')
        return tree_hash(hashes).hex(), len(kept)

    def _upload_part(self, upload_id, offset, digest, stop):
        content_range = 'bytes %d-%d/*' % (offset, offset + digest.length - 1)

        def send(body):
            return self.client.upload_multipart_part(vaultName=self.vault, uploadId=upload_id, range=content_range,
                                                     checksum=digest.tree_hash, body=body)
        try:
            self._send_with_attempts('part %s' % content_range, offset, digest, send, stop)
        except botocore.exceptions.ClientError as e:
            if error_code(e) == 'ResourceNotFoundException':
                raise UploadGone('upload %s is no longer known to the vault' % upload_id) from e
            raise

    def complete(self, upload_id, archive_tree_hash, description=None):
        reply = self.client.complete_multipart_upload(vaultName=self.vault, uploadId=upload_id,
                                                      archiveSize=str(self.size), checksum=archive_tree_hash)
        self._check_hash('the archive', archive_tree_hash, reply.get('checksum'))
        return {'archive_id': reply['archiveId'], 'tree_hash': archive_tree_hash, 'location': reply.get('location'),
                'description': description}

    @staticmethod
    def _check_hash(what, local, remote):
        if remote and remote != local:
            raise TransferError('tree hash mismatch for %s: computed %s locally, the service has %s' % (what, local, remote))


def _damaged(exc):
    """Bytes damaged in transit: the payload no longer matches x-amz-content-sha256 (403) or the tree hash (400)."""
    code = error_code(exc)
    message = exc.response.get('Error', {}).get('Message', '')
    return code == 'InvalidSignatureException' or (code == 'InvalidParameterValueException' and 'Checksum mismatch' in message)
