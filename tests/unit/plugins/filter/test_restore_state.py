# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore_state filter: which step each set of a restore takes next, and its outcome, from registered results."""

from ansible_collections.coldvault.glacier.plugins.filter.restore_state import restore_state

GZIP = '1f 8b 08 00 00 00 00 00'
GPG = '85 01 0c 03'
XZ = 'fd 37 7a 58 5a 00 00 04'


def context(check_mode=False, root=False, **restore):
    base = {'dest': '/srv/restore', 'staging_dir': '/var/tmp/stage/restore', 'extract': True, 'keep_downloads': True,
            'gpg_passphrase_file': ''}
    base.update(restore)
    return {'settings': {'encryption': {'gpg_homedir': '/g'}}, 'restore': base, 'check_mode': check_mode, 'root': root}


def retrieved(downloaded=True, job_id='JOB', status='succeeded'):
    return {'changed': downloaded, 'downloaded': downloaded, 'status': status, 'archive_id': 'ARCH', 'job_id': job_id,
            'size': 4096, 'stats': {'mb_per_s': 2.5}}


def follow(names, ctx, answers):
    """Drive the sets through the steps like the role's tasks do: answers[step](state) is a step's result."""
    results = {}
    steps = []
    for step in ('retrieve', 'magic', 'decrypt', 'magic_decrypted', 'target', 'compare', 'mkdir', 'extract', 'report',
                 'copy'):
        states = [s for s in restore_state(names, ctx, **results) if s['next'] == step]
        if states:
            steps.append(step)
            results[step] = {'results': [dict(answers.get(step, lambda s: {'rc': 0})(s), item=s) for s in states]}
    return steps, restore_state(names, ctx, **results)


def test_a_first_restore_downloads_and_extracts_into_a_new_directory():
    answers = {'retrieve': lambda s: retrieved(), 'magic': lambda s: {'rc': 0, 'stdout': GZIP},
               'target': lambda s: {'stat': {'exists': False}}, 'mkdir': lambda s: {'changed': True}}
    steps, (state,) = follow(['etc'], context(), answers)
    assert steps == ['retrieve', 'magic', 'target', 'mkdir', 'extract']
    out = state['outcome']
    assert out['status'] == 'restored' and out['changed'] is True and out['format'] == 'gzip'
    assert out['encrypted'] is False and out['archive'] == '/var/tmp/stage/restore/etc.archive'
    assert out['summary'] == ('restored archive ARCH into /srv/restore/etc/: downloaded 4.00 KB with job JOB '
                              '(2.5 MB/s), extracted')
    assert state['scratch'] == ['/var/tmp/stage/restore/etc.decrypted']


def test_an_encrypted_archive_is_decrypted_then_compared_and_left_alone_when_nothing_differs():
    answers = {'retrieve': lambda s: retrieved(downloaded=False, job_id=None),
               'magic': lambda s: {'rc': 0, 'stdout': GPG}, 'decrypt': lambda s: {'rc': 0},
               'magic_decrypted': lambda s: {'rc': 0, 'stdout': XZ}, 'target': lambda s: {'stat': {'exists': True}},
               'compare': lambda s: {'rc': 0, 'stdout': ''}}
    steps, (state,) = follow(['secret'], context(gpg_passphrase_file='/root/pass'), answers)
    assert steps == ['retrieve', 'magic', 'decrypt', 'magic_decrypted', 'target', 'compare']
    assert state['tarball'] == '/var/tmp/stage/restore/secret.decrypted'
    assert state['gpg_argv'] == ['gpg', '--homedir', '/g', '--batch', '--yes', '--pinentry-mode', 'loopback',
                                 '--passphrase-file', '/root/pass', '--output', '/var/tmp/stage/restore/secret.decrypted',
                                 '--decrypt', '--', '/var/tmp/stage/restore/secret.archive']
    out = state['outcome']
    assert out['status'] == 'unchanged' and out['changed'] is False and out['format'] == 'xz'
    assert out['summary'] == 'unchanged: /srv/restore/secret/ already holds archive ARCH (decrypted)'


