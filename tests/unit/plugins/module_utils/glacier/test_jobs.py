# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Job records in the catalog, reuse decisions and waiting, with a fake Glacier client and clock."""

import datetime

import botocore.exceptions
import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import jobs

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'
NOW = datetime.datetime(2026, 1, 10, 12, 0, 0, tzinfo=datetime.timezone.utc)
ARCHIVE = {'Type': jobs.ARCHIVE_RETRIEVAL, 'ArchiveId': 'A1', 'Tier': 'Standard'}
INVENTORY = {'Type': jobs.INVENTORY_RETRIEVAL, 'Format': 'JSON'}


def archive_job(job_id='J1', status='InProgress', archive_id='A1', **extra):
    described = {'JobId': job_id, 'Action': 'ArchiveRetrieval', 'ArchiveId': archive_id, 'StatusCode': status,
                 'Completed': status != 'InProgress', 'ArchiveSizeInBytes': 10, 'RetrievalByteRange': '0-9',
                 'Tier': 'Standard'}
    described.update(extra)
    return described


class FakeGlacier:
    def __init__(self, known=None, sequence=None):
        self.known = dict(known or {})  # job id -> description (or a list of descriptions, one per call)
        self.initiated = []

    def describe_job(self, vaultName, jobId):
        if jobId not in self.known:
            raise botocore.exceptions.ClientError({'Error': {'Code': 'ResourceNotFoundException', 'Message': 'x'}},
                                                  'DescribeJob')
        value = self.known[jobId]
        if isinstance(value, list):
            return value.pop(0) if len(value) > 1 else value[0]
        return value

    def initiate_job(self, vaultName, jobParameters):
        job_id = 'NEW%d' % (len(self.initiated) + 1)
        self.initiated.append(jobParameters)
        if jobParameters['Type'] == jobs.ARCHIVE_RETRIEVAL:
            self.known[job_id] = archive_job(job_id, archive_id=jobParameters['ArchiveId'])
        else:
            self.known[job_id] = {'JobId': job_id, 'Action': 'InventoryRetrieval', 'StatusCode': 'InProgress',
                                  'InventoryRetrievalParameters': {'Format': 'JSON'}}
        return {'jobId': job_id}


class Catalog:
    """The catalog as Jobs sees it: a dict and a save(mutate) that counts writes."""

    def __init__(self, data=None):
        self.data = data or catalog.empty()
        self.saves = 0

    def save(self, mutate):
        mutate(self.data)
        self.saves += 1


def recorded(job_id='J1', started_at='2026-01-10T11:00:00Z', key='A1'):
    data = catalog.empty()
    jobs.set_job(data, ARN, key, {'job_id': job_id, 'action': jobs.ARCHIVE_RETRIEVAL, 'archive_id': 'A1',
                                  'tier': 'Standard', 'started_at': started_at}, now=NOW)
    return data


# --- records ----------------------------------------------------------------------------------------------------

def test_set_get_clear_job():
    data = recorded()
    assert jobs.get_job(data, ARN, 'A1')['job_id'] == 'J1'
    assert data['vaults'][ARN]['jobs']['A1']['tier'] == 'Standard'
    assert not jobs.clear_job(data, ARN, 'A1', job_id='OTHER')
    assert jobs.clear_job(data, ARN, 'A1', job_id='J1')
    assert jobs.get_job(data, ARN, 'A1') is None
    assert not jobs.clear_job(data, ARN, 'A1')


def test_set_job_reports_no_change_for_the_same_record():
    data = recorded()
    record = jobs.get_job(data, ARN, 'A1')
    assert not jobs.set_job(data, ARN, 'A1', record, now=NOW)


def test_set_job_needs_a_job_id():
    with pytest.raises(ValueError):
        jobs.set_job(catalog.empty(), ARN, 'A1', {'job_id': ''})


def test_old_records_expire_when_a_job_is_recorded():
    data = recorded(job_id='OLD', started_at='2026-01-07T00:00:00Z', key='A0')
    jobs.set_job(data, ARN, 'A1', {'job_id': 'J1', 'started_at': '2026-01-10T11:00:00Z'}, now=NOW)
    assert set(data['vaults'][ARN]['jobs']) == {'A1'}


def test_recent_and_undated_records_are_kept():
    data = recorded(job_id='RECENT', started_at='2026-01-09T00:00:00Z', key='A0')
    data['vaults'][ARN]['jobs']['odd'] = {'job_id': 'X'}
    assert not jobs.expire_jobs(data, ARN, NOW)
    assert set(data['vaults'][ARN]['jobs']) == {'A0', 'odd'}


def test_a_job_record_passes_the_catalog_check(tmp_path):
    path = str(tmp_path / 'c.fact')
    catalog.update(path, lambda d: jobs.set_job(d, ARN, 'A1', jobs.new_record('J1', ARCHIVE)))
    assert jobs.get_job(catalog.read(path), ARN, 'A1')['archive_id'] == 'A1'


def test_new_record_fields():
    archive = jobs.new_record('J1', ARCHIVE, started_at='T')
    assert archive == {'job_id': 'J1', 'action': 'archive-retrieval', 'started_at': 'T', 'archive_id': 'A1',
                       'tier': 'Standard'}
    inventory = jobs.new_record('J2', INVENTORY, started_at='T')
    assert inventory == {'job_id': 'J2', 'action': 'inventory-retrieval', 'started_at': 'T', 'format': 'JSON'}


