# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Archive descriptions that carry the file's name, size and mtime (see docs/description.md).

Format version 1: ``"cvg1 " + base64url(compact UTF-8 JSON)`` without padding, where the
JSON object is ``{"v": 1, "n": name, "s": size, "m": mtime, "h": tree hash (optional),
"t": true and "f": sha256 of the full name (only when the name was shortened)}``.
Base64url keeps any name (spaces, quotes, non-ASCII) within Glacier's printable-ASCII rule,
and the whole description never exceeds 1024 characters.

Stdlib only: this runs inside modules on the managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import re

PREFIX = 'cvg1 '
VERSION = 1
MAX_LENGTH = 1024
# Shortened names keep a third of their characters from the start and the rest from the end
# (the end is usually the file name, the most telling part), joined by this marker.
ELLIPSIS = '...'

_B64URL = re.compile(r'\A[A-Za-z0-9_-]*={0,2}\Z')
_HEX64 = re.compile(r'\A[0-9a-fA-F]{64}\Z')
_PRINTABLE = re.compile(r'\A[\x20-\x7e]*\Z')


def _to_json_bytes(obj):
    try:
        return json.dumps(obj, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    except UnicodeEncodeError:
        # Lone surrogates (undecodable bytes of a POSIX file name) have no UTF-8 form; \u escapes keep them.
        return json.dumps(obj, separators=(',', ':'), ensure_ascii=True).encode('ascii')


def _pack(obj):
    return PREFIX + base64.urlsafe_b64encode(_to_json_bytes(obj)).decode('ascii').rstrip('=')


def _name_sha256(name):
    return hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()


def _shorten(name, keep):
    head = keep // 3
    tail = keep - head
    return name[:head] + ELLIPSIS + (name[-tail:] if tail else '')


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def encode(name, size, mtime, tree_hash=None):
    """Return the description for an archive of file ``name``.

    ``size`` is the archive's size in bytes, ``mtime`` the file's modification time
    (stored as whole seconds, truncated), ``tree_hash`` its hex SHA-256 tree hash when known
    (a multipart upload sends the description before the hash is known; Glacier's inventory
    lists every archive's SHA256TreeHash anyway). The result is printable ASCII of at most
    1024 characters; a name too long to fit is shortened deterministically and marked.
    """
    if not isinstance(name, str):
        raise TypeError('name must be a string')
    if not _is_int(size) or size < 0:
        raise ValueError('size must be a non-negative integer')
    if isinstance(mtime, bool) or not isinstance(mtime, (int, float)):
        raise TypeError('mtime must be a number')
    obj = {'v': VERSION, 'n': name, 's': size, 'm': int(mtime)}
    if tree_hash is not None:
        if not isinstance(tree_hash, str) or not _HEX64.match(tree_hash):
            raise ValueError('tree_hash must be 64 hex digits')
        obj['h'] = tree_hash.lower()
    text = _pack(obj)
    if len(text) <= MAX_LENGTH:
        return text

    # Too long: find the most characters of the name that still fit. The encoded length only
    # grows with ``keep`` (each step adds one character), so a binary search finds it.
    obj['t'] = True
    obj['f'] = _name_sha256(name)
    low, high = 0, len(name) - 1
    while low < high:
        mid = (low + high + 1) // 2
        obj['n'] = _shorten(name, mid)
        if len(_pack(obj)) <= MAX_LENGTH:
            low = mid
        else:
            high = mid - 1
    obj['n'] = _shorten(name, low)
    text = _pack(obj)
    if len(text) > MAX_LENGTH:
        raise ValueError('size or mtime too large to fit in a description')
    return text


def decode(description):
    """Return the fields of one of our descriptions, or None for anything else.

    The result is a dict with ``name``, ``size``, ``mtime``, ``tree_hash`` (None if absent),
    ``truncated`` (bool) and ``name_sha256`` (SHA-256 hex of the full name when truncated,
    else None). Never raises, whatever the input: other tools' descriptions are normal in a vault.
    """
    if not isinstance(description, str) or not description.startswith(PREFIX):
        return None
    payload = description[len(PREFIX):]
    if len(payload) > 4 * MAX_LENGTH or not _B64URL.match(payload):
        return None
    payload = payload.rstrip('=')
    try:
        raw = base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4))
        obj = json.loads(raw.decode('utf-8'))
    except (ValueError, TypeError, RecursionError):
        # binascii.Error, UnicodeDecodeError and JSONDecodeError are all ValueErrors.
        return None
    if not isinstance(obj, dict) or obj.get('v') != VERSION or isinstance(obj.get('v'), bool):
        return None
    name, size, mtime = obj.get('n'), obj.get('s'), obj.get('m')
    tree_hash, truncated, name_sha256 = obj.get('h'), obj.get('t', False), obj.get('f')
    if not isinstance(name, str) or not _is_int(size) or size < 0 or not _is_int(mtime):
        return None
    if tree_hash is not None and (not isinstance(tree_hash, str) or not _HEX64.match(tree_hash)):
        return None
    if not isinstance(truncated, bool):
        return None
    if name_sha256 is not None and (not truncated or not isinstance(name_sha256, str) or not _HEX64.match(name_sha256)):
        return None
    return {
        'name': name,
        'size': size,
        'mtime': mtime,
        'tree_hash': tree_hash.lower() if tree_hash else None,
        'truncated': truncated,
        'name_sha256': name_sha256.lower() if name_sha256 else None,
    }


def name_matches(decoded, name):
    """True if a decode() result describes file ``name``, also when its name was shortened."""
    if not decoded:
        return False
    if not decoded.get('truncated'):
        return decoded.get('name') == name
    if decoded.get('name_sha256'):
        return decoded['name_sha256'] == _name_sha256(name)
    return False


def validate_user_description(text):
    """Return an error message if ``text`` cannot be an archive description, else None."""
    if not isinstance(text, str):
        return 'the description must be a string'
    if len(text) > MAX_LENGTH:
        return 'the description is %d characters long; Glacier allows at most %d' % (len(text), MAX_LENGTH)
    if not _PRINTABLE.match(text):
        for index, char in enumerate(text):
            if not ' ' <= char <= '~':
                return ('the description may only hold printable ASCII characters (0x20-0x7E); '
                        'character %d is U+%04X' % (index + 1, ord(char)))
    return None
