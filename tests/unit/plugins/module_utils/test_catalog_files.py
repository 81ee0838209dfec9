# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""catalog.read() and update(): the facts file, the history beside it, modes, errors, check mode."""

import json
import os
import sqlite3
import stat

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils.catalog import CatalogError

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'
NAME = '/srv/db.tar.gz'
FILES = ['glacier.fact', 'glacier.fact.lock', 'glacier.history.sqlite']


def rec(archive_id, **extra):
    record = {'archive_id': archive_id, 'tree_hash': 'ab' * 32, 'size': 10, 'mtime': 1700000000,
              'uploaded_at': '2025-01-01T00:00:00Z', 'location': '/123456789012/vaults/backups/archives/' + archive_id,
              'description': 'cvg1 x', 'part_size': None}
    record.update(extra)
    return record


def add(archive_id, name=NAME):
    return lambda data: catalog.record_archive(data, ARN, name, rec(archive_id))


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
    path.write_text('{"format": 2}')
    assert catalog.read(str(path)) == dict(catalog.empty())


CORRUPT = [
    ('not valid JSON', b'{"format": 1,'),
    ('not valid JSON', b'\xff\xfe garbage'),
    ('not hold a JSON object', b'[1, 2]'),
    ('not hold a JSON object', b'"text"'),
    ('no valid "format"', b'{"vaults": {}}'),
    ('no valid "format"', b'{"format": "1"}'),
    ('no valid "format"', b'{"format": true}'),
    ('newer coldvault.glacier', b'{"format": 3, "vaults": {}}'),
    ('unknown catalog format', b'{"format": 0}'),
    ('"vaults" must be an object', b'{"format": 1, "vaults": []}'),
    ('must be an object', b'{"format": 1, "vaults": {"arn": 5}}'),
    ('"archives" must be an object', b'{"format": 1, "vaults": {"arn": {"archives": []}}}'),
    ('"history" list', b'{"format": 1, "vaults": {"arn": {"archives": {"/a": {"archive_id": "x"}}}}}'),
    ('archive \'/a\' must be an object', b'{"format": 2, "vaults": {"arn": {"archives": {"/a": []}}}}'),
    ('"history" must be an object', b'{"format": 2, "history": [], "vaults": {}}'),
    ('"history" must be an object', b'{"format": 2, "history": {"generation": "1"}, "vaults": {}}'),
    # The facts file says its history holds records, and the history is not there: never start an empty one.
    ('history %s is missing',
     b'{"format": 2, "history": {"file": "glacier.history.sqlite", "id": "x", "generation": 3, "records": 5}, '
     b'"vaults": {}}'),
]


@pytest.mark.parametrize('message,content', CORRUPT)
def test_bad_files_raise_and_are_left_untouched(tmp_path, message, content):
    path = tmp_path / 'glacier.fact'
    path.write_bytes(content)
    with pytest.raises(CatalogError) as info:
        catalog.read(str(path))
    assert (message % tmp_path.joinpath('glacier.history.sqlite') if '%s' in message else message) in str(info.value)
    assert str(path) in str(info.value)
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
    assert sorted(os.listdir(str(path.parent))) == FILES
    for name in FILES[1:]:
        assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name


def test_update_keeps_mode_even_with_strict_umask_and_existing_file(tmp_path):
    path = tmp_path / 'glacier.fact'
    path.write_text('{"format": 1, "vaults": {}}')
    os.chmod(str(path), 0o644)
    old_umask = os.umask(0o077)
    try:
        catalog.update(str(path), add('id1'), mode=0o640)
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        assert stat.S_IMODE((tmp_path / 'glacier.history.sqlite').stat().st_mode) == 0o640
        # A later run sets a changed mode back, on both files.
        os.chmod(str(tmp_path / 'glacier.history.sqlite'), 0o666)
        catalog.update(str(path), add('id2'), mode=0o600)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / 'glacier.history.sqlite').stat().st_mode) == 0o600


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
    # A no-op update of a missing file does not create it, nor a history.
    catalog.update(str(tmp_path / 'other.fact'), lambda data: None)
    assert sorted(os.listdir(str(tmp_path))) == sorted(FILES + ['other.fact.lock'])


