# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The part-by-part, verified, resumable download of an object, against a strict fake S3 (fake_s3_objects.py)."""

import base64
import hashlib
import os

import pytest
from botocore.utils import calculate_tree_hash
from ansible_collections.coldvault.glacier.tests.unit.plugins.module_utils.s3.fake_s3_objects import FakeObjects, error, raising

from ansible_collections.coldvault.glacier.plugins.module_utils.partial_download import part_path
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import download
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB

ARN = 'arn:aws:s3:::bucket'


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, amt=-1):
        chunk = self.data[self.pos:self.pos + amt]
        self.pos += len(chunk)
        return chunk


def tree_hash_of(data):
    return calculate_tree_hash(_Reader(data))


def stored(fake, size, part_size=MIB, storage_class='GLACIER_IR', key='k'):
    data = os.urandom(size)
    version = fake.add(key, data, storage_class=storage_class, part_size=part_size)
    return data, version


def fetch(fake, version, dest, part_size=MIB, tree_hash=None, concurrency=3):
    the_plan = download.plan(len(version['data']), part_size, version['checksum'])
    identity = download.object_identity(ARN, version['key'], version['version_id'], the_plan)
    return download.download_object(fake, 'bucket', version['key'], version['version_id'], str(dest), the_plan,
                                    identity, concurrency, tree_hash=tree_hash, sleep=lambda s: None)


# --- planning ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('size, parts, expected', [
    (20 * MIB, 3, 8 * MIB), (16 * MIB, 2, 8 * MIB), (16 * MIB + 1, 2, 16 * MIB), (1, 1, MIB), (5 * MIB, 5, MIB),
    (20 * MIB, 4, None),  # no power-of-two MiB cuts 20 MiB into 4 parts
])
def test_a_lost_part_size_is_the_one_power_of_two_that_gives_the_parts(size, parts, expected):
    assert download.derive_part_size(size, parts) == expected


def test_a_plan_without_a_sha256_checksum_is_refused_saying_what_to_use_instead():
    with pytest.raises(ValueError, match='no SHA-256 checksum .* amazon.aws.s3_object'):
        download.plan(10, None, None)
    with pytest.raises(ValueError, match='not a SHA-256 checksum'):
        download.plan(10, None, {'value': 'AAAAAA=='})


def test_parts_of_another_size_than_recorded_are_refused_before_any_request():
    fake = FakeObjects()
    dummy, version = stored(fake, 3 * MIB + 5)
    with pytest.raises(ValueError, match='4 parts are not all of one power-of-two MiB size'):
        download.plan(3 * MIB + 5, 2 * MIB, version['checksum'])
    assert fake.calls == []


# --- downloads --------------------------------------------------------------------------------------------------

def test_parts_are_fetched_by_number_checked_and_the_tree_hash_combined(tmp_path):
    fake = FakeObjects()
    data, version = stored(fake, 5 * MIB + 123)
    tree, stats = fetch(fake, version, tmp_path / 'out', tree_hash=tree_hash_of(data))
    assert (tmp_path / 'out').read_bytes() == data
    assert tree == tree_hash_of(data)
    assert sorted(kw['PartNumber'] for op, kw in fake.calls if op == 'GetObject') == [1, 2, 3, 4, 5, 6]
    assert all(kw['ChecksumMode'] == 'ENABLED' for op, kw in fake.calls if op == 'GetObject')
    assert stats['ranges'] == 6 and stats['bytes_received'] == len(data) and stats['range_retries'] == 0
    assert sorted(os.listdir(tmp_path)) == ['out']


def test_a_damaged_part_is_fetched_again_and_only_that_part(tmp_path):
    fake = FakeObjects()
    data, version = stored(fake, 4 * MIB)
    fake.damage.add(('k', 3))
    dummy, stats = fetch(fake, version, tmp_path / 'out')
    assert (tmp_path / 'out').read_bytes() == data
    assert [kw['PartNumber'] for op, kw in fake.calls if op == 'GetObject'].count(3) == 2
    assert stats['range_retries'] == 1


def test_a_part_damaged_on_every_attempt_fails_and_dest_is_never_written(tmp_path):
    fake = FakeObjects()
    dummy, version = stored(fake, 2 * MIB)
    fake.faults['GetObject'] = [lambda kw: fake.damage.add(('k', 2))] * 20
    with pytest.raises(TransferError, match='SHA-256 mismatch for part 2'):
        fetch(fake, version, tmp_path / 'out', concurrency=1)
    assert not (tmp_path / 'out').exists()


