# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmarks' test files: incompressible, written fast, kept between runs."""

import os

MIB = 1024 * 1024


def make_file(path, size):
    """Incompressible data, written quickly: a random block, varied per MiB (so no two MiB are the same)."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    block = os.urandom(16 * MIB)
    with open(path + '.tmp', 'wb') as fh:
        written = 0
        while written < size:
            chunk = block[(written // MIB) % 16 * MIB:][:MIB]
            chunk = ((written // MIB).to_bytes(8, 'big') + chunk[8:])[:size - written]
            fh.write(chunk)
            written += len(chunk)
    os.replace(path + '.tmp', path)
