# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Glacier jobs (archive and inventory retrieval): start or reuse, describe, wait; recorded in the catalog.

A job costs money and takes hours, so its id goes into the catalog (the vault entry's ``jobs``) as soon as it is
started, keyed by the archive id (or ``inventory``). A later run describes the recorded job and reuses it; a job
the service no longer knows (its output expires 24 hours after completion), that failed, or that is not what the
key says is replaced by a new one. Record fields: ``job_id``, ``action`` (the InitiateJob type), ``started_at``,
and ``archive_id`` and ``tier``, or ``format``.
"""

import copy
import datetime
import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.catalog import parse_time

ARCHIVE_RETRIEVAL = 'archive-retrieval'
INVENTORY_RETRIEVAL = 'inventory-retrieval'
INVENTORY_KEY = 'inventory'
TIERS = ('Expedited', 'Standard', 'Bulk')
# DescribeJob's Action for each InitiateJob type.
ACTIONS = {ARCHIVE_RETRIEVAL: 'ArchiveRetrieval', INVENTORY_RETRIEVAL: 'InventoryRetrieval'}
# A Bulk job takes up to 12 hours and its output stays 24 hours: an older record is of no use to anyone.
RECORD_MAX_AGE = datetime.timedelta(hours=48)
JOB_DESCRIPTION = 'coldvault.glacier'

PENDING = 'pending'
SUCCEEDED = 'succeeded'


class JobError(Exception):
    """A job cannot be used; the message is for the user."""


class JobGone(JobError):
    """The service does not know the job id (any more)."""


class JobFailed(JobError):
    """The job ended with StatusCode Failed."""


class JobTimeout(JobError):
    """The job did not complete within the time allowed."""


# ---------------------------------------------------------------------------
# Pure functions on a loaded catalog. Those that change it return True if they did.

def get_job(data, arn, key):
    """The recorded job of ``key`` in the vault (a copy), or None."""
    job = ((catalog.get_entry(data, arn) or {}).get('jobs') or {}).get(key)
    return copy.deepcopy(job) if isinstance(job, dict) else None


def expire_jobs(data, arn, now, keep=None):
    """Forget job records started more than RECORD_MAX_AGE before ``now`` (aware datetime), except ``keep``."""
    jobs = (catalog.get_entry(data, arn) or {}).get('jobs') or {}
    stale = [key for key, job in jobs.items() if key != keep and isinstance(job, dict)
             and (parse_time(job.get('started_at')) or now) < now - RECORD_MAX_AGE]
    for key in stale:
        del jobs[key]
    return bool(stale)


def set_job(data, arn, key, record, now=None):
    """Record ``record`` (with a job_id) as the job of ``key``; stale records of other keys go at the same time."""
    if not isinstance(record, dict) or not isinstance(record.get('job_id'), str) or not record['job_id']:
        raise ValueError('a job record needs a non-empty job_id')
    jobs = catalog.get_entry(data, arn, create=True).setdefault('jobs', {})
    changed = jobs.get(key) != record
    jobs[key] = copy.deepcopy(record)
    expired = expire_jobs(data, arn, now or datetime.datetime.now(datetime.timezone.utc), keep=key)
    return changed or expired


def clear_job(data, arn, key, job_id=None):
    """Forget the job of ``key`` (only if its id is ``job_id``, when given)."""
    jobs = (catalog.get_entry(data, arn) or {}).get('jobs') or {}
    current = jobs.get(key)
    if current is None or (job_id is not None and (current or {}).get('job_id') != job_id):
        return False
    del jobs[key]
    return True


def new_record(job_id, parameters, started_at=None):
    """The catalog record of a job just started with InitiateJob ``parameters``."""
    record = {'job_id': job_id, 'action': parameters['Type'], 'started_at': started_at or catalog.now()}
    if parameters['Type'] == ARCHIVE_RETRIEVAL:
        record.update(archive_id=parameters['ArchiveId'], tier=parameters.get('Tier', 'Standard'))
    else:
        record['format'] = parameters.get('Format', 'JSON')
    return record


def why_unusable(described, parameters):
    """Why a described job cannot serve a request with InitiateJob ``parameters``; None when it can."""
    if described is None:
        return 'the vault no longer knows it'
    if described.get('StatusCode') == 'Failed':
        return 'it failed: %s' % (described.get('StatusMessage') or 'no reason given')
    if described.get('Action') != ACTIONS.get(parameters['Type']):
        return 'it is a %s job' % described.get('Action')
    if parameters['Type'] == ARCHIVE_RETRIEVAL:
        if described.get('ArchiveId') != parameters['ArchiveId']:
            return 'it retrieves another archive'
        size = described.get('ArchiveSizeInBytes')
        wanted = '0-%d' % (size - 1) if isinstance(size, int) else None
        if described.get('RetrievalByteRange') not in (None, wanted):
            return 'it retrieves only bytes %s' % described['RetrievalByteRange']
    elif ((described.get('InventoryRetrievalParameters') or {}).get('Format') or 'JSON') != parameters.get('Format', 'JSON'):
        return 'it lists the inventory in another format'
    return None


def status(described):
    """'succeeded' for a completed job, else 'pending'."""
    return SUCCEEDED if described and described.get('StatusCode') == 'Succeeded' else PENDING


# ---------------------------------------------------------------------------
# Talking to the service.

class Jobs:
    """Start, reuse, describe and wait for the jobs of one vault; ``save(mutate)`` updates the catalog."""

    def __init__(self, client, vault, arn, save, check_mode=False, sleep=time.sleep, clock=time.monotonic):
        self.client = client
        self.vault = vault
        self.arn = arn
        self.save = save
        self.check_mode = check_mode
        self._sleep = sleep
        self._clock = clock

    def describe(self, job_id):
        """DescribeJob, or None when the service does not know the id."""
        try:
            return self.client.describe_job(vaultName=self.vault, jobId=job_id)
        except botocore.exceptions.ClientError as e:
            if error_code(e) == 'ResourceNotFoundException':
                return None
            raise

    def obtain(self, data, key, parameters):
        """The job to use for ``key``: the recorded one if still usable, else a new one (recorded at once).

        Returns dict(job_id, described, started, replaced): ``described`` is the DescribeJob result (None for a job
        that check mode would start, whose job_id is None too), ``started`` whether a job was (or, in check mode,
        would be) started, ``replaced`` why a recorded job was not reused (None if there was none or it was).
        """
        recorded = get_job(data, self.arn, key)
        replaced = None
        if recorded and recorded.get('job_id'):
            described = self.describe(recorded['job_id'])
            replaced = why_unusable(described, parameters)
            if replaced is None:
                return {'job_id': recorded['job_id'], 'described': described, 'started': False, 'replaced': None}
            replaced = 'job %s was replaced because %s' % (recorded['job_id'], replaced)
        if self.check_mode:
            return {'job_id': None, 'described': None, 'started': True, 'replaced': replaced}
        params = dict(parameters, Description=JOB_DESCRIPTION)
        job_id = self.client.initiate_job(vaultName=self.vault, jobParameters=params)['jobId']
        record = new_record(job_id, parameters)
        # Recorded before anything else can fail, so that no later run pays for the same job again.
        try:
            self.save(lambda d: set_job(d, self.arn, key, record))
        except catalog.CatalogError as e:
            raise JobError('job %s was started but could not be recorded: %s' % (job_id, e)) from e
        described = self.describe(job_id)
        if described is None:
            raise JobGone('job %s, just started, is unknown to the vault' % job_id)
        return {'job_id': job_id, 'described': described, 'started': True, 'replaced': replaced}

    def wait(self, job_id, timeout, interval, described=None):
        """Poll DescribeJob until the job completes; return its description.

        Raises JobFailed, JobGone, or JobTimeout once ``timeout`` seconds have passed (0: look once).
        """
        deadline = self._clock() + timeout
        while True:
            if described is None:
                described = self.describe(job_id)
                if described is None:
                    raise JobGone('job %s is no longer known to the vault' % job_id)
            if described.get('StatusCode') == 'Failed':
                raise JobFailed('job %s failed: %s' % (job_id, described.get('StatusMessage') or 'no reason given'))
            if described.get('StatusCode') == 'Succeeded':
                return described
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise JobTimeout('job %s did not complete within %s seconds' % (job_id, timeout))
            self._sleep(min(interval, remaining))
            described = None