@pytest.mark.parametrize('described, reason', [
    (None, 'no longer knows'),
    (archive_job(status='Failed', StatusMessage='no capacity'), 'failed: no capacity'),
    (archive_job(archive_id='A2'), 'another archive'),
    (archive_job(RetrievalByteRange='0-4'), 'only bytes 0-4'),
    ({'Action': 'InventoryRetrieval', 'StatusCode': 'Succeeded'}, 'InventoryRetrieval job'),
])
def test_why_unusable(described, reason):
    assert reason in jobs.why_unusable(described, ARCHIVE)


def test_usable_jobs():
    assert jobs.why_unusable(archive_job(), ARCHIVE) is None
    assert jobs.why_unusable(archive_job(status='Succeeded'), ARCHIVE) is None
    assert jobs.why_unusable(archive_job(RetrievalByteRange=None), ARCHIVE) is None
    inventory = {'Action': 'InventoryRetrieval', 'StatusCode': 'InProgress', 'InventoryRetrievalParameters': {'Format': 'JSON'}}
    assert jobs.why_unusable(inventory, INVENTORY) is None
    inventory['InventoryRetrievalParameters']['Format'] = 'CSV'
    assert 'another format' in jobs.why_unusable(inventory, INVENTORY)


def test_status():
    assert jobs.status(archive_job(status='Succeeded')) == 'succeeded'
    assert jobs.status(archive_job()) == 'pending'
    assert jobs.status(None) == 'pending'


# --- obtain -----------------------------------------------------------------------------------------------------

def test_a_recorded_job_is_reused():
    store = Catalog(recorded())
    fake = FakeGlacier({'J1': archive_job()})
    job = jobs.Jobs(fake, 'backups', ARN, store.save).obtain(store.data, 'A1', ARCHIVE)
    assert (job['job_id'], job['started'], job['replaced']) == ('J1', False, None)
    assert fake.initiated == [] and store.saves == 0


@pytest.mark.parametrize('known, why', [({}, 'no longer knows'),
                                        ({'J1': archive_job(status='Failed')}, 'failed')])
def test_a_gone_or_failed_job_is_replaced_and_recorded(known, why):
    store = Catalog(recorded())
    fake = FakeGlacier(known)
    job = jobs.Jobs(fake, 'backups', ARN, store.save).obtain(store.data, 'A1', ARCHIVE)
    assert job['job_id'] == 'NEW1' and job['started'] and why in job['replaced']
    assert fake.initiated[0]['ArchiveId'] == 'A1' and fake.initiated[0]['Tier'] == 'Standard'
    assert jobs.get_job(store.data, ARN, 'A1')['job_id'] == 'NEW1'
    assert store.saves == 1


def test_check_mode_starts_and_records_nothing():
    store = Catalog()
    fake = FakeGlacier()
    job = jobs.Jobs(fake, 'backups', ARN, store.save, check_mode=True).obtain(store.data, 'A1', ARCHIVE)
    assert job == {'job_id': None, 'described': None, 'started': True, 'replaced': None}
    assert fake.initiated == [] and store.saves == 0


def test_a_job_that_cannot_be_recorded_is_named():
    def save(mutate):
        raise catalog.CatalogError('read-only')
    with pytest.raises(jobs.JobError, match='job NEW1 was started but could not be recorded: read-only'):
        jobs.Jobs(FakeGlacier(), 'backups', ARN, save).obtain(catalog.empty(), 'A1', ARCHIVE)


# --- wait -------------------------------------------------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def waiter(fake, clock):
    return jobs.Jobs(fake, 'backups', ARN, None, sleep=clock.sleep, clock=clock)


def test_wait_polls_until_the_job_succeeds():
    clock = Clock()
    fake = FakeGlacier({'J1': [archive_job(), archive_job(), archive_job(status='Succeeded')]})
    described = waiter(fake, clock).wait('J1', timeout=600, interval=60, described=archive_job())
    assert described['StatusCode'] == 'Succeeded'
    assert clock.sleeps == [60, 60, 60]


def test_wait_times_out_after_the_timeout():
    clock = Clock()
    fake = FakeGlacier({'J1': archive_job()})
    with pytest.raises(jobs.JobTimeout, match='J1 did not complete within 150 seconds'):
        waiter(fake, clock).wait('J1', timeout=150, interval=60)
    assert clock.sleeps == [60, 60, 30]


def test_wait_zero_looks_once():
    clock = Clock()
    with pytest.raises(jobs.JobTimeout):
        waiter(FakeGlacier({'J1': archive_job()}), clock).wait('J1', timeout=0, interval=60)
    assert clock.sleeps == []


def test_wait_reports_a_failed_or_gone_job():
    clock = Clock()
    with pytest.raises(jobs.JobFailed, match='J1 failed: boom'):
        waiter(FakeGlacier({'J1': archive_job(status='Failed', StatusMessage='boom')}), clock).wait('J1', 10, 1)
    with pytest.raises(jobs.JobGone):
        waiter(FakeGlacier(), clock).wait('J1', 10, 1)
