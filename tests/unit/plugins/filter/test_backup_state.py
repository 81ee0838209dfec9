# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_state filter: which step each set takes next, and the manifest decision, from registered results."""

import copy

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.coldvault.glacier.plugins.filter.backup_state import backup_state
from ansible_collections.coldvault.glacier.plugins.module_utils.backup_scan import Selection

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'
COMPRESSORS = {'gzip': {'suffix': '.tar.gz', 'tar_args': ['--use-compress-program=gzip -n']},
               'none': {'suffix': '.tar', 'tar_args': []}}
LISTING = 'a' * 64
NOW = 1700000000


def settings(**changes):
    base = {'staging_dir': '/var/tmp/stage', 'facts_file': '/etc/ansible/facts.d/glacier.fact',
            'encryption': {'enabled': False, 'recipient': '', 'gpg_homedir': ''},
            'retention': {'enabled': False, 'keep': 7, 'min_age_days': 90}}
    base.update(changes)
    return base


def a_set(**changes):
    base = {'name': 'docs', 'paths': ['/srv/docs'], 'exclude': ['*.tmp'], 'compression': 'gzip',
            'change_detection': 'metadata'}
    base.update(changes)
    return base


def context(**changes):
    ctx = {'settings': settings(), 'compressors': COMPRESSORS, 'vault_arn': ARN, 'vault_pending': False,
           'check_mode': False}
    ctx.update(changes)
    return ctx


def scanned(state, status='changed', reason='the catalog has no archive of the set', entry=None, **extra):
    """One set's item of a backup_scan result."""
    return dict({'name': state['name'], 'status': status, 'reason': None if status == 'unchanged' else reason,
                 'error': None, 'listing': 'sha256:' + LISTING, 'entry': entry}, **extra)


def run(sets, ctx, **results):
    return backup_state(sets, ctx, **results)


def follow(sets, ctx, answers, target_arn=ARN):
    """Drive the sets through the steps like the role's tasks do: answers[step](state) is the result of a step
    (for the scan, the set's item of the module's result)."""
    results = {}
    names = {'scan': 'scan', 'pack': 'tar', 'sha': 'sha', 'encrypt': 'gpg', 'touch': 'touch', 'upload': 'upload',
             'prune': 'prune'}
    steps = []
    for step in names:
        states = [s for s in run(sets, ctx, **results) if s['next'] == step]
        if not states:
            continue
        steps.append(step)
        if step == 'scan':
            results['scan'] = {'changed': False, 'now': NOW, 'target_arn': target_arn, 'manifests': {},
                               'sets': [answers.get('scan', scanned)(s) for s in states]}
        else:
            results[names[step]] = {'results': [dict(answers.get(step, lambda s: {'rc': 0})(s), item=s) for s in states]}
    return steps, run(sets, ctx, **results)


def uploaded(state):
    return {'changed': True, 'uploaded': True, 'name': state['name'], 'archive_id': 'NEW-' + state['name'],
            'vault_arn': ARN, 'size': 100, 'stats': {'bytes_sent': 100, 'seconds': 0.1, 'mb_per_s': 1.0}}


SHA = {'sha': lambda s: {'stat': {'checksum': 'c' * 64, 'size': 90}}, 'touch': lambda s: {}, 'upload': uploaded}
ENTRY = {'archive_id': 'OLD', 'size': 55, 'fingerprint': 'sha256:' + 'f' * 64}
UNCHANGED = {'scan': lambda s: scanned(s, 'unchanged', entry=ENTRY)}


def state_settings(s, ctx=None):
    """The settings digest the filter records for s (read from a first run's record)."""
    steps, states = follow([s], ctx or context(), SHA)
    return states[0]['record']['settings']


def test_a_new_set_is_scanned_packed_hashed_uploaded_and_recorded():
    steps, (state,) = follow([a_set()], context(), SHA)
    assert steps == ['scan', 'pack', 'sha', 'touch', 'upload']
    assert state['next'] is None
    out = state['outcome']
    assert out['status'] == 'uploaded' and out['compared'] == 'content'
    assert out['packed_because'] == 'the catalog has no archive of the set'
    assert out['summary'] == ('uploaded archive NEW-docs (100.00 Bytes, 1.0 MB/s); packed because the catalog has no '
                              'archive of the set')
    assert state['record'] == {'archive_id': 'NEW-docs', 'listing': 'sha256:' + LISTING,
                               'settings': Selection(a_set(), '/var/tmp/stage', '/etc/ansible/facts.d/glacier.fact').settings,
                               'since': NOW - 1, 'fingerprint': 'sha256:' + 'c' * 64}
    assert state['scratch'] == ['/var/tmp/stage/docs.tar.gz']


