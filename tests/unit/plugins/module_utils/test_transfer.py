# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transfer machinery every backend shares: planning, file slices, the worker pool, attempts, stats."""

import hashlib
import os
import threading
import weakref

import botocore.exceptions
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.coldvault.glacier.plugins.module_utils import transfer
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import (
    Attempts, BlockBody, FileSlice, Stats, TransferError, is_power_of_two, part_ranges, plan_range_size, read_exact,
    retryable, run_parallel, run_pipeline)
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, tree_hash

GIB = 1024 * MIB


def client_error(code, status, message=None):
    return botocore.exceptions.ClientError(
        {'Error': {'Code': code, 'Message': message or code}, 'ResponseMetadata': {'HTTPStatusCode': status}}, 'Op')


# --- planning ---------------------------------------------------------------------------------------------------

@given(size=st.integers(min_value=1, max_value=64 * MIB), mib=st.sampled_from([1, 2, 4, 8]))
@settings(max_examples=200, deadline=None)
def test_part_ranges_cover_the_file_with_aligned_parts(size, mib):
    part_size = mib * MIB
    ranges = part_ranges(size, part_size)
    assert sum(length for dummy, length in ranges) == size
    assert all(offset % part_size == 0 for offset, dummy in ranges)
    assert all(length == part_size for dummy, length in ranges[:-1])
    assert 0 < ranges[-1][1] <= part_size
    assert [o for o, dummy in ranges] == sorted({o for o, dummy in ranges})


def test_is_power_of_two():
    assert [n for n in range(0, 70) if is_power_of_two(n)] == [1, 2, 4, 8, 16, 32, 64]


def test_file_slice_reads_only_its_range_and_rewinds(tmp_path):
    path = tmp_path / 'f'
    path.write_bytes(bytes(range(256)) * 4)
    with FileSlice(str(path), 100, 50) as body:
        assert len(body) == 50
        assert body.read(10) == bytes(range(100, 110))
        assert body.tell() == 10
        assert body.read() == bytes(range(110, 150))
        assert body.read() == b''
        body.seek(0)  # botocore rewinds a body to retry a request
        assert body.read(-1) == bytes(range(100, 150))
        assert body.seek(0, os.SEEK_END) == 50
        assert body.seek(-5, os.SEEK_CUR) == 45
        assert body.read(100) == bytes(range(145, 150))


@pytest.mark.parametrize('size, concurrency, expected_mib', [
    (1, 4, 1),
    (5 * MIB, 4, 1),
    (100 * MIB, 4, 32),
    (100 * MIB, 8, 8),
    (100 * MIB, 1, 64),
    (10 * GIB, 4, 64),
    (10 * GIB, 64, 64),
    (3 * MIB, 64, 1),
])
def test_default_range_size_feeds_every_thread_up_to_64_mib(size, concurrency, expected_mib):
    assert plan_range_size(size, concurrency) == expected_mib * MIB


@pytest.mark.parametrize('mib', [0, 3, 6, 8192, -1])
def test_invalid_range_size_names_the_parameter(mib):
    with pytest.raises(ValueError, match='range_size must be a power of two from 1 to 4096'):
        plan_range_size(10, 4, mib)


def test_given_range_size_is_used():
    assert plan_range_size(GIB, 4, 2) == 2 * MIB


# --- attempts ---------------------------------------------------------------------------------------------------

class Sleeps:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


def test_attempts_retry_what_botocore_gave_up_on_then_name_what_failed():
    sleeps, retried = Sleeps(), []
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise client_error('ServiceUnavailableException', 503)
        return 'done'
    policy = Attempts(3, sleep=sleeps, on_retry=lambda: retried.append(1))
    assert policy.run('sending part 1', flaky) == 'done'
    assert len(calls) == 3 and len(sleeps.calls) == 2 and len(retried) == 2
    assert all(0 < s <= 8.0 for s in sleeps.calls)

    calls.clear()
    with pytest.raises(TransferError, match=r'sending part 1 failed after 2 attempt\(s\)'):
        Attempts(2, sleep=sleeps).run('sending part 1', flaky)
    assert len(calls) == 2


