# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The commands that backup_state builds, run with the real GNU tar and find on a scratch tree: the listing selects
exactly what find looks at, and find's ctime test sees a changed member and nothing that is excluded."""

import os
import shutil
import subprocess
import time

import pytest

from ansible_collections.coldvault.glacier.plugins.filter.backup_state import _Set, backup_state

pytestmark = pytest.mark.skipif(not (shutil.which('tar') and shutil.which('find')), reason='needs GNU tar and find')

COMPRESSORS = {'none': {'suffix': '.tar', 'tar_args': []}}
FILES = ['a.txt', 'b.tmp', 'cache/x', 'sub/cache/y', 'sub/keep.log', 'sp ace/[br]ack.txt', 'app/tmp/z', 'app/tmpx',
         'deep/a/b/c.txt', 'staging [1]/docs.tar', 'sub/not.tmp.txt']


def tree(tmp_path):
    root = tmp_path / 'tree'
    for name in FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return root


def context(root, tmp_path, now, records=None, entries=None):
    return {'settings': {'staging_dir': str(root / 'staging [1]'), 'facts_file': str(tmp_path / 'facts.d' / 'g.fact'),
                         'encryption': {'enabled': False, 'recipient': ''}, 'retention': {'enabled': False}},
            'compressors': COMPRESSORS, 'entries': entries or {}, 'records': records or {}, 'vault_arn': 'arn',
            'now': now}


def backup_set(root):
    return {'name': 'docs', 'paths': [str(root)], 'exclude': ['*.tmp', 'cache', 'app/tmp', 'sp ace/[[]br]*'],
            'compression': 'none', 'change_detection': 'metadata'}


def listed(state):
    """The member names of the tar listing (relative to /, without a trailing /)."""
    subprocess.run(state['list_argv'], check=True, env=dict(os.environ, TZ='UTC', LC_ALL='C'))
    with open(state['listing_file'], encoding='ascii') as fh:
        return sorted(line.split(None, 5)[5].rstrip('/') for line in fh.read().splitlines())


def test_the_listing_honours_the_exclusions_exactly_as_find_does(tmp_path):
    root = tree(tmp_path)
    ctx = context(root, tmp_path, int(time.time()))
    s = backup_set(root)
    (state,) = backup_state([s], ctx)
    (root / 'staging [1]').mkdir(exist_ok=True)
    members = listed(state)
    base = str(root).lstrip('/')
    assert members == sorted([base] + ['%s/%s' % (base, n) for n in (
        'a.txt', 'sub', 'sub/keep.log', 'sub/not.tmp.txt', 'sp ace', 'app', 'app/tmpx', 'deep', 'deep/a', 'deep/a/b',
        'deep/a/b/c.txt')])
    # find, with the same prune expression, visits exactly those members.
    found = subprocess.run(['find', '-P'] + _Set(s, ctx).find_paths + _Set(s, ctx).find_prune + ['-o', '-print'],
                           check=True, capture_output=True, text=True)
    assert sorted(p.lstrip('/') for p in found.stdout.splitlines()) == members


def test_the_ctime_check_sees_a_changed_member_but_not_an_excluded_one(tmp_path):
    root = tree(tmp_path)
    s = backup_set(root)
    since = int(time.time()) + 1
    # After the recorded time (the filter's find compares ctimes with it).
    while time.time() < since + 1.1:
        time.sleep(0.1)
    ctx = context(root, tmp_path, since)
    settings_digest = _Set(s, ctx).settings
    entries = {'docs': {'archive_id': 'A'}}
    records = {'docs': {'archive_id': 'A', 'listing': 'sha256:' + 'x' * 64, 'settings': settings_digest, 'since': since}}
    ctx = context(root, tmp_path, int(time.time()), records, entries)
    (state,) = backup_state([s], ctx)
    (root / 'staging [1]').mkdir(exist_ok=True)
    listed(state)
    (state,) = backup_state([s], ctx, listing={'results': [{'item': {'name': 'docs'}, 'rc': 0}]})
    assert state['next'] == 'check' and state['check_argv'][0] == 'find'
    digest = subprocess.run(['sha256sum', '--', state['listing_file']], check=True, capture_output=True,
                            text=True).stdout

    def check():
        """What find prints after the listing's SHA-256 (which it prints first)."""
        out = subprocess.run(state['check_argv'], check=True, capture_output=True, text=True).stdout
        assert out.startswith(digest)
        return out[len(digest):].strip()
    assert check() == ''
    (root / 'b.tmp').write_text('excluded')
    (root / 'cache' / 'new').write_text('excluded')
    (root / 'staging [1]' / 'docs.tar').write_text('private')
    assert check() == ''
    # Content written, then the modification time put back: the status change time gives it away.
    target = root / 'deep' / 'a' / 'b' / 'c.txt'
    st = target.stat()
    target.write_text('deep/a/b/c.tx!')
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert check() == str(target)
