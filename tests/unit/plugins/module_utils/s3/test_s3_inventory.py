# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bucket's listing, the metadata HeadObject adds, reconcile and rebuild from the cvg1 descriptions."""

import os

from ansible_collections.coldvault.glacier.tests.unit.plugins.module_utils.s3.fake_s3_objects import NOW, FakeObjects

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import description as desc
from ansible_collections.coldvault.glacier.plugins.module_utils import inventory
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import listing
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.multipart import METADATA_KEY
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB

ARN = 'arn:aws:s3:::bucket'


def ours(fake, key, name, data, part_size=None, tree_hash=None, **add):
    meta = {METADATA_KEY: desc.encode(name, len(data), 1700000000, tree_hash)}
    return fake.add(key, data, part_size=part_size, metadata=meta, **add)


def listed_and_described(fake, prefix=''):
    objects = listing.list_objects(fake, 'bucket', prefix)
    heads = listing.head_objects(fake, 'bucket', [o['key'] for o in objects], 3)
    return [listing.describe(o, heads[o['key']]) for o in objects]


def test_folder_adds_the_slash_the_upload_module_adds():
    assert listing.folder(None) == '' and listing.folder('h1') == 'h1/' and listing.folder('h1/') == 'h1/'


def test_every_page_is_listed_under_the_prefix_only():
    fake = FakeObjects(page_size=2)
    for index in range(5):
        fake.add('h1/db/%d' % index, b'x')
    fake.add('h2/db/0', b'x')
    objects = listing.list_objects(fake, 'bucket', 'h1/')
    assert [o['key'] for o in objects] == ['h1/db/%d' % i for i in range(5)]
    assert objects[0]['last_modified'] == '2026-12-01T12:00:00Z' and objects[0]['storage_class'] == 'DEEP_ARCHIVE'


def test_a_described_object_carries_its_decoded_name_checksum_and_version():
    fake = FakeObjects(versioned=True)
    version = ours(fake, 'h1/etc/1', '/etc', os.urandom(3 * MIB), part_size=MIB)
    entry = listed_and_described(fake)[0]
    assert entry['name'] == '/etc' and entry['mtime'] == 1700000000 and entry['version_id'] == version['version_id']
    assert entry['checksum']['value'] == version['checksum'] and entry['checksum']['type'] == 'COMPOSITE'


def test_rebuild_adds_what_the_catalog_lacks_with_the_part_size_back_and_never_drops_a_key():
    fake = FakeObjects()
    tree = 'ab' * 32
    ours(fake, 'h1/db/1', 'db', os.urandom(3 * MIB), part_size=MIB)
    ours(fake, 'h1/db/2', 'db', b'small', tree_hash=tree, last_modified=NOW.replace(hour=13))
    fake.add('h1/foreign', b'someone else')
    data = catalog.empty()
    catalog.record_archive(data, ARN, 'db', {'key': 'h1/db/0-deleted-long-ago', 'uploaded_at': '2020-01-01T00:00:00Z',
                                             'deleted_at': '2021-01-01T00:00:00Z'})
    catalog.record_archive(data, ARN, 'db', {'key': 'h1/db/lost', 'uploaded_at': '2026-11-01T00:00:00Z'})
    described = listed_and_described(fake, 'h1/')
    outcome = inventory.reconcile_bucket(data, ARN, described, 'h1/')
    assert [m['key'] for m in outcome['missing_in_bucket']] == ['h1/db/lost']
    assert [m['key'] for m in outcome['missing_in_catalog']] == ['h1/db/1', 'h1/db/2', 'h1/foreign']
    added, foreign, conflicts = inventory.rebuild_bucket(data, ARN, outcome['missing_in_catalog'])
    assert [a['key'] for a in added] == ['h1/db/1', 'h1/db/2'] and [f['key'] for f in foreign] == ['h1/foreign']
    assert conflicts == []
    history = catalog.history(data, ARN, 'db')
    assert [r['key'] for r in history] == ['h1/db/0-deleted-long-ago', 'h1/db/lost', 'h1/db/1', 'h1/db/2']
    assert history[2]['part_size'] == MIB and history[3]['part_size'] is None and history[3]['tree_hash'] == tree
    assert history[2]['uploaded_at'] == '2026-12-01T12:00:00Z' and history[2]['storage_class'] == 'DEEP_ARCHIVE'
    assert catalog.latest(data, ARN, 'db')['key'] == 'h1/db/2'
    again = inventory.reconcile_bucket(data, ARN, described, 'h1/')['missing_in_catalog']
    assert inventory.rebuild_bucket(data, ARN, again)[0] == []


def test_records_outside_the_prefix_are_not_missing():
    data = catalog.empty()
    catalog.record_archive(data, ARN, 'db', {'key': 'h2/db/1'})
    assert inventory.reconcile_bucket(data, ARN, [], 'h1/')['missing_in_bucket'] == []


def test_a_description_that_disagrees_with_s3_is_reported_and_s3_wins():
    fake = FakeObjects()
    meta = {METADATA_KEY: desc.encode('db', 999, 1700000000)}
    fake.add('k', b'12345', metadata=meta)
    missing = inventory.reconcile_bucket(catalog.empty(), ARN, listed_and_described(fake))['missing_in_catalog']
    data = catalog.empty()
    added, dummy, conflicts = inventory.rebuild_bucket(data, ARN, missing)
    assert added[0]['size'] == 5 and conflicts == ['object k: its description says 999 bytes, S3 5; S3 wins']


def test_an_object_deleted_between_listing_and_head_is_left_out():
    fake = FakeObjects()
    fake.add('k', b'x')
    objects = listing.list_objects(fake, 'bucket', '')
    del fake.objects['k']
    assert listing.head_objects(fake, 'bucket', ['k']) == {'k': None}
    assert len(objects) == 1
