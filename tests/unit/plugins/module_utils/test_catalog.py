# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import datetime
import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils.catalog import CatalogError

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
    assert entry['archive_id'] == 'id1'
    assert entry['history'] == [rec('id1')]
    assert catalog.latest(data, ARN, NAME) == rec('id1')


def test_history_keeps_every_id_and_latest_moves():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('id1'))
    assert catalog.record_archive(data, ARN, NAME, rec('id2', size=20))
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id2' and entry['size'] == 20
    assert [r['archive_id'] for r in entry['history']] == ['id1', 'id2']
    assert [r['archive_id'] for r in catalog.history(data, ARN, NAME)] == ['id1', 'id2']


def test_recording_same_id_twice_is_noop():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('id1'))
    catalog.record_archive(data, ARN, NAME, rec('id2'))
    snapshot = json.dumps(data, sort_keys=True)
    assert not catalog.record_archive(data, ARN, NAME, rec('id1', size=999))
    assert json.dumps(data, sort_keys=True) == snapshot


def test_returned_records_are_copies():
    data = catalog.empty()
    record = rec('id1')
    catalog.record_archive(data, ARN, NAME, record)
    record['size'] = 0
    catalog.latest(data, ARN, NAME)['size'] = 1
    catalog.history(data, ARN, NAME)[0]['size'] = 2
    assert data['vaults'][ARN]['archives'][NAME]['size'] == 10
    assert data['vaults'][ARN]['archives'][NAME]['history'][0]['size'] == 10


def test_same_vault_name_in_other_region_does_not_collide():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('east'))
    catalog.record_archive(data, ARN_OTHER_REGION, NAME, rec('west'))
    assert catalog.latest(data, ARN, NAME)['archive_id'] == 'east'
    assert catalog.latest(data, ARN_OTHER_REGION, NAME)['archive_id'] == 'west'


@pytest.mark.parametrize('bad', [{}, {'archive_id': ''}, {'archive_id': 5}, 'id', {'archive_id': 'x', 'history': []}])
def test_record_validates(bad):
    with pytest.raises(ValueError):
        catalog.record_archive(catalog.empty(), ARN, NAME, bad)


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
    assert entry['history'][2] == dict(rec('id3'), deleted_at='2025-02-02T00:00:00Z')
    assert catalog.latest(data, ARN, NAME)['archive_id'] == 'id2'
    # Deleting an older one does not move the latest.
    assert catalog.mark_deleted(data, ARN, 'id1', name=NAME)
    assert entry['archive_id'] == 'id2'
    # Already deleted and unknown ids change nothing.
    assert not catalog.mark_deleted(data, ARN, 'id1')
    assert not catalog.mark_deleted(data, ARN, 'nope')
    assert not catalog.mark_deleted(data, ARN_OTHER_REGION, 'id2')
    assert not catalog.mark_deleted(data, ARN, 'id2', name='/other')
    assert [r['archive_id'] for r in entry['history']] == ['id1', 'id2', 'id3']


def test_all_deleted_shows_newest_with_deleted_at():
    data = catalog.empty()
    catalog.record_archive(data, ARN, NAME, rec('id1'))
    catalog.record_archive(data, ARN, NAME, rec('id2'))
    catalog.mark_deleted(data, ARN, 'id2')
    catalog.mark_deleted(data, ARN, 'id1')
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id2' and entry['deleted_at']
    assert catalog.latest(data, ARN, NAME) is None
    assert catalog.latest(data, ARN, NAME, include_deleted=True)['archive_id'] == 'id2'
    # A new upload becomes the latest again.
    catalog.record_archive(data, ARN, NAME, rec('id3'))
    assert entry['archive_id'] == 'id3' and 'deleted_at' not in entry


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


# --- read ---------------------------------------------------------------------

def test_read_missing_and_empty(tmp_path):
    assert catalog.read(str(tmp_path / 'nope.fact')) == catalog.empty()
    empty = tmp_path / 'empty.fact'
    empty.write_text('  \n')
    assert catalog.read(str(empty)) == catalog.empty()


def test_read_fills_missing_vaults(tmp_path):
    path = tmp_path / 'g.fact'
    path.write_text('{"format": 1}')
    assert catalog.read(str(path)) == catalog.empty()


CORRUPT = [
    ('not valid JSON', b'{"format": 1,'),
    ('not valid JSON', b'\xff\xfe garbage'),
    ('not hold a JSON object', b'[1, 2]'),
    ('not hold a JSON object', b'"text"'),
    ('no valid "format"', b'{"vaults": {}}'),
    ('no valid "format"', b'{"format": "1"}'),
    ('no valid "format"', b'{"format": true}'),
    ('newer coldvault.glacier', b'{"format": 2, "vaults": {}}'),
    ('unknown catalog format', b'{"format": 0}'),
    ('"vaults" must be an object', b'{"format": 1, "vaults": []}'),
    ('must be an object', b'{"format": 1, "vaults": {"arn": 5}}'),
    ('"archives" must be an object', b'{"format": 1, "vaults": {"arn": {"archives": []}}}'),
    ('"history" list', b'{"format": 1, "vaults": {"arn": {"archives": {"/a": {"archive_id": "x"}}}}}'),
]


