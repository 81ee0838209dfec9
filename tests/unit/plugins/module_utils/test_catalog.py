# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import copy
import datetime
import json

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'
ARN_OTHER_REGION = 'arn:aws:glacier:eu-west-1:123456789012:vaults/backups'
NAME = '/srv/db.tar.gz'


def rec(archive_id, **extra):
    record = {'archive_id': archive_id, 'tree_hash': 'ab' * 32, 'size': 10, 'mtime': 1700000000,
              'uploaded_at': '2025-01-01T00:00:00Z', 'location': '/123456789012/vaults/backups/archives/' + archive_id,
              'description': 'cvg1 x', 'part_size': None}
    record.update(extra)
    return record


# --- ARNs -------------------------------------------------------------------

def test_parse_vault_arn():
    assert catalog.parse_vault_arn(ARN) == {'partition': 'aws', 'region': 'us-east-1', 'account': '123456789012', 'vault': 'backups'}
    assert catalog.parse_vault_arn('arn:aws-cn:glacier:cn-north-1:123456789012:vaults/v')['partition'] == 'aws-cn'


def test_parse_time():
    assert catalog.parse_time('2026-11-26T04:20:57Z') == datetime.datetime(2026, 11, 26, 4, 20, 57, tzinfo=datetime.timezone.utc)
    assert catalog.parse_time(catalog.now()) is not None
    assert catalog.parse_time('yesterday') is None
    assert catalog.parse_time(None) is None


@pytest.mark.parametrize('bad', ['', 'backups', 'arn:aws:s3:::bucket', 'arn:aws:glacier:us-east-1:12345:vaults/x', None,
                                 'arn:aws:glacier:us-east-1:123456789012:vaults/bad name'])
def test_parse_vault_arn_rejects(bad):
    with pytest.raises(ValueError):
        catalog.parse_vault_arn(bad)


# --- pure functions -----------------------------------------------------------

def test_record_creates_vault_and_flattens_latest():
    data = catalog.empty()
    assert catalog.record_archive(data, ARN, NAME, rec('id1'))
    vault = data['vaults'][ARN]
    assert (vault['vault'], vault['region'], vault['account']) == ('backups', 'us-east-1', '123456789012')
    assert vault['uploads'] == {} and vault['jobs'] == {}
    entry = vault['archives'][NAME]
    # The facts entry is the latest record with the counts of its history; the history itself is not in it.
    assert entry == dict(rec('id1'), versions=1, deleted_versions=0)
    assert catalog.history(data, ARN, NAME) == [rec('id1')]
    assert catalog.latest(data, ARN, NAME) == rec('id1')


def test_history_keeps_every_id_and_latest_moves():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('id1'))
    assert catalog.record_archive(data, ARN, NAME, rec('id2', size=20))
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id2' and entry['size'] == 20 and entry['versions'] == 2
    assert [r['archive_id'] for r in catalog.history(data, ARN, NAME)] == ['id1', 'id2']


def test_recording_same_id_twice_is_noop():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('id1'))
    catalog.record_archive(data, ARN, NAME, rec('id2'))
    snapshot = json.dumps(data, sort_keys=True)
    assert not catalog.record_archive(data, ARN, NAME, rec('id1', size=999))
    assert json.dumps(data, sort_keys=True) == snapshot
    assert [r['size'] for r in catalog.history(data, ARN, NAME)] == [10, 10]


def test_returned_records_are_copies():
    data = catalog.empty()
    record = rec('id1')
    catalog.record_archive(data, ARN, NAME, record)
    record['size'] = 0
    catalog.latest(data, ARN, NAME)['size'] = 1
    catalog.history(data, ARN, NAME)[0]['size'] = 2
    data['vaults'][ARN]['archives'][NAME]['size'] = 3  # the facts entry is a view: the history is not changed
    assert catalog.history(data, ARN, NAME)[0]['size'] == 10
    assert catalog.latest(data, ARN, NAME)['size'] == 10


def test_same_vault_name_in_other_region_does_not_collide():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('east'))
    catalog.record_archive(data, ARN_OTHER_REGION, NAME, rec('west'))
    assert catalog.latest(data, ARN, NAME)['archive_id'] == 'east'
    assert catalog.latest(data, ARN_OTHER_REGION, NAME)['archive_id'] == 'west'


@pytest.mark.parametrize('bad', [{}, {'archive_id': ''}, {'archive_id': 5}, 'id', {'archive_id': 'x', 'history': []},
                                 {'archive_id': 'x', 'versions': 1}, {'archive_id': 'x', 'deleted_versions': 0}])
@pytest.mark.parametrize('add', [catalog.record_archive, catalog.insert_archive])
def test_record_validates(add, bad):
    data = catalog.empty()
    with pytest.raises(ValueError):
        add(data, ARN, NAME, bad)
    assert data == catalog.empty() and catalog.history(data, ARN, NAME) == []


def test_record_needs_a_vault_arn():
    with pytest.raises(ValueError):
        catalog.record_archive(catalog.empty(), 'backups', NAME, rec('id1'))


