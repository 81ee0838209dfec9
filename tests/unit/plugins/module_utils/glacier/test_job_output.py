# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Range planning, tree-hash combination and the verified, resumable parallel download, against a fake Glacier."""

import os
import re
import stat
import threading

import botocore.exceptions
import pytest
from botocore.utils import calculate_tree_hash
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import job_output
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.job_output import (
    JobOutput, archive_identity, download_archive)
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.jobs import JobGone
from ansible_collections.coldvault.glacier.plugins.module_utils.partial_download import part_path
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError, plan_ranges
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, TreeHasher, tree_hash

GIB = 1024 * MIB


def tree_hash_of(data):
    return calculate_tree_hash(_Reader(data))


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, amt=-1):
        amt = len(self.data) - self.pos if amt is None or amt < 0 else amt
        chunk = self.data[self.pos:self.pos + amt]
        self.pos += len(chunk)
        return chunk


def client_error(code, status):
    return botocore.exceptions.ClientError(
        {'Error': {'Code': code, 'Message': code}, 'ResponseMetadata': {'HTTPStatusCode': status}}, 'GetJobOutput')


class FakeBody:
    """A streaming body that may be cut short; records the largest read asked for."""

    def __init__(self, data, cut=None, owner=None):
        self.data = data if cut is None else data[:cut]
        self.pos = 0
        self.owner = owner
        self.closed = False

    def read(self, amt=None):
        if self.owner is not None:
            self.owner.max_read = max(self.owner.max_read, amt or 0)
        amt = len(self.data) - self.pos if amt is None else amt
        chunk = self.data[self.pos:self.pos + min(amt, 300000)]  # short reads, as sockets give
        self.pos += len(chunk)
        return chunk

    def close(self):
        self.closed = True


