# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Choosing the archive version to retrieve, and telling whether dest already holds it."""

import os

import pytest
from botocore.utils import calculate_tree_hash

from ansible_collections.coldvault.glacier.plugins.module_utils.retrieve import dest_holds, select_version

HISTORY = [
    {'archive_id': 'A1', 'uploaded_at': '2026-01-01T00:00:00Z'},
    {'archive_id': 'A2', 'uploaded_at': '2026-01-02T00:00:00Z', 'deleted_at': '2026-01-05T00:00:00Z'},
    {'archive_id': 'A3', 'uploaded_at': '2026-01-03T00:00:00Z'},
    {'archive_id': 'A4', 'uploaded_at': '2026-01-04T00:00:00Z'},
]


@pytest.mark.parametrize('version, expected', [
    (None, 'A4'), (-1, 'A4'), ('-1', 'A4'), (-2, 'A3'), (0, 'A1'), ('0', 'A1'), (2, 'A4'), ('+1', 'A3'),
    ('A3', 'A3'), ('A1', 'A1'),
])
def test_select_version(version, expected):
    assert select_version(HISTORY, version)['archive_id'] == expected


@pytest.mark.parametrize('version, message', [
    (3, 'out of range: 3 archive'),
    (-4, 'out of range'),
    ('A2', 'A2 was deleted from the vault at 2026-01-05T00:00:00Z'),
    ('A9', 'A9 is not in its history'),
    (True, 'not a boolean'),
    (1.5, 'an archive id or an index'),
])
def test_select_version_says_why_not(version, message):
    with pytest.raises(ValueError, match=message):
        select_version(HISTORY, version)


def test_select_version_when_everything_was_deleted():
    with pytest.raises(ValueError, match='every archive of it was deleted'):
        select_version([{'archive_id': 'A1', 'deleted_at': 'T'}], None)


def test_dest_holds(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 5)
    path = tmp_path / 'f'
    path.write_bytes(data)
    with open(str(path), 'rb') as fh:
        good = calculate_tree_hash(fh)
    assert dest_holds(str(path), len(data), good)
    assert dest_holds(str(path), len(data), good.upper())
    assert not dest_holds(str(path), len(data) + 1, good)
    assert not dest_holds(str(path), len(data), 'ab' * 32)
    assert not dest_holds(str(path), None, good)
    assert not dest_holds(str(path), len(data), None)
    assert not dest_holds(str(tmp_path / 'missing'), len(data), good)
    assert not dest_holds(str(tmp_path), len(data), good)
