# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import binascii
import hashlib
import io
import random

import pytest
from botocore.utils import calculate_tree_hash
from hypothesis import given, settings, strategies as st

from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import (
    EMPTY_TREE_HASH,
    MIB,
    PartHash,
    TreeHasher,
    TreeHashError,
    file_tree_hash,
    hash_part,
    tree_hash,
    tree_hash_hex,
)

# One random buffer shared by all tests; slices of it are the "files".
DATA = random.Random(20120601).randbytes(10 * MIB + 7)


def reference(data):
    return calculate_tree_hash(io.BytesIO(data))


def sha(data):
    return hashlib.sha256(data).digest()


def naive_tree(digests):
    """The documented algorithm, written as plainly as possible."""
    level = list(digests)
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level), 2):
            nxt.append(sha(level[i] + level[i + 1]) if i + 1 < len(level) else level[i])
        level = nxt
    return level[0]


class CountingFile(io.BytesIO):
    """Records every read as (position, bytes returned); optionally returns short reads."""

    def __init__(self, data, max_read=None):
        super().__init__(data)
        self.reads = []
        self.max_read = max_read

    def read(self, size=-1):
        if self.max_read is not None and (size is None or size < 0 or size > self.max_read):
            size = self.max_read
        pos = self.tell()
        chunk = super().read(size)
        self.reads.append((pos, len(chunk)))
        return chunk


SIZES = [1, 2, 1000, MIB - 1, MIB, MIB + 1, 2 * MIB, 3 * MIB - 1, 3 * MIB, 4 * MIB + 5, 7 * MIB + 3, 8 * MIB, 9 * MIB + 1]


@pytest.mark.parametrize('size', SIZES)
def test_hash_part_whole_matches_botocore(size):
    data = DATA[:size]
    digest = hash_part(io.BytesIO(data), 0, size)
    assert digest.tree_hash == reference(data)
    assert digest.tree_hash_raw == binascii.unhexlify(digest.tree_hash)
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.length == size
    assert digest.data is None


@pytest.mark.parametrize('size', SIZES)
def test_file_tree_hash_matches_botocore(tmp_path, size):
    path = tmp_path / 'f'
    path.write_bytes(DATA[:size])
    assert file_tree_hash(str(path)) == reference(DATA[:size])


def test_empty_is_sha256_of_nothing(tmp_path):
    # Glacier has no empty archives; we return what botocore and the other SDKs return.
    assert EMPTY_TREE_HASH == 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    assert reference(b'') == EMPTY_TREE_HASH
    assert binascii.hexlify(tree_hash([])).decode() == EMPTY_TREE_HASH
    assert hash_part(io.BytesIO(b''), 0, 0).tree_hash == EMPTY_TREE_HASH
    path = tmp_path / 'empty'
    path.write_bytes(b'')
    assert file_tree_hash(str(path)) == EMPTY_TREE_HASH


def test_small_data_is_plain_sha256():
    # Documented: for at most 1 MiB the tree hash is the SHA-256 ("test" is the usual example).
    assert hash_part(io.BytesIO(b'test'), 0, 4).tree_hash == '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
    assert hash_part(io.BytesIO(DATA[:MIB]), 0, MIB).tree_hash == hashlib.sha256(DATA[:MIB]).hexdigest()


def test_documented_seven_chunk_example():
    # The developer guide's worked example: a 6.5 MB payload gives 7 leaves (the last one short);
    # level 1 pairs 1-2, 3-4, 5-6 and carries 7 up; level 2 pairs (12,34) and (56,7); the root pairs those.
    size = 6 * MIB + MIB // 2
    data = DATA[:size]
    h = [sha(data[i:i + MIB]) for i in range(0, size, MIB)]
    assert len(h) == 7
    root = sha(sha(sha(h[0] + h[1]) + sha(h[2] + h[3])) + sha(sha(h[4] + h[5]) + h[6]))
    assert hash_part(io.BytesIO(data), 0, size).tree_hash_raw == root
    assert reference(data) == binascii.hexlify(root).decode()


@pytest.mark.parametrize('part_mib', [1, 2, 4])
@pytest.mark.parametrize('size', [1, MIB, 4 * MIB, 5 * MIB - 1, 7 * MIB + 3, 8 * MIB, 9 * MIB + 1, 10 * MIB + 7])
def test_part_hashes_combine_to_archive_hash(part_mib, size):
    part_size = part_mib * MIB
    data = DATA[:size]
    fileobj = io.BytesIO(data)
    parts = [hash_part(fileobj, offset, min(part_size, size - offset)) for offset in range(0, size, part_size)]
    assert binascii.hexlify(tree_hash([p.tree_hash_raw for p in parts])).decode() == reference(data)
    assert tree_hash_hex([p.tree_hash for p in parts]) == reference(data)
    # Each part's own hash is what botocore computes for that part as a body.
    for index, part in enumerate(parts):
        assert part.tree_hash == reference(data[index * part_size:(index + 1) * part_size])