def test_update_history_across_writes(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    catalog.update(path, add('id1'))
    catalog.update(path, add('id2'))
    catalog.update(path, lambda data: catalog.mark_deleted(data, ARN, 'id2'))
    data = catalog.read(path)
    entry = data['vaults'][ARN]['archives'][NAME]
    assert entry['archive_id'] == 'id1' and (entry['versions'], entry['deleted_versions']) == (2, 1)
    history = catalog.history(data, ARN, NAME)
    assert [r['archive_id'] for r in history] == ['id1', 'id2']
    assert history[1]['deleted_at']
    assert data['history'] == {'file': 'glacier.history.sqlite', 'id': data['history']['id'], 'generation': 3,
                               'records': 2}


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / 'new' / 'glacier.fact'
    before, after = catalog.update(str(path), add('id1'), check_mode=True)
    assert before == catalog.empty() and after['vaults'][ARN]['archives'][NAME]['archive_id'] == 'id1'
    assert os.listdir(str(tmp_path)) == []
    existing = tmp_path / 'glacier.fact'
    catalog.update(str(existing), add('id1'))
    content = existing.read_bytes()
    entries = sorted(os.listdir(str(tmp_path)))
    history = (tmp_path / 'glacier.history.sqlite').read_bytes()
    before, after = catalog.update(str(existing), add('id2'), check_mode=True)
    assert before != after and after['vaults'][ARN]['archives'][NAME]['versions'] == 2
    assert [r['archive_id'] for r in catalog.history(after, ARN, NAME)] == ['id1', 'id2']  # a private copy
    assert existing.read_bytes() == content and sorted(os.listdir(str(tmp_path))) == entries
    assert (tmp_path / 'glacier.history.sqlite').read_bytes() == history
    assert [r['archive_id'] for r in catalog.history(catalog.read(str(existing)), ARN, NAME)] == ['id1']


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
    assert sorted(os.listdir(str(tmp_path))) == FILES
    assert [r['archive_id'] for r in catalog.history(catalog.read(str(path)), ARN, NAME)] == ['id1']


def test_mutate_breaking_the_shape_is_refused(tmp_path):
    path = tmp_path / 'glacier.fact'
    with pytest.raises(CatalogError):
        catalog.update(str(path), lambda data: data.update(format=7))
    with pytest.raises(CatalogError, match='must stay format 2'):
        catalog.update(str(path), lambda data: data.update(format=1))
    assert sorted(os.listdir(str(tmp_path))) == ['glacier.fact.lock']


def test_failed_move_removes_temp(tmp_path):
    path = tmp_path / 'glacier.fact'

    def broken(src, dest):
        raise OSError(28, 'No space left on device')

    with pytest.raises(CatalogError, match='No space left on device.*The change is in the history'):
        catalog.update(str(path), add('id1'), atomic_move=broken)
    assert sorted(os.listdir(str(tmp_path))) == ['glacier.fact.lock', 'glacier.history.sqlite']
    # The history committed first: the record is not lost, and the next write shows it in the facts file.
    assert catalog.read(str(path))['vaults'][ARN]['archives'][NAME]['archive_id'] == 'id1'
    catalog.update(str(path), lambda data: None)
    assert json.loads(path.read_text())['vaults'][ARN]['archives'][NAME]['archive_id'] == 'id1'


def test_move_raising_other_errors_removes_temp(tmp_path):
    # module.atomic_move raises plain Exception (or exits via fail_json): the temp file still goes.
    def broken(src, dest):
        raise SystemExit(1)

    with pytest.raises(SystemExit):
        catalog.update(str(tmp_path / 'glacier.fact'), add('id1'), atomic_move=broken)
    assert sorted(os.listdir(str(tmp_path))) == ['glacier.fact.lock', 'glacier.history.sqlite']


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
    with pytest.raises(CatalogError, match='cannot lock the catalog .*glacier.fact: .*Permission denied'):
        catalog.update(str(tmp_path / 'glacier.fact'), add('id1'))
    monkeypatch.undo()
    assert os.listdir(str(tmp_path)) == []


def test_written_file_is_what_setup_reads(tmp_path):
    # Ansible's setup json-loads each *.fact file; the output must be plain JSON with sorted keys.
    path = tmp_path / 'glacier.fact'
    catalog.update(str(path), add('id1'))
    text = path.read_text()
    assert text.endswith('\n')
    data = json.loads(text)
    assert data['format'] == 2
    assert text == json.dumps(data, indent=2, sort_keys=True) + '\n'


def test_setup_reads_only_the_facts_file(tmp_path):
    # Ansible's local fact collector globs fact_path/*.fact: the history and the lock files must never match.
    from ansible.module_utils.facts.system.local import LocalFactCollector

    class Module:
        params = {'fact_path': str(tmp_path)}

        def warn(self, msg):
            raise AssertionError(msg)

    catalog.update(str(tmp_path / 'glacier.fact'), add('id1'))
    lock = catalog.name_lock(str(tmp_path / 'glacier.fact'), ARN, NAME)
    try:
        assert len(os.listdir(str(tmp_path))) == 4
        facts = LocalFactCollector().collect(module=Module())['local']
    finally:
        lock.release()
    assert list(facts) == ['glacier']
    assert facts['glacier']['vaults'][ARN]['archives'][NAME]['archive_id'] == 'id1'
    assert 'history' not in facts['glacier']['vaults'][ARN]['archives'][NAME]


def test_the_history_is_plain_sqlite(tmp_path):
    # docs/catalog.md tells users how to read it without the collection.
    path = str(tmp_path / 'glacier.fact')
    catalog.update(path, add('id1'))
    catalog.update(path, add('id2'))
    db = sqlite3.connect(str(tmp_path / 'glacier.history.sqlite'))
    rows = db.execute('SELECT target, name, id, deleted_at, record FROM records ORDER BY target, name, position').fetchall()
    db.close()
    assert [row[:4] for row in rows] == [(ARN, NAME, 'id1', None), (ARN, NAME, 'id2', None)]
    assert json.loads(rows[1][4]) == rec('id2')


def test_a_history_that_is_not_ours_is_refused(tmp_path):
    path = tmp_path / 'glacier.fact'
    history = tmp_path / 'glacier.history.sqlite'
    history.write_bytes(b'not a database at all, just text')
    with pytest.raises(CatalogError, match='not a readable coldvault.glacier history'):
        catalog.update(str(path), add('id1'))
    assert history.read_bytes() == b'not a database at all, just text' and not path.exists()
    history.unlink()
    os.symlink(str(tmp_path / 'elsewhere'), str(history))
    with pytest.raises(CatalogError, match='not a regular file'):
        catalog.update(str(path), add('id1'))
    assert not (tmp_path / 'elsewhere').exists()


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


def test_a_catalog_with_a_malformed_buckets_section_is_left_untouched(tmp_path):
    path = tmp_path / 'c.fact'
    path.write_text(json.dumps({'format': catalog.FORMAT, 'vaults': {}, 'buckets': []}))
    with pytest.raises(CatalogError, match='"buckets" must be an object'):
        catalog.read(str(path))


def test_a_damaged_history_gives_a_catalog_error_naming_it(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    for index in range(200):  # enough records for pages beyond the first
        catalog.update(path, add('id%d' % index, name='/n%d' % (index % 7)))
    history = tmp_path / 'glacier.history.sqlite'
    raw = bytearray(history.read_bytes())
    raw[4096:] = b'\xff' * (len(raw) - 4096)  # every page but the first: the schema is readable, the rest is not
    history.write_bytes(bytes(raw))
    with pytest.raises(CatalogError, match='the history %s' % history):
        catalog.history(catalog.read(path), ARN, '/n1')
    with pytest.raises(CatalogError, match='the history %s' % history):
        catalog.update(path, add('more'))