def test_mark_deleted_latest_falls_back_to_newest_surviving():
    data = catalog.empty()
    for archive_id in ('id1', 'id2', 'id3'):
        catalog.record_archive(data, ARN, NAME, rec(archive_id))
    assert catalog.mark_deleted(data, ARN, 'id3', deleted_at='2025-02-02T00:00:00Z')
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id2' and 'deleted_at' not in entry
    assert (entry['versions'], entry['deleted_versions']) == (3, 1)
    assert catalog.history(data, ARN, NAME)[2] == dict(rec('id3'), deleted_at='2025-02-02T00:00:00Z')
    assert catalog.latest(data, ARN, NAME)['archive_id'] == 'id2'
    # Deleting an older one does not move the latest.
    assert catalog.mark_deleted(data, ARN, 'id1', name=NAME)
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id2' and entry['deleted_versions'] == 2
    # Already deleted and unknown ids change nothing.
    assert not catalog.mark_deleted(data, ARN, 'id1')
    assert not catalog.mark_deleted(data, ARN, 'nope')
    assert not catalog.mark_deleted(data, ARN_OTHER_REGION, 'id2')
    assert not catalog.mark_deleted(data, ARN, 'id2', name='/other')
    assert [r['archive_id'] for r in catalog.history(data, ARN, NAME)] == ['id1', 'id2', 'id3']


def test_all_deleted_shows_newest_with_deleted_at():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('id1'))
    catalog.record_archive(data, ARN, NAME, rec('id2'))
    catalog.mark_deleted(data, ARN, 'id2')
    catalog.mark_deleted(data, ARN, 'id1')
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id2' and entry['deleted_at'] and entry['deleted_versions'] == 2
    assert catalog.latest(data, ARN, NAME) is None
    assert catalog.latest(data, ARN, NAME, include_deleted=True)['archive_id'] == 'id2'
    # A new upload becomes the latest again.
    catalog.record_archive(data, ARN, NAME, rec('id3'))
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id3' and 'deleted_at' not in entry


def test_insert_archive_places_by_upload_time():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('b', uploaded_at='2025-01-02T00:00:00Z'))
    catalog.record_archive(data, ARN, NAME, rec('d', uploaded_at='2025-01-04T00:00:00Z'))
    assert catalog.insert_archive(data, ARN, NAME, rec('c', uploaded_at='2025-01-03T00:00:00Z'))
    assert catalog.insert_archive(data, ARN, NAME, rec('a', uploaded_at='2025-01-01T00:00:00Z'))
    assert catalog.insert_archive(data, ARN, NAME, rec('e', uploaded_at='2025-01-05T00:00:00Z'))
    assert catalog.insert_archive(data, ARN, NAME, rec('unknown-age', uploaded_at=None))  # appended
    assert not catalog.insert_archive(data, ARN, NAME, rec('c', uploaded_at='2020-01-01T00:00:00Z'))
    assert [r['archive_id'] for r in catalog.history(data, ARN, NAME)] == ['a', 'b', 'c', 'd', 'e', 'unknown-age']
    assert data['vaults'][ARN]['archives'][NAME]['archive_id'] == 'unknown-age'
    # An older archive found later does not become the latest.
    assert catalog.insert_archive(data, ARN, '/n2', rec('new', uploaded_at='2025-02-01T00:00:00Z'))
    assert catalog.insert_archive(data, ARN, '/n2', rec('old', uploaded_at='2025-01-01T00:00:00Z'))
    assert data['vaults'][ARN]['archives']['/n2']['archive_id'] == 'new'


def test_insert_archive_walks_back_over_many_newer_records():
    data = catalog.empty()
    for index in range(300):  # more than one chunk of the walk
        catalog.record_archive(data, ARN, NAME, rec('n%03d' % index, uploaded_at='2025-02-01T00:00:%02dZ' % (index % 60)))
    catalog.record_archive(data, ARN, NAME, rec('undated', uploaded_at=None))
    catalog.record_archive(data, ARN, NAME, rec('late', uploaded_at='2025-03-01T00:00:00Z'))
    assert catalog.insert_archive(data, ARN, NAME, rec('old', uploaded_at='2025-01-01T00:00:00Z'))
    ids = [r['archive_id'] for r in catalog.history(data, ARN, NAME)]
    # It stops at the undated record (its age is unknown): right after it, before the one uploaded later.
    assert ids[-3:] == ['undated', 'old', 'late'] and len(ids) == 303
    for index in range(300):
        catalog.record_archive(data, ARN, '/all-newer', rec('m%03d' % index, uploaded_at='2025-02-01T00:00:00Z'))
    assert catalog.insert_archive(data, ARN, '/all-newer', rec('first', uploaded_at='2025-01-01T00:00:00Z'))
    ids = [r['archive_id'] for r in catalog.history(data, ARN, '/all-newer')]
    assert ids[:2] == ['first', 'm000'] and ids[-1] == 'm299' and len(ids) == 301


