# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore state, requests and their catalog records, against a strict fake S3 (fake_s3_objects.py)."""

import datetime

import pytest
from ansible_collections.coldvault.glacier.tests.unit.plugins.module_utils.s3.fake_s3_objects import FakeObjects, error, raising

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import restore

ARN = 'arn:aws:s3:::bucket'
UTC = datetime.timezone.utc


class Catalog:
    """save(mutate) on an in-memory catalog, counting the writes."""

    def __init__(self, fail=False):
        self.data = catalog.empty()
        self.saves = 0
        self.fail = fail

    def save(self, mutate):
        if self.fail:
            raise catalog.CatalogError('disk full')
        mutate(self.data)
        self.saves += 1


def restores(fake, store, check_mode=False, clock=None, sleep=None):
    return restore.Restores(fake, 'bucket', ARN, store.save, check_mode=check_mode,
                            sleep=sleep or (lambda s: None), clock=clock or (lambda: 0.0), entry_fields={'region': 'us-east-1'})


@pytest.mark.parametrize('header, state, expiry', [
    (None, 'none', None),
    ('ongoing-request="true"', 'ongoing', None),
    ('ongoing-request="false", expiry-date="Fri, 04 Dec 2026 00:00:00 GMT"', 'available',
     datetime.datetime(2026, 12, 4, tzinfo=UTC)),
])
def test_the_restore_header_tells_the_state(header, state, expiry):
    assert restore.state_of({'Restore': header} if header else {}) == (state, expiry)


def test_expedited_is_no_tier_of_deep_archive_and_the_message_names_tier():
    assert restore.invalid_tier('DEEP_ARCHIVE', 'Expedited').startswith('tier: DEEP_ARCHIVE objects cannot be restored with the Expedited tier')
    assert restore.invalid_tier('DEEP_ARCHIVE', 'Bulk') is None
    assert restore.invalid_tier('GLACIER', 'Expedited') is None
    assert restore.invalid_tier('GLACIER_IR', 'Expedited') is None  # no restore at all


def test_no_copy_sends_one_restore_and_records_it_before_returning():
    fake, store = FakeObjects(), Catalog()
    fake.add('k', b'x')
    runner = restores(fake, store)
    outcome = runner.obtain(store.data, 'k', None, runner.head('k'), 'Bulk', 7)
    assert fake.count('RestoreObject') == 1
    sent = [kw for op, kw in fake.calls if op == 'RestoreObject'][0]
    assert sent['RestoreRequest'] == {'Days': 7, 'GlacierJobParameters': {'Tier': 'Bulk'}}
    assert outcome['state'] == 'ongoing' and outcome['requested'] and outcome['answer'] == 'started'
    record = restore.get_restore(store.data, ARN, 'k')
    assert record['tier'] == 'Bulk' and record['days'] == 7 and record['action'] == 'restore'
    assert catalog.get_entry(store.data, ARN)['region'] == 'us-east-1'


@pytest.mark.parametrize('state', ['ongoing', 'available'])
def test_an_ongoing_or_finished_restore_sends_nothing(state):
    fake, store = FakeObjects(), Catalog()
    version = fake.add('k', b'x')
    version.update(restore=state, expiry=datetime.datetime(2026, 12, 9, tzinfo=UTC))
    runner = restores(fake, store)
    outcome = runner.obtain(store.data, 'k', None, runner.head('k'), 'Standard', 3)
    assert fake.count('RestoreObject') == 0 and not outcome['requested'] and outcome['state'] == state


def test_restore_already_in_progress_is_no_error_and_is_recorded():
    fake, store = FakeObjects(), Catalog()
    fake.add('k', b'x')
    runner = restores(fake, store)
    head = runner.head('k')
    fake.objects['k'][-1]['restore'] = 'ongoing'  # another host asked between our HeadObject and RestoreObject
    outcome = runner.obtain(store.data, 'k', None, head, 'Standard', 3)
    assert outcome['answer'] == 'in-progress' and outcome['state'] == 'ongoing'
    assert restore.get_restore(store.data, ARN, 'k') is not None


