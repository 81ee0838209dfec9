# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Restores of archived S3 objects (GLACIER, DEEP_ARCHIVE): state, request, wait; recorded in the catalog.

HeadObject tells the state (``x-amz-restore``): none, ongoing, or a readable copy until its expiry date. Only when
there is none is RestoreObject sent, and the request is recorded in the catalog (the bucket entry's ``jobs``, keyed
by the object key, as vault jobs are keyed by archive id) before anything else can fail. A rerun that finds the
restore ongoing or done sends nothing; one that finds no copy although a restore is recorded knows the copy
expired, restores again and says so. A restore costs money, so none is ever requested twice for one copy: S3
answers a second request for an ongoing restore with 409 RestoreAlreadyInProgress, which is not an error here.
Record fields: ``action`` (``restore``), ``key``, ``version_id``, ``tier``, ``days``, ``started_at``, and
``expiry_date`` once S3 showed the copy.
"""

import copy
import datetime
import email.utils
import re
import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code

ACTION = 'restore'
# Storage classes whose objects GetObject refuses until restored, and the tiers each has.
TIERS = {'GLACIER': ('Expedited', 'Standard', 'Bulk'), 'DEEP_ARCHIVE': ('Standard', 'Bulk')}
DEFAULT_DAYS = 3
MAX_DAYS = 30000
# A record is forgotten (when another one is written) this long after its copy expired, or after it was started
# when no expiry was ever seen: by then it can no longer tell a rerun anything.
RECORD_KEEP = datetime.timedelta(days=30)

NONE = 'none'
ONGOING = 'ongoing'
AVAILABLE = 'available'

_ONGOING = re.compile(r'ongoing-request\s*=\s*"(true|false)"')
_EXPIRY = re.compile(r'expiry-date\s*=\s*"([^"]+)"')


class RestoreError(Exception):
    """A restore cannot be used; the message is for the user."""


class RestoreTimeout(RestoreError):
    """The restore did not complete within the time allowed."""


class ObjectGone(RestoreError):
    """The object (version) is not in the bucket."""


def needs_restore(storage_class):
    return storage_class in TIERS


def invalid_tier(storage_class, tier):
    """The error naming ``tier`` when the storage class has no such restore tier, else None."""
    if needs_restore(storage_class) and tier not in TIERS[storage_class]:
        return ('tier: %s objects cannot be restored with the %s tier; use one of %s (Standard restores %s)'
                % (storage_class, tier, ', '.join(TIERS[storage_class]),
                   'within 12 hours, Bulk within 48' if storage_class == 'DEEP_ARCHIVE' else 'in 3-5 hours'))
    return None


def iso(value):
    """A datetime as the catalog writes times (UTC); None for None."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
    return value.strftime('%Y-%m-%dT%H:%M:%SZ')


def state_of(head):
    """(state, expiry as an aware datetime or None) of an object from its HeadObject reply."""
    header = head.get('Restore') or ''
    ongoing = _ONGOING.search(header)
    if not ongoing:
        return NONE, None
    if ongoing.group(1) == 'true':
        return ONGOING, None
    expiry = _EXPIRY.search(header)
    when = email.utils.parsedate_to_datetime(expiry.group(1)) if expiry else None
    return AVAILABLE, when


# ---------------------------------------------------------------------------
# The catalog records (pure functions on a loaded catalog; those that change it return True if they did).

def get_restore(data, arn, key, version_id=None):
    """The recorded restore of ``key`` (of that version) in the bucket (a copy), or None."""
    record = ((catalog.get_entry(data, arn) or {}).get('jobs') or {}).get(key)
    if not isinstance(record, dict) or record.get('action') != ACTION or record.get('version_id') != version_id:
        return None
    return copy.deepcopy(record)


def _stale(record, now):
    if not isinstance(record, dict) or record.get('action') != ACTION:
        return False
    end = catalog.parse_time(record.get('expiry_date')) or catalog.parse_time(record.get('started_at'))
    return end is not None and end + RECORD_KEEP < now


def set_restore(data, arn, key, record, now=None, **entry_fields):
    """Record ``record`` as the restore of ``key``; stale restore records of other keys go at the same time."""
    jobs = catalog.get_entry(data, arn, create=True, **entry_fields).setdefault('jobs', {})
    changed = jobs.get(key) != record
    jobs[key] = copy.deepcopy(record)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    for other in [k for k, old in jobs.items() if k != key and _stale(old, now)]:
        del jobs[other]
        changed = True
    return changed


def new_record(key, version_id, tier, days, started_at=None):
    return {'action': ACTION, 'key': key, 'version_id': version_id, 'tier': tier, 'days': days,
            'started_at': started_at or catalog.now()}


# ---------------------------------------------------------------------------
# Talking to S3.

