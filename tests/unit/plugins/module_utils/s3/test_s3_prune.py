# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retention on a bucket: the age from S3, minimum storage durations, Object Lock, version ids, check mode."""

import datetime

import pytest
from ansible_collections.coldvault.glacier.tests.unit.plugins.module_utils.s3.fake_s3_objects import NOW, FakeModule, FakeObjects

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import prune

ARN = 'arn:aws:s3:::bucket'
DAY = datetime.timedelta(days=1)


def head(storage_class='DEEP_ARCHIVE', age_days=200, **extra):
    return dict({'StorageClass': storage_class, 'LastModified': NOW - age_days * DAY}, **extra)


@pytest.mark.parametrize('storage_class, age, kept', [
    ('DEEP_ARCHIVE', 179.9, True), ('DEEP_ARCHIVE', 180.1, False), ('GLACIER', 89, True), ('GLACIER', 91, False),
    ('GLACIER_IR', 89, True), ('GLACIER_IR', 90.5, False), ('STANDARD', 0.1, False),
])
def test_the_minimum_storage_duration_of_each_class_keeps_younger_objects(storage_class, age, kept):
    delete, info = prune.judge(head(storage_class, age), NOW, 0, False)
    assert delete is not kept
    assert ('minimum_storage_duration' in info.get('kept_because', [])) is kept


def test_early_deletion_allowed_deletes_and_states_the_days_billed():
    delete, info = prune.judge(head('DEEP_ARCHIVE', 30.5), NOW, 0, True)
    assert delete
    assert info['early_deletion']['billed_days'] == 150 and info['early_deletion']['minimum_days'] == 180
    assert 'billed for the 150 days left' in info['early_deletion']['message']


@pytest.mark.parametrize('mode', ['GOVERNANCE', 'COMPLIANCE'])
def test_a_running_retention_keeps_the_object_with_its_retain_until_date(mode):
    until = NOW + 10 * DAY
    delete, info = prune.judge(head(ObjectLockMode=mode, ObjectLockRetainUntilDate=until), NOW, 0, True)
    assert not delete and info['kept_because'] == ['object_lock']
    assert info['lock_mode'] == mode and info['retain_until'] == '2026-12-11T12:00:00Z'


def test_an_expired_retention_does_not_keep_but_a_legal_hold_does():
    expired = head(ObjectLockMode='COMPLIANCE', ObjectLockRetainUntilDate=NOW - DAY)
    assert prune.judge(expired, NOW, 0, False)[0]
    delete, info = prune.judge(head(ObjectLockLegalHoldStatus='ON'), NOW, 0, False)
    assert not delete and info['kept_because'] == ['legal_hold']


def test_min_age_days_counts_from_last_modified():
    assert not prune.judge(head('STANDARD', 9), NOW, 10, False)[0]
    assert prune.judge(head('STANDARD', 11), NOW, 10, False)[0]


def run(fake, records, check_mode=False, **params):
    path = params.pop('facts_file')
    catalog.update(path, lambda d: [catalog.record_archive(d, ARN, 'db', r) for r in records])
    module = FakeModule(fake, check_mode=check_mode, bucket='bucket', name='db', keep=1, min_age_days=0,
                        allow_early_deletion=False, facts_file=path, facts_file_mode='0600', **params)
    return prune.BucketPrune(module).run(), module


def catalogued(fake, ages, **add):
    """The catalog records of objects of "db" written ``ages`` days ago (their uploaded_at says otherwise)."""
    records = []
    for index, age in enumerate(ages):
        version = fake.add('db/%d' % index, b'x', last_modified=NOW - age * DAY, **add)
        records.append({'key': version['key'], 'version_id': version['version_id'],
                        'uploaded_at': '2026-01-0%dT00:00:00Z' % (index + 1)})
    return records


@pytest.fixture
def real_now(monkeypatch):
    """prune asks datetime for the time; the fake's objects are dated from NOW."""
    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return NOW
    monkeypatch.setattr(prune.datetime, 'datetime', Clock)


def test_versions_are_deleted_by_id_and_keep_their_record_with_deleted_at(tmp_path, real_now):
    fake = FakeObjects(versioned=True)
    records = catalogued(fake, [400, 300, 1], storage_class='DEEP_ARCHIVE')
    result, dummy = run(fake, records, facts_file=str(tmp_path / 'c.fact'))
    deletes = [kw for op, kw in fake.calls if op == 'DeleteObject']
    assert [(kw['Key'], kw['VersionId']) for kw in deletes] == [('db/0', 'v1'), ('db/1', 'v2')]
    assert [e['key'] for e in result['deleted']] == ['db/0', 'db/1'] and result['changed']
    history = catalog.history(catalog.read(str(tmp_path / 'c.fact')), ARN, 'db')
    assert [bool(r.get('deleted_at')) for r in history] == [True, True, False]


def test_check_mode_judges_with_head_object_and_deletes_nothing(tmp_path, real_now):
    fake = FakeObjects()
    records = catalogued(fake, [400, 10, 1], storage_class='GLACIER')
    result, dummy = run(fake, records, check_mode=True, facts_file=str(tmp_path / 'c.fact'))
    assert fake.count('DeleteObject') == 0 and fake.count('HeadObject') == 2
    assert [e['key'] for e in result['deleted']] == ['db/0']
    assert [e['kept_because'] for e in result['kept']] == [['minimum_storage_duration'], ['keep']]
    assert not any(r.get('deleted_at') for r in catalog.history(catalog.read(str(tmp_path / 'c.fact')), ARN, 'db'))


def test_a_lock_head_object_did_not_show_keeps_the_object_with_a_warning(tmp_path, real_now):
    fake = FakeObjects()
    records = catalogued(fake, [400, 1], storage_class='STANDARD')
    fake.objects['db/0'][-1]['legal_hold'] = True
    original = fake.head_object

    def hidden(**kwargs):  # as for credentials without s3:GetObjectLegalHold
        reply = original(**kwargs)
        reply.pop('ObjectLockLegalHoldStatus', None)
        return reply
    fake.head_object = hidden
    result, module = run(fake, records, facts_file=str(tmp_path / 'c.fact'))
    assert result['deleted'] == [] and not result['changed']
    assert result['kept'][0]['kept_because'] == ['object_lock']
    assert 's3:GetObjectLegalHold' in module.warnings[0]


def test_an_object_already_gone_is_marked_deleted(tmp_path, real_now):
    fake = FakeObjects()
    records = catalogued(fake, [400, 1], storage_class='STANDARD')
    del fake.objects['db/0']
    result, dummy = run(fake, records, facts_file=str(tmp_path / 'c.fact'))
    assert result['deleted'][0]['already_gone'] and fake.count('DeleteObject') == 0
    assert catalog.history(catalog.read(str(tmp_path / 'c.fact')), ARN, 'db')[0]['deleted_at']
