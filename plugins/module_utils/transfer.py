# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""The transfer machinery every backend shares: a bounded worker pool, attempts with backoff, stats, file slices
and in-memory part bodies, and range planning.

The backends (``glacier/`` for the vault API) describe *what* one part or range is; this file decides *how* many
run at once, what is tried again once botocore's own retries are spent, and what the user is told about it.
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

from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, TreeHasher

BACKOFF_BASE = 0.5
BACKOFF_MAX = 8.0

MIN_RANGE_MIB = 1
MAX_RANGE_MIB = 4096
DEFAULT_MAX_RANGE_MIB = 64


class TransferError(Exception):
    """A transfer failed; the message is for the user."""


def read_exact(body, length, label, sink, moved, linear=False):
    """Read exactly ``length`` bytes of a response ``body``, hashing them as they come; closes the body.

    Blocks end on the tree hash's 1 MiB leaves, so each is hashed once. ``sink(block, done)`` takes each block
    (``done``: the bytes before it), ``moved(n)`` counts it. Returns (tree hash digest, SHA-256 digest of the bytes
    or None unless ``linear``). Raises TransferError, naming ``label``, when the body holds fewer or more bytes.
    """
    tree, leaf, whole = TreeHasher(), hashlib.sha256(), hashlib.sha256() if linear else None
    fill = done = 0
    try:
        while done < length:
            block = body.read(min(MIB - fill, length - done))
            if not block:
                break
            sink(block, done)
            leaf.update(block)
            if whole is not None:
                whole.update(block)
            fill += len(block)
            done += len(block)
            moved(len(block))
            if fill == MIB:
                tree.add_leaf(leaf.digest())
                leaf, fill = hashlib.sha256(), 0
        extra = body.read(1) if done == length else b''
    finally:
        body.close()
    if done != length or extra:
        raise TransferError('%s: expected %d bytes, received %s' % (label, length, done if not extra else 'more'))
    if fill:
        tree.add_leaf(leaf.digest())
    return tree.digest(), whole.digest() if whole is not None else None


def pwrite_all(fd, block, offset):
    """Write all of ``block`` at ``offset`` (pwrite may write less than asked)."""
    written = 0
    while written < len(block):
        written += os.pwrite(fd, memoryview(block)[written:], offset + written)


def is_power_of_two(value):
    return value > 0 and value & (value - 1) == 0


def part_ranges(size, part_size):
    """(offset, length) of every part; all but the last are exactly ``part_size``."""
    return [(offset, min(part_size, size - offset)) for offset in range(0, size, part_size)]