def test_owner_differences_count_only_for_root_and_check_mode_reports_instead_of_extracting():
    diff = {'rc': 1, 'stdout': 'srv/a: Uid differs\nsrv/a: Gid differs\n', 'stderr': ''}
    answers = {'retrieve': lambda s: retrieved(downloaded=False, job_id=None),
               'magic': lambda s: {'rc': 0, 'stdout': GZIP}, 'target': lambda s: {'stat': {'exists': True}},
               'compare': lambda s: diff}
    steps, (state,) = follow(['etc'], context(), answers)
    assert steps[-1] == 'compare' and state['outcome']['status'] == 'unchanged'
    steps, (state,) = follow(['etc'], context(root=True), answers)
    assert steps[-1] == 'extract'
    assert state['outcome']['summary'].endswith('extracted (2 difference(s) with what was there)')
    steps, (state,) = follow(['etc'], context(check_mode=True, root=True), answers)
    assert steps[-1] == 'report' and state['outcome']['status'] == 'would restore'
    assert state['outcome']['summary'] == ('would restore archive ARCH into /srv/restore/etc/: already downloaded, '
                                           'would extract (2 difference(s) with what was there)')


def test_check_mode_without_the_archive_downloaded_and_a_pending_job():
    steps, (state,) = follow(['etc'], context(check_mode=True), {'retrieve': lambda s: retrieved(downloaded=False)})
    assert steps == ['retrieve']
    assert state['outcome']['summary'] == ('would retrieve archive ARCH with job JOB (done) and restore it into '
                                           '/srv/restore/etc/')
    steps, (state,) = follow(['etc'], context(), {'retrieve': lambda s: retrieved(downloaded=False, status='pending')})
    assert state['outcome']['status'] == 'pending'
    assert state['outcome']['summary'] == ('archive ARCH: job JOB is still running (wait: false); run the restore again '
                                           'later to download and extract it')


def test_extract_false_copies_the_tarball_with_the_suffix_of_its_content():
    answers = {'retrieve': lambda s: retrieved(), 'magic': lambda s: {'rc': 0, 'stdout': XZ},
               'copy': lambda s: {'changed': True}}
    steps, (state,) = follow(['etc'], context(extract=False, keep_downloads=False), answers)
    assert steps == ['retrieve', 'magic', 'copy']
    assert state['copy_dest'] == '/srv/restore/etc.tar.xz'
    assert state['outcome']['summary'].endswith(', copied the tarball')
    assert state['outcome']['archive'] is None
    assert state['scratch'] == ['/var/tmp/stage/restore/etc.decrypted', '/var/tmp/stage/restore/etc.archive']


def test_failures_name_the_step_and_the_other_sets_go_on():
    magic = {'etc': GZIP, 'junk': '50 4b 03 04'}
    answers = {'retrieve': lambda s: retrieved() if s['name'] != 'gone' else {'failed': True, 'msg': 'no archive'},
               'magic': lambda s: {'rc': 0, 'stdout': magic[s['name']]},
               'target': lambda s: {'stat': {'exists': False}}, 'mkdir': lambda s: {'changed': True},
               'extract': lambda s: {'rc': 0}}
    steps, (etc, junk, gone) = follow(['etc', 'junk', 'gone'], context(), answers)
    assert etc['outcome']['status'] == 'restored'
    assert junk['outcome']['status'] == 'failed' and junk['outcome']['failed_step'] == 'magic'
    assert junk['outcome']['error'] == ('archive ARCH is neither a GPG message nor a tarball of the backup role (gzip, '
                                        'xz, zstd or uncompressed); its first bytes: 50 4b 03 04')
    assert gone['outcome']['summary'] == 'FAILED: no archive' and gone['outcome']['failed_step'] == 'retrieve'
    answers['extract'] = lambda s: {'rc': 2, 'stderr': 'tar: Unexpected EOF in archive'}
    steps, (etc, junk, gone) = follow(['etc', 'junk', 'gone'], context(), answers)
    assert etc['outcome']['error'] == 'extracting with tar failed: exit status 2: tar: Unexpected EOF in archive'
    # The download happened, which is a change.
    assert etc['outcome']['changed'] is True
