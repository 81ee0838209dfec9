# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Format 1 -> 2: a real format-1 file (fixtures/format1.fact, written by the format-1 code) is migrated losslessly;
interrupted migrations, a facts file that trails or leads its history, and old code meeting a format-2 file."""

import json
import os
import shutil

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import files
from ansible_collections.coldvault.glacier.plugins.module_utils.catalog import CatalogError

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/fixture-backups'
OTHER = 'arn:aws:glacier:us-east-1:123456789012:vaults/fixture-other'
BUCKET = 'arn:aws:s3:::fixture-bucket'


@pytest.fixture
def old(tmp_path):
    path = tmp_path / 'glacier.fact'
    shutil.copy(os.path.join(FIXTURES, 'format1.fact'), str(path))
    return path


def without_format(document):
    return {k: v for k, v in document.items() if k not in ('format', 'history')}


def add(name, archive_id):
    return lambda data: catalog.record_archive(data, ARN, name, {'archive_id': archive_id, 'size': 1,
                                                                 'uploaded_at': '2027-01-01T00:00:00Z'})


def test_the_fixture_is_a_rich_format_1_file(old):
    # What the migration tests rely on being in the real file.
    document = json.loads(old.read_text())
    assert document['format'] == 1
    assert sum(len(e['history']) for s in ('vaults', 'buckets') for t in document[s].values()
               for e in t['archives'].values()) == 13
    assert document['vaults'][ARN]['uploads'] and document['vaults'][ARN]['jobs']
    assert all(r.get('deleted_at') for r in document['vaults'][OTHER]['archives']['gone']['history'])
    assert document['buckets'][BUCKET]['archives']['etc']['history'][0]['deleted_at']


def test_reading_a_format_1_file_shows_it_migrated_and_writes_nothing(old, tmp_path):
    raw = old.read_bytes()
    data = catalog.read(str(old))
    assert data['format'] == 2 and 'history' not in data['vaults'][ARN]['archives']['etc']
    assert catalog.expand(data) == dict(without_format(json.loads(raw)), format=2)
    assert old.read_bytes() == raw and os.listdir(str(tmp_path)) == ['glacier.fact']


def test_the_first_write_migrates_every_record_losslessly(old, tmp_path):
    original = json.loads(old.read_text())
    before, after = catalog.update(str(old), add('etc', 'NEW-1'))
    assert sorted(os.listdir(str(tmp_path))) == ['glacier.fact', 'glacier.fact.format1.bak', 'glacier.fact.lock',
                                                 'glacier.history.sqlite']
    # The format-1 file is kept as it was, for a downgrade.
    assert json.loads((tmp_path / 'glacier.fact.format1.bak').read_text()) == original
    written = json.loads(old.read_text())
    assert written['format'] == 2 and written['history']['records'] == 14 and written['history']['generation'] == 1
    data = catalog.read(str(old))
    assert data == written
    full = catalog.expand(data)
    # Every record of the format-1 file, in order, byte for byte; the new one appended.
    etc = original['vaults'][ARN]['archives']['etc']
    new = {'archive_id': 'NEW-1', 'size': 1, 'uploaded_at': '2027-01-01T00:00:00Z'}
    original['vaults'][ARN]['archives']['etc'] = dict(new, history=etc['history'] + [new])
    assert full == dict(without_format(original), format=2)
    # The entries show the latest record and the counts of its history.
    entries = written['vaults'][ARN]['archives']
    assert (entries['etc']['archive_id'], entries['etc']['versions'], entries['etc']['deleted_versions']) == ('NEW-1', 4, 2)
    gone = written['vaults'][OTHER]['archives']['gone']
    assert gone['deleted_at'] and (gone['versions'], gone['deleted_versions']) == (2, 2)
    assert written['vaults'][ARN]['uploads'] == json.loads((tmp_path / 'glacier.fact.format1.bak').read_text())['vaults'][ARN]['uploads']
    assert written['buckets'][BUCKET]['region'] == 'eu-west-1'
    # What the modules look up works on the migrated catalog.
    assert catalog.find_archive(data, BUCKET, original['buckets'][BUCKET]['archives']['etc']['history'][0]['key'])[0] == 'etc'
    assert len(catalog.history(data, ARN, 'etc')) == 4


def test_a_no_op_write_migrates_too(old):
    catalog.update(str(old), lambda data: None)
    assert json.loads(old.read_text())['format'] == 2


def test_an_interrupted_migration_is_completed_without_duplicates(old, tmp_path):
    original = json.loads(old.read_text())

    def killed(src, dest):
        raise OSError(5, 'Input/output error')  # the history is committed, the facts file is not replaced

    with pytest.raises(CatalogError, match='The change is in the history'):
        catalog.update(str(old), add('etc', 'NEW-1'), atomic_move=killed)
    assert json.loads(old.read_text()) == original  # still format 1
    # Read meanwhile: the history and the new record are both shown.
    assert catalog.read(str(old))['vaults'][ARN]['archives']['etc']['archive_id'] == 'NEW-1'
    catalog.update(str(old), add('etc', 'NEW-2'))
    data = catalog.read(str(old))
    assert data['history']['records'] == 15
    assert [r['archive_id'] for r in catalog.history(data, ARN, 'etc')][-3:] == [
        original['vaults'][ARN]['archives']['etc']['history'][-1]['archive_id'], 'NEW-1', 'NEW-2']


def test_an_old_format_1_file_restored_over_a_migrated_catalog_loses_nothing(old, tmp_path):
    backup = old.read_bytes()
    catalog.update(str(old), add('etc', 'NEW-1'))
    old.write_bytes(backup)  # someone restores yesterday's facts file
    data = catalog.read(str(old))
    assert 'NEW-1' in [r['archive_id'] for r in catalog.history(data, ARN, 'etc')]
    catalog.update(str(old), add('etc', 'NEW-2'))
    ids = [r['archive_id'] for r in catalog.history(catalog.read(str(old)), ARN, 'etc')]
    assert ids[-2:] == ['NEW-1', 'NEW-2'] and len(ids) == len(set(ids)) == 5


def test_a_facts_file_that_trails_its_history_is_rebuilt(old, tmp_path):
    catalog.update(str(old), add('etc', 'NEW-1'))
    stale = old.read_bytes()
    catalog.update(str(old), add('etc', 'NEW-2'))
    catalog.update(str(old), lambda d: catalog.set_upload(d, ARN, 'x', {'upload_id': 'U-1'}))
    old.write_bytes(stale)  # as if the last writes had been killed after their commit
    data = catalog.read(str(old))
    assert data['vaults'][ARN]['archives']['etc']['archive_id'] == 'NEW-2'
    assert data['vaults'][ARN]['uploads']['x'] == {'upload_id': 'U-1'}
    catalog.update(str(old), lambda d: None)  # any write puts the facts file right
    assert json.loads(old.read_text()) == data


def test_a_lost_facts_file_is_rebuilt_from_its_history(old, tmp_path):
    catalog.update(str(old), add('etc', 'NEW-1'))
    written = json.loads(old.read_text())
    old.unlink()
    assert catalog.read(str(old)) == written
    catalog.update(str(old), lambda d: None)
    assert json.loads(old.read_text()) == written


def test_a_history_older_than_its_facts_file_is_merged(old, tmp_path):
    history = tmp_path / 'glacier.history.sqlite'
    catalog.update(str(old), add('etc', 'NEW-1'))
    yesterday = history.read_bytes()
    catalog.update(str(old), add('etc', 'NEW-2'))
    history.write_bytes(yesterday)  # the history restored from an older backup than the facts file
    assert catalog.read(str(old))['vaults'][ARN]['archives']['etc']['archive_id'] == 'NEW-2'
    catalog.update(str(old), lambda d: None)
    ids = [r['archive_id'] for r in catalog.history(catalog.read(str(old)), ARN, 'etc')]
    assert ids[-2:] == ['NEW-1', 'NEW-2']


def test_a_history_of_another_catalog_is_refused(tmp_path):
    one, two = str(tmp_path / 'one.fact'), str(tmp_path / 'two.fact')
    catalog.update(one, add('a', 'A-1'))
    catalog.update(two, add('b', 'B-1'))
    os.replace(str(tmp_path / 'two.history.sqlite'), str(tmp_path / 'one.history.sqlite'))
    raw = open(one, 'rb').read()
    for call in (lambda: catalog.read(one), lambda: catalog.update(one, add('a', 'A-2'))):
        with pytest.raises(CatalogError, match='belongs to another catalog'):
            call()
    assert open(one, 'rb').read() == raw


def load_format1_code():
    """The catalog module as it was in format 1 (fixtures/format1_catalog.py.txt), as a namespace."""
    with open(os.path.join(FIXTURES, 'format1_catalog.py.txt'), encoding='utf-8') as fileobj:
        source = fileobj.read()
    namespace = {'__name__': 'format1_catalog'}
    exec(compile(source, 'format1_catalog.py', 'exec'), namespace)  # pylint: disable=exec-used
    return namespace


def test_format_1_code_refuses_a_format_2_catalog_and_leaves_it_alone(old):
    catalog.update(str(old), add('etc', 'NEW-1'))
    raw = old.read_bytes()
    format1 = load_format1_code()
    assert format1['fsync_dir'] is files.fsync_dir and format1['FORMAT'] == 1
    for call in (lambda: format1['read'](str(old)),
                 lambda: format1['update'](str(old), lambda d: None)):
        with pytest.raises(format1['CatalogError'], match='catalog format 2, written by a newer coldvault.glacier; '
                                                          'this version reads format 1. Upgrade the collection'):
            call()
    assert old.read_bytes() == raw