def plan_range_size(size, concurrency, range_size_mib=None):
    """Download range size in bytes for ``size`` bytes, or raise ValueError naming ``range_size``.

    Default: the largest power of two MiB, at most 64 MiB, that still gives every one of ``concurrency`` threads
    a range (1 MiB for small archives). A power of two MiB starting at a multiple of itself is a node of the
    SHA-256 tree hash, so the whole file's tree hash is combined from the ranges' without a second read.
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


def retryable(exc, damaged=None):
    """What is worth sending again once botocore's own retries are spent.

    ``damaged(exc)`` tells a backend's "the bytes arrived damaged" errors apart (another checksum on arrival).
    """
    if isinstance(exc, TransferError):
        return True  # the service saw other bytes than we sent, or a body was cut off
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode', 0)
        if damaged is not None and damaged(exc):
            return True
        return status >= 500 or status == 408 or error_code(exc) in ('ThrottlingException', 'RequestTimeoutException',
                                                                     'SlowDown', 'RequestTimeout')
    return True  # connection-level errors


class Attempts:
    """How often one part or range is tried in all, on top of botocore's retries, with jittered backoff.

    One policy for every transfer: what differs between callers is only the count and what ends the attempts
    early (``fatal``: an error that no retry can cure, such as an upload or job the service no longer knows).
    """

    def __init__(self, attempts, damaged=None, fatal=(), sleep=time.sleep, on_retry=None):
        self.attempts = attempts
        self.damaged = damaged
        self.fatal = tuple(fatal)
        self._sleep = sleep
        self._on_retry = on_retry

    def backoff(self, attempt):
        self._sleep(min(BACKOFF_MAX, BACKOFF_BASE * 2 ** attempt) * random.uniform(0.5, 1.0))

    def run(self, what, call, stop=None, fatal_if=None):
        """``call()`` until it returns; raise TransferError naming ``what`` once it is not worth another try.

        ``fatal_if(exc)`` is True for errors to re-raise as they are (besides the ``fatal`` classes).
        """
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except self.fatal:
                raise
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError) as e:
                if fatal_if is not None and fatal_if(e):
                    raise
                if attempt == self.attempts or (stop is not None and stop.is_set()) or not retryable(e, self.damaged):
                    raise TransferError('%s failed after %d attempt(s): %s' % (what, attempt, e)) from e
                if self._on_retry is not None:
                    self._on_retry()
                self.backoff(attempt)
        return None  # not reached


def run_parallel(work, items, concurrency, name):
    """Call ``work(index, *item)`` for every item on ``concurrency`` threads; the first error stops the rest.

    Workers that have not started yet skip their item once one failed, so a failing transfer stops quickly
    instead of sending everything else first. The first error is raised after every thread has finished.
    """
    stop = threading.Event()

    def guarded(index, item):
        if stop.is_set():
            return
        try:
            work(index, stop, *item)
        except BaseException:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix=name) as pool:
        futures = [pool.submit(guarded, i, item) for i, item in enumerate(items)]
        errors = [f.exception() for f in as_completed(futures) if f.exception() is not None]
    if errors:
        raise errors[0]


def usable_cpus():
    """The CPUs this process may run on (its affinity mask, e.g. under taskset or a cpuset), at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def run_pipeline(prepare, send, items, concurrency, name, ahead=None, preparers=None):
    """``prepare(index, stop, *item)`` each item, then ``send(index, stop, prepared)`` it, on two sets of threads.

    Up to ``concurrency`` items are sent at once while ``preparers`` threads prepare (read and hash) the next
    ones, so a connection never waits for its next part to be hashed, and the hashing of several parts never
    falls into the same moment on a busy core. At most ``concurrency + ahead`` items are held at a time,
    prepared or being sent: that bounds the memory. ``ahead`` defaults to half the concurrency (at least one),
    ``preparers`` to that or the CPUs this process may run on, whichever is fewer: more hashing threads than
    CPUs only take turns, and each one's malloc arena keeps buffers of its own.
    ``prepare`` returns None for an item that needs no sending (a part the service already holds). Items are
    taken in order; the first error stops the rest, as in run_parallel(), and is raised once every thread has
    finished.
    """
    concurrency = max(1, concurrency)
    half = max(1, concurrency // 2)
    limit = concurrency + (half if ahead is None else max(0, ahead))
    preparers = min(half, usable_cpus()) if preparers is None else max(1, preparers)
    stop = threading.Event()
    changed = threading.Condition()
    ready = []
    errors = []
    state = {'next': 0, 'held': 0, 'preparing': preparers}

    def failed(exc):
        with changed:
            errors.append(exc)
            stop.set()
            changed.notify_all()

    def preparer():
        try:
            while True:
                with changed:
                    while state['held'] >= limit and not stop.is_set():
                        changed.wait()
                    if stop.is_set() or state['next'] >= len(items):
                        return
                    index = state['next']
                    state['next'] += 1
                    state['held'] += 1
                prepared = prepare(index, stop, *items[index])
                with changed:
                    if prepared is None:
                        state['held'] -= 1
                    else:
                        ready.append((index, prepared))
                    changed.notify_all()
                prepared = None  # the part's bytes are the sender's now: hold no reference while preparing the next
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            failed(exc)
        finally:
            with changed:
                state['preparing'] -= 1
                changed.notify_all()

    def sender():
        while True:
            with changed:
                while not ready and state['preparing'] and not stop.is_set():
                    changed.wait()
                if stop.is_set() or not ready:
                    return
                index, prepared = ready.pop(0)
            try:
                send(index, stop, prepared)
            except BaseException as exc:  # pylint: disable=broad-exception-caught
                failed(exc)
                return
            finally:
                prepared = None  # free the part's bytes before a new part may be read in its place
                with changed:
                    state['held'] -= 1
                    changed.notify_all()

    threads = [threading.Thread(target=preparer, name='%s-prepare-%d' % (name, n)) for n in range(preparers)]
    threads += [threading.Thread(target=sender, name='%s-send-%d' % (name, n)) for n in range(concurrency)]
    started = []
    try:
        for thread in threads:
            thread.start()
            started.append(thread)
    except BaseException as exc:  # pylint: disable=broad-exception-caught
        failed(exc)  # e.g. "can't start new thread": the threads already running must not wait forever
    for thread in started:
        thread.join()
    if errors:
        raise errors[0]


class Stats:
    """Counters of one transfer in one direction ('upload' or 'download'), shared by the worker threads."""

    def __init__(self, direction='upload', clock=time.monotonic):
        self._lock = threading.Lock()
        self._clock = clock
        self.direction = direction
        self.started = clock()
        self.bytes = 0
        self.pieces = 0
        self.retries = 0
        self.resumed_bytes = 0
        self.resumed_pieces = 0

    def moved(self, nbytes):
        """Bytes sent or received."""
        with self._lock:
            self.bytes += nbytes

    def piece_done(self):
        """A part sent or a range received and verified."""
        with self._lock:
            self.pieces += 1

    def sent(self, nbytes):
        """A whole part of ``nbytes`` sent."""
        with self._lock:
            self.bytes += nbytes
            self.pieces += 1

    def retried(self):
        with self._lock:
            self.retries += 1

    def resumed(self, nbytes):
        """A range of ``nbytes`` that an earlier run downloaded, verified again on disk instead of fetched."""
        with self._lock:
            self.resumed_bytes += nbytes
            self.resumed_pieces += 1

    def as_dict(self, parts=None):
        seconds = max(self._clock() - self.started, 1e-6)
        rate = round(self.bytes / seconds / 1e6, 2)
        if self.direction == 'upload':
            return {'bytes_sent': self.bytes, 'parts': parts, 'parts_sent': self.pieces,
                    'seconds': round(seconds, 3), 'mb_per_s': rate}
        return {'bytes_received': self.bytes, 'ranges': self.pieces, 'range_retries': self.retries,
                'bytes_resumed': self.resumed_bytes, 'ranges_resumed': self.resumed_pieces,
                'seconds': round(seconds, 3), 'mb_per_s': rate}


class FileSlice:
    """A read-only, rewindable file object over ``length`` bytes of ``path`` from ``offset``.

    botocore streams it as a request body and seeks back to the start to retry, so a big part never sits in memory.
    """

    def __init__(self, path, offset, length):
        self._fh = open(path, 'rb')  # pylint: disable=consider-using-with  # closed by close()
        self._offset = offset
        self._length = length
        self._pos = 0
        self._fh.seek(offset)

    def __len__(self):
        return self._length

    def read(self, amt=-1):
        remaining = self._length - self._pos
        if amt is None or amt < 0 or amt > remaining:
            amt = remaining
        if amt <= 0:
            return b''
        data = self._fh.read(amt)
        self._pos += len(data)
        return data

    def seek(self, pos, whence=os.SEEK_SET):
        if whence == os.SEEK_CUR:
            pos += self._pos
        elif whence == os.SEEK_END:
            pos += self._length
        self._pos = max(0, min(pos, self._length))
        self._fh.seek(self._offset + self._pos)
        return self._pos

    def tell(self):
        return self._pos

    def close(self):
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class BlockBody:
    """A read-only, rewindable file object over a list of bytes blocks: a part received piece by piece.

    The blocks are never joined, so a part received in 1 MiB reads is sent without a second copy of it in memory.
    botocore streams it as a request body (in small reads) and seeks back to the start to retry.
    """

    def __init__(self, blocks):
        self._blocks = [block for block in blocks if block]
        self._starts = []
        total = 0
        for block in self._blocks:
            self._starts.append(total)
            total += len(block)
        self._length = total
        self._pos = 0
        self._index = 0  # the block that holds self._pos (or len(blocks) at the end)

    def __len__(self):
        return self._length

    def read(self, amt=-1):
        remaining = self._length - self._pos
        if amt is None or amt < 0 or amt > remaining:
            amt = remaining
        pieces = [b'']
        while amt > 0:
            block = self._blocks[self._index]
            start = self._pos - self._starts[self._index]
            piece = block[start:start + amt]
            pieces.append(piece)
            amt -= len(piece)
            self._pos += len(piece)
            if start + len(piece) == len(block):
                self._index += 1
        return pieces[-1] if len(pieces) <= 2 else b''.join(pieces)

    def seek(self, pos, whence=os.SEEK_SET):
        if whence == os.SEEK_CUR:
            pos += self._pos
        elif whence == os.SEEK_END:
            pos += self._length
        self._pos = max(0, min(pos, self._length))
        self._index = 0
        while self._index < len(self._blocks) and self._starts[self._index] + len(self._blocks[self._index]) <= self._pos:
            self._index += 1
        return self._pos

    def tell(self):
        return self._pos

    def close(self):
        pass  # the blocks belong to the caller