@pytest.mark.parametrize('message,content', CORRUPT)
def test_bad_files_raise_and_are_left_untouched(tmp_path, message, content):
    path = tmp_path / 'glacier.fact'
    path.write_bytes(content)
    with pytest.raises(CatalogError) as info:
        catalog.read(str(path))
    assert message in str(info.value) and str(path) in str(info.value)
    with pytest.raises(CatalogError):
        catalog.update(str(path), lambda data: catalog.record_archive(data, ARN, NAME, rec('id1')))
    assert path.read_bytes() == content
    assert sorted(os.listdir(str(tmp_path))) == ['glacier.fact', 'glacier.fact.lock']


def test_read_directory(tmp_path):
    with pytest.raises(CatalogError, match='is a directory'):
        catalog.read(str(tmp_path))


def test_read_unreadable(tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(CatalogError, match='cannot read the catalog .*file/g.fact'):
        catalog.read(str(tmp_path / 'file' / 'g.fact'))


# --- update ---------------------------------------------------------------------

def add(archive_id, name=NAME):
    return lambda data: catalog.record_archive(data, ARN, name, rec(archive_id))


def test_update_creates_file_and_parent_with_modes(tmp_path):
    path = tmp_path / 'etc' / 'ansible' / 'facts.d' / 'glacier.fact'
    old_umask = os.umask(0o022)
    try:
        before, after = catalog.update(str(path), add('id1'))
    finally:
        os.umask(old_umask)
    assert before == catalog.empty()
    assert after['vaults'][ARN]['archives'][NAME]['archive_id'] == 'id1'
    assert json.loads(path.read_text()) == after
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    assert sorted(os.listdir(str(path.parent))) == ['glacier.fact', 'glacier.fact.lock']
    assert stat.S_IMODE((path.parent / 'glacier.fact.lock').stat().st_mode) == 0o600


def test_update_keeps_mode_even_with_strict_umask_and_existing_file(tmp_path):
    path = tmp_path / 'glacier.fact'
    path.write_text('{"format": 1, "vaults": {}}')
    os.chmod(str(path), 0o644)
    old_umask = os.umask(0o077)
    try:
        catalog.update(str(path), add('id1'), mode=0o640)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_update_with_atomic_move_like_ansible(tmp_path):
    # AnsibleModule.atomic_move gives a new file 0666 & ~umask; update() must still end at ``mode``.
    calls = []

    def atomic_move(src, dest):
        calls.append((src, dest))
        assert stat.S_IMODE(os.stat(src).st_mode) == 0o600
        os.rename(src, dest)
        os.chmod(dest, 0o644)

    path = tmp_path / 'glacier.fact'
    catalog.update(str(path), add('id1'), atomic_move=atomic_move)
    assert len(calls) == 1 and calls[0][1] == str(path)
    assert os.path.dirname(calls[0][0]) == str(tmp_path)
    assert not calls[0][0].endswith('.fact')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_update_no_change_writes_nothing(tmp_path):
    path = tmp_path / 'glacier.fact'
    catalog.update(str(path), add('id1'))
    content = path.read_bytes()
    mtime = path.stat().st_mtime_ns

    def boom(src, dest):
        raise AssertionError('must not move anything')

    before, after = catalog.update(str(path), add('id1'), atomic_move=boom)
    assert before == after
    assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime
    # A no-op update of a missing file does not create it.
    catalog.update(str(tmp_path / 'other.fact'), lambda data: None)
    assert not (tmp_path / 'other.fact').exists()


def test_update_history_across_writes(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    catalog.update(path, add('id1'))
    catalog.update(path, add('id2'))
    catalog.update(path, lambda data: catalog.mark_deleted(data, ARN, 'id2'))
    data = catalog.read(path)
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id1'
    assert [r['archive_id'] for r in entry['history']] == ['id1', 'id2']
    assert entry['history'][1]['deleted_at']


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / 'new' / 'glacier.fact'
    before, after = catalog.update(str(path), add('id1'), check_mode=True)
    assert before == catalog.empty() and after['vaults'][ARN]['archives'][NAME]['archive_id'] == 'id1'
    assert os.listdir(str(tmp_path)) == []
    existing = tmp_path / 'glacier.fact'
    catalog.update(str(existing), add('id1'))
    content = existing.read_bytes()
    entries = sorted(os.listdir(str(tmp_path)))
    before, after = catalog.update(str(existing), add('id2'), check_mode=True)
    assert before != after
    assert existing.read_bytes() == content and sorted(os.listdir(str(tmp_path))) == entries


def test_mutate_error_leaves_file_and_no_temp(tmp_path):
    path = tmp_path / 'glacier.fact'
    catalog.update(str(path), add('id1'))
    content = path.read_bytes()

    def fail(data):
        catalog.record_archive(data, ARN, NAME, rec('id2'))
        raise RuntimeError('stop')

    with pytest.raises(RuntimeError):
        catalog.update(str(path), fail)
    assert path.read_bytes() == content
    assert sorted(os.listdir(str(tmp_path))) == ['glacier.fact', 'glacier.fact.lock']


def test_mutate_breaking_the_shape_is_refused(tmp_path):
    path = tmp_path / 'glacier.fact'
    with pytest.raises(CatalogError):
        catalog.update(str(path), lambda data: data.update(format=7))
    assert not path.exists()


def test_failed_move_removes_temp(tmp_path):
    path = tmp_path / 'glacier.fact'

    def broken(src, dest):
        raise OSError(28, 'No space left on device')

    with pytest.raises(CatalogError, match='No space left on device'):
        catalog.update(str(path), add('id1'), atomic_move=broken)
    assert os.listdir(str(tmp_path)) == ['glacier.fact.lock']


def test_move_raising_other_errors_removes_temp(tmp_path):
    # module.atomic_move raises plain Exception (or exits via fail_json): the temp file still goes.
    def broken(src, dest):
        raise SystemExit(1)

    with pytest.raises(SystemExit):
        catalog.update(str(tmp_path / 'glacier.fact'), add('id1'), atomic_move=broken)
    assert os.listdir(str(tmp_path)) == ['glacier.fact.lock']


def test_update_path_is_directory(tmp_path):
    with pytest.raises(CatalogError, match='is a directory'):
        catalog.update(str(tmp_path), add('id1'))
    with pytest.raises(CatalogError, match='is a directory'):
        catalog.update(str(tmp_path), add('id1'), check_mode=True)


def test_update_unwritable_location(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(CatalogError, match='cannot write the catalog .*file/sub/glacier.fact'):
        catalog.update(str(blocker / 'sub' / 'glacier.fact'), add('id1'))
    with pytest.raises(CatalogError, match='cannot write the catalog'):
        catalog.update(str(blocker / 'glacier.fact'), add('id1'))
    assert blocker.read_text() == 'x'


def test_update_permission_denied(tmp_path, monkeypatch):
    # Tests run as root, who may write anywhere: simulate a directory the user cannot write.
    real_open = os.open

    def deny(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(13, 'Permission denied')
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(catalog.os, 'open', deny)
    with pytest.raises(CatalogError, match='cannot write the catalog .*glacier.fact: Permission denied'):
        catalog.update(str(tmp_path / 'glacier.fact'), add('id1'))
    monkeypatch.undo()
    assert os.listdir(str(tmp_path)) == []


def _worker(path, index, barrier):
    barrier.wait()
    catalog.update(path, add('id%d' % index, name='/srv/file%d' % index))
    catalog.update(path, add('again%d' % index, name='/shared'))


def test_concurrent_processes_lose_nothing(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    ctx = multiprocessing.get_context('fork')
    barrier = ctx.Barrier(8)
    procs = [ctx.Process(target=_worker, args=(path, i, barrier)) for i in range(8)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * 8
    data = catalog.read(path)
    archives = data['vaults'][ARN]['archives']
    assert sorted(archives) == sorted(['/shared'] + ['/srv/file%d' % i for i in range(8)])
    for i in range(8):
        assert archives['/srv/file%d' % i]['archive_id'] == 'id%d' % i
    assert sorted(r['archive_id'] for r in archives['/shared']['history']) == sorted('again%d' % i for i in range(8))
    assert sorted(os.listdir(str(tmp_path))) == ['glacier.fact', 'glacier.fact.lock']


def test_written_file_is_what_setup_reads(tmp_path):
    # Ansible's setup json-loads each *.fact file; the output must be plain JSON with sorted keys.
    path = tmp_path / 'glacier.fact'
    catalog.update(str(path), add('id1'))
    text = path.read_text()
    assert text.endswith('\n')
    data = json.loads(text)
    assert data['format'] == 1
    assert text == json.dumps(data, indent=2, sort_keys=True) + '\n'


def test_new_catalog_is_never_visible_with_a_wider_mode(tmp_path):
    # ansible-core's atomic_move gives a *new* destination 0666 less the umask and keeps an old one's mode.
    # update() must put a file with ``mode`` in place first, so the content never shows up world-readable.
    seen = []

    def ansible_like_move(src, dest):
        existed = os.path.exists(dest)
        old_mode = stat.S_IMODE(os.stat(dest).st_mode) if existed else None
        seen.append(old_mode)
        os.rename(src, dest)
        os.chmod(dest, old_mode if existed else 0o644)

    path = str(tmp_path / 'glacier.fact')
    catalog.update(path, add('id1'), mode=0o600, atomic_move=ansible_like_move)
    assert seen == [0o600]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


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


def test_a_catalog_with_a_malformed_buckets_section_is_left_untouched(tmp_path):
    path = tmp_path / 'c.fact'
    path.write_text(json.dumps({'format': catalog.FORMAT, 'vaults': {}, 'buckets': []}))
    with pytest.raises(CatalogError, match='"buckets" must be an object'):
        catalog.read(str(path))
