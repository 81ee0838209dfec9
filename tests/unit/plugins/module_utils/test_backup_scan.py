# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_scan: the decision of the backup role's first step, with the real GNU tar and find on a scratch tree (the
listing selects exactly what find looks at, and find's ctime test sees a changed member and nothing excluded), and
what makes a recorded manifest count."""

import json
import os
import shutil
import stat
import subprocess
import time

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import backup_scan
from ansible_collections.coldvault.glacier.plugins.module_utils.backup_scan import ScanError, Selection, scan

needs_tools = pytest.mark.skipif(not (shutil.which('tar') and shutil.which('find')), reason='needs GNU tar and find')

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'
FILES = ['a.txt', 'b.tmp', 'cache/x', 'sub/cache/y', 'sub/keep.log', 'sp ace/[br]ack.txt', 'app/tmp/z', 'app/tmpx',
         'deep/a/b/c.txt', 'staging [1]/docs.tar', 'sub/not.tmp.txt']


def run_command(argv):
    done = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, TZ='UTC', LC_ALL='C'),
                          check=False)
    return done.returncode, done.stdout, done.stderr


def tree(tmp_path):
    root = tmp_path / 'tree'
    for name in FILES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    return root


def a_set(root, **changes):
    base = {'name': 'docs', 'paths': [str(root)], 'exclude': ['*.tmp', 'cache', 'app/tmp', 'sp ace/[[]br]*'],
            'compression': 'none', 'change_detection': 'metadata'}
    base.update(changes)
    return base


def options(root, tmp_path, sets, **changes):
    base = {'sets': sets, 'staging_dir': str(root / 'staging [1]'), 'facts_file': str(tmp_path / 'facts.d' / 'g.fact'),
            'kind': 'vault', 'target': 'backups', 'region': None, 'recipient': None}
    base.update(changes)
    return base


def write_catalog(opts, archives, manifests=None, arn=ARN):
    os.makedirs(os.path.dirname(opts['facts_file']), exist_ok=True)
    with open(opts['facts_file'], 'w', encoding='utf-8') as fh:
        json.dump({'format': 2, 'vaults': {arn: {'archives': archives}}}, fh)
    if manifests is not None:
        with open(backup_scan.manifests_path(opts['facts_file']), 'w', encoding='utf-8') as fh:
            json.dump({'format': 1, 'vaults': {arn: manifests}}, fh)


def record_first_run(opts, result, archive_id='A'):
    """What the role records after a first run: the archive in the catalog, the manifest beside it."""
    found = result['sets'][0]
    write_catalog(opts, {'docs': {'archive_id': archive_id, 'size': 10}},
                  {'docs': {'archive_id': archive_id, 'listing': found['listing'], 'settings': found['settings'],
                            'since': result['now'] - 1}})


def wait_past(seconds):
    """ctimes have a resolution of the file system's clock: step past the recorded second."""
    until = time.time() + seconds
    while time.time() < until:
        time.sleep(0.05)


@needs_tools
def test_the_listing_honours_the_exclusions_exactly_as_find_does(tmp_path):
    root = tree(tmp_path)
    s = a_set(root)
    result = scan(options(root, tmp_path, [s]), run_command)
    assert result['sets'][0]['status'] == 'changed' and result['target_arn'] is None
    assert result['sets'][0]['reason'] == 'the catalog has no archive of the set'
    selection = Selection(s, str(root / 'staging [1]'), str(tmp_path / 'facts.d' / 'g.fact'))
    with open(selection.index, encoding='ascii') as fh:
        members = sorted(line.split(None, 5)[5].rstrip('/') for line in fh.read().splitlines())
    base = str(root).lstrip('/')
    assert members == sorted([base] + ['%s/%s' % (base, n) for n in (
        'a.txt', 'sub', 'sub/keep.log', 'sub/not.tmp.txt', 'sp ace', 'app', 'app/tmpx', 'deep', 'deep/a', 'deep/a/b',
        'deep/a/b/c.txt')])
    # find, with the same prune expression, visits exactly those members.
    found = subprocess.run(['find', '-P'] + selection.paths + selection.find_prune + ['-o', '-print'],
                           check=True, capture_output=True, text=True)
    assert sorted(p.lstrip('/') for p in found.stdout.splitlines()) == members
    # The staging directory was created for the listings, private.
    assert stat.S_IMODE(os.stat(root / 'staging [1]').st_mode) == 0o700


