# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: archive_format
short_description: Tell what an archive of the backup role is from its first bytes
version_added: 0.1.0
author:
  - coldvault.glacier maintainers (@coldvault)
description:
  - Reads the first bytes of a file, as C(od -A n -t x1) prints them (or as one hex string), and says which kind
    of archive the C(coldvault.glacier.backup) role made. It is a tarball compressed with gzip, xz or zstd, an
    uncompressed tarball (C(ustar) at offset 257), or a GPG message (an OpenPGP packet starts with a byte whose
    high bit is set).
  - The role's restore entry point uses it on the retrieved archive, and again on the decrypted one, so that
    what was backed up decides, not today's settings.
  - The first 262 bytes are enough for every kind; fewer bytes can only be told apart as far as they go.
options:
  _input:
    description: Hex digits of the first bytes, two a byte; whitespace between them is ignored.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read the first bytes of the archive
  ansible.builtin.command:
    argv: [od, -A, n, -t, x1, -v, -N, "262", --, /var/tmp/etc.archive]
  register: magic
  changed_when: false

- name: Decrypt it when it is a GPG message
  ansible.builtin.command:
    argv: [gpg, --batch, --output, /var/tmp/etc.tar, --decrypt, --, /var/tmp/etc.archive]
  when: magic.stdout | coldvault.glacier.archive_format == 'gpg'
  changed_when: false
"""

RETURN = r"""
_value:
  description:
    - V(gzip), V(xz), V(zstd), V(tar) (uncompressed) or V(gpg); V(null) when the bytes are none of them.
  type: str
"""

from ansible.errors import AnsibleFilterError

# Tried in order, the first match wins: the compressors' magic numbers, GNU/POSIX tar's "ustar" magic, and last the
# weakest test, an OpenPGP packet tag (high bit set), which the other kinds' first bytes never satisfy.
_MAGIC = (
    ('gzip', 0, b'\x1f\x8b'),
    ('xz', 0, b'\xfd7zXZ\x00'),
    ('zstd', 0, b'\x28\xb5\x2f\xfd'),
    ('tar', 257, b'ustar'),
)
# Suffix of each kind, for a file that keeps it (the restore's extract: false).
SUFFIXES = {'gzip': '.tar.gz', 'xz': '.tar.xz', 'zstd': '.tar.zst', 'tar': '.tar', 'gpg': '.gpg'}


def _bytes(dump):
    text = ''.join(str(dump if dump is not None else '').split())
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise AnsibleFilterError('archive_format: expected hex digits, two a byte (od -A n -t x1), got %r' % text[:40])


def archive_format(dump):
    """The kind of archive whose first bytes ``dump`` shows in hex, or None."""
    data = _bytes(dump)
    for name, offset, magic in _MAGIC:
        if data[offset:offset + len(magic)] == magic:
            return name
    if data and data[0] & 0x80:
        return 'gpg'
    return None


class FilterModule(object):
    """The archive_format filter."""

    def filters(self):
        return {'archive_format': archive_format}
