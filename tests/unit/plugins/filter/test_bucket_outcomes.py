# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's filters with a bucket as the target: objects are identified by their key, not an archive id."""

from ansible_collections.coldvault.glacier.plugins.filter.backup_outcome import backup_outcome
from ansible_collections.coldvault.glacier.plugins.filter.restore_state import restore_state

from ansible_collections.coldvault.glacier.tests.unit.plugins.filter.test_backup_state import SHA, a_set, context, follow, scanned
from ansible_collections.coldvault.glacier.tests.unit.plugins.filter.test_restore_state import GZIP
from ansible_collections.coldvault.glacier.tests.unit.plugins.filter.test_restore_state import context as restore_context
from ansible_collections.coldvault.glacier.tests.unit.plugins.filter.test_restore_state import follow as restore_follow

BUCKET = 'arn:aws:s3:::example-backups'
KEY = 'host1/docs/20261201T101010Z-0badcafe'


def bucket_upload(state):
    return {'changed': True, 'uploaded': True, 'name': state['name'], 'key': KEY, 'bucket_arn': BUCKET,
            'storage_class': 'DEEP_ARCHIVE', 'size': 100, 'stats': {'bytes_sent': 100, 'seconds': 0.1, 'mb_per_s': 1.0}}


def test_an_uploaded_object_is_recorded_by_its_key_and_an_unchanged_set_is_found_by_it():
    ctx = context(vault_arn=None, bucket_arn=BUCKET)
    steps, (state,) = follow([a_set()], ctx, dict(SHA, upload=bucket_upload))
    out = state['outcome']
    assert (out['archive_id'], out['key'], out['bucket_arn'], out['vault_arn']) == (KEY, KEY, BUCKET, None)
    assert out['summary'].startswith('uploaded object %s (100.00 Bytes, 1.0 MB/s)' % KEY)
    assert state['record']['archive_id'] == KEY
    # The next run: the catalog's entry of a bucket has a key and no archive id.
    entry = {'key': KEY, 'size': 55, 'fingerprint': 'sha256:' + 'f' * 64}
    steps, (state,) = follow([a_set()], ctx, {'scan': lambda s: scanned(s, 'unchanged', entry=entry)},
                             target_arn=BUCKET)
    assert steps == ['scan']
    out = state['outcome']
    assert out['status'] == 'unchanged' and (out['key'], out['bucket_arn']) == (KEY, BUCKET)
    assert out['summary'] == ('unchanged: object %s (55.00 Bytes) already holds these files (same manifest: nothing '
                              'was packed)' % KEY)


def test_the_retention_policy_reports_deleted_keys_and_objects_it_may_not_delete_yet():
    prune = {'changed': True, 'deleted': [{'key': 'host1/docs/a'}],
             'kept': [{'key': 'host1/docs/b', 'kept_because': ['minimum_storage_duration']},
                      {'key': 'host1/docs/c', 'kept_because': ['object_lock'], 'lock_mode': 'COMPLIANCE'},
                      {'key': KEY, 'kept_because': ['keep']}]}
    out = backup_outcome('docs', upload=dict(bucket_upload({'name': 'docs'}), changed=False, uploaded=False),
                         prune=prune)
    assert out['deleted'] == ['host1/docs/a'] and out['changed'] is True
    assert out['summary'] == ('unchanged: object %s (100.00 Bytes) already holds this content; deleted 1 older '
                              'object(s) by the retention policy; kept 2 older object(s) the policy would let go '
                              '(minimum_storage_duration, object_lock)' % KEY)


def retrieved_object(changed, downloaded, status='succeeded', restore=None):
    return {'changed': changed, 'downloaded': downloaded, 'status': status, 'key': KEY, 'bucket': 'example-backups',
            'bucket_arn': BUCKET, 'size': 4096, 'restore': restore or {'needed': True, 'state': 'available'},
            'stats': {'mb_per_s': 2.5}}


def test_a_restore_from_a_bucket_names_the_object_and_has_no_job():
    answers = {'retrieve': lambda s: retrieved_object(True, True), 'magic': lambda s: {'rc': 0, 'stdout': GZIP},
               'target': lambda s: {'stat': {'exists': False}}, 'mkdir': lambda s: {'changed': True}}
    steps, (state,) = restore_follow(['docs'], restore_context(), answers)
    assert steps == ['retrieve', 'magic', 'target', 'mkdir', 'extract']
    assert state['outcome']['summary'] == ('restored object %s into /srv/restore/docs/: downloaded 4.00 KB from the '
                                           'bucket (2.5 MB/s), extracted' % KEY)
    assert state['outcome']['archive_id'] == KEY and state['outcome']['job_id'] is None


def test_check_mode_reads_no_object_it_would_download_and_a_pending_restore_says_so():
    # The restored copy is readable but not downloaded: check mode would download (changed), so nothing is read.
    (state,) = restore_state(['docs'], restore_context(check_mode=True),
                             retrieve={'results': [dict(retrieved_object(True, False), item={'name': 'docs'})]})
    assert state['next'] is None and state['outcome']['status'] == 'would restore'
    assert state['outcome']['summary'] == 'would download object %s and restore it into /srv/restore/docs/' % KEY
    # Not restored yet: check mode says a restore comes first, with the tier of the settings.
    cold = retrieved_object(True, False, status='pending', restore={'needed': True, 'state': 'ongoing',
                                                                    'requested': True, 'answer': None})
    (state,) = restore_state(['docs'], restore_context(check_mode=True, tier='Bulk'),
                             retrieve={'results': [dict(cold, item={'name': 'docs'})]})
    assert state['outcome']['summary'] == ('would download object %s after a restore (Bulk), and restore it into '
                                           '/srv/restore/docs/' % KEY)
    # A restore requested by an earlier run (S3 answered it) is waited for, not requested again.
    cold['restore']['answer'] = 'started'
    (state,) = restore_state(['docs'], restore_context(check_mode=True, tier='Bulk'),
                             retrieve={'results': [dict(cold, item={'name': 'docs'})]})
    assert state['outcome']['summary'] == ('would download object %s once its restore is done, and restore it into '
                                           '/srv/restore/docs/' % KEY)
    pending = retrieved_object(False, False, status='pending', restore={'needed': True, 'state': 'ongoing',
                                                                        'requested': True})
    (state,) = restore_state(['docs'], restore_context(), retrieve={'results': [dict(pending, item={'name': 'docs'})]})
    assert state['outcome']['status'] == 'pending'
    assert state['outcome']['summary'] == ('object %s: its restore is still running (wait: false); run the restore '
                                           'again later to download and extract it' % KEY)