@needs_tools
def test_an_unchanged_set_and_what_changes_it(tmp_path):
    root = tree(tmp_path)
    # Files written in the second before a listing count as changed on the next run: start after that second.
    wait_past(2.1)
    opts = options(root, tmp_path, [a_set(root)])
    record_first_run(opts, scan(opts, run_command))
    wait_past(1.1)
    (again,) = scan(opts, run_command)['sets']
    assert (again['status'], again['reason'], again['entry']) == ('unchanged', None, {'archive_id': 'A', 'size': 10})
    # Excluded and private files change nothing.
    (root / 'b.tmp').write_text('excluded')
    (root / 'cache' / 'new').write_text('excluded')
    (root / 'staging [1]' / 'docs.tar').write_text('private')
    assert scan(opts, run_command)['sets'][0]['status'] == 'unchanged'
    # Content written, then the modification time put back: the status change time gives it away.
    target = root / 'deep' / 'a' / 'b' / 'c.txt'
    st = target.stat()
    target.write_text('deep/a/b/c.tx!')
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    (found,) = scan(opts, run_command)['sets']
    assert found['status'] == 'changed' and found['listing'] == again['listing']
    assert found['reason'] == '%s changed since the latest archive (its status change time is newer)' % target
    # A new file changes the listing itself.
    (root / 'new.txt').write_text('new')
    (found,) = scan(opts, run_command)['sets']
    assert found['reason'] == 'files were added, removed or renamed, or their metadata changed'
    assert found['listing'] != again['listing']


@needs_tools
def test_what_makes_a_record_not_count(tmp_path):
    root = tree(tmp_path)
    wait_past(2.1)
    opts = options(root, tmp_path, [a_set(root)])
    first = scan(opts, run_command)
    record_first_run(opts, first)
    wait_past(1.1)
    no_record = 'no manifest is recorded with the latest archive, or the settings changed'
    cases = {
        'other compression': (dict(opts, sets=[a_set(root, compression='gzip')]), None, no_record),
        'other recipient': (dict(opts, recipient='ops@example.com'), None, no_record),
        'content detection': (dict(opts, sets=[a_set(root, change_detection='content')]), None,
                              'change_detection is content'),
        'other archive': (opts, {'archive_id': 'SOMEONE-ELSES'}, no_record),
        'latest deleted': (opts, {'archive_id': 'A', 'deleted_at': '2025-01-01T00:00:00Z'},
                           'the catalog has no archive of the set'),
    }
    for case, (opts_, entry, reason) in cases.items():
        if entry is not None:
            write_catalog(opts, {'docs': entry}, None)
        (found,) = scan(opts_, run_command)['sets']
        assert (found['status'], found['reason']) == ('changed', reason), case
        record_first_run(opts, first)
    # A clock that went back before the record.
    (found,) = scan(opts, run_command, clock=lambda: first['now'] - 60)['sets']
    assert found['reason'] == no_record
    assert scan(opts, run_command)['sets'][0]['status'] == 'unchanged'


@needs_tools
def test_a_missing_path_fails_its_set_with_the_path_named_and_the_others_go_on(tmp_path):
    root = tree(tmp_path)
    sets = [a_set(root), a_set(root, name='www', paths=[str(root / 'sub'), str(root / 'gone')])]
    docs, www = scan(options(root, tmp_path, sets), run_command)['sets']
    assert docs['status'] == 'changed'
    assert www['status'] == 'failed' and www['error'] == 'paths: "%s" does not exist' % (root / 'gone')
    assert www['listing'] is None


def test_a_listing_that_fails_for_another_reason_says_what_tar_said(tmp_path):
    def fake(argv):
        if argv == ['tar', '--version']:
            return 0, 'tar (GNU tar) 1.34\n', ''
        return 2, '', 'tar: srv: Cannot open: Permission denied\ntar: Exiting with failure status\n'
    (found,) = scan(options(tmp_path, tmp_path, [a_set(tmp_path)]), fake)['sets']
    assert found['error'] == ('paths: listing the files with tar failed: exit status 2: tar: srv: Cannot open: '
                              'Permission denied | tar: Exiting with failure status')