def test_an_expired_copy_is_restored_again_and_the_outcome_says_why():
    fake, store = FakeObjects(), Catalog()
    fake.add('k', b'x')
    runner = restores(fake, store)
    runner.obtain(store.data, 'k', None, runner.head('k'), 'Standard', 1)
    fake.finish_restores()
    runner.obtain(store.data, 'k', None, runner.head('k'), 'Standard', 1)  # sees the copy: records its expiry
    assert restore.get_restore(store.data, ARN, 'k')['expiry_date'] == '2026-12-04T12:00:00Z'
    fake.expire_restores()
    outcome = runner.obtain(store.data, 'k', None, runner.head('k'), 'Standard', 1)
    assert fake.count('RestoreObject') == 2
    assert 'expired on 2026-12-04T12:00:00Z' in outcome['restored_again']


def test_check_mode_requests_and_records_nothing():
    fake, store = FakeObjects(), Catalog()
    fake.add('k', b'x')
    runner = restores(fake, store, check_mode=True)
    outcome = runner.obtain(store.data, 'k', None, runner.head('k'), 'Standard', 3)
    assert outcome['requested'] and fake.count('RestoreObject') == 0 and store.saves == 0


def test_a_restore_that_cannot_be_recorded_says_it_was_requested():
    fake, store = FakeObjects(), Catalog(fail=True)
    fake.add('k', b'x')
    runner = restores(fake, store)
    with pytest.raises(restore.RestoreError, match='was requested but could not be recorded: disk full'):
        runner.obtain(catalog.empty(), 'k', None, runner.head('k'), 'Standard', 3)


def test_other_errors_of_restore_object_are_raised_as_they_are():
    fake, store = FakeObjects(), Catalog()
    fake.add('k', b'x')
    fake.faults['RestoreObject'] = [raising(error('GlacierExpeditedRetrievalNotAvailable', 503))]
    runner = restores(fake, store)
    with pytest.raises(Exception, match='GlacierExpeditedRetrievalNotAvailable'):
        runner.obtain(store.data, 'k', None, runner.head('k'), 'Expedited', 3)
    assert restore.get_restore(store.data, ARN, 'k') is None


def test_wait_polls_until_the_copy_is_readable():
    fake, store = FakeObjects(), Catalog()
    fake.add('k', b'x')
    fake.objects['k'][-1]['restore'] = 'ongoing'
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 3:
            fake.finish_restores()
    head = restores(fake, store, sleep=sleep).wait('k', None, 3600, 60)
    assert restore.state_of(head)[0] == 'available' and slept == [60, 60, 60]


def test_wait_gives_up_at_the_timeout_and_says_so():
    fake, store = FakeObjects(), Catalog()
    fake.add('k', b'x')
    fake.objects['k'][-1]['restore'] = 'ongoing'
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
    with pytest.raises(restore.RestoreTimeout, match='did not complete within 150 seconds'):
        restores(fake, store, clock=lambda: now[0], sleep=sleep).wait('k', None, 150, 60)
    assert now[0] == 150


def test_a_missing_object_is_object_gone():
    with pytest.raises(restore.ObjectGone, match='is not in the bucket'):
        restore.head_object(FakeObjects(), 'bucket', 'nope')


def test_stale_restore_records_of_other_keys_go_when_one_is_written():
    data = catalog.empty()
    old = restore.new_record('old', None, 'Bulk', 1, started_at='2026-01-01T00:00:00Z')
    old['expiry_date'] = '2026-01-05T00:00:00Z'
    recent = restore.new_record('recent', None, 'Bulk', 1, started_at='2026-11-30T00:00:00Z')
    now = datetime.datetime(2026, 12, 1, tzinfo=UTC)
    restore.set_restore(data, ARN, 'old', old, now=now)
    restore.set_restore(data, ARN, 'recent', recent, now=now)
    restore.set_restore(data, ARN, 'new', restore.new_record('new', None, 'Bulk', 1), now=now)
    assert sorted(catalog.get_entry(data, ARN)['jobs']) == ['new', 'recent']


def test_a_restore_that_completes_at_once_is_readable_without_waiting():
    fake, store = FakeObjects(), Catalog()
    fake.add('k', b'x')
    fake.faults['HeadObject'] = [None, lambda kw: fake.finish_restores()]  # done by the time of the next look
    runner = restores(fake, store)
    outcome = runner.obtain(store.data, 'k', None, runner.head('k'), 'Standard', 3)
    assert outcome['requested'] and outcome['answer'] == 'started' and outcome['state'] == 'available'
    assert restore.state_of(outcome['head'])[0] == 'available'
