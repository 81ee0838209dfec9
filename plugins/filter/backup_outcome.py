# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: backup_outcome
short_description: The outcome of one backup set of the backup role, with its summary line
version_added: 0.1.0
author:
  - coldvault.glacier maintainers (@coldvault)
description:
  - Builds the record that the C(coldvault.glacier.backup) role keeps for a backup set in its C(backup_results)
    fact, from the results its tasks registered for the set, and the one-line summary the role prints for it.
  - Internal to the role; its input is the role's registered results, its output the documented shape of
    C(backup_results) entries (see the collection's C(docs/backup-role.md)).
options:
  _input:
    description: Name of the set.
    type: str
    required: true
  upload:
    description: Result of M(coldvault.glacier.upload) for the set (skipped or empty when it did not run).
    type: dict
  prune:
    description: Result of M(coldvault.glacier.prune) for the set (skipped or empty when it did not run).
    type: dict
  tar:
    description: Result of the command that packed the set (its C(rc) and C(stderr)).
    type: dict
  tarball:
    description: Result of M(ansible.builtin.stat) on the tarball (its C(stat.size)).
    type: dict
  fingerprint:
    description: The content identity passed to the upload.
    type: str
  check_mode:
    description: Whether the play runs in check mode.
    type: bool
    default: false
  vault_pending:
    description: Whether the vault does not exist yet because check mode only plans to create it.
    type: bool
    default: false
  failed_step:
    description: The step of the role that failed for the set (such as V(pack) or V(upload)).
    type: str
  failure:
    description: The failed step's result, for its C(msg) and C(stderr); makes a failure outcome.
    type: dict
  error:
    description: What went wrong, instead of O(failure) (such as a path that does not exist); makes a failure outcome.
    type: str
  compared:
    description:
      - How the set was found unchanged, V(manifest) (its files' metadata, nothing packed) or V(content) (the
        tarball's SHA-256).
    type: str
"""

EXAMPLES = r"""
- name: Record the outcome of the set
  ansible.builtin.set_fact:
    backup_results: >-
      {{ backup_results + [set_name | coldvault.glacier.backup_outcome(upload=upload_result, prune=prune_result,
         tar=tar_result, tarball=tarball_stat, fingerprint=fingerprint, check_mode=ansible_check_mode)] }}
"""

RETURN = r"""
_value:
  description: One entry of C(backup_results).
  type: dict
  contains:
    name:
      description: Name of the set.
      type: str
    status:
      description: V(uploaded), V(unchanged), V(would upload) (check mode) or V(failed).
      type: str
    changed:
      description: Whether an upload or a deletion changed something.
      type: bool
    archive_id:
      description: The archive that holds the set (with a bucket, the key of the object), or V(null).
      type: str
    vault_arn:
      description: ARN of the vault, or V(null).
      type: str
    bucket_arn:
      description: ARN of the bucket, or V(null).
      type: str
    key:
      description: Key of the object that holds the set, with a bucket; else V(null).
      type: str
    size:
      description: Bytes of the archive (of the tarball in check mode).
      type: int
    fingerprint:
      description: The content identity recorded with the archive.
      type: str
    bytes_sent:
      description: Bytes sent by the upload.
      type: int
    seconds:
      description: Seconds the upload took.
      type: float
    mb_per_s:
      description: Upload rate in MB/s.
      type: float
    deleted:
      description: Ids of the archives (keys of the objects) the retention policy deleted (or would delete in check
        mode).
      type: list
      elements: str
    tar_warning:
      description: What tar said when a file changed while it was read, else V(null).
      type: str
    summary:
      description: The line the role prints for the set.
      type: str
    compared:
      description: V(manifest) when the manifest decided (nothing packed), V(content) when the tarball was built.
      type: str
    failed_step:
      description: The step that failed (failed sets only), or V(null) when the set was not tried.
      type: str
    error:
      description: What went wrong (failed sets only).
      type: str
"""

from ansible.module_utils.common.text.formatters import bytes_to_human
from ansible_collections.coldvault.glacier.plugins.module_utils.backup_scan import stored_id


def _get(result, *keys):
    """result[k1][k2]... or None, for registered results that may be skipped, empty or undefined."""
    for key in keys:
        if not isinstance(result, dict):
            return None
        result = result.get(key)
    return result


def error_text(failure):
    """A failed task's message, followed by its stderr on one line (tar and gpg say what went wrong there)."""
    msg = _get(failure, 'msg') or 'failed'
    stderr = ' | '.join(line.strip() for line in str(_get(failure, 'stderr') or '').strip().splitlines() if line.strip())
    return '%s: %s' % (msg, stderr) if stderr else msg


def _noun(record):
    return 'object' if _get(record, 'key') and not _get(record, 'archive_id') else 'archive'


def _failed(name, upload, failed_step, error):
    # An upload of this set that succeeded before a later step failed (a result an earlier set registered has
    # another name).
    uploaded = _get(upload, 'name') == name and bool(_get(upload, 'uploaded'))
    return {
        'name': name, 'status': 'failed', 'changed': uploaded,
        'archive_id': stored_id(upload) if uploaded else None,
        'vault_arn': _get(upload, 'vault_arn') if uploaded else None,
        'bucket_arn': _get(upload, 'bucket_arn') if uploaded else None,
        'key': _get(upload, 'key') if uploaded else None,
        'size': 0, 'fingerprint': None, 'bytes_sent': 0, 'seconds': 0, 'mb_per_s': 0, 'deleted': [],
        'tar_warning': None, 'failed_step': failed_step, 'error': error,
        'summary': 'FAILED: %s%s' % (error, ' (after uploading %s %s)' % (_noun(upload), stored_id(upload))
                                     if uploaded else ''),
    }


def backup_outcome(name, upload=None, prune=None, tar=None, tarball=None, fingerprint=None, check_mode=False,
                   vault_pending=False, failed_step=None, failure=None, error=None, compared='content'):
    """The backup_results entry of set ``name``."""
    if failure is not None or error is not None:
        out = _failed(name, upload, failed_step, error if error is not None else error_text(failure))
        out['compared'] = compared
        return out
    uploaded = bool(_get(upload, 'uploaded'))
    if vault_pending or (_get(upload, 'changed') and not uploaded):
        status = 'would upload'
    else:
        status = 'uploaded' if uploaded else 'unchanged'
    size = int(_get(upload, 'size') or _get(tarball, 'stat', 'size') or 0)
    human = bytes_to_human(size)
    deleted = [stored_id(d) for d in _get(prune, 'deleted') or []]
    stats = _get(upload, 'stats') or {}
    archive_id = stored_id(upload)
    noun = _noun(upload)
    if status == 'uploaded':
        what = 'uploaded %s %s (%s, %s MB/s)' % (noun, archive_id, human, stats.get('mb_per_s'))
    elif status == 'unchanged' and compared == 'manifest':
        what = 'unchanged: %s %s (%s) already holds these files (same manifest: nothing was packed)' % (
            noun, archive_id, human)
    elif status == 'unchanged':
        what = 'unchanged: %s %s (%s) already holds this content' % (noun, archive_id, human)
    else:
        what = 'would upload a new %s (%s)%s' % (
            'object' if _get(upload, 'bucket_arn') else 'archive', human,
            ', to the vault that would be created first' if vault_pending else '')
    notes = []
    if deleted:
        notes.append('%s %d older %s(s) by the retention policy' % (
            'would delete' if check_mode else 'deleted', len(deleted), noun))
    # Objects the retention policy would delete but may not yet (a bucket's minimum storage duration, Object Lock).
    held = [k for k in _get(prune, 'kept') or [] if set(k.get('kept_because') or [])
            & {'minimum_storage_duration', 'object_lock', 'legal_hold'}]
    if held:
        notes.append('kept %d older object(s) the policy would let go (%s)' % (len(held), ', '.join(sorted(
            set(b for k in held for b in k['kept_because'] if b not in ('keep', 'min_age_days'))))))
    tar_rc = _get(tar, 'rc')
    if tar_rc == 1:
        notes.append('warning: some files changed while tar read them')
    return {
        'name': name, 'status': status,
        'changed': bool(_get(upload, 'changed') or _get(prune, 'changed')),
        'archive_id': archive_id, 'vault_arn': _get(upload, 'vault_arn'), 'bucket_arn': _get(upload, 'bucket_arn'),
        'key': _get(upload, 'key'), 'size': size,
        'fingerprint': fingerprint, 'bytes_sent': stats.get('bytes_sent', 0), 'seconds': stats.get('seconds', 0),
        'mb_per_s': stats.get('mb_per_s', 0), 'deleted': deleted, 'compared': compared,
        'tar_warning': str(_get(tar, 'stderr') or '').strip() if tar_rc == 1 else None,
        'summary': '; '.join([what] + notes),
    }


class FilterModule(object):
    """The backup_outcome filter."""

    def filters(self):
        return {'backup_outcome': backup_outcome}
