# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Local file helpers: modes, durable renames, quiet removal."""

import os
import re
import stat


def parse_mode(value):
    """File mode from an octal string ('0600') or an int; None if it is neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 0o7777 else None
    if isinstance(value, str) and re.match(r'\A0?[0-7]{3,4}\Z', value):
        return int(value, 8)
    return None


def current_mode(path, default=0o600):
    """Permissions to keep when rewriting an existing file (``default`` for a new one)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return default


def fsync_dir(directory):
    # Makes a rename durable. Some filesystems cannot fsync a directory: then it is best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass
