# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_state filter: which step each set takes next, and the manifest decision, from registered results."""

import copy

import pytest

from ansible_collections.coldvault.glacier.plugins.filter.backup_state import backup_state

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


def context(records=None, entries=None, **changes):
    ctx = {'settings': settings(), 'compressors': COMPRESSORS, 'entries': entries or {}, 'records': records or {},
           'vault_arn': ARN, 'vault_pending': False, 'check_mode': False, 'now': NOW}
    ctx.update(changes)
    return ctx


def loop(state, **result):
    """A registered loop result with one item."""
    return {'results': [dict(result, item=state)], 'changed': False}


def run(sets, ctx, **results):
    return backup_state(sets, ctx, **results)


def follow(sets, ctx, answers):
    """Drive the sets through the steps like the role's tasks do: answers[step](state) is the result of a step.

    The check step prints the listing's SHA-256, then what answers['check'] adds (find's first changed member).
    """
    results = {}
    names = {'list': 'listing', 'paths': 'paths', 'check': 'check', 'pack': 'tar', 'sha': 'sha', 'encrypt': 'gpg',
             'touch': 'touch', 'upload': 'upload', 'prune': 'prune'}
    steps = []
    for step in names:
        states = [s for s in run(sets, ctx, **results) if s['next'] == step]
        if not states:
            continue
        steps.append(step)
        if step == 'paths':
            results['paths'] = {'results': [dict(answers[step](s, p), item=[s, p]) for s in states for p in s['set']['paths']]}
        elif step == 'check':
            checked = []
            for s in states:
                extra = answers.get('check', lambda st: {})(s)
                checked.append({'rc': extra.get('rc', 0), 'stderr': extra.get('stderr', ''), 'item': s,
                                'stdout': '%s  %s\n%s' % (LISTING, s['listing_file'], extra.get('stdout', ''))})
            results['check'] = {'results': checked}
        else:
            results[names[step]] = {'results': [dict(answers.get(step, lambda s: {'rc': 0})(s), item=s) for s in states]}
    return steps, run(sets, ctx, **results)


def uploaded(state):
    return {'changed': True, 'uploaded': True, 'name': state['name'], 'archive_id': 'NEW-' + state['name'],
            'vault_arn': ARN, 'size': 100, 'stats': {'bytes_sent': 100, 'seconds': 0.1, 'mb_per_s': 1.0}}


SHA = {'sha': lambda s: {'stat': {'checksum': 'c' * 64, 'size': 90}}, 'touch': lambda s: {}, 'upload': uploaded}


def recorded(s, archive_id='OLD', listing=LISTING, since=NOW - 100):
    """The catalog entry and the record that a previous run left for set s."""
    state = run([s], context())[0]
    settings_digest = state_settings(s)
    entries = {s['name']: {'archive_id': archive_id, 'size': 55, 'fingerprint': 'sha256:' + 'f' * 64}}
    records = {s['name']: {'archive_id': archive_id, 'listing': 'sha256:' + listing, 'settings': settings_digest,
                           'since': since, 'fingerprint': 'sha256:' + 'f' * 64}}
    del state
    return entries, records


def state_settings(s, ctx=None):
    """The settings digest the filter records for s (read from a first run's record)."""
    steps, states = follow([s], ctx or context(), SHA)
    return states[0]['record']['settings']


def test_a_new_set_is_listed_packed_hashed_uploaded_and_recorded():
    steps, (state,) = follow([a_set()], context(), SHA)
    assert steps == ['list', 'check', 'pack', 'sha', 'touch', 'upload']
    assert state['next'] is None
    out = state['outcome']
    assert out['status'] == 'uploaded' and out['compared'] == 'content'
    assert out['packed_because'] == 'the catalog has no archive of the set'
    assert out['summary'] == ('uploaded archive NEW-docs (100.00 Bytes, 1.0 MB/s); packed because the catalog has no '
                              'archive of the set')
    assert state['record'] == {'archive_id': 'NEW-docs', 'listing': 'sha256:' + LISTING,
                               'settings': state['record']['settings'], 'since': NOW - 1,
                               'fingerprint': 'sha256:' + 'c' * 64}
    assert state['scratch'] == ['/var/tmp/stage/docs.tar.gz']


def test_the_listing_and_the_tarball_select_the_same_members():
    (state,) = run([a_set(paths=['/srv/docs/', '/'])], context())
    selection = ['--force-local', '--format=gnu', '--sort=name', '--numeric-owner', '--sparse', '--directory=/',
                 '--anchored', '--no-wildcards', '--exclude=var/tmp/stage', '--exclude=./var/tmp/stage',
                 '--exclude=etc/ansible/facts.d', '--exclude=./etc/ansible/facts.d', '--no-anchored', '--wildcards',
                 '--exclude=*.tmp']
    assert state['list_argv'] == ['tar', '--create', '--file=/dev/null', '--verbose', '--verbose', '--full-time',
                                  '--index-file=/var/tmp/stage/docs.manifest'] + selection + ['--', 'srv/docs', '.']
    assert state['pack_argv'] == (['tar', '--create', '--file=/var/tmp/stage/docs.tar.gz'] + selection
                                  + ['--use-compress-program=gzip -n', '--', 'srv/docs', '.'])


def test_an_unchanged_manifest_packs_nothing():
    s = a_set()
    entries, records = recorded(s)
    steps, (state,) = follow([s], context(records, entries), {'check': lambda st: {}})
    assert steps == ['list', 'check']
    out = state['outcome']
    assert out['status'] == 'unchanged' and out['compared'] == 'manifest' and out['changed'] is False
    assert (out['archive_id'], out['size'], out['vault_arn']) == ('OLD', 55, ARN)
    assert out['fingerprint'] == 'sha256:' + 'f' * 64 and out['packed_because'] is None
    assert out['summary'] == 'unchanged: archive OLD (55.00 Bytes) already holds these files (same manifest: nothing was packed)'
    # Nothing new to record, nothing to remove.
    assert state['record'] is None and state['scratch'] == []


def test_the_check_runs_find_only_with_a_record_that_counts():
    s = a_set(paths=['/srv/[x]'], exclude=['/cache', 'a*b'])
    entries, records = recorded(s, since=NOW - 5)
    listed = {'results': [{'item': {'name': 'docs'}, 'rc': 0}]}
    # Another staging directory: other settings, the record does not count; only the listing's SHA-256 is taken.
    (state,) = run([s], context(records, entries, settings=settings(staging_dir='/var/st*ge')), listing=listed)
    assert state['check_argv'] == ['sha256sum', '--', '/var/st*ge/docs.manifest']
    (state,) = run([s], context(records, entries), listing=listed)
    assert state['check_argv'] == [
        'find', '-P', '/var/tmp/stage/docs.manifest', '/srv/[x]',
        '(', '-path', '/var/tmp/stage/docs.manifest', '-exec', 'sha256sum', '--', '{}', ';', '-prune', ')', '-o',
        '(', '-path', '/var/tmp/stage', '-o', '-path', '/etc/ansible/facts.d', '-o', '-path', '*/cache', '-o',
        '-path', '*/a*b', ')', '-prune', '-o', '-newerct', '@%d' % (NOW - 5), '-print', '-quit']
    (state,) = run([a_set(change_detection='content')], context(records, entries), listing=listed)
    assert state['check_argv'] == ['sha256sum', '--', '/var/tmp/stage/docs.manifest']


def test_a_private_directory_with_wildcards_is_matched_literally_by_find():
    s = a_set()
    ctx = context(settings=settings(staging_dir='/var/st*ge [1]'))
    entries, records = recorded(s)
    records['docs']['settings'] = state_settings(s, ctx)
    (state,) = run([s], dict(ctx, entries=entries, records=records),
                   listing={'results': [{'item': {'name': 'docs'}, 'rc': 0}]})
    assert state['check_argv'][4:7] == ['(', '-path', r'/var/st\*ge \[1\]/docs.manifest']
    assert r'/var/st\*ge \[1\]' in state['check_argv']