def test_the_tarball_selects_the_members_the_scan_listed():
    s = a_set(paths=['/srv/docs/', '/'])
    (state,) = run([s], context())
    assert state['next'] == 'scan'
    selection = Selection(s, '/var/tmp/stage', '/etc/ansible/facts.d/glacier.fact')
    assert selection.tar_selection == [
        '--force-local', '--format=gnu', '--sort=name', '--numeric-owner', '--sparse', '--directory=/',
        '--anchored', '--no-wildcards', '--exclude=var/tmp/stage', '--exclude=./var/tmp/stage',
        '--exclude=etc/ansible/facts.d', '--exclude=./etc/ansible/facts.d', '--no-anchored', '--wildcards',
        '--exclude=*.tmp']
    assert selection.list_argv == ['tar', '--create', '--file=/dev/null', '--verbose', '--verbose', '--full-time',
                                   '--index-file=/var/tmp/stage/docs.manifest'] + selection.tar_selection + [
                                       '--', 'srv/docs', '.']
    assert state['pack_argv'] == (['tar', '--create', '--file=/var/tmp/stage/docs.tar.gz'] + selection.tar_selection
                                  + ['--use-compress-program=gzip -n', '--', 'srv/docs', '.'])
    assert state['listing_file'] == selection.index


def test_an_unchanged_set_packs_nothing():
    steps, (state,) = follow([a_set()], context(), UNCHANGED)
    assert steps == ['scan']
    out = state['outcome']
    assert out['status'] == 'unchanged' and out['compared'] == 'manifest' and out['changed'] is False
    assert (out['archive_id'], out['size'], out['vault_arn']) == ('OLD', 55, ARN)
    assert out['fingerprint'] == 'sha256:' + 'f' * 64 and out['packed_because'] is None
    assert out['summary'] == 'unchanged: archive OLD (55.00 Bytes) already holds these files (same manifest: nothing was packed)'
    # Nothing new to record, nothing to remove.
    assert state['record'] is None and state['scratch'] == []


def test_the_scan_reason_is_why_the_set_was_packed():
    reason = '/srv/docs/readme.txt changed since the latest archive (its status change time is newer)'
    answers = dict(SHA, scan=lambda s: scanned(s, reason=reason, entry=ENTRY))
    steps, (state,) = follow([a_set()], context(), answers)
    assert steps == ['scan', 'pack', 'sha', 'touch', 'upload']
    assert state['outcome']['packed_because'] == reason and state['outcome']['status'] == 'uploaded'


def test_an_unchanged_set_of_another_vault_than_the_looked_up_one_is_packed():
    # The catalog knows the set under another account's vault of the same name; the look-up found this one.
    other = 'arn:aws:glacier:us-east-1:999999999999:vaults/backups'
    steps, (state,) = follow([a_set()], context(), dict(SHA, **UNCHANGED), target_arn=other)
    assert 'pack' in steps
    assert state['outcome']['packed_because'] == 'the vault is %s, not %s of the catalog' % (ARN, other)
    # Before the look-up (a run with nothing to upload) the scan's vault is the one.
    steps, (state,) = follow([a_set()], context(vault_arn=other), UNCHANGED, target_arn=other)
    assert steps == ['scan'] and state['outcome']['status'] == 'unchanged'


def test_a_failed_scan_of_one_set_fails_it_and_the_others_go_on():
    sets = [a_set(), a_set(name='www', paths=['/srv/www', '/srv/gone'])]
    answers = dict(SHA, scan=lambda s: scanned(s, 'failed', error='paths: "/srv/gone" does not exist', listing=None)
                   if s['name'] == 'www' else scanned(s))
    steps, (docs, www) = follow(sets, context(), answers)
    assert steps == ['scan', 'pack', 'sha', 'touch', 'upload']
    assert docs['outcome']['status'] == 'uploaded'
    assert www['outcome']['status'] == 'failed' and www['outcome']['failed_step'] == 'list'
    assert www['outcome']['summary'] == 'FAILED: paths: "/srv/gone" does not exist'
    assert www['record'] is None


