# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Glacier SHA-256 tree hashes, computed in a single pass over the data.

Glacier checks every upload with a tree hash: SHA-256 of each 1 MiB chunk,
then SHA-256 of each adjacent pair of digests, an odd one carried up
unchanged, until one digest is left. Part sizes are power-of-two MiB, so a
part's tree hash is a node of the archive's tree and ``tree_hash()`` of the
part hashes is the archive's tree hash.

Stdlib only: this runs inside modules on the managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hashlib

MIB = 1024 * 1024

# The tree hash of no data. Glacier has no empty archives; this matches
# botocore.utils.calculate_tree_hash (and other SDKs) so callers never need a special case.
EMPTY_TREE_HASH = hashlib.sha256(b'').hexdigest()


class TreeHashError(Exception):
    """Raised when the data read does not match what the caller expected."""


def tree_hash(digests):
    """Root of the tree over raw 32-byte ``digests`` (leaf or node digests), as raw bytes.

    An empty list gives the SHA-256 of no data (see EMPTY_TREE_HASH).
    """
    level = list(digests)
    if not level:
        return hashlib.sha256(b'').digest()
    while len(level) > 1:
        paired = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def tree_hash_hex(hex_digests):
    """Like tree_hash() for hex digests (e.g. part hashes from ListParts); returns hex."""
    return binascii.hexlify(tree_hash([binascii.unhexlify(h) for h in hex_digests])).decode('ascii')


class TreeHasher:
    """Incremental tree hash over 1 MiB leaf digests in O(log n) memory.

    Keeps one pending digest per level, like a binary counter: two subtrees
    of the same height are combined as soon as both exist. At the end the
    leftover subtrees are combined right to left, which is exactly where the
    "odd one carried up" rule puts them.
    """

    def __init__(self):
        self._stack = []  # [(height, digest)], heights strictly decreasing
        self.leaves = 0

    def add_leaf(self, digest):
        node = (0, digest)
        while self._stack and self._stack[-1][0] == node[0]:
            height, left = self._stack.pop()
            node = (height + 1, hashlib.sha256(left + node[1]).digest())
        self._stack.append(node)
        self.leaves += 1

    def digest(self):
        if not self._stack:
            return hashlib.sha256(b'').digest()
        root = self._stack[-1][1]
        for node in reversed(self._stack[:-1]):
            root = hashlib.sha256(node[1] + root).digest()
        return root

    def hexdigest(self):
        return binascii.hexlify(self.digest()).decode('ascii')


class PartHash:
    """Checksums of one byte range: what UploadArchive / UploadMultipartPart need.

    sha256: hex of the plain SHA-256 (x-amz-content-sha256, reused by SigV4)
    tree_hash: hex tree hash (x-amz-sha256-tree-hash); tree_hash_raw: the same as bytes
    length: number of bytes hashed
    data: the bytes read when hash_part(keep=True), else None
    """

    __slots__ = ('sha256', 'tree_hash', 'tree_hash_raw', 'length', 'data')

    def __init__(self, sha256, tree_hash_raw, length, data=None):
        self.sha256 = sha256
        self.tree_hash_raw = tree_hash_raw
        self.tree_hash = binascii.hexlify(tree_hash_raw).decode('ascii')
        self.length = length
        self.data = data

    def __repr__(self):
        return 'PartHash(length=%d, tree_hash=%s)' % (self.length, self.tree_hash)


def _read_full(fileobj, size):
    """Read up to size bytes, looping over short reads (pipes, raw files); b'' only at EOF."""
    chunk = fileobj.read(size)
    if not chunk or len(chunk) == size:
        return chunk
    pieces = [chunk]
    got = len(chunk)
    while got < size:
        more = fileobj.read(size - got)
        if not more:
            break
        pieces.append(more)
        got += len(more)
    return b''.join(pieces)


def _short(name, length, done):
    return TreeHashError(
        '%s: expected %d bytes but the file ended after %d; was it changed while being read?' % (name, length, done))


def _hash_kept(fileobj, length, name):
    # The bytes are kept for sending: read them in one call into the bytes object that is sent, and hash 1 MiB
    # views of it. Reading MiB by MiB and joining the pieces would copy every byte once more (~0.14 s of CPU per GiB).
    data = _read_full(fileobj, length)
    if len(data) != length:
        raise _short(name, length, len(data))
    view = memoryview(data)
    linear = hashlib.sha256()
    tree = TreeHasher()
    for start in range(0, length, MIB):
        chunk = view[start:start + MIB]
        linear.update(chunk)
        tree.add_leaf(hashlib.sha256(chunk).digest())
    return PartHash(linear.hexdigest(), tree.digest(), length, data)


def _hash_stream(fileobj, length, name):
    # One pass: each 1 MiB read feeds the linear SHA-256 and becomes a leaf, so no byte is read twice.
    linear = hashlib.sha256()
    tree = TreeHasher()
    done = 0
    while length is None or done < length:
        want = MIB if length is None else min(MIB, length - done)
        chunk = _read_full(fileobj, want)
        if not chunk:
            break
        linear.update(chunk)
        tree.add_leaf(hashlib.sha256(chunk).digest())
        done += len(chunk)
        if len(chunk) < want:
            break
    if length is not None and done != length:
        raise _short(name, length, done)
    return PartHash(linear.hexdigest(), tree.digest(), done)


def hash_part(fileobj, offset, length, keep=False):
    """Hash ``length`` bytes of binary ``fileobj`` starting at ``offset``, reading them once.

    Returns a PartHash; with keep=True its ``data`` holds the bytes read so a
    small part can be sent without reading it again (memory: ``length``).
    ``offset`` is a multiple of the part size for multipart uploads, so the
    1 MiB leaves line up with the archive's leaves.
    Raises TreeHashError if the file holds fewer bytes than asked for.
    """
    if offset < 0 or length < 0:
        raise ValueError('offset and length must not be negative')
    fileobj.seek(offset)
    name = '%s (bytes %d-%d)' % (getattr(fileobj, 'name', 'file'), offset, offset + length - 1)
    return _hash_kept(fileobj, length, name) if keep else _hash_stream(fileobj, length, name)


def file_tree_hash(path):
    """Hex tree hash of the whole file at ``path``, streamed in 1 MiB reads (bounded memory)."""
    with open(path, 'rb') as fileobj:
        return _hash_stream(fileobj, None, path).tree_hash
