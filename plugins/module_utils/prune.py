# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.prune does: choose the archives a retention policy lets go, delete them, mark them.

A deleted archive keeps its record (and id) in the catalog's history, with ``deleted_at``; the latest archive of
a name is never deleted, whatever the policy says.

For a bucket (BucketPrune) the same policy, with the age taken from S3 (HeadObject's LastModified, what S3 bills
by), and two more reasons to keep an object: the minimum storage duration of its class (deleting earlier is billed
as if it stayed the whole minimum) unless early deletion is allowed, and Object Lock (a retention not yet expired,
or a legal hold), which S3 would refuse anyway. Objects are deleted by version id, so on a versioned bucket the
version goes for good instead of hiding behind a delete marker.
"""

import datetime
import math

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api as glacier
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import api as s3api
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.restore import ObjectGone, head_object, iso

# S3's minimum storage durations, in days: deleting an object earlier is billed as if it had stayed that long.
MIN_STORAGE_DAYS = {'GLACIER_IR': 90, 'GLACIER': 90, 'DEEP_ARCHIVE': 180, 'STANDARD': 0}
_LOCKED = 'object protected by object lock'


def select_expired(history, keep, min_age_days, now):
    """Records of ``history`` (oldest first) that the policy deletes.

    Kept: the newest ``keep`` live archives (at least one: the latest is never deleted), and any archive younger
    than ``min_age_days`` or of unknown age. Already deleted records are not chosen again.
    """
    live = [r for r in history if not r.get('deleted_at')]
    candidates = live[:-max(keep, 1)]
    cutoff = now - datetime.timedelta(days=min_age_days)
    expired = []
    for record in candidates:
        uploaded = catalog.parse_time(record.get('uploaded_at'))
        if uploaded is not None and uploaded <= cutoff:
            expired.append(record)
    return expired


def _brief(record):
    return {k: record.get(k) for k in ('archive_id', 'uploaded_at', 'size', 'tree_hash')}


def run_prune(module):
    if module.params.get('bucket') is not None:
        return BucketPrune(module).run()
    p = module.params
    if p.get('allow_early_deletion'):
        module.fail_json(msg='allow_early_deletion: applies to a bucket only (S3 storage classes have a minimum '
                             'storage duration; for a vault, min_age_days keeps archives younger than 90 days)')
    for option, value in (('vault', p['vault']),):
        problem = glacier.invalid_vault_name(option, value)
        if problem:
            module.fail_json(msg=problem)
    if p['keep'] < 1:
        module.fail_json(msg='keep: must be at least 1 (the latest archive of a name is never deleted), got %d' % p['keep'])
    if p['min_age_days'] < 0:
        module.fail_json(msg='min_age_days: must not be negative, got %d' % p['min_age_days'])
    if catalog.invalid_lock_timeout(p.get('lock_timeout')):
        module.fail_json(msg=catalog.invalid_lock_timeout(p['lock_timeout']))
    mode = arguments.facts_file_mode(module)
    result = {'changed': False, 'vault': p['vault'], 'name': p['name'], 'deleted': [], 'kept': []}
    try:
        data = catalog.read(p['facts_file'])
    except catalog.CatalogError as e:
        module.fail_json(msg='facts_file: %s' % e, **result)

    client = glacier.client(module)
    vault = glacier.describe_vault(module, client, p['vault'], none_if_missing_in_check_mode=True)
    if vault is None:  # check mode, vault not created yet: nothing to delete
        return result
    arn = vault['VaultARN']
    result['vault_arn'] = arn
    history = catalog.history(data, arn, p['name'])
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = select_expired(history, p['keep'], p['min_age_days'], now)
    expired_ids = {r['archive_id'] for r in expired}
    result['kept'] = [_brief(r) for r in history if not r.get('deleted_at') and r['archive_id'] not in expired_ids]
    result['deleted'] = [_brief(r) for r in expired]
    result['changed'] = bool(expired)
    if module.check_mode or not expired:
        return result

    for record in expired:
        try:
            client.delete_archive(vaultName=p['vault'], archiveId=record['archive_id'])
        except botocore.exceptions.ClientError as e:
            # An archive the vault no longer has is as deleted as it gets: record it so.
            if aws.error_code(e) != 'ResourceNotFoundException':
                aws.fail_aws(module, e, 'deleting archive %s of %s failed' % (record['archive_id'], p['name']))
        except botocore.exceptions.BotoCoreError as e:
            aws.fail_aws(module, e, 'deleting archive %s of %s failed' % (record['archive_id'], p['name']))
        # One catalog update per archive: an interrupted run never forgets what it already deleted.
        try:
            catalog.update(p['facts_file'], lambda d, aid=record['archive_id']: catalog.mark_deleted(d, arn, aid, name=p['name']),
                           mode=mode, atomic_move=module.atomic_move, **catalog.lock_options(module))
        except catalog.CatalogError as e:
            module.fail_json(msg='facts_file: %s (archive %s was deleted from the vault)' % (e, record['archive_id']), **result)
    return result


# ---------------------------------------------------------------------------
# Buckets.

def _aware(value):
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value


def judge(head, now, min_age_days, allow_early_deletion):
    """(delete?, what the result says of the object) for a version the count policy lets go, from its HeadObject.

    Kept when younger than ``min_age_days``, under an Object Lock retention not yet expired or a legal hold, or
    younger than its storage class's minimum duration unless ``allow_early_deletion`` (then the charge is stated).
    """
    storage_class = head.get('StorageClass') or 'STANDARD'
    written = _aware(head.get('LastModified'))
    age = (now - written).total_seconds() / 86400 if written else None
    info = {'storage_class': storage_class, 'last_modified': iso(written), 'age_days': None if age is None else round(age, 2)}
    reasons = []
    if age is None or age < min_age_days:
        reasons.append('min_age_days')
    until = _aware(head.get('ObjectLockRetainUntilDate'))
    if until is not None and until > now:
        reasons.append('object_lock')
        info.update(lock_mode=head.get('ObjectLockMode'), retain_until=iso(until))
    if head.get('ObjectLockLegalHoldStatus') == 'ON':
        reasons.append('legal_hold')
        info['legal_hold'] = True
    minimum = MIN_STORAGE_DAYS.get(storage_class, 0)
    if age is not None and age < minimum:
        remaining = int(math.ceil(minimum - age))
        ends = iso(written + datetime.timedelta(days=minimum))
        if allow_early_deletion:
            info['early_deletion'] = {
                'minimum_days': minimum, 'billed_days': remaining, 'minimum_ends': ends,
                'message': '%s is billed for %d days at least: deleting it after %.1f days is billed for the %d days '
                           'left, as if it stayed until %s' % (storage_class, minimum, age, remaining, ends)}
        else:
            reasons.append('minimum_storage_duration')
            info['minimum_storage_duration'] = {'minimum_days': minimum, 'minimum_ends': ends, 'days_left': remaining}
    if reasons:
        info['kept_because'] = reasons
    return not reasons, info


def _bucket_brief(record):
    return {k: record.get(k) for k in ('key', 'version_id', 'uploaded_at', 'size', 'storage_class')}


class BucketPrune:
    """One run of the module for a bucket."""

    def __init__(self, module):
        self.module = module
        self.p = p = module.params
        self.result = {'changed': False, 'bucket': p['bucket'], 'name': p['name'], 'deleted': [], 'kept': []}
        problem = s3api.invalid_bucket_name('bucket', p['bucket'])
        if problem:
            module.fail_json(msg=problem)
        if p['keep'] < 1:
            module.fail_json(msg='keep: must be at least 1 (the latest object of a name is never deleted), got %d' % p['keep'])
        if p['min_age_days'] < 0:
            module.fail_json(msg='min_age_days: must not be negative, got %d' % p['min_age_days'])
        self.mode = arguments.facts_file_mode(module)
        self.arn = None

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    def _aws(self, exc, what):
        s3api.fail(self.module, exc, '%s failed' % what, bucket=self.p['bucket'], result=self.result)

    def run(self):
        module, p = self.module, self.p
        try:
            data = catalog.read(p['facts_file'])
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        client = s3api.client(module)
        located = s3api.locate_bucket(module, client, p['bucket'], none_if_missing_in_check_mode=True)
        if located is None:  # check mode, bucket not created yet: nothing to delete
            return self.result
        self.arn = located['arn']
        self.result['bucket_arn'] = self.arn
        history = catalog.history(data, self.arn, p['name'])
        live = [r for r in history if not r.get('deleted_at')]
        candidates = live[:-max(p['keep'], 1)]
        newest = [dict(_bucket_brief(r), kept_because=['keep']) for r in live[len(candidates):]]
        now = datetime.datetime.now(datetime.timezone.utc)
        doomed, held = [], []
        for record in candidates:
            try:
                head = head_object(client, p['bucket'], record['key'], record.get('version_id'))
            except ObjectGone:
                doomed.append((record, None, dict(_bucket_brief(record), already_gone=True)))
                continue
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self._aws(e, 'HeadObject of %s' % record['key'])
            delete, info = judge(head, now, p['min_age_days'], p['allow_early_deletion'])
            entry = dict(_bucket_brief(record), **info)
            if delete:
                doomed.append((record, head, entry))
            else:
                held.append(entry)
        self.result['kept'] = held + newest  # oldest first, as the history
        self.result['deleted'] = [entry for dummy, dummy2, entry in doomed]
        self.result['changed'] = bool(doomed)
        early = [e for e in self.result['deleted'] if e.get('early_deletion')]
        if early:
            module.warn('%d object(s) of %s %s deleted before the end of the minimum storage duration of their '
                        'class: S3 bills the days left as if they stayed (see deleted[].early_deletion)'
                        % (len(early), p['name'], 'would be' if module.check_mode else 'are'))
        if module.check_mode:
            return self.result
        for record, head, entry in doomed:
            if head is not None and not self._delete(client, record, head, entry):
                continue
            self._record_deleted(record)
        self.result['deleted'] = [e for e in self.result['deleted'] if not e.get('kept_because')]
        order = {record['key']: index for index, record in enumerate(live)}
        self.result['kept'].sort(key=lambda e: order.get(e.get('key'), 0))
        self.result['changed'] = bool(self.result['deleted'])
        return self.result

    def _delete(self, client, record, head, entry):
        """DeleteObject of the exact version; False when S3 keeps it (an Object Lock HeadObject did not show)."""
        kwargs = {'Bucket': self.p['bucket'], 'Key': record['key']}
        version = head.get('VersionId') or record.get('version_id')
        if version:
            kwargs['VersionId'] = version  # a version deleted by id is gone; without, a delete marker hides it
        try:
            client.delete_object(**kwargs)
        except botocore.exceptions.ClientError as e:
            code = aws.error_code(e)
            if code in ('NoSuchKey', 'NoSuchVersion', '404'):
                entry['already_gone'] = True
                return True
            message = (e.response.get('Error') or {}).get('Message') or ''
            if code == 'AccessDenied' and _LOCKED in message.lower():
                # HeadObject shows lock fields only with s3:GetObjectRetention and s3:GetObjectLegalHold.
                self.module.warn('%s is protected by Object Lock, which HeadObject did not show (the credentials lack '
                                 's3:GetObjectRetention or s3:GetObjectLegalHold); it was kept' % record['key'])
                entry['kept_because'] = ['object_lock']
                self.result['kept'].append(entry)
                return False
            self._aws(e, 'deleting %s of %s' % (record['key'], self.p['name']))
        except botocore.exceptions.BotoCoreError as e:
            self._aws(e, 'deleting %s of %s' % (record['key'], self.p['name']))
        entry['version_id'] = version
        return True

    def _record_deleted(self, record):
        # One catalog update per object: an interrupted run never forgets what it already deleted.
        try:
            catalog.update(self.p['facts_file'],
                           lambda d, key=record['key']: catalog.mark_deleted(d, self.arn, key, name=self.p['name']),
                           mode=self.mode, atomic_move=self.module.atomic_move)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s (object %s was deleted from the bucket)' % (e, record['key']))
