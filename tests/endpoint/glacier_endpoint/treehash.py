"""Streaming SHA-256 tree hash, Glacier's checksum.

Kept separate from the collection's own implementation on purpose: the endpoint must be an
independent judge of the hashes a client sends.
"""

import hashlib

MIB = 1024 * 1024
DIGEST_SIZE = 32


class TreeHasher:
    """Accepts data in blocks of any size and keeps one SHA-256 digest per 1 MiB chunk."""

    def __init__(self):
        self._digests = []
        self._chunk = hashlib.sha256()
        self._chunk_len = 0
        self.size = 0

    def update(self, data):
        view = memoryview(data)
        self.size += len(view)
        while view:
            take = min(MIB - self._chunk_len, len(view))
            self._chunk.update(view[:take])
            self._chunk_len += take
            view = view[take:]
            if self._chunk_len == MIB:
                self._digests.append(self._chunk.digest())
                self._chunk = hashlib.sha256()
                self._chunk_len = 0

    def chunk_digests(self):
        """Digests of the 1 MiB chunks seen so far, the last (short) chunk included."""
        digests = list(self._digests)
        if self._chunk_len:
            digests.append(self._chunk.digest())
        return digests

    def hexdigest(self):
        return tree_hash(self.chunk_digests()).hex()


def tree_hash(digests):
    """Root of the tree built over leaf digests: adjacent pairs hashed, an odd one carried up.

    The leaves may be 1 MiB chunk digests or the tree hashes of power-of-two MiB parts: both give
    the archive's tree hash because such parts are nodes of the archive's tree.
    """
    if not digests:
        return hashlib.sha256(b"").digest()
    level = list(digests)
    while len(level) > 1:
        paired = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def chunk_count(size):
    return -(-size // MIB)


def is_mib_aligned(start, end, total):
    """AWS's "megabyte aligned" range [start, end] (inclusive) of an archive of total bytes."""
    if start < 0 or end < start or end >= total or start % MIB:
        return False
    return (end + 1) % MIB == 0 or end == total - 1


def is_tree_hash_aligned(start, end, total):
    """True when the tree hash of [start, end] is a node of the archive's tree hash."""
    if not is_mib_aligned(start, end, total):
        return False
    chunks = chunk_count(total)
    first = start // MIB
    count = chunk_count(end + 1 - start)
    span = 1
    while span < 2 * chunks:
        if first % span == 0 and first + count == min(first + span, chunks):
            return True
        span *= 2
    return False
