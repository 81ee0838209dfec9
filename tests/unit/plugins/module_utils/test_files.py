# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local file helpers: modes and quiet removal."""

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import files


def test_current_mode_keeps_an_existing_mode(tmp_path):
    path = tmp_path / 'c.fact'
    assert files.current_mode(str(path)) == 0o600
    path.write_text('{}')
    path.chmod(0o640)
    assert files.current_mode(str(path)) == 0o640


@pytest.mark.parametrize('value, expected', [('0600', 0o600), ('640', 0o640), (0o644, 0o644), ('0o600', None),
                                             ('rw', None), (True, None), (0o10000, None), ('0800', None)])
def test_parse_mode(value, expected):
    assert files.parse_mode(value) == expected


def test_remove_quietly_ignores_a_missing_file(tmp_path):
    path = tmp_path / 'gone'
    path.write_bytes(b'x')
    files.remove_quietly(str(path))
    files.remove_quietly(str(path))  # already gone: no error
    assert not path.exists()
