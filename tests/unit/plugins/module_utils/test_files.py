# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local file helpers: modes and hidden temporary files."""

import os
import stat

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


def test_open_temp_is_hidden_private_and_new(tmp_path):
    os.umask(0o022)
    fd, path = files.open_temp(str(tmp_path / 'dest.bin'))
    os.close(fd)
    assert os.path.dirname(path) == str(tmp_path)
    assert os.path.basename(path).startswith('.dest.bin.') and path.endswith('.cvg-part')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    fd2, path2 = files.open_temp(str(tmp_path / 'dest.bin'))
    os.close(fd2)
    assert path2 != path
    files.remove_quietly(path)
    files.remove_quietly(path)  # already gone: no error
    assert not os.path.exists(path)
