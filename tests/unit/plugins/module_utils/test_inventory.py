# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory parsing, reconciling with the catalog, and rebuilding catalog records from descriptions."""

import json

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import description as desc
from ansible_collections.coldvault.glacier.plugins.module_utils.inventory import (
    InventoryError, catalog_time, insert_record, parse_inventory, plan_rebuild, rebuild, reconcile)

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'
H1, H2, H3 = 'a1' * 32, 'b2' * 32, 'c3' * 32


def item(archive_id, description, created, size=10, tree_hash=H1):
    return {'ArchiveId': archive_id, 'ArchiveDescription': description, 'CreationDate': created, 'Size': size,
            'SHA256TreeHash': tree_hash}


def document(*items, date='2026-01-10T00:00:00.000Z'):
    return json.dumps({'VaultARN': ARN, 'InventoryDate': date, 'ArchiveList': list(items)}).encode()


def rec(archive_id, uploaded_at, **extra):
    record = {'archive_id': archive_id, 'tree_hash': H1, 'size': 10, 'mtime': 1, 'uploaded_at': uploaded_at,
              'location': '/123456789012/vaults/backups/archives/' + archive_id, 'description': 'd', 'part_size': None}
    record.update(extra)
    return record


@pytest.mark.parametrize('text, expected', [
    ('2012-03-20T17:03:43.221Z', '2012-03-20T17:03:43Z'),
    ('2012-03-20T17:03:43Z', '2012-03-20T17:03:43Z'),
    ('2012-03-20T17:03:43+00:00', '2012-03-20T17:03:43Z'),
    ('2012-03-20 17:03:43', '2012-03-20T17:03:43Z'),
    ('yesterday', None),
    (None, None),
])
def test_catalog_time(text, expected):
    assert catalog_time(text) == expected


def test_parse_inventory_decodes_our_descriptions():
    ours = desc.encode('/srv/db.tar.gz', 10, 1700000000.5, H2)
    parsed = parse_inventory(document(item('A1', ours, '2026-01-01T00:00:00.000Z', tree_hash=H2.upper()),
                                      item('A2', 'made by another tool', '2026-01-02T00:00:00.000Z')))
    assert parsed['vault_arn'] == ARN and parsed['inventory_date'] == '2026-01-10T00:00:00.000Z'
    first, second = parsed['archives']
    assert first == {'archive_id': 'A1', 'description': ours, 'creation_date': '2026-01-01T00:00:00.000Z', 'size': 10,
                     'tree_hash': H2, 'name': '/srv/db.tar.gz', 'mtime': 1700000000, 'name_truncated': False}
    assert 'name' not in second and second['description'] == 'made by another tool'


def test_parse_empty_inventory():
    assert parse_inventory(document())['archives'] == []


@pytest.mark.parametrize('raw, message', [
    (b'not json', 'not JSON'),
    (b'\xff\xfe', 'not JSON'),
    (b'[]', 'no ArchiveList'),
    (b'{"ArchiveList": {}}', 'no ArchiveList'),
    (json.dumps({'ArchiveList': [{'Size': 1}]}).encode(), 'item 0 has no ArchiveId'),
    (json.dumps({'ArchiveList': [{'ArchiveId': 'A', 'Size': '1'}]}).encode(), 'A has no valid Size'),
    (json.dumps({'ArchiveList': [{'ArchiveId': 'A', 'Size': 1, 'SHA256TreeHash': 'zz'}]}).encode(), 'invalid SHA256'),
])
def test_parse_inventory_refuses_garbage(raw, message):
    with pytest.raises(InventoryError, match=message):
        parse_inventory(raw)


def catalog_with(*records):
    data = catalog.empty()
    for name, record in records:
        catalog.record_archive(data, ARN, name, record)
    return data


def test_reconcile_both_ways():
    data = catalog_with(('a', rec('A1', '2026-01-01T00:00:00Z')),
                        ('a', rec('A2', '2026-01-02T00:00:00Z')),
                        ('b', rec('B1', '2026-01-03T00:00:00Z', deleted_at='2026-01-04T00:00:00Z')),
                        ('c', rec('C1', '2026-01-11T00:00:00Z')))
    inventory = parse_inventory(document(item('A1', 'x', '2026-01-01T00:00:00Z'),
                                         item('B1', 'x', '2026-01-03T00:00:00Z'),
                                         item('Z9', 'x', '2026-01-05T00:00:00Z')))
    found = reconcile(data, ARN, inventory)
    assert [(m['name'], m['archive_id']) for m in found['missing_in_vault']] == [('a', 'A2')]
    assert [m['archive_id'] for m in found['not_in_inventory_yet']] == ['C1']  # uploaded after the inventory
    assert [m['archive_id'] for m in found['missing_in_catalog']] == ['Z9']  # B1 is known, though deleted


def test_reconcile_of_another_vault_sees_nothing_in_the_catalog():
    inventory = parse_inventory(document(item('A1', 'x', '2026-01-01T00:00:00Z')))
    found = reconcile(catalog.empty(), ARN, inventory)
    assert found['missing_in_vault'] == [] and [m['archive_id'] for m in found['missing_in_catalog']] == ['A1']