def test_attempts_stop_at_once_on_a_client_error_fatal_or_stopped():
    sleeps = Sleeps()
    calls = []

    def denied():
        calls.append(1)
        raise client_error('AccessDeniedException', 403)
    with pytest.raises(TransferError, match=r'after 1 attempt'):
        Attempts(5, sleep=sleeps).run('x', denied)
    assert len(calls) == 1 and sleeps.calls == []

    class Gone(Exception):
        pass

    def gone():
        raise Gone('upload expired')
    with pytest.raises(Gone):
        Attempts(5, fatal=(Gone,), sleep=sleeps).run('x', gone)

    def not_found():
        raise client_error('ResourceNotFoundException', 404)
    with pytest.raises(botocore.exceptions.ClientError):
        Attempts(5, sleep=sleeps).run('x', not_found, fatal_if=lambda e: True)

    stop = threading.Event()
    stop.set()
    calls.clear()

    def busy():
        calls.append(1)
        raise client_error('ServiceUnavailableException', 503)
    with pytest.raises(TransferError, match='after 1 attempt'):
        Attempts(5, sleep=sleeps).run('x', busy, stop)
    assert len(calls) == 1


@pytest.mark.parametrize('exc, damaged, expected', [
    (client_error('ServiceUnavailableException', 503), None, True),
    (client_error('RequestTimeoutException', 408), None, True),
    (client_error('ThrottlingException', 400), None, True),
    (client_error('SlowDown', 503), None, True),
    (client_error('InvalidParameterValueException', 400), None, False),
    (client_error('BadDigest', 400), lambda e: True, True),
    (TransferError('hash mismatch'), None, True),
    (botocore.exceptions.EndpointConnectionError(endpoint_url='http://x'), None, True),
])
def test_retryable(exc, damaged, expected):
    assert retryable(exc, damaged) is expected


# --- the pool ---------------------------------------------------------------------------------------------------

def test_run_parallel_runs_every_item_with_its_index():
    seen = {}
    lock = threading.Lock()

    def work(index, stop, a, b):
        with lock:
            seen[index] = a + b
    run_parallel(work, [(1, 2), (3, 4), (5, 6)], 2, 'test')
    assert seen == {0: 3, 1: 7, 2: 11}


def test_run_parallel_first_error_stops_the_items_not_started():
    started = []

    def work(index, stop, value):
        started.append(index)
        if index == 0:
            raise ValueError('part 0 broke')
    with pytest.raises(ValueError, match='part 0 broke'):
        run_parallel(work, [(i,) for i in range(50)], 1, 'test')  # one thread: items run in order
    assert started == [0]


def pipeline_ends(*args, **kwargs):
    """run_pipeline(*args) in a thread: its error (or None), failing the test instead of hanging it."""
    outcome = []

    def run():
        try:
            run_pipeline(*args, **kwargs)
            outcome.append(None)
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            outcome.append(exc)
    runner = threading.Thread(target=run)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), 'run_pipeline did not return'
    return outcome[0]


def test_run_pipeline_prepares_every_item_and_sends_what_it_returns():
    sent = {}
    lock = threading.Lock()

    def prepare(index, stop, a, b):
        return None if a == 3 else a + b  # None: nothing to send (a part the service already holds)

    def send(index, stop, prepared):
        with lock:
            sent[index] = prepared
    run_pipeline(prepare, send, [(1, 2), (3, 4), (5, 6), (7, 8)], 2, 'test')
    assert sent == {0: 3, 2: 11, 3: 15}


@pytest.mark.parametrize('concurrency, ahead, preparers, limit', [
    (4, None, None, 6), (4, None, 3, 6), (1, None, None, 2), (3, 0, 1, 3), (2, 3, 2, 5)])
def test_run_pipeline_holds_at_most_concurrency_plus_ahead_items(concurrency, ahead, preparers, limit):
    """Item i is prepared only once i - limit + 1 items are sent, and the senders are held until ``limit`` items
    are prepared: the pipeline runs exactly that far ahead, no further."""
    lock = threading.Lock()
    counts = {'prepared': 0, 'sent': 0}
    full = threading.Event()
    too_early = []

    def prepare(index, stop, value):
        with lock:
            if counts['sent'] < index - limit + 1:
                too_early.append((index, counts['sent']))
            counts['prepared'] += 1
            if counts['prepared'] == limit:
                full.set()
        return value

    def send(index, stop, prepared):
        assert full.wait(30), 'the pipeline never held %d items' % limit
        with lock:
            counts['sent'] += 1
    run_pipeline(prepare, send, [(i,) for i in range(20)], concurrency, 'test', ahead=ahead, preparers=preparers)
    assert too_early == []
    assert counts == {'prepared': 20, 'sent': 20}


