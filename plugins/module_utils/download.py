# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parallel, verified download of a retrieval job's output (GetJobOutput with ``Range``).

The archive is fetched in ranges of a power-of-two number of MiB, each starting at a multiple of its size, so
every range is a node of the archive's tree hash: the service sends that node (``x-amz-sha256-tree-hash``,
botocore's ``checksum``) with each range and the archive's tree hash is combined from the range hashes, without
reading the file again. Each range is streamed in 1 MiB blocks that are hashed and written at their offset
(``os.pwrite``) into a temporary file next to the destination, created 0600, so memory does not grow with the
archive or range size. The temporary file is fsynced and moved into place only when every hash matched; on any
failure it is removed, so the destination never holds a partial file.
"""

import hashlib
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils.catalog import fsync_dir
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.jobs import JobGone
from ansible_collections.coldvault.glacier.plugins.module_utils.multipart import TransferError
from ansible_collections.coldvault.glacier.plugins.module_utils.multipart import retryable
from ansible_collections.coldvault.glacier.plugins.module_utils.multipart import is_power_of_two
from ansible_collections.coldvault.glacier.plugins.module_utils.multipart import part_ranges
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, TreeHasher, tree_hash

MIN_RANGE_MIB = 1
MAX_RANGE_MIB = 4096
DEFAULT_MAX_RANGE_MIB = 64
# Attempts per range on top of botocore's own retries (throttling, 5xx, 408, dropped connections before the reply):
# these cover a body cut off mid-way and a range whose bytes do not match the tree hash the service sent.
RANGE_ATTEMPTS = 4
RANGE_BACKOFF_BASE = 0.5
RANGE_BACKOFF_MAX = 8.0
OUTPUT_ATTEMPTS = 4


def plan_range_size(size, concurrency, range_size_mib=None):
    """Range size in bytes for an archive of ``size`` bytes, or raise ValueError naming ``range_size``.

    Default: the largest power of two MiB, at most 64 MiB, that still gives every one of ``concurrency`` threads
    a range (1 MiB for small archives).
    """
    if range_size_mib is not None:
        if not is_power_of_two(range_size_mib) or not MIN_RANGE_MIB <= range_size_mib <= MAX_RANGE_MIB:
            raise ValueError('range_size must be a power of two from %d to %d (MiB), got %s'
                             % (MIN_RANGE_MIB, MAX_RANGE_MIB, range_size_mib))
        return range_size_mib * MIB
    mib = DEFAULT_MAX_RANGE_MIB
    while mib > MIN_RANGE_MIB and -(-size // (mib * MIB)) < max(concurrency, 1):
        mib //= 2
    return mib * MIB


def plan_ranges(size, range_size):
    """(offset, length) of every range; each is tree-hash aligned because ``range_size`` is a power-of-two MiB."""
    if range_size % MIB or not is_power_of_two(range_size // MIB):
        raise ValueError('a range size must be a power of two MiB, got %d bytes' % range_size)
    return part_ranges(size, range_size)


def combine(range_digests):
    """Archive tree hash (hex) from the raw tree hashes of the ranges of plan_ranges(), in order."""
    return tree_hash(range_digests).hex()


class DownloadStats:
    """Counters of one download, shared by the worker threads."""

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.started = clock()
        self.bytes_received = 0
        self.ranges = 0
        self.retries = 0

    def received(self, nbytes):
        with self._lock:
            self.bytes_received += nbytes

    def range_done(self):
        with self._lock:
            self.ranges += 1

    def retried(self):
        with self._lock:
            self.retries += 1

    def as_dict(self):
        seconds = max(self._clock() - self.started, 1e-6)
        return {
            'bytes_received': self.bytes_received,
            'ranges': self.ranges,
            'range_retries': self.retries,
            'seconds': round(seconds, 3),
            'mb_per_s': round(self.bytes_received / seconds / 1e6, 2),
        }


def open_temp(dest):
    """Create a hidden temporary file next to ``dest`` with mode 0600; return (fd, path)."""
    directory, base = os.path.split(os.path.abspath(dest))
    for dummy in range(100):
        path = os.path.join(directory, '.%s.%s.cvg-part' % (base, os.urandom(6).hex()))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.fchmod(fd, 0o600)  # whatever the umask: the content is never readable by others
        return fd, path
    raise OSError('no free temporary file name next to %s' % dest)


def remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


class JobOutput:
    """Downloads the output of one completed job of one vault with a thread-safe botocore Glacier client."""

    def __init__(self, client, vault, job_id, concurrency=4, sleep=time.sleep):
        self.client = client
        self.vault = vault
        self.job_id = job_id
        self.concurrency = concurrency
        self.stats = DownloadStats()
        self._sleep = sleep

    def _get(self, **kwargs):
        try:
            return self.client.get_job_output(vaultName=self.vault, jobId=self.job_id, **kwargs)
        except botocore.exceptions.ClientError as e:
            if error_code(e) == 'ResourceNotFoundException':
                raise JobGone('job %s is no longer known to the vault (job output expires 24 hours after the job '
                              'completes)' % self.job_id) from e
            raise

    def _backoff(self, attempt):
        self._sleep(min(RANGE_BACKOFF_MAX, RANGE_BACKOFF_BASE * 2 ** attempt) * random.uniform(0.5, 1.0))

    # -- whole output in memory (inventories) ----------------------------------------------------------------------
    def read_all(self):
        """The whole output as bytes (an inventory: there is no tree hash to check), retried when cut off."""
        for attempt in range(1, OUTPUT_ATTEMPTS + 1):
            try:
                reply = self._get()
                body = reply['body']
                try:
                    data = body.read()
                finally:
                    body.close()
                self.stats.received(len(data))
                self.stats.range_done()
                return data
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                if attempt == OUTPUT_ATTEMPTS or not retryable(e):
                    raise TransferError('downloading the output of job %s failed after %d attempt(s): %s'
                                        % (self.job_id, attempt, e)) from e
                self.stats.retried()
                self._backoff(attempt)
        return None  # not reached

    # -- archive output to a file ----------------------------------------------------------------------------------
    def to_file(self, fd, size, range_size):
        """Fetch ``size`` bytes into the open file ``fd`` in parallel ranges; return the archive tree hash (hex).

        Every range is checked against the tree hash the service sent with it and fetched again when it differs.
        """
        ranges = plan_ranges(size, range_size)
        digests = [None] * len(ranges)
        stop = threading.Event()

        def work(index, offset, length):
            if stop.is_set():
                return
            try:
                digests[index] = self._fetch_range(fd, offset, length, stop)
            except BaseException:
                stop.set()  # the other workers stop taking new ranges
                raise

        with ThreadPoolExecutor(max_workers=max(1, self.concurrency), thread_name_prefix='glacier-range') as pool:
            futures = [pool.submit(work, i, off, ln) for i, (off, ln) in enumerate(ranges)]
            errors = [f.exception() for f in as_completed(futures) if f.exception() is not None]
        if errors:
            raise errors[0]
        return combine(digests)

    def _fetch_range(self, fd, offset, length, stop):
        """One range with retries; returns its raw tree hash."""
        http_range = 'bytes=%d-%d' % (offset, offset + length - 1)
        for attempt in range(1, RANGE_ATTEMPTS + 1):
            try:
                return self._stream_range(fd, offset, length, http_range)
            except JobGone:
                raise
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError) as e:
                if attempt == RANGE_ATTEMPTS or stop.is_set() or not retryable(e):
                    raise TransferError('downloading %s of the output of job %s failed after %d attempt(s): %s'
                                        % (http_range, self.job_id, attempt, e)) from e
                self.stats.retried()
                self._backoff(attempt)
        return None  # not reached

    def _stream_range(self, fd, offset, length, http_range):
        reply = self._get(range=http_range)
        body = reply['body']
        hasher = TreeHasher()
        leaf = hashlib.sha256()
        leaf_fill = 0
        done = 0
        try:
            while done < length:
                block = body.read(min(MIB - leaf_fill, length - done))
                if not block:
                    break
                written = 0
                while written < len(block):  # pwrite may write less than asked
                    written += os.pwrite(fd, memoryview(block)[written:], offset + done + written)
                leaf.update(block)
                leaf_fill += len(block)
                done += len(block)
                self.stats.received(len(block))
                if leaf_fill == MIB:
                    hasher.add_leaf(leaf.digest())
                    leaf, leaf_fill = hashlib.sha256(), 0
            extra = body.read(1) if done == length else b''
        finally:
            body.close()
        if done != length or extra:
            raise TransferError('%s: expected %d bytes, received %s' % (http_range, length, done if not extra else 'more'))
        if leaf_fill:
            hasher.add_leaf(leaf.digest())
        digest = hasher.digest()
        remote = reply.get('checksum')
        if remote and remote.lower() != digest.hex():
            raise TransferError('tree hash mismatch for %s: the service sent %s, the bytes received hash to %s'
                                % (http_range, remote, digest.hex()))
        self.stats.range_done()
        return digest


def download_archive(client, vault, job_id, dest, size, range_size, concurrency=4, expected=None,
                     atomic_move=None, sleep=time.sleep):
    """Download the archive output of ``job_id`` to ``dest`` (verified, atomic); return (tree hash hex, stats).

    ``expected`` maps a source name ('catalog', 'job') to the tree hash it gives; each must match the combined
    hash. ``atomic_move(tmp, dest)`` moves the finished file into place (default os.replace). The temporary file
    is removed on any failure, including a failing ``atomic_move``.
    """
    output = JobOutput(client, vault, job_id, concurrency, sleep)
    fd, tmp = open_temp(dest)
    moved = False
    try:
        try:
            os.ftruncate(fd, size)  # sparse: ranges land at their offsets in any order
            archive_hash = output.to_file(fd, size, range_size)
            os.fsync(fd)
        finally:
            os.close(fd)
        for source, value in sorted((expected or {}).items()):
            if value and value.lower() != archive_hash:
                raise TransferError('tree hash mismatch for the archive: the %s has %s, the bytes received hash to %s'
                                    % (source, value, archive_hash))
        (atomic_move or os.replace)(tmp, dest)
        moved = True
    finally:
        if not moved:
            remove_quietly(tmp)
    fsync_dir(os.path.dirname(os.path.abspath(dest)))
    return archive_hash, output.stats.as_dict()
