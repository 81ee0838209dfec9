# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import base64
import hashlib
import json
import re

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.coldvault.glacier.plugins.module_utils.description import (
    MAX_LENGTH,
    PREFIX,
    decode,
    encode,
    name_matches,
    validate_user_description,
)

HASH = 'ab' * 32
PRINTABLE = re.compile(r'\A[\x20-\x7e]*\Z')


def payload(description):
    body = description[len(PREFIX):]
    return json.loads(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)))


def assert_valid(description):
    assert PRINTABLE.match(description), description
    assert len(description) <= MAX_LENGTH
    assert validate_user_description(description) is None


def test_known_encoding():
    # Pinned so the format cannot drift by accident: docs/description.md shows this example.
    text = encode('/srv/db.tar.gz', 1048577, 1700000000.9, HASH)
    assert text == ('cvg1 eyJ2IjoxLCJuIjoiL3Nydi9kYi50YXIuZ3oiLCJzIjoxMDQ4NTc3LCJtIjoxNzAwMDAwMDAwLCJoIjoiYWJhYmFiYWJhYmFiYW'
                    'JhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYiJ9')
    assert payload(text) == {'v': 1, 'n': '/srv/db.tar.gz', 's': 1048577, 'm': 1700000000, 'h': HASH}
    assert decode(text) == {'name': '/srv/db.tar.gz', 'size': 1048577, 'mtime': 1700000000, 'tree_hash': HASH,
                            'truncated': False, 'name_sha256': None}


def test_without_tree_hash():
    text = encode('a b', 5, 7)
    assert 'h' not in payload(text)
    assert decode(text)['tree_hash'] is None


def test_tree_hash_is_lowercased_and_checked():
    assert decode(encode('x', 1, 1, HASH.upper()))['tree_hash'] == HASH
    for bad in ('abc', 'zz' * 32, 12):
        with pytest.raises(ValueError):
            encode('x', 1, 1, bad)


@pytest.mark.parametrize('args', [(1, 1, 1), ('x', -1, 1), ('x', 1.5, 1), ('x', True, 1), ('x', 1, 'now'), ('x', 1, None)])
def test_bad_arguments(args):
    with pytest.raises((TypeError, ValueError)):
        encode(*args)


def test_surrogate_escaped_name_round_trips():
    # An undecodable byte in a POSIX file name arrives as a lone surrogate (os.fsdecode).
    name = b'/srv/caf\xe9.tar'.decode('utf-8', 'surrogateescape')
    text = encode(name, 3, 4)
    assert_valid(text)
    assert decode(text)['name'] == name


@pytest.mark.parametrize('name', ['/' + 'a' * 5000, '/srv/' + '\u00e9' * 3000 + '/end.tar', '\U0001f600' * 2000, 'x' * 1000 + '"\\' * 400])
def test_long_names_are_shortened_and_marked(name):
    text = encode(name, 10 ** 12, 1700000000, HASH)
    assert_valid(text)
    info = decode(text)
    assert info['truncated'] is True
    assert info['size'] == 10 ** 12 and info['tree_hash'] == HASH
    assert info['name_sha256'] == hashlib.sha256(name.encode('utf-8')).hexdigest()
    assert '...' in info['name']
    head, tail = info['name'].split('...', 1)
    assert name.startswith(head) and name.endswith(tail)
    assert len(tail) >= len(head)  # the end (the file name) is what is kept most of
    assert name_matches(info, name)
    assert not name_matches(info, name + 'x')
    # Deterministic, and as long as fits: one more character would not.
    assert encode(name, 10 ** 12, 1700000000, HASH) == text
    assert len(text) > MAX_LENGTH - 8


def test_name_that_just_fits_is_kept_whole():
    # Find the longest ASCII name that fits and check the next one is the first to be shortened.
    # (Shortened descriptions fit too, so look at the marker, not the length.)
    length = 700
    while not decode(encode('n' * (length + 1), 1, 1))['truncated']:
        length += 1
    assert decode(encode('n' * length, 1, 1))['truncated'] is False
    assert len(encode('n' * length, 1, 1)) > MAX_LENGTH - 4


names = st.one_of(
    st.text(min_size=0, max_size=40),
    st.text(alphabet=st.sampled_from(' "\'\\/\u00e9\u4e2d\U0001f600\n\t\x00ab'), max_size=300),
    st.text(min_size=700, max_size=2000),
)