def test_part_checksums_that_do_not_add_up_to_the_recorded_composite_are_refused(tmp_path):
    fake = FakeObjects()
    dummy, version = stored(fake, 3 * MIB)
    the_plan = download.plan(3 * MIB, MIB, version['checksum'])
    the_plan.checksum = base64.b64encode(hashlib.sha256(b'other').digest()).decode() + '-3'
    with pytest.raises(TransferError, match='checksum mismatch .* the catalog records'):
        download.download_object(fake, 'bucket', 'k', None, str(tmp_path / 'out'), the_plan, 'id', 2,
                                 sleep=lambda s: None)
    assert os.listdir(tmp_path) == []  # nothing kept: every part matched, the whole did not


def test_a_tree_hash_other_than_recorded_is_refused(tmp_path):
    fake = FakeObjects()
    dummy, version = stored(fake, 2 * MIB)
    with pytest.raises(TransferError, match='tree hash mismatch'):
        fetch(fake, version, tmp_path / 'out', tree_hash='0' * 64)
    assert os.listdir(tmp_path) == []


def test_a_download_that_failed_half_way_fetches_only_the_missing_parts(tmp_path):
    fake = FakeObjects()
    data, version = stored(fake, 6 * MIB)
    fake.faults['GetObject'] = [None, None, None] + [raising(error('AccessDenied', 403))]
    with pytest.raises(Exception, match='AccessDenied'):
        fetch(fake, version, tmp_path / 'out', concurrency=1)
    kept = part_path(str(tmp_path / 'out'), download.object_identity(ARN, 'k', None, download.plan(6 * MIB, MIB, version['checksum'])))
    assert os.path.exists(kept)
    fake.calls.clear()
    tree, stats = fetch(fake, version, tmp_path / 'out', tree_hash=tree_hash_of(data))
    assert (tmp_path / 'out').read_bytes() == data
    assert sorted(kw['PartNumber'] for op, kw in fake.calls if op == 'GetObject') == [4, 5, 6]
    assert stats['ranges_resumed'] == 3 and stats['bytes_resumed'] == 3 * MIB


def test_an_archived_object_whose_copy_expired_is_reported_as_such_and_not_retried(tmp_path):
    fake = FakeObjects()
    dummy, version = stored(fake, 2 * MIB, storage_class='DEEP_ARCHIVE')
    with pytest.raises(download.ObjectArchived, match='not .*readable'):
        fetch(fake, version, tmp_path / 'out', concurrency=1)
    assert fake.count('GetObject') == 1


def test_an_object_cut_otherwise_than_recorded_is_not_retried(tmp_path):
    fake = FakeObjects()
    data = os.urandom(4 * MIB)
    version = fake.add('k', data, storage_class='STANDARD', part_size=2 * MIB)
    # The catalog says 1 MiB parts with the checksum of 2 MiB ones: S3's Content-Range shows the difference.
    the_plan = download.Plan(4 * MIB, MIB, True, 2, version['checksum'])
    with pytest.raises(download.ObjectLayoutError, match='expected bytes 0-1048575'):
        download.download_object(fake, 'bucket', 'k', None, str(tmp_path / 'out'), the_plan, 'id', 1,
                                 sleep=lambda s: None)
    assert fake.count('GetObject') == 1


def test_a_single_request_object_is_one_read_checked_against_its_sha256(tmp_path):
    fake = FakeObjects()
    data, version = stored(fake, 3 * MIB + 1, part_size=None, storage_class='STANDARD')
    tree, dummy = fetch(fake, version, tmp_path / 'out', part_size=None, tree_hash=tree_hash_of(data))
    assert (tmp_path / 'out').read_bytes() == data and tree == tree_hash_of(data)
    assert [kw.get('PartNumber') for op, kw in fake.calls if op == 'GetObject'] == [None]
    fake.damage.add(('k', 1))
    fake.faults['GetObject'] = [lambda kw: fake.damage.add(('k', 1))] * 10
    with pytest.raises(TransferError, match='SHA-256 mismatch'):
        fetch(fake, version, tmp_path / 'again', part_size=None)


def test_an_empty_object_needs_no_request(tmp_path):
    fake = FakeObjects()
    version = fake.add('k', b'', storage_class='DEEP_ARCHIVE')
    tree, dummy = fetch(fake, version, tmp_path / 'out', part_size=None)
    assert (tmp_path / 'out').read_bytes() == b'' and fake.calls == []
    assert tree == hashlib.sha256(b'').hexdigest()


def test_file_checksum_is_what_s3_shows_for_the_same_bytes(tmp_path):
    fake = FakeObjects()
    for part_size in (MIB, None):
        data, version = stored(fake, 3 * MIB + 7, part_size=part_size, key='k%s' % part_size)
        (tmp_path / 'f').write_bytes(data)
        the_plan = download.plan(len(data), part_size, version['checksum'])
        assert download.file_checksum(str(tmp_path / 'f'), the_plan) == (version['checksum'], tree_hash_of(data))