def test_rebuild_adds_our_archives_with_upload_record_fields():
    single = desc.encode('/srv/a', 10, 1700000000, H2)  # single-request upload: hash in the description
    multi = desc.encode('/srv/b', 20, 1700000001)  # multipart: no hash, the inventory has it
    inventory = parse_inventory(document(
        item('A1', single, '2026-01-01T10:00:00.123Z', size=10, tree_hash=H2),
        item('B1', multi, '2026-01-02T10:00:00.000Z', size=20, tree_hash=H3),
        item('F1', 'foreign', '2026-01-03T10:00:00.000Z')))
    data = catalog.empty()
    added, foreign, conflicts = rebuild(data, ARN, inventory)
    assert [a['archive_id'] for a in added] == ['A1', 'B1']
    assert [f['archive_id'] for f in foreign] == ['F1'] and conflicts == []
    a = catalog.latest(data, ARN, '/srv/a')
    assert a == {'archive_id': 'A1', 'tree_hash': H2, 'size': 10, 'mtime': 1700000000,
                 'uploaded_at': '2026-01-01T10:00:00Z', 'location': '/123456789012/vaults/backups/archives/A1',
                 'description': single, 'part_size': None}
    assert set(a) == set(catalog.RECORD_FIELDS)
    assert catalog.latest(data, ARN, '/srv/b')['tree_hash'] == H3
    assert catalog.latest(data, ARN, '/srv/b')['mtime'] == 1700000001
    # A second rebuild finds nothing to add.
    assert rebuild(data, ARN, inventory)[0] == []


def test_rebuild_never_drops_or_changes_known_ids():
    data = catalog_with(('/srv/a', rec('A1', '2026-01-01T00:00:00Z', size=10, mtime=5)),
                        ('/srv/gone', rec('G1', '2026-01-01T00:00:00Z')))
    before = json.loads(json.dumps(data))
    inventory = parse_inventory(document(item('A1', desc.encode('/srv/a', 99, 7), '2026-01-01T00:00:00Z')))
    assert rebuild(data, ARN, inventory) == ([], [], [])
    assert data == before


def test_rebuild_keeps_the_newest_archive_latest():
    data = catalog_with(('/srv/a', rec('A3', '2026-01-03T00:00:00Z')))
    older = desc.encode('/srv/a', 10, 1)
    inventory = parse_inventory(document(item('A2', older, '2026-01-02T00:00:00Z'),
                                         item('A1', older, '2026-01-01T00:00:00Z'),
                                         item('A3', older, '2026-01-03T00:00:00Z')))
    added, dummy, dummy2 = rebuild(data, ARN, inventory)
    assert [a['archive_id'] for a in added] == ['A1', 'A2']
    assert [r['archive_id'] for r in catalog.history(data, ARN, '/srv/a')] == ['A1', 'A2', 'A3']
    assert catalog.latest(data, ARN, '/srv/a')['archive_id'] == 'A3'


def test_insert_record_after_a_deleted_latest():
    data = catalog_with(('n', rec('A1', '2026-01-01T00:00:00Z')),
                        ('n', rec('A3', '2026-01-03T00:00:00Z', deleted_at='2026-01-04T00:00:00Z')))
    assert insert_record(data, ARN, 'n', rec('A2', '2026-01-02T00:00:00Z'))
    assert [r['archive_id'] for r in catalog.history(data, ARN, 'n')] == ['A1', 'A2', 'A3']
    assert catalog.latest(data, ARN, 'n')['archive_id'] == 'A2'  # A3 is deleted
    assert not insert_record(data, ARN, 'n', rec('A2', '2026-01-02T00:00:00Z'))


def test_truncated_names_match_a_catalog_name_by_its_sha256():
    long_name = '/srv/' + 'x' * 2000 + '/db.tar.gz'
    shortened = desc.encode(long_name, 10, 1)
    assert desc.decode(shortened)['truncated']
    inventory = parse_inventory(document(item('L2', shortened, '2026-01-02T00:00:00Z')))
    data = catalog_with((long_name, rec('L1', '2026-01-01T00:00:00Z')))
    added, dummy, dummy2 = rebuild(data, ARN, inventory)
    assert added[0]['name'] == long_name
    assert catalog.latest(data, ARN, long_name)['archive_id'] == 'L2'
    # Without a catalog name to match, the shortened name is used.
    fresh = catalog.empty()
    added, dummy, dummy2 = rebuild(fresh, ARN, inventory)
    assert added[0]['name'] == desc.decode(shortened)['name']


def test_conflicts_between_description_and_inventory_are_reported_and_the_inventory_wins():
    inventory = parse_inventory(document(item('A1', desc.encode('/srv/a', 11, 1, H2), '2026-01-01T00:00:00Z',
                                              size=10, tree_hash=H3)))
    additions, foreign, conflicts = plan_rebuild(catalog.empty(), ARN, reconcile(catalog.empty(), ARN, inventory)['missing_in_catalog'])
    assert additions[0][1]['tree_hash'] == H3 and additions[0][1]['size'] == 10
    assert len(conflicts) == 2 and 'tree hash' in conflicts[0] and '11 bytes' in conflicts[1]


def test_a_rebuilt_catalog_is_written_and_read_back(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    inventory = parse_inventory(document(item('A1', desc.encode('/srv/a', 10, 1, H2), '2026-01-01T00:00:00Z',
                                              tree_hash=H2)))
    catalog.update(path, lambda d: rebuild(d, ARN, inventory))
    assert catalog.latest(catalog.read(path), ARN, '/srv/a')['archive_id'] == 'A1'
