# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_outcome filter: the backup_results entry and summary line of one set, from registered results."""

from ansible_collections.coldvault.glacier.plugins.filter.backup_outcome import backup_outcome, error_text

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'
SKIPPED = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}


def upload(uploaded=True, changed=None, size=2101248, name='docs', archive_id='ID-1'):
    return {'changed': uploaded if changed is None else changed, 'uploaded': uploaded, 'name': name,
            'archive_id': archive_id, 'vault_arn': ARN, 'size': size,
            'stats': {'bytes_sent': size if uploaded else 0, 'seconds': 0.5, 'mb_per_s': 4.2 if uploaded else 0.0}}


def test_an_uploaded_set():
    out = backup_outcome('docs', upload=upload(), prune=SKIPPED, tar={'rc': 0, 'stderr': ''},
                         tarball={'stat': {'size': 2101000}}, fingerprint='sha256:ab')
    assert out['status'] == 'uploaded' and out['changed'] is True
    assert (out['archive_id'], out['vault_arn'], out['size'], out['fingerprint']) == ('ID-1', ARN, 2101248, 'sha256:ab')
    assert (out['bytes_sent'], out['seconds'], out['mb_per_s']) == (2101248, 0.5, 4.2)
    assert out['summary'] == 'uploaded archive ID-1 (2.00 MB, 4.2 MB/s)'
    assert out['deleted'] == [] and out['tar_warning'] is None and 'error' not in out


def test_an_unchanged_set_with_deletions_and_a_tar_warning():
    prune = {'changed': True, 'deleted': [{'archive_id': 'OLD-1'}, {'archive_id': 'OLD-2'}]}
    out = backup_outcome('docs', upload=upload(uploaded=False, size=210), prune=prune,
                         tar={'rc': 1, 'stderr': 'tar: srv/log: file changed as we read it\n'},
                         tarball={'stat': {'size': 210}})
    assert out['status'] == 'unchanged'
    # Nothing uploaded, but the deletions are a change.
    assert out['changed'] is True
    assert out['deleted'] == ['OLD-1', 'OLD-2']
    assert out['tar_warning'] == 'tar: srv/log: file changed as we read it'
    assert out['summary'] == ('unchanged: archive ID-1 (210.00 Bytes) already holds this content; deleted 2 older '
                              'archive(s) by the retention policy; warning: some files changed while tar read them')


def test_check_mode_says_would():
    prune = {'changed': True, 'deleted': [{'archive_id': 'OLD-1'}]}
    out = backup_outcome('docs', upload={'changed': True, 'uploaded': False, 'vault_arn': ARN}, prune=prune,
                         tar={'rc': 0}, tarball={'stat': {'size': 4096}}, check_mode=True)
    assert out['status'] == 'would upload' and out['changed'] is True
    # The size of the tarball, as the module uploaded nothing.
    assert out['size'] == 4096
    assert out['summary'] == ('would upload a new archive (4.00 KB); would delete 1 older archive(s) by the '
                              'retention policy')


def test_check_mode_with_a_vault_that_would_be_created():
    out = backup_outcome('docs', upload=SKIPPED, prune=SKIPPED, tar={'rc': 0}, tarball={'stat': {'size': 10}},
                         check_mode=True, vault_pending=True)
    assert out['status'] == 'would upload' and out['changed'] is False and out['archive_id'] is None
    assert out['summary'] == 'would upload a new archive (10.00 Bytes), to the vault that would be created first'


def test_a_failed_set_names_the_step_and_what_went_wrong():
    failure = {'msg': 'non-zero return code', 'rc': 2,
               'stderr': 'tar: srv/www: Cannot stat: No such file or directory\n\n  tar: Exiting with failure status\n'}
    out = backup_outcome('www', upload={}, failed_step='pack', failure=failure)
    assert out['status'] == 'failed' and out['changed'] is False and out['archive_id'] is None
    assert out['failed_step'] == 'pack'
    assert out['error'] == ('non-zero return code: tar: srv/www: Cannot stat: No such file or directory | '
                            'tar: Exiting with failure status')
    assert out['summary'] == 'FAILED: ' + out['error']


def test_a_set_that_failed_after_its_upload_keeps_the_archive_id():
    out = backup_outcome('docs', upload=upload(), failed_step='prune', failure={'msg': 'boom'})
    assert out['changed'] is True and out['archive_id'] == 'ID-1' and out['vault_arn'] == ARN
    assert out['summary'] == 'FAILED: boom (after uploading archive ID-1)'


def test_the_upload_of_an_earlier_set_is_not_taken_for_this_one():
    out = backup_outcome('weird', upload=upload(name='docs'), failed_step='pack', failure={'msg': 'boom'})
    assert out['changed'] is False and out['archive_id'] is None
    assert out['summary'] == 'FAILED: boom'


def test_error_text_without_a_message_or_stderr():
    assert error_text({}) == 'failed'
    assert error_text(None) == 'failed'
    assert error_text({'msg': 'x', 'stderr': '   \n'}) == 'x'


def test_a_set_that_was_not_tried_says_why():
    out = backup_outcome('www', error='paths: "/srv/www" does not exist')
    assert out['status'] == 'failed' and out['failed_step'] is None and out['changed'] is False
    assert out['summary'] == 'FAILED: paths: "/srv/www" does not exist'
