"""The endpoint's streaming tree hash agrees with botocore's for any data and any block boundaries."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from endpoint_helpers import MIB, tree_hash
from glacier_endpoint.treehash import TreeHasher, is_tree_hash_aligned


@settings(max_examples=25, deadline=None, database=None)
@given(size=st.integers(min_value=0, max_value=3 * MIB + 5), seed=st.integers(min_value=0, max_value=2 ** 32))
def test_streaming_tree_hash_matches_botocore(size, seed):
    generator = random.Random(seed)
    data = generator.randbytes(size)
    hasher = TreeHasher()
    position = 0
    while position < size:
        step = generator.choice([1, 1000, MIB - 1, MIB, MIB + 1, 3 * MIB])
        hasher.update(data[position:position + step])
        position += step
    assert hasher.hexdigest() == tree_hash(data)


def test_alignment_examples():
    total = 6 * MIB + MIB // 2  # AWS's 6.5 MB example: [2 MB, 4 MB) is aligned, [1 MB, 3 MB) is not
    assert is_tree_hash_aligned(2 * MIB, 4 * MIB - 1, total)
    assert not is_tree_hash_aligned(MIB, 3 * MIB - 1, total)
    assert is_tree_hash_aligned(0, total - 1, total)
    assert is_tree_hash_aligned(6 * MIB, total - 1, total)
    assert is_tree_hash_aligned(4 * MIB, total - 1, total)
    assert not is_tree_hash_aligned(0, MIB, total)
