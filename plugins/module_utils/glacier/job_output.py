# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Parallel, verified, resumable download of a retrieval job's output (GetJobOutput with ``Range``).

The archive is fetched in ranges of a power-of-two number of MiB, each starting at a multiple of its size, so
every range is a node of the archive's tree hash: the service sends that node (``x-amz-sha256-tree-hash``,
botocore's ``checksum``) with each range and the archive's tree hash is combined from the range hashes, without
reading the file again. Each range is streamed in 1 MiB blocks that are hashed and written at their offset
(``os.pwrite``) into the archive's temporary file next to the destination, so memory does not grow with the
archive or range size. That file and its journal of verified ranges are partial_download.py's: a run that is
killed or fails keeps them, and the next one, with this job or a new job for the same archive, fetches only the
ranges still missing. The file is moved into place only when the whole archive's hash matched, so the destination
never holds a partial file.
"""

import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.jobs import JobGone
from ansible_collections.coldvault.glacier.plugins.module_utils.partial_download import PartialDownload
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import (
    Attempts, Stats, TransferError, pwrite_all, read_exact)

# Attempts per range on top of botocore's own retries (throttling, 5xx, 408, dropped connections before the reply):
# these cover a body cut off mid-way and a range whose bytes do not match the tree hash the service sent.
RANGE_ATTEMPTS = 4
OUTPUT_ATTEMPTS = 4


class JobOutput:
    """Downloads the output of one completed job of one vault with a thread-safe botocore Glacier client."""

    def __init__(self, client, vault, job_id, sleep=time.sleep):
        self.client = client
        self.vault = vault
        self.job_id = job_id
        self.stats = Stats('download')
        self._sleep = sleep

    def _get(self, **kwargs):
        try:
            return self.client.get_job_output(vaultName=self.vault, jobId=self.job_id, **kwargs)
        except botocore.exceptions.ClientError as e:
            if error_code(e) == 'ResourceNotFoundException':
                raise JobGone('job %s is no longer known to the vault (job output expires 24 hours after the job '
                              'completes)' % self.job_id) from e
            raise

    def _attempts(self, count):
        return Attempts(count, fatal=(JobGone,), sleep=self._sleep, on_retry=self.stats.retried)

    # -- whole output in memory (inventories) ----------------------------------------------------------------------
    def read_all(self):
        """The whole output as bytes (an inventory: there is no tree hash to check), retried when cut off."""
        def once():
            reply = self._get()
            body = reply['body']
            try:
                data = body.read()
            finally:
                body.close()
            self.stats.moved(len(data))
            self.stats.piece_done()
            return data
        # A cut-off body is a botocore error here (it checks Content-Length); TransferError is never raised.
        return self._attempts(OUTPUT_ATTEMPTS).run('downloading the output of job %s' % self.job_id, once)

    # -- archive output to a file, one range at a time -----------------------------------------------------------
    def fetch_range(self, fd, offset, length, stop):
        """One range into the open file ``fd`` at its offset, with retries; returns its raw tree hash.

        The range is checked against the tree hash the service sent with it and fetched again when it differs.
        """
        http_range = 'bytes=%d-%d' % (offset, offset + length - 1)
        return self._attempts(RANGE_ATTEMPTS).run(
            'downloading %s of the output of job %s' % (http_range, self.job_id),
            lambda: self._stream_range(fd, offset, length, http_range), stop)

    def _stream_range(self, fd, offset, length, http_range):
        reply = self._get(range=http_range)
        digest = read_exact(reply['body'], length, http_range,
                            lambda block, done: pwrite_all(fd, block, offset + done), self.stats.moved)[0]
        remote = reply.get('checksum')
        if remote and remote.lower() != digest.hex():
            raise TransferError('tree hash mismatch for %s: the service sent %s, the bytes received hash to %s'
                                % (http_range, remote, digest.hex()))
        self.stats.piece_done()
        return digest


def archive_identity(vault_arn, archive_id):
    """What names an archive's bytes: the same for every job of it, so a new job resumes an old download."""
    return 'glacier:%s:%s' % (vault_arn, archive_id)


def download_archive(client, vault, job_id, dest, size, range_size, concurrency=4, expected=None,
                     atomic_move=None, sleep=time.sleep, identity=None):
    """Download the archive output of ``job_id`` to ``dest`` (verified, resumable, atomic); return (hash, stats).

    ``identity`` names the archive (archive_identity()); a download of the same archive to the same dest that an
    earlier run left unfinished is resumed (default: the job, so only this job's output is resumed).
    ``expected`` maps a source name ('catalog', 'job') to the tree hash it gives; each must match the combined
    hash. ``atomic_move(tmp, dest)`` moves the finished file into place (default os.replace). On a failure the
    temporary file keeps the ranges verified so far, for the next run.
    """
    output = JobOutput(client, vault, job_id, sleep)
    with PartialDownload(dest, identity or 'glacier-job:%s:%s' % (vault, job_id), size, range_size) as part:
        archive_hash = part.download(output.fetch_range, concurrency, output.stats, 'glacier-range')
        part.finish(archive_hash, expected, atomic_move)
    return archive_hash, output.stats.as_dict()
