# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The archive_format filter on the first bytes of real archives, as od prints them (the restore's input)."""

import gzip
import io
import lzma
import shutil
import subprocess
import tarfile

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.coldvault.glacier.plugins.filter.archive_format import archive_format


def tarball(name='srv/ünïcødé file.txt'):
    """An uncompressed tarball in GNU format with one member, as the role's tar --format=gnu writes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w', format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = 5
        tar.addfile(info, io.BytesIO(b'hello'))
    return out.getvalue()


def od(path):
    """What the restore's task runs on the archive."""
    return subprocess.run(['od', '-A', 'n', '-t', 'x1', '-v', '-N', '262', '--', str(path)],
                          check=True, capture_output=True, text=True).stdout


def first_bytes(tmp_path, data):
    path = tmp_path / 'archive'
    path.write_bytes(data)
    return od(path)


def test_gzip_xz_and_plain_tarballs(tmp_path):
    assert archive_format(first_bytes(tmp_path, gzip.compress(tarball(), mtime=0))) == 'gzip'
    assert archive_format(first_bytes(tmp_path, lzma.compress(tarball()))) == 'xz'
    assert archive_format(first_bytes(tmp_path, tarball())) == 'tar'


def test_an_uncompressed_tarball_whose_first_name_is_not_ascii_is_not_taken_for_gpg(tmp_path):
    # "ü" is 0xc3 0xbc: its high bit is set, like an OpenPGP packet tag; "ustar" at offset 257 decides.
    data = tarball('ü/x')
    assert data[0] & 0x80
    assert archive_format(first_bytes(tmp_path, data)) == 'tar'


@pytest.mark.skipif(shutil.which('zstd') is None, reason='zstd is not installed')
def test_zstd(tmp_path):
    data = subprocess.run(['zstd', '-q', '-c'], input=tarball(), check=True, capture_output=True).stdout
    assert archive_format(first_bytes(tmp_path, data)) == 'zstd'


@pytest.mark.skipif(shutil.which('gpg') is None, reason='gpg is not installed')
def test_a_gpg_message(tmp_path):
    home = tmp_path / 'gnupg'
    home.mkdir(mode=0o700)
    data = subprocess.run(['gpg', '--homedir', str(home), '--batch', '--pinentry-mode', 'loopback', '--passphrase', 'x',
                           '--symmetric', '--output', '-'], input=gzip.compress(tarball()), check=True,
                          capture_output=True).stdout
    assert archive_format(first_bytes(tmp_path, data)) == 'gpg'


def test_anything_else_is_none(tmp_path):
    assert archive_format(first_bytes(tmp_path, b'PK\x03\x04 a zip file')) is None
    assert archive_format(first_bytes(tmp_path, b'plain text\n' * 30)) is None
    assert archive_format('') is None


def test_a_plain_hex_string_and_a_short_read():
    assert archive_format('1F8B0800') == 'gzip'
    # Too short to hold "ustar" at 257: not a tarball, and no high bit.
    assert archive_format('7372 76') is None


def test_refuses_what_is_not_hex():
    with pytest.raises(AnsibleFilterError, match='expected hex digits'):
        archive_format('not hex at all')
    with pytest.raises(AnsibleFilterError, match='expected hex digits'):
        archive_format('1f8')