def test_all_records_and_expand():
    data = catalog.empty()
    catalog.record_archive(data, ARN, '/b', rec('id1'))
    catalog.record_archive(data, ARN, '/a', rec('id2'))
    catalog.record_archive(data, ARN, '/a', rec('id3'))
    catalog.mark_deleted(data, ARN, 'id3', deleted_at='2025-03-03T00:00:00Z')
    assert [(n, r['archive_id']) for n, r in catalog.all_records(data, ARN)] == [('/a', 'id2'), ('/a', 'id3'), ('/b', 'id1')]
    assert catalog.all_records(data, ARN_OTHER_REGION) == []
    full = catalog.expand(data)['vaults'][ARN]['archives']
    # The shape of format 1: the latest live record's fields, and the whole history.
    assert full['/a'] == dict(rec('id2'), history=[rec('id2'), dict(rec('id3'), deleted_at='2025-03-03T00:00:00Z')])
    assert full['/b'] == dict(rec('id1'), history=[rec('id1')])


def test_copies_share_the_history_and_plain_dicts_are_refused():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('id1'))
    duplicate = copy.deepcopy(data)
    assert duplicate == data and duplicate is not data
    assert catalog.history(duplicate, ARN, NAME) == [rec('id1')]
    with pytest.raises(TypeError, match='catalog.empty'):
        catalog.history(json.loads(json.dumps(data)), ARN, NAME)


def test_find_archive():
    data = catalog.empty()
    catalog.record_archive(data, ARN, '/a', rec('id1'))
    catalog.record_archive(data, ARN, '/b', rec('id2'))
    assert catalog.find_archive(data, ARN, 'id2') == ('/b', rec('id2'))
    assert catalog.find_archive(data, ARN, 'zz') == (None, None)
    assert catalog.find_archive(catalog.empty(), ARN, 'id2') == (None, None)


def test_lookups_on_empty_catalog():
    data = catalog.empty()
    assert catalog.latest(data, ARN, NAME) is None
    assert catalog.history(data, ARN, NAME) == []
    assert catalog.get_upload(data, ARN, NAME) is None
    assert not catalog.clear_upload(data, ARN, NAME)
    assert data == catalog.empty()  # lookups create nothing


def test_pending_uploads():
    data = catalog.empty()
    upload = {'upload_id': 'u1', 'part_size': 8 * 1024 * 1024, 'size': 100, 'mtime': 1, 'started_at': '2025-01-01T00:00:00Z'}
    assert catalog.set_upload(data, ARN, NAME, upload)
    assert not catalog.set_upload(data, ARN, NAME, dict(upload))
    assert catalog.get_upload(data, ARN, NAME) == upload
    assert not catalog.clear_upload(data, ARN, NAME, upload_id='other')
    assert catalog.get_upload(data, ARN, NAME) == upload
    assert catalog.set_upload(data, ARN, NAME, dict(upload, upload_id='u2'))
    assert catalog.clear_upload(data, ARN, NAME, upload_id='u2')
    assert catalog.get_upload(data, ARN, NAME) is None
    catalog.set_upload(data, ARN, NAME, upload)
    assert catalog.clear_upload(data, ARN, NAME)
    with pytest.raises(ValueError):
        catalog.set_upload(data, ARN, NAME, {'part_size': 1})


# --- buckets beside vaults ----------------------------------------------------

BUCKET_ARN = 'arn:aws:s3:::cold-backups'


def test_bucket_records_live_beside_vaults_and_are_identified_by_key():
    data = catalog.empty()
    assert catalog.kind_of(ARN) == 'vault' and catalog.kind_of(BUCKET_ARN) == 'bucket'
    assert catalog.id_field(BUCKET_ARN) == 'key'
    first = {'key': 'etc/20261201T000000Z-abcd1234', 'size': 3, 'storage_class': 'DEEP_ARCHIVE'}
    assert catalog.record_archive(data, BUCKET_ARN, 'etc', first) is True
    assert catalog.record_archive(data, BUCKET_ARN, 'etc', dict(first)) is False  # same key: nothing new
    assert data['buckets'][BUCKET_ARN]['bucket'] == 'cold-backups'
    assert data['vaults'] == {}
    name, found = catalog.find_archive(data, BUCKET_ARN, first['key'])
    assert name == 'etc' and found['storage_class'] == 'DEEP_ARCHIVE'
    assert catalog.mark_deleted(data, BUCKET_ARN, first['key']) is True
    assert catalog.latest(data, BUCKET_ARN, 'etc') is None
    assert catalog.history(data, BUCKET_ARN, 'etc')[0]['key'] == first['key']
    with pytest.raises(ValueError, match='non-empty key'):
        catalog.record_archive(data, BUCKET_ARN, 'etc', {'archive_id': 'x'})


def test_bucket_entry_takes_its_region_from_the_caller():
    data = catalog.empty()
    entry = catalog.get_entry(data, BUCKET_ARN, create=True, region='eu-west-1')
    assert entry == {'bucket': 'cold-backups', 'region': 'eu-west-1', 'archives': {}, 'uploads': {}, 'jobs': {}}


@pytest.mark.parametrize('bad', ['arn:aws:s3:::', 'arn:aws:s3:::Upper', 'arn:aws:s3:::a', 'arn:aws:s3:::b/key'])
def test_bad_bucket_arns_are_refused(bad):
    with pytest.raises(ValueError):
        catalog.kind_of(bad)