class FakeGlacier:
    """GetJobOutput over ``data`` with per-call faults: 'corrupt', 'cut', '500', '404', 'wrong-checksum'."""

    def __init__(self, data, faults=None):
        self.data = data
        self.faults = dict(faults or {})  # call number (1-based) -> kind
        self.calls = []
        self.max_read = 0
        self.lock = threading.Lock()
        self.on_call = None

    def get_job_output(self, vaultName, jobId, range=None):  # pylint: disable=redefined-builtin
        with self.lock:
            self.calls.append(range)
            number = len(self.calls)
        if self.on_call:
            self.on_call(number)
        kind = self.faults.get(number)
        if range:
            first, last = (int(x) for x in re.match(r'bytes=(\d+)-(\d+)', range).groups())
        else:
            first, last = 0, len(self.data) - 1
        chunk = self.data[first:last + 1]
        checksum = tree_hash_of(chunk) if range else None
        if kind == '500':
            raise client_error('ServiceUnavailableException', 500)
        if kind == '404':
            raise client_error('ResourceNotFoundException', 404)
        if kind == '400':
            raise client_error('InvalidParameterValueException', 400)
        if kind == 'corrupt':
            chunk = bytes([chunk[0] ^ 0xFF]) + chunk[1:]
        if kind == 'wrong-checksum':
            checksum = 'ab' * 32
        body = FakeBody(chunk, cut=len(chunk) // 2 if kind == 'cut' else None, owner=self)
        return {'body': body, 'checksum': checksum, 'status': 206 if range else 200}


def no_sleep(seconds):
    return None


# --- planning ---------------------------------------------------------------------------------------------------

def test_plan_ranges_refuses_a_range_that_is_no_tree_node():
    with pytest.raises(ValueError):
        plan_ranges(10 * MIB, 3 * MIB)
    with pytest.raises(ValueError):
        plan_ranges(10 * MIB, MIB + 1)


@given(size=st.integers(min_value=1, max_value=9 * MIB), mib=st.sampled_from([1, 2, 4, 8]))
@settings(max_examples=40, deadline=None)
def test_range_hashes_combine_into_the_archive_hash(size, mib):
    data = os.urandom(size)
    ranges = plan_ranges(size, mib * MIB)
    assert sum(length for dummy, length in ranges) == size
    digests = [bytes.fromhex(tree_hash_of(data[off:off + ln])) for off, ln in ranges]
    assert tree_hash(digests).hex() == tree_hash_of(data)


def test_combining_nodes_matches_tree_hash_of_leaves():
    leaves = [os.urandom(32) for dummy in range(7)]
    hasher = TreeHasher()
    for leaf in leaves:
        hasher.add_leaf(leaf)
    assert tree_hash([tree_hash(leaves[:4]), tree_hash(leaves[4:])]).hex() == hasher.hexdigest()


# --- download ---------------------------------------------------------------------------------------------------

def leftovers(directory):
    return [name for name in os.listdir(directory) if '.cvg-part' in name]


@pytest.mark.parametrize('size', [1, MIB - 1, MIB, MIB + 1, 5 * MIB + 12345])
def test_download_writes_the_exact_bytes(tmp_path, size):
    data = os.urandom(size)
    fake = FakeGlacier(data)
    dest = str(tmp_path / 'out.bin')
    archive_hash, stats = download_archive(fake, 'v', 'job', dest, size, MIB, concurrency=3,
                                           expected={'catalog': tree_hash_of(data)}, sleep=no_sleep)
    assert open(dest, 'rb').read() == data
    assert archive_hash == tree_hash_of(data)
    assert stats['bytes_received'] == size and stats['ranges'] == -(-size // MIB) and stats['range_retries'] == 0
    assert fake.max_read <= MIB  # bounded memory: never more than 1 MiB asked of a body at once
    assert leftovers(tmp_path) == []


def test_temporary_file_is_private_from_the_start(tmp_path):
    data = os.urandom(2 * MIB)
    fake = FakeGlacier(data)
    seen = []

    def look(dummy):
        for name in leftovers(tmp_path):
            seen.append(stat.S_IMODE(os.stat(str(tmp_path / name)).st_mode))
    fake.on_call = look
    old = os.umask(0)
    try:
        download_archive(fake, 'v', 'job', str(tmp_path / 'out'), len(data), MIB, concurrency=1, sleep=no_sleep)
    finally:
        os.umask(old)
    assert seen and set(seen) == {0o600}


@pytest.mark.parametrize('kind', ['corrupt', 'cut', '500', 'wrong-checksum'])
def test_a_bad_range_is_fetched_again(tmp_path, kind):
    data = os.urandom(4 * MIB + 7)
    fake = FakeGlacier(data, faults={2: kind})
    dest = str(tmp_path / 'out.bin')
    archive_hash, stats = download_archive(fake, 'v', 'job', dest, len(data), MIB, concurrency=1, sleep=no_sleep)
    assert open(dest, 'rb').read() == data
    assert archive_hash == tree_hash_of(data)
    assert len(fake.calls) == 6 and fake.calls[1] == fake.calls[2]
    assert stats['range_retries'] == 1


def test_persistent_corruption_fails_and_leaves_nothing(tmp_path):
    data = os.urandom(3 * MIB)
    fake = FakeGlacier(data, faults={n: 'corrupt' for n in range(1, 20)})
    dest = tmp_path / 'out.bin'
    with pytest.raises(TransferError, match=r'bytes=0-1048575 .* after 4 attempt\(s\): tree hash mismatch'):
        download_archive(fake, 'v', 'job', str(dest), len(data), MIB, concurrency=1, sleep=no_sleep)
    assert len(fake.calls) == 4  # the other ranges were not started once one failed for good
    assert not dest.exists()
    assert leftovers(tmp_path) == []


def test_failure_keeps_an_existing_dest(tmp_path):
    dest = tmp_path / 'out.bin'
    dest.write_bytes(b'old content')
    fake = FakeGlacier(os.urandom(MIB), faults={1: '400'})
    with pytest.raises(TransferError, match='after 1 attempt'):
        download_archive(fake, 'v', 'job', str(dest), MIB, MIB, sleep=no_sleep)
    assert dest.read_bytes() == b'old content'
    assert leftovers(tmp_path) == []


def test_unknown_job_is_job_gone(tmp_path):
    fake = FakeGlacier(os.urandom(MIB), faults={1: '404'})
    with pytest.raises(JobGone, match='no longer known'):
        download_archive(fake, 'v', 'job', str(tmp_path / 'out'), MIB, MIB, sleep=no_sleep)
    assert leftovers(tmp_path) == []


def test_whole_archive_hash_must_match_catalog_and_job(tmp_path):
    data = os.urandom(2 * MIB + 5)
    dest = tmp_path / 'out.bin'
    with pytest.raises(TransferError, match='the catalog has ' + 'cd' * 32):
        download_archive(FakeGlacier(data), 'v', 'job', str(dest), len(data), MIB,
                         expected={'catalog': 'cd' * 32, 'job': tree_hash_of(data)}, sleep=no_sleep)
    assert not dest.exists() and leftovers(tmp_path) == []


def test_failing_move_keeps_the_verified_file_for_the_next_run(tmp_path):
    def broken_move(src, dst):
        raise OSError('disk on fire')
    data = os.urandom(2 * MIB)
    dest = str(tmp_path / 'out')
    with pytest.raises(OSError, match='disk on fire'):
        download_archive(FakeGlacier(data), 'v', 'job', dest, len(data), MIB, atomic_move=broken_move, sleep=no_sleep,
                         identity='A')
    assert len(leftovers(tmp_path)) == 2  # the file and its journal
    fake = FakeGlacier(data)
    dummy, stats = download_archive(fake, 'v', 'job', dest, len(data), MIB, sleep=no_sleep, identity='A')
    assert fake.calls == [] and stats['bytes_resumed'] == len(data) and stats['bytes_received'] == 0
    assert open(dest, 'rb').read() == data and leftovers(tmp_path) == []


def test_a_download_that_failed_resumes_with_a_new_job(tmp_path):
    """The job expired (404) after 3 of 6 ranges: a new job of the same archive fetches only the other 3."""
    data = os.urandom(6 * MIB)
    dest = str(tmp_path / 'out.bin')
    identity = archive_identity('arn:aws:glacier:us-east-1:123456789012:vaults/v', 'ARCHIVE')
    (tmp_path / '.out.bin.0a1b2c3d4e5f.cvg-part').write_bytes(b'left by an earlier version')
    first = FakeGlacier(data, faults={4: '404'})
    with pytest.raises(JobGone):
        download_archive(first, 'v', 'old-job', dest, len(data), MIB, concurrency=1, sleep=no_sleep, identity=identity)
    assert first.calls == ['bytes=%d-%d' % (n * MIB, (n + 1) * MIB - 1) for n in range(4)]
    part = os.path.basename(part_path(dest, identity))
    assert sorted(leftovers(tmp_path)) == [part, part + '.jsonl']  # the earlier version's random file is gone
    second = FakeGlacier(data)
    archive_hash, stats = download_archive(second, 'v', 'new-job', dest, len(data), MIB, concurrency=2,
                                           expected={'catalog': tree_hash_of(data)}, sleep=no_sleep, identity=identity)
    assert sorted(second.calls) == ['bytes=%d-%d' % (n * MIB, (n + 1) * MIB - 1) for n in range(3, 6)]
    assert stats['bytes_received'] == 3 * MIB and stats['bytes_resumed'] == 3 * MIB and stats['ranges_resumed'] == 3
    assert archive_hash == tree_hash_of(data) and open(dest, 'rb').read() == data
    assert leftovers(tmp_path) == []


def test_read_all_retries_a_cut_body():
    data = b'{"ArchiveList": []}' * 1000
    fake = FakeGlacier(data, faults={1: 'cut'})
    # A cut body without a range: botocore would raise IncompleteReadError; the fake returns fewer bytes, so use 500.
    fake.faults = {1: '500'}
    assert JobOutput(fake, 'v', 'job', sleep=no_sleep).read_all() == data
    assert len(fake.calls) == 2 and fake.calls == [None, None]


def test_range_attempts_constant_is_what_the_docs_say():
    assert job_output.RANGE_ATTEMPTS == 4