def test_run_pipeline_send_error_stops_the_rest_and_is_raised():
    prepared = []

    def prepare(index, stop, value):
        prepared.append(index)
        return value

    def send(index, stop, value):
        if value == 0:
            raise ValueError('part 0 broke')
        assert stop.wait(30), 'the failure never reached the other senders'
    error = pipeline_ends(prepare, send, [(i,) for i in range(50)], 2, 'test', ahead=1)
    assert isinstance(error, ValueError) and str(error) == 'part 0 broke'
    assert len(prepared) < 50  # the items after the failure were never prepared


def test_run_pipeline_prepare_error_releases_the_waiting_senders():
    sent = []

    def prepare(index, stop, value):
        if index == 3:
            raise OSError('read failed')
        return value

    def send(index, stop, value):
        sent.append(value)
    error = pipeline_ends(prepare, send, [(i,) for i in range(10)], 1, 'test', ahead=0)
    assert isinstance(error, OSError) and str(error) == 'read failed'
    assert sent == [0, 1, 2]  # one preparer, one sender, no lookahead: the items before the failure, in order


@pytest.mark.parametrize('concurrency, ahead, preparers', [(4, None, None), (8, 0, 8), (8, None, 4), (2, 0, 1)])
def test_run_pipeline_frees_each_part_before_preparing_one_beyond_the_limit(concurrency, ahead, preparers):
    """No thread keeps a part it handed on (a preparer) or has sent (a sender): when an item is prepared, fewer
    than ``limit`` earlier parts are still alive."""
    class Part:
        pass
    limit = concurrency + (max(1, concurrency // 2) if ahead is None else ahead)
    alive = weakref.WeakSet()
    lock = threading.Lock()
    peak = [0]

    def prepare(index, stop, value):
        part = Part()
        with lock:
            peak[0] = max(peak[0], len(alive))
            alive.add(part)
        return part
    assert pipeline_ends(prepare, lambda index, stop, part: None, [(i,) for i in range(400)], concurrency, 'test',
                         ahead=ahead, preparers=preparers) is None
    assert peak[0] <= limit - 1


def test_run_pipeline_thread_that_cannot_start_stops_the_others(monkeypatch):
    started = []

    class Limited(threading.Thread):
        def start(self):
            if self.name.startswith('test-'):
                if len(started) == 2:
                    raise RuntimeError("can't start new thread")
                started.append(self.name)
                self.daemon = True  # were one left waiting by the code under test, it must not hang pytest's exit
            super().start()
    monkeypatch.setattr(threading, 'Thread', Limited)
    error = pipeline_ends(lambda index, stop, value: value, lambda index, stop, value: None, [(i,) for i in range(50)],
                          4, 'test', preparers=2)
    assert isinstance(error, RuntimeError) and "can't start" in str(error)
    assert started == ['test-prepare-0', 'test-prepare-1']
    # both preparers ran, filled the limit, and were released and joined before the error was raised
    assert [t.name for t in threading.enumerate() if t.name.startswith('test-')] == []


@pytest.mark.parametrize('cpus, concurrency, expected', [(1, 4, 1), (2, 4, 2), (8, 4, 2), (8, 16, 8), (3, 1, 1)])
def test_run_pipeline_hashes_on_no_more_threads_than_cpus_or_half_the_concurrency(monkeypatch, cpus, concurrency, expected):
    monkeypatch.setattr(transfer.os, 'sched_getaffinity', lambda pid: set(range(cpus)), raising=False)
    started = []

    class Counted(threading.Thread):
        def start(self):
            started.append(self.name)
            super().start()
    monkeypatch.setattr(threading, 'Thread', Counted)
    run_pipeline(lambda index, stop, value: value, lambda index, stop, value: None, [(i,) for i in range(40)], concurrency, 'test')
    assert len([name for name in started if name.startswith('test-prepare-')]) == expected
    assert len([name for name in started if name.startswith('test-send-')]) == concurrency
    assert transfer.usable_cpus() == cpus


# --- stats ------------------------------------------------------------------------------------------------------

def test_stats_report_each_direction_under_its_documented_keys():
    ticks = iter([100.0, 102.0])
    up = Stats('upload', clock=lambda: next(ticks))
    up.sent(4 * 10 ** 6)
    assert up.as_dict(parts=3) == {'bytes_sent': 4000000, 'parts': 3, 'parts_sent': 1, 'seconds': 2.0, 'mb_per_s': 2.0}

    ticks = iter([0.0, 4.0])
    down = Stats('download', clock=lambda: next(ticks))
    down.moved(6 * 10 ** 6)
    down.moved(2 * 10 ** 6)
    down.piece_done()
    down.retried()
    down.resumed(3 * 10 ** 6)
    assert down.as_dict() == {'bytes_received': 8000000, 'ranges': 1, 'range_retries': 1, 'bytes_resumed': 3000000,
                              'ranges_resumed': 1, 'seconds': 4.0, 'mb_per_s': 2.0}


# --- block body -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('sizes, reads', [
    ([5, 3, 8], [4, 4, 4, 4, 4]),
    ([1], [1, 1]),
    ([16, 0, 16], [7, 9, 16, 1]),
    ([1000, 2000, 1], [16384]),
])
def test_block_body_reads_the_blocks_in_order_without_joining_one(sizes, reads):
    blocks = [os.urandom(size) for size in sizes]
    data = b''.join(blocks)
    body = BlockBody(blocks)
    assert len(body) == len(data)
    got = b''.join(body.read(amt) for amt in reads)
    assert got == data[:sum(reads)]
    assert body.tell() == min(sum(reads), len(data))
    assert body.read() == data[sum(reads):]
    assert body.read(10) == b''
    # A read inside one block returns that block's bytes: nothing was joined into a copy of the part.
    body.seek(0)
    assert body.read(sizes[0]) == blocks[0]
    # botocore rewinds a body to retry a request; SEEK_CUR and SEEK_END as for a file.
    assert body.seek(0) == 0
    assert body.read(-1) == data
    assert body.seek(-1, os.SEEK_END) == len(data) - 1
    assert body.read() == data[-1:]
    assert body.seek(-len(data) - 5, os.SEEK_CUR) == 0
    body.seek(len(data) // 2)
    assert body.read() == data[len(data) // 2:]


class Body(object):
    """A response body that hands out at most ``chunk`` bytes per read, and records reads and closing."""

    def __init__(self, data, chunk=3 * MIB):
        self.data, self.chunk, self.pos, self.closed, self.asked = data, chunk, 0, False, []

    def read(self, size):
        self.asked.append(size)
        block = self.data[self.pos:self.pos + min(size, self.chunk)]
        self.pos += len(block)
        return block

    def close(self):
        self.closed = True


@pytest.mark.parametrize('size', [0, 1, MIB, 2 * MIB + 5])
def test_read_exact_hashes_what_it_hands_on_in_leaf_sized_blocks(size):
    data = os.urandom(size)
    body, got, moved = Body(data, chunk=700 * 1024), [], []
    tree, linear = read_exact(body, size, 'bytes=0-%d' % (size - 1), lambda b, done: got.append((done, b)),
                              moved.append, linear=True)
    assert b''.join(b for dummy, b in got) == data and [d for d, dummy in got] == [sum(moved[:i]) for i in range(len(got))]
    assert linear == hashlib.sha256(data).digest() and body.closed
    assert tree == tree_hash([hashlib.sha256(data[i:i + MIB]).digest() for i in range(0, size, MIB)])
    # No block spans two 1 MiB leaves.
    assert all(done // MIB == (done + len(b) - 1) // MIB for done, b in got)


def test_read_exact_without_linear_hash_and_bodies_of_the_wrong_length():
    assert read_exact(Body(b'abc'), 3, 'r', lambda b, d: None, lambda n: None)[1] is None
    with pytest.raises(TransferError, match=r'^bytes=0-9: expected 10 bytes, received 3$'):
        read_exact(Body(b'abc'), 10, 'bytes=0-9', lambda b, d: None, lambda n: None)
    longer = Body(b'abcd')
    with pytest.raises(TransferError, match=r'^r: expected 3 bytes, received more$'):
        read_exact(longer, 3, 'r', lambda b, d: None, lambda n: None)
    assert longer.closed