@pytest.mark.parametrize('offset,length', [(0, 3 * MIB + 17), (2 * MIB, 2 * MIB), (4 * MIB, 3), (8 * MIB, 2 * MIB + 7)])
def test_hash_part_reads_each_byte_once(offset, length):
    fileobj = CountingFile(DATA)
    digest = hash_part(fileobj, offset, length, keep=True)
    assert digest.data == DATA[offset:offset + length]
    # Kept bytes come from one read of the whole range (no copy to join them), every byte exactly once.
    assert fileobj.reads == [(offset, length)]


@pytest.mark.parametrize('offset,length', [(0, 3 * MIB + 17), (8 * MIB, 2 * MIB + 7)])
def test_hash_part_streams_in_mib_reads_when_not_kept(offset, length):
    fileobj = CountingFile(DATA)
    assert hash_part(fileobj, offset, length).tree_hash == reference(DATA[offset:offset + length])
    assert sum(n for dummy, n in fileobj.reads) == length
    assert len(fileobj.reads) == -(-length // MIB)  # one read per MiB, nothing more: memory stays bounded
    expected_pos = offset
    for pos, n in fileobj.reads:
        assert pos == expected_pos and 0 < n <= MIB
        expected_pos += n


def test_hash_part_survives_short_reads():
    fileobj = CountingFile(DATA, max_read=100000)
    digest = hash_part(fileobj, MIB, 3 * MIB + 5, keep=True)
    assert digest.tree_hash == reference(DATA[MIB:4 * MIB + 5])
    assert digest.data == DATA[MIB:4 * MIB + 5]
    assert sum(n for dummy, n in fileobj.reads) == 3 * MIB + 5


def test_keep_false_keeps_nothing():
    assert hash_part(io.BytesIO(DATA), 0, MIB + 1).data is None


@pytest.mark.parametrize('size,length', [(10, 11), (2 * MIB, 3 * MIB), (MIB, MIB + 1), (0, 1)])
def test_short_file_raises(size, length):
    with pytest.raises(TreeHashError, match='expected %d bytes but the file ended after %d' % (length, size)):
        hash_part(io.BytesIO(DATA[:size]), 0, length)


def test_short_file_at_offset_names_the_range(tmp_path):
    path = tmp_path / 'shrunk'
    path.write_bytes(DATA[:3 * MIB])
    with open(str(path), 'rb') as fileobj:
        with pytest.raises(TreeHashError) as info:
            hash_part(fileobj, 2 * MIB, 2 * MIB)
    assert str(path) in str(info.value)
    assert 'changed while being read' in str(info.value)


def test_negative_arguments_rejected():
    with pytest.raises(ValueError):
        hash_part(io.BytesIO(DATA), -1, 5)
    with pytest.raises(ValueError):
        hash_part(io.BytesIO(DATA), 0, -5)


def test_part_hash_repr():
    assert isinstance(hash_part(io.BytesIO(b'x'), 0, 1), PartHash)
    assert 'length=1' in repr(hash_part(io.BytesIO(b'x'), 0, 1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70))
def test_tree_hash_and_incremental_match_naive(digests):
    hasher = TreeHasher()
    for digest in digests:
        hasher.add_leaf(digest)
    assert tree_hash(digests) == naive_tree(digests)
    assert hasher.digest() == naive_tree(digests)
    assert hasher.leaves == len(digests)


# Sizes near MiB multiples: k MiB + delta for k in 0..5 and |delta| <= 3.
near_mib = st.builds(lambda k, d: max(1, k * MIB + d), st.integers(0, 5), st.integers(-3, 3))


@settings(max_examples=25, deadline=None)
@given(size=near_mib, part_mib=st.sampled_from([1, 2, 4]))
def test_property_parts_combine(size, part_mib):
    part_size = part_mib * MIB
    data = DATA[:size]
    fileobj = io.BytesIO(data)
    parts = [hash_part(fileobj, off, min(part_size, size - off)) for off in range(0, size, part_size)]
    whole = hash_part(fileobj, 0, size)
    assert whole.tree_hash == reference(data)
    assert tree_hash([p.tree_hash_raw for p in parts]) == whole.tree_hash_raw
    assert sum(p.length for p in parts) == size


@settings(max_examples=25, deadline=None)
@given(offset_mib=st.integers(0, 4), length=st.one_of(near_mib, st.integers(1, 3 * MIB)))
def test_property_any_range(offset_mib, length):
    offset = offset_mib * MIB
    length = min(length, len(DATA) - offset)
    fileobj = CountingFile(DATA)
    digest = hash_part(fileobj, offset, length, keep=True)
    assert digest.tree_hash == reference(DATA[offset:offset + length])
    assert digest.sha256 == hashlib.sha256(DATA[offset:offset + length]).hexdigest()
    assert sum(n for dummy, n in fileobj.reads) == length