@pytest.mark.parametrize('reply, shown', [
    ((0, 'tar (busybox) 1.36.1\n', ''), 'tar (busybox) 1.36.1'),
    ((0, 'tar (GNU tar) 1.27.1\n', ''), 'tar (GNU tar) 1.27.1'),
    ((127, '', 'tar: No such file or directory'), 'tar: No such file or directory'),
])
def test_a_tar_that_is_not_gnu_tar_1_28_fails_before_anything_is_written(tmp_path, reply, shown):
    opts = options(tmp_path, tmp_path, [a_set(tmp_path)])
    with pytest.raises(ScanError) as raised:
        scan(opts, lambda argv: reply)
    assert str(raised.value) == ('coldvault.glacier.backup needs GNU tar 1.28 or later on the host (--sort=name makes '
                                 'the tarballs reproducible; zstd needs 1.31 or later); the host has: %s' % shown)
    assert not os.path.exists(opts['staging_dir'])


def test_an_unreadable_catalog_names_the_file(tmp_path):
    opts = options(tmp_path, tmp_path, [a_set(tmp_path)])
    os.makedirs(os.path.dirname(opts['facts_file']))
    with open(opts['facts_file'], 'w', encoding='utf-8') as fh:
        fh.write('{not json')
    with pytest.raises(ScanError, match=r'the catalog .*g\.fact is not valid JSON'):
        scan(opts, lambda argv: (0, 'tar (GNU tar) 1.34', ''))


def test_the_target_arn_comes_from_the_catalog():
    other = 'arn:aws:glacier:eu-west-1:123456789012:vaults/backups'
    catalog = {'vaults': {ARN: {}, 'arn:aws:glacier:us-east-1:123456789012:vaults/backups-old': {}},
               'buckets': {'arn:aws:s3:::b1': {'bucket': 'b1'}}}
    assert backup_scan.target_arn(catalog, 'vault', 'backups') == ARN
    # Two regions: only the region tells them apart.
    catalog['vaults'][other] = {}
    assert backup_scan.target_arn(catalog, 'vault', 'backups') is None
    assert backup_scan.target_arn(catalog, 'vault', 'backups', 'eu-west-1') == other
    assert backup_scan.target_arn(catalog, 'vault', 'missing') is None
    assert backup_scan.target_arn(catalog, 'bucket', 'b1') == 'arn:aws:s3:::b1'
    assert backup_scan.target_arn({}, 'bucket', 'b2', 'cn-north-1') == 'arn:aws-cn:s3:::b2'
    assert backup_scan.target_arn({}, 'bucket', 'b2') == 'arn:aws:s3:::b2'


def test_a_bucket_record_counts_by_its_key():
    selection = Selection({'name': 'docs', 'paths': ['/srv'], 'compression': 'gzip'}, '/var/tmp/s', '/etc/f/g.fact')
    entry = {'key': 'host1/docs/1'}
    record = {'archive_id': 'host1/docs/1', 'settings': selection.settings, 'since': 100, 'listing': 'sha256:x'}
    assert backup_scan.counting_record(selection, entry, record, 200) is record
    assert backup_scan.counting_record(selection, {'key': 'host1/docs/0'}, record, 200) is None
    assert backup_scan.counting_record(selection, entry, dict(record, since=True), 200) is None
    assert backup_scan.counting_record(selection, None, record, 200) is None


def test_path_problems_name_each_path_missing_or_unreadable(tmp_path):
    (tmp_path / 'file').write_text('x')
    (tmp_path / 'dangling').symlink_to(tmp_path / 'nowhere')
    paths = [str(tmp_path / 'file'), str(tmp_path / 'no such "dir"'), str(tmp_path / 'file' / 'below'),
             str(tmp_path / 'dangling')]
    assert backup_scan.path_problems(paths) == [
        'paths: %s does not exist' % json.dumps(paths[1]),
        'paths: %s cannot be looked up: Not a directory' % json.dumps(paths[2])]