def head_object(client, bucket, key, version_id=None):
    """HeadObject with the checksum; raise ObjectGone when there is no such object (version)."""
    kwargs = {'Bucket': bucket, 'Key': key, 'ChecksumMode': 'ENABLED'}
    if version_id:
        kwargs['VersionId'] = version_id
    try:
        return client.head_object(**kwargs)
    except botocore.exceptions.ClientError as e:
        # 405: the version is a delete marker.
        if error_code(e) in ('404', 'NoSuchKey', 'NoSuchVersion', 'NotFound', '405', 'MethodNotAllowed'):
            raise ObjectGone('s3://%s/%s%s is not in the bucket (deleted, or its current version is a delete '
                             'marker)' % (bucket, key, ' version %s' % version_id if version_id else '')) from e
        raise


class Restores:
    """HeadObject, RestoreObject and waiting for the objects of one bucket; ``save(mutate)`` updates the catalog."""

    def __init__(self, client, bucket, arn, save, check_mode=False, sleep=time.sleep, clock=time.monotonic,
                 entry_fields=None):
        self.client = client
        self.bucket = bucket
        self.arn = arn
        self.save = save
        self.check_mode = check_mode
        self.entry_fields = entry_fields or {}
        self._sleep = sleep
        self._clock = clock

    def head(self, key, version_id=None):
        return head_object(self.client, self.bucket, key, version_id)

    def obtain(self, data, key, version_id, head, tier, days):
        """Make sure a readable copy of the object exists or is on its way; request one only when there is none.

        Returns dict(state, head, requested, answer, record, restored_again): ``state`` as state_of() after this
        call, ``requested`` whether this run sent (or, in check mode, would send) RestoreObject, ``answer`` what S3
        said (started, in-progress, already-restored), ``restored_again`` why a recorded restore was not enough.
        """
        state, expiry = state_of(head)
        recorded = get_restore(data, self.arn, key, version_id)
        outcome = {'state': state, 'head': head, 'requested': False, 'answer': None, 'record': recorded,
                   'restored_again': None}
        if state != NONE:
            if state == AVAILABLE and recorded is not None and recorded.get('expiry_date') != iso(expiry):
                recorded['expiry_date'] = iso(expiry)
                outcome['record'] = recorded
                if not self.check_mode:
                    self._record(key, recorded)
            return outcome
        if recorded is not None:
            outcome['restored_again'] = (
                'the copy restored by the request of %s expired on %s' % (recorded.get('started_at'), recorded['expiry_date'])
                if recorded.get('expiry_date') else
                'S3 shows no restore of the request of %s (its copy expired, or the request was lost)'
                % recorded.get('started_at'))
        outcome['requested'] = True
        if self.check_mode:
            outcome['state'] = ONGOING
            return outcome
        kwargs = {'Bucket': self.bucket, 'Key': key,
                  'RestoreRequest': {'Days': days, 'GlacierJobParameters': {'Tier': tier}}}
        if version_id:
            kwargs['VersionId'] = version_id
        try:
            reply = self.client.restore_object(**kwargs)
            status = reply.get('ResponseMetadata', {}).get('HTTPStatusCode')
            outcome['answer'] = 'already-restored' if status == 200 else 'started'
        except botocore.exceptions.ClientError as e:
            if error_code(e) != 'RestoreAlreadyInProgress':
                raise
            outcome['answer'] = 'in-progress'  # another run or tool asked first: that restore is ours too
        record = new_record(key, version_id, tier, days)
        # Recorded before anything else can fail, so that a rerun knows this copy was paid for.
        try:
            self._record(key, record)
        except catalog.CatalogError as e:
            raise RestoreError('the restore of s3://%s/%s was requested but could not be recorded: %s'
                               % (self.bucket, key, e)) from e
        outcome['record'] = record
        # What S3 shows now: a restore that completes at once is readable already. A restore just accepted that
        # HeadObject does not show yet is on its way all the same.
        outcome['head'] = self.head(key, version_id)
        state = state_of(outcome['head'])[0]
        outcome['state'] = ONGOING if state == NONE else state
        return outcome

    def _record(self, key, record):
        self.save(lambda d: set_restore(d, self.arn, key, record, **self.entry_fields))

    def wait(self, key, version_id, timeout, interval, head=None):
        """Poll HeadObject until the restored copy is readable; return that HeadObject reply.

        ``head``: the reply just received, looked at first. Raises RestoreTimeout once ``timeout`` seconds have
        passed (0: look once), RestoreError when S3 shows no restore any more (the request was lost or its copy
        already expired), ObjectGone.
        """
        deadline = self._clock() + timeout
        while True:
            if head is None:
                head = self.head(key, version_id)
            state, dummy = state_of(head)
            if state == AVAILABLE:
                return head
            if state == NONE:
                raise RestoreError('S3 shows no restore of s3://%s/%s any more while waiting for it' % (self.bucket, key))
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise RestoreTimeout('the restore of s3://%s/%s did not complete within %s seconds'
                                     % (self.bucket, key, timeout))
            self._sleep(min(interval, remaining))
            head = None