@pytest.mark.parametrize('answer, reason', [
    ({'stdout': '/srv/docs/readme.txt\n'},
     '/srv/docs/readme.txt changed since the latest archive (its status change time is newer)'),
    ({'rc': 1, 'stdout': '', 'stderr': 'find: /srv/docs/x: Permission denied'},
     'find failed: exit status 1: find: /srv/docs/x: Permission denied'),
])
def test_a_newer_ctime_or_a_failed_find_packs_the_set(answer, reason):
    s = a_set()
    entries, records = recorded(s)
    answers = dict(SHA, check=lambda st: answer)
    steps, (state,) = follow([s], context(records, entries), answers)
    assert steps == ['list', 'check', 'pack', 'sha', 'touch', 'upload']
    assert state['outcome']['packed_because'] == reason and state['outcome']['status'] == 'uploaded'


def test_what_makes_a_record_not_count():
    s = a_set()
    entries, records = recorded(s)
    cases = {
        'other listing': (dict(records, docs=dict(records['docs'], listing='sha256:' + 'b' * 64)), entries),
        'other archive': (records, {'docs': dict(entries['docs'], archive_id='SOMEONE-ELSES')}),
        'latest deleted': (records, {'docs': dict(entries['docs'], deleted_at='2025-01-01T00:00:00Z')}),
        'clock went back': (dict(records, docs=dict(records['docs'], since=NOW + 60)), entries),
        'other compression': (records, entries),
    }
    for case, (recs, ents) in cases.items():
        backup_set = a_set(compression='none') if case == 'other compression' else s
        steps, (state,) = follow([backup_set], context(recs, ents), SHA)
        assert 'pack' in steps, case
    # change_detection: content packs even when everything matches.
    steps, (state,) = follow([a_set(change_detection='content')], context(records, entries), SHA)
    assert steps == ['list', 'check', 'pack', 'sha', 'touch', 'upload']
    assert state['outcome']['packed_because'] == 'change_detection is content'


def test_a_missing_path_fails_the_set_with_the_path_named_and_the_others_go_on():
    sets = [a_set(), a_set(name='www', paths=['/srv/www', '/srv/gone'])]
    answers = dict(SHA, list=lambda st: {'rc': 2 if st['name'] == 'www' else 0, 'stderr': 'tar: srv/gone: Cannot stat'},
                   paths=lambda st, p: {'stat': {'exists': p != '/srv/gone'}})
    steps, (docs, www) = follow(sets, context(), answers)
    assert steps == ['list', 'paths', 'check', 'pack', 'sha', 'touch', 'upload']
    assert docs['outcome']['status'] == 'uploaded'
    assert www['outcome']['status'] == 'failed' and www['outcome']['failed_step'] == 'list'
    assert www['outcome']['summary'] == 'FAILED: paths: "/srv/gone" does not exist'
    # Every path is there, but tar cannot read them.
    answers['paths'] = lambda st, p: {'stat': {'exists': True}}
    steps, (docs, www) = follow(sets, context(), answers)
    assert www['outcome']['error'] == 'paths: listing the files with tar failed: exit status 2: tar: srv/gone: Cannot stat'


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
    assert steps == ['list', 'check', 'pack', 'sha', 'encrypt', 'touch', 'upload']
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
    s = a_set()
    entries, records = recorded(s)
    deleted = {'changed': True, 'deleted': [{'archive_id': 'OLDER'}]}
    steps, (state,) = follow([s], dict(ctx, entries=entries, records=records),
                             {'check': lambda st: {}, 'prune': lambda st: deleted})
    assert steps == ['list', 'check', 'prune']
    assert state['outcome']['summary'].endswith('nothing was packed); deleted 1 older archive(s) by the retention policy')
    assert state['outcome']['changed'] is True
    steps, (state,) = follow([s], ctx, dict(SHA, prune=lambda st: {'failed': True, 'msg': 'cannot delete'}))
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


def test_names_that_sha256sum_escapes():
    s = a_set()
    ctx = context(settings=settings(staging_dir='/var/a\\b\nc'))
    (state,) = run([s], ctx, listing={'results': [{'item': {'name': 'docs'}, 'rc': 0}]},
                   check={'results': [{'item': {'name': 'docs'}, 'rc': 0,
                                       'stdout': '\\%s  /var/a\\\\b\\nc/docs.manifest\n' % LISTING}]})
    assert state['listing'] == 'sha256:' + LISTING


def test_the_input_is_not_modified():
    sets = [a_set()]
    before = copy.deepcopy(sets)
    follow(sets, context(), SHA)
    assert sets == before