@settings(max_examples=150, deadline=None)
@given(name=names, size=st.integers(0, 4 * 10 ** 13), mtime=st.integers(-2 ** 31, 2 ** 40),
       tree_hash=st.one_of(st.none(), st.binary(min_size=32, max_size=32).map(bytes.hex)))
def test_round_trip(name, size, mtime, tree_hash):
    text = encode(name, size, mtime, tree_hash)
    assert_valid(text)
    info = decode(text)
    assert info['size'] == size and info['mtime'] == mtime and info['tree_hash'] == tree_hash
    assert name_matches(info, name)
    if info['truncated']:
        assert info['name'] != name and len(name) > 100
    else:
        assert info['name'] == name and info['name_sha256'] is None


FOREIGN = [
    None, 12, b'cvg1 e30', '', 'cvg1', 'cvg1 ', 'cvg1 !!!!', 'cvg1 e30', 'cvg1 bnVsbA', 'cvg1 W10',
    'mt2 eyJmaWxlbmFtZSI6ImEifQ', 'my backup of 2024-01-01', 'CVG1 eyJ2IjoxfQ', 'cvg2 eyJ2IjoyfQ',
    'cvg1 ' + base64.urlsafe_b64encode(b'\xff\xfe{}').decode(),
    'cvg1 ' + base64.urlsafe_b64encode(b'[' * 600 + b']' * 600).decode(),
    'cvg1 ' + 'A' * 5000,
]


def b64(obj):
    return PREFIX + base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip('=')


BAD_OBJECTS = [
    {'v': 2, 'n': 'a', 's': 1, 'm': 1},
    {'v': True, 'n': 'a', 's': 1, 'm': 1},
    {'v': '1', 'n': 'a', 's': 1, 'm': 1},
    {'v': 1, 'n': 5, 's': 1, 'm': 1},
    {'v': 1, 'n': 'a', 's': -1, 'm': 1},
    {'v': 1, 'n': 'a', 's': 1.5, 'm': 1},
    {'v': 1, 'n': 'a', 's': True, 'm': 1},
    {'v': 1, 'n': 'a', 's': 1, 'm': '1'},
    {'v': 1, 'n': 'a', 's': 1},
    {'v': 1, 'n': 'a', 's': 1, 'm': 1, 'h': 'nothex'},
    {'v': 1, 'n': 'a', 's': 1, 'm': 1, 't': 'yes'},
    {'v': 1, 'n': 'a', 's': 1, 'm': 1, 'f': HASH},
    {'v': 1, 'n': 'a', 's': 1, 'm': 1, 't': True, 'f': 'short'},
]


@pytest.mark.parametrize('text', FOREIGN + [b64(o) for o in BAD_OBJECTS])
def test_foreign_descriptions_decode_to_none(text):
    assert decode(text) is None


def test_padding_is_accepted():
    assert decode(b64({'v': 1, 'n': 'a', 's': 1, 'm': 1}) + '=')['name'] == 'a'
    assert decode(encode('ab', 1, 1) + '==') == decode(encode('ab', 1, 1))


def test_unknown_extra_fields_are_ignored():
    assert decode(b64({'v': 1, 'n': 'a', 's': 1, 'm': 1, 'zz': [1]}))['name'] == 'a'


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=1200), st.text(max_size=300).map(lambda t: PREFIX + t),
                 st.binary(max_size=400).map(lambda b: PREFIX + base64.urlsafe_b64encode(b).decode())))
def test_decode_never_raises(text):
    result = decode(text)
    assert result is None or set(result) == {'name', 'size', 'mtime', 'tree_hash', 'truncated', 'name_sha256'}


def test_name_matches_edge_cases():
    assert not name_matches(None, 'a')
    assert not name_matches({'name': 'a...b', 'truncated': True, 'name_sha256': None}, 'a...b')


@pytest.mark.parametrize('text,ok', [
    ('', True), ('nightly backup', True), ('~ !"#$%&\'()*+,-./0-9:;<=>?@A-Z[\\]^_`a-z{|}', True), ('x' * 1024, True),
    ('x' * 1025, False), ('tab\there', False), ('caf\u00e9', False), ('line\n', False), ('\x7f', False), (None, False), (5, False),
])
def test_validate_user_description(text, ok):
    error = validate_user_description(text)
    assert (error is None) == ok
    if not ok:
        assert isinstance(error, str) and error


def test_validate_names_the_bad_character():
    assert 'character 5 is U+00E9' in validate_user_description('cafe\u00e9 ok')
    assert 'character 4 is U+0009' in validate_user_description('abc\tdef')
    assert '1025' in validate_user_description('x' * 1025)