def test_failures_of_the_later_steps_name_what_failed():
    cases = {
        'pack': ({'pack': lambda s: {'rc': 2, 'stderr': 'tar: x: Cannot open: Permission denied\n'}},
                 'packing the files with tar failed: exit status 2: tar: x: Cannot open: Permission denied'),
        'sha': ({'sha': lambda s: {'failed': True, 'msg': 'Permission denied'}},
                'the SHA-256 of /var/tmp/stage/docs.tar.gz: Permission denied'),
        'upload': ({'upload': lambda s: {'failed': True, 'msg': 'uploading failed: boom'}}, 'uploading failed: boom'),
    }
    for step, (answer, error) in cases.items():
        steps, (state,) = follow([a_set()], context(), dict(SHA, **answer))
        assert state['outcome']['failed_step'] == step and state['outcome']['error'] == error, step
        assert state['outcome']['summary'] == 'FAILED: ' + error
        assert state['record'] is None


def test_a_tar_warning_still_uploads():
    steps, (state,) = follow([a_set()], context(), dict(SHA, pack=lambda s: {'rc': 1, 'stderr': 'tar: f: file changed as we read it'}))
    assert state['outcome']['status'] == 'uploaded'
    assert state['outcome']['tar_warning'] == 'tar: f: file changed as we read it'


def test_encryption_fingerprint_and_failure():
    ctx = context(settings=settings(encryption={'enabled': True, 'recipient': 'ops@example.com', 'gpg_homedir': '/g'}))
    steps, (state,) = follow([a_set()], ctx, SHA)
    assert steps == ['scan', 'pack', 'sha', 'encrypt', 'touch', 'upload']
    assert state['staged'] == '/var/tmp/stage/docs.tar.gz.gpg'
    assert state['gpg_argv'] == ['gpg', '--homedir', '/g', '--batch', '--yes', '--trust-model', 'always', '--encrypt',
                                 '--recipient', 'ops@example.com', '--output', '/var/tmp/stage/docs.tar.gz.gpg', '--',
                                 '/var/tmp/stage/docs.tar.gz']
    assert state['outcome']['fingerprint'] == 'sha256:%s gpg:ops@example.com' % ('c' * 64)
    assert state['scratch'] == ['/var/tmp/stage/docs.tar.gz', '/var/tmp/stage/docs.tar.gz.gpg']
    steps, (state,) = follow([a_set()], ctx, dict(SHA, encrypt=lambda s: {'rc': 2, 'stderr': 'gpg: no public key'}))
    assert state['outcome']['error'] == 'encrypting with GPG failed: exit status 2: gpg: no public key'


def test_retention_runs_for_unchanged_and_uploaded_sets_and_its_failure_keeps_the_record():
    ctx = context(settings=settings(retention={'enabled': True, 'keep': 1, 'min_age_days': 0}))
    deleted = {'changed': True, 'deleted': [{'archive_id': 'OLDER'}]}
    steps, (state,) = follow([a_set()], ctx, dict(UNCHANGED, prune=lambda st: deleted))
    assert steps == ['scan', 'prune']
    assert state['outcome']['summary'].endswith('nothing was packed); deleted 1 older archive(s) by the retention policy')
    assert state['outcome']['changed'] is True
    steps, (state,) = follow([a_set()], ctx, dict(SHA, prune=lambda st: {'failed': True, 'msg': 'cannot delete'}))
    assert steps[-2:] == ['upload', 'prune']
    assert state['outcome']['summary'] == 'FAILED: the retention policy: cannot delete (after uploading archive NEW-docs)'
    assert state['record']['archive_id'] == 'NEW-docs'


def test_check_mode_records_nothing_and_a_vault_still_to_create_uploads_nothing():
    steps, (state,) = follow([a_set()], context(check_mode=True),
                             dict(SHA, upload=lambda s: {'changed': True, 'uploaded': False, 'vault_arn': ARN}))
    assert state['outcome']['status'] == 'would upload' and state['record'] is None
    steps, (state,) = follow([a_set()], context(check_mode=True, vault_pending=True, vault_arn=None), SHA)
    assert 'upload' not in steps
    assert state['outcome']['summary'] == ('would upload a new archive (90.00 Bytes), to the vault that would be '
                                           'created first; packed because the catalog has no archive of the set')


def test_the_input_is_not_modified():
    sets = [a_set()]
    before = copy.deepcopy(sets)
    follow(sets, context(), SHA)
    assert sets == before


def test_the_filter_needs_its_context_and_a_scan_with_its_clock():
    with pytest.raises(AnsibleFilterError, match='context.settings is required'):
        backup_state([a_set()], dict(context(), settings=None))
    with pytest.raises(AnsibleFilterError, match='scan.now is required'):
        backup_state([a_set()], context(), scan={'sets': []})
