# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Uploads to a bucket against a strict fake S3 (conftest.py): planning, keys, checksums, resume, faults."""

import base64
import hashlib
import io

import botocore.exceptions
import pytest
from botocore.utils import calculate_tree_hash

from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import multipart
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.multipart import (
    MAX_PARTS, KeyTaken, S3Transfer, UploadGone, composite_checksum, invalid_key, key_base, object_key, plan_part_size)
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, TreeHashError, hash_part
from ansible_collections.coldvault.glacier.tests.unit.plugins.module_utils.pipeline_probe import HeldSends

GIB = 1024 * MIB
KEY = 'host/db/20261126T042057Z-0badcafe'


def transfer(fake, path, size, part_size=MIB, concurrency=2, storage_class='DEEP_ARCHIVE'):
    return S3Transfer(fake, 'bucket', KEY, path, size, part_size, storage_class, concurrency, sleep=lambda s: None)


def botocore_tree_hash(data):
    return calculate_tree_hash(io.BytesIO(data))


# --- planning and keys ------------------------------------------------------------------------------------------

@pytest.mark.parametrize('size, expected_mib', [
    (0, 8), (1, 8),
    (8 * MIB * MAX_PARTS, 8),
    (8 * MIB * MAX_PARTS + 1, 16),
    (1024 * GIB, 128),
    (4096 * MIB * MAX_PARTS, 4096),
])
def test_default_part_size_is_smallest_power_of_two_from_8_mib_within_10000_parts(size, expected_mib):
    assert plan_part_size(size) == expected_mib * MIB


@pytest.mark.parametrize('mib', [1, 2, 4, 5, 12, 5120, 8192, 0, -8])
def test_part_sizes_s3_refuses_or_that_are_no_power_of_two_name_part_size(mib):
    with pytest.raises(ValueError, match=r'part_size must be a power of two from 8 to 4096 \(MiB\) for a bucket'):
        plan_part_size(10, mib)


def test_part_size_too_small_for_the_file_says_what_fits():
    with pytest.raises(ValueError, match=r'part_size 8 MiB is too small .* at most 10000 parts; use at least 16'):
        plan_part_size(8 * MIB * MAX_PARTS + 1, 8)


def test_file_beyond_10000_parts_of_4_gib_is_refused():
    with pytest.raises(ValueError, match='src is .* more than this module can upload'):
        plan_part_size(4096 * MIB * MAX_PARTS + 1)


def test_keys_are_folder_like_and_unique_per_upload():
    assert key_base('', '/srv/db.gz') == 'srv/db.gz/'
    assert key_base('host1', 'db') == 'host1/db/'
    assert key_base('host1/', '/db') == 'host1/db/'
    assert object_key('p', 'db', when=0, token='0badcafe') == 'p/db/19700101T000000Z-0badcafe'
    keys = {object_key('p', 'db', when=0) for dummy in range(50)}
    assert len(keys) == 50 and all(k.startswith('p/db/19700101T000000Z-') and len(k) == len('p/db/') + 25 for k in keys)


def test_invalid_keys_name_the_parameter():
    assert invalid_key('p', 'db') is None
    assert invalid_key('p', 'x' * (1024 - 2 - 26)) is None  # exactly 1024 bytes with "p/", "/" and the version
    assert 'prefix, name: the object keys would be 1025 bytes' in invalid_key('p', 'x' * (1024 - 2 - 25))
    assert invalid_key('p', 'bad\udcff').startswith('name: ')
    assert invalid_key('\udcff', 'db').startswith('prefix: ')


def test_composite_checksum_is_sha256_of_the_part_digests_with_the_part_count():
    parts = [b'a' * 10, b'b' * 7]
    expected = base64.b64encode(hashlib.sha256(b''.join(hashlib.sha256(p).digest() for p in parts)).digest()).decode()
    assert composite_checksum([hashlib.sha256(p).digest() for p in parts]) == expected + '-2'


# --- single request ---------------------------------------------------------------------------------------------

def test_single_put_is_conditional_with_the_sha256_checksum_and_metadata(fake_s3, make_file):
    path, data = make_file(300000)
    archive = transfer(fake_s3, path, len(data), part_size=8 * MIB, storage_class='GLACIER').upload_single('cvg1 x')
    obj = fake_s3.objects[KEY]
    assert obj['data'] == data
    assert obj['storage_class'] == 'GLACIER' and obj['metadata'] == {'coldvault-description': 'cvg1 x'}
    put = fake_s3.calls[0][1]
    assert put['IfNoneMatch'] == '*'
    assert fake_s3.bodies == [('PutObject', bytes)]  # sent from the hashing read, not read again
    assert archive['checksum'] == {'algorithm': 'SHA256', 'type': 'FULL_OBJECT', 'value': base64.b64encode(hashlib.sha256(data).digest()).decode()}
    assert archive['tree_hash'] == botocore_tree_hash(data)
    assert archive['key'] == KEY and archive['etag'] == obj['etag'] and archive['version_id'] is None


def test_an_empty_file_is_one_empty_object(fake_s3, make_file):
    path, data = make_file(0)
    archive = transfer(fake_s3, path, 0, part_size=8 * MIB).upload_single('d')
    assert fake_s3.objects[KEY]['data'] == b''
    assert archive['tree_hash'] == hashlib.sha256(b'').hexdigest()


def test_put_whose_reply_was_lost_is_recognised_by_its_checksum(new_fake_s3, make_file):
    fake = new_fake_s3(versioned=True)
    path, data = make_file(4096)

    def lost():
        raise botocore.exceptions.ConnectionClosedError(endpoint_url='http://s3')
    fake.after['PutObject'] = [lost]  # stored, but the reply never arrives; the retry then finds the key taken
    archive = transfer(fake, path, len(data), part_size=8 * MIB).upload_single('d')
    assert fake.count('PutObject') == 2 and fake.count('HeadObject') == 1
    assert list(fake.objects) == [KEY]
    assert archive['version_id'] == fake.objects[KEY]['version_id']
    assert archive['checksum']['value'] == fake.objects[KEY]['checksum']


def test_a_key_holding_another_object_is_left_alone(fake_s3, make_file):
    path, data = make_file(4096)
    fake_s3.objects[KEY] = {'data': b'other', 'checksum': 'x', 'type': 'FULL_OBJECT', 'metadata': {},
                            'storage_class': 'STANDARD', 'version_id': None, 'etag': '"e"'}
    with pytest.raises(KeyTaken, match='already holds another object'):
        transfer(fake_s3, path, len(data), part_size=8 * MIB).upload_single('d')
    assert fake_s3.objects[KEY]['data'] == b'other'


def test_errors_no_retry_cures_are_raised_as_they_are_after_one_attempt(fake_s3, make_file, s3_error):
    path, data = make_file(4096)

    def denied():
        raise s3_error('AccessDenied', 403)
    fake_s3.faults['PutObject'] = [denied] * 5
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        transfer(fake_s3, path, len(data), part_size=8 * MIB).upload_single('d')
    assert raised.value.response['Error']['Code'] == 'AccessDenied'
    assert fake_s3.count('PutObject') == 1


# --- multipart --------------------------------------------------------------------------------------------------

def multipart_upload(fake, path, size, existing_upload=None, concurrency=2):
    t = transfer(fake, path, size, concurrency=concurrency)
    upload_id = existing_upload or t.initiate('cvg1 d')
    existing = t.list_parts(upload_id) if existing_upload else None
    tree, kept = t.upload_parts(upload_id, existing)
    return t, t.complete(upload_id, tree, 'cvg1 d'), kept


def test_multipart_sends_each_part_with_its_sha256_and_completes_conditionally(fake_s3, make_file):
    path, data = make_file(3 * MIB + 12345)
    t, archive, kept = multipart_upload(fake_s3, path, len(data))
    obj = fake_s3.objects[KEY]
    assert obj['data'] == data and kept == 0
    assert archive['checksum'] == {'algorithm': 'SHA256', 'type': 'COMPOSITE', 'value': obj['checksum']}
    assert archive['checksum']['value'].endswith('-4')
    assert archive['tree_hash'] == botocore_tree_hash(data)
    complete = [kw for op, kw in fake_s3.calls if op == 'CompleteMultipartUpload'][0]
    assert complete['IfNoneMatch'] == '*' and complete['MpuObjectSize'] == len(data)
    assert [t for op, t in fake_s3.bodies] == [bytes] * 4
    assert t.stats.as_dict(4)['bytes_sent'] == len(data) and t.stats.as_dict(4)['parts_sent'] == 4


def test_parts_above_the_buffer_limit_are_streamed_from_disk(fake_s3, make_file, monkeypatch):
    monkeypatch.setattr(multipart, 'BUFFER_LIMIT', MIB // 2)
    path, data = make_file(2 * MIB + 10)
    dummy, archive, dummy = multipart_upload(fake_s3, path, len(data))
    assert fake_s3.objects[KEY]['data'] == data
    assert sorted(t.__name__ for op, t in fake_s3.bodies) == ['FileSlice', 'FileSlice', 'bytes']  # the last: 10 bytes
    assert archive['tree_hash'] == botocore_tree_hash(data)


def test_resume_lists_every_page_and_sends_only_missing_or_different_parts(fake_s3, make_file):
    path, data = make_file(5 * MIB)
    t = transfer(fake_s3, path, len(data))
    upload_id = t.initiate('cvg1 d')
    chunks = [data[i:i + MIB] for i in range(0, len(data), MIB)]
    for number in (1, 2, 4):  # part 4 arrived with other bytes (an earlier version of the file)
        body = chunks[number - 1] if number != 4 else b'x' * MIB
        fake_s3.upload_part(Bucket='bucket', Key=KEY, UploadId=upload_id, PartNumber=number, Body=body,
                            ContentLength=MIB, ChecksumAlgorithm='SHA256',
                            ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode())
    fake_s3.calls.clear()
    dummy, archive, kept = multipart_upload(fake_s3, path, len(data), existing_upload=upload_id)
    assert kept == 2
    assert fake_s3.count('ListParts') == 2  # page size 2: both pages followed
    assert sorted(kw['PartNumber'] for op, kw in fake_s3.calls if op == 'UploadPart') == [3, 4, 5]
    assert fake_s3.objects[KEY]['data'] == data
    assert archive['tree_hash'] == botocore_tree_hash(data)


def test_a_part_damaged_on_the_way_is_sent_again(fake_s3, make_file, s3_error):
    path, data = make_file(2 * MIB)

    def damaged():
        raise s3_error('BadDigest', 400)
    fake_s3.faults['UploadPart'] = [damaged]
    t, dummy, dummy = multipart_upload(fake_s3, path, len(data), concurrency=1)
    assert fake_s3.count('UploadPart') == 3 and fake_s3.objects[KEY]['data'] == data
    assert t.stats.as_dict(2)['parts_sent'] == 2


def test_parts_keep_failing_gives_a_transfer_error_after_three_attempts(fake_s3, make_file, s3_error):
    path, data = make_file(MIB)

    def unavailable():
        raise s3_error('SlowDown', 503)
    fake_s3.faults['UploadPart'] = [unavailable] * 3
    t = transfer(fake_s3, path, len(data))
    with pytest.raises(TransferError, match='part 1 .* failed after 3 attempt'):
        t.upload_parts(t.initiate('d'))


def test_an_aborted_upload_is_gone_for_list_parts_upload_and_completion(fake_s3, make_file):
    path, data = make_file(2 * MIB)
    t = transfer(fake_s3, path, len(data))
    upload_id = t.initiate('d')
    t.abort(upload_id)
    t.abort(upload_id)  # already gone: nothing to do
    with pytest.raises(UploadGone):
        t.list_parts(upload_id)
    with pytest.raises(UploadGone):
        t.upload_parts(upload_id)
    t._parts, t._part_sha256s = [], []
    with pytest.raises(UploadGone, match='no object was stored'):
        t.complete(upload_id, '00' * 32)


def test_a_completion_whose_reply_was_lost_is_recognised(fake_s3, make_file):
    path, data = make_file(2 * MIB + 1)

    def lost():
        raise botocore.exceptions.ReadTimeoutError(endpoint_url='http://s3')
    fake_s3.after['CompleteMultipartUpload'] = [lost]
    dummy, archive, dummy = multipart_upload(fake_s3, path, len(data))
    assert fake_s3.count('CompleteMultipartUpload') == 2  # the retry: NoSuchUpload, then HeadObject says it is ours
    assert archive['checksum']['value'] == fake_s3.objects[KEY]['checksum']
    assert archive['tree_hash'] == botocore_tree_hash(data)


def test_adopt_recognises_an_object_completed_by_an_earlier_run_and_only_that(fake_s3, make_file):
    path, data = make_file(3 * MIB)
    multipart_upload(fake_s3, path, len(data))
    archive = transfer(fake_s3, path, len(data)).adopt()
    assert archive['tree_hash'] == botocore_tree_hash(data) and archive['description'] == 'cvg1 d'
    other_path, other = make_file(3 * MIB, 'other.bin')
    assert transfer(fake_s3, other_path, len(other)).adopt() is None
    fake_s3.objects.clear()
    assert transfer(fake_s3, path, len(data)).adopt() is None


def test_parts_are_hashed_ahead_while_at_most_concurrency_parts_are_sent(fake_s3, make_file, monkeypatch):
    """While two sends hang, the next part gets hashed (half the concurrency ahead); no third request with a body
    starts, and nothing more is hashed until a send ends."""
    path, data = make_file(6 * MIB)
    probe = HeldSends()
    monkeypatch.setattr(multipart, 'hash_range', probe.counting(multipart.hash_range))
    fake_s3.upload_part = probe.held(fake_s3.upload_part)
    t = transfer(fake_s3, path, len(data), concurrency=2)
    upload_id = t.initiate('d')
    probe.run_until(lambda: t.upload_parts(upload_id), hashed=3, sending=2)  # two parts sending, one more hashed
    assert probe.most_sending == 2 and len(probe.hashed) == 6
    tree, dummy = t.upload_parts(upload_id, t.list_parts(upload_id))  # every part now kept
    assert t.complete(upload_id, tree)['tree_hash'] == botocore_tree_hash(data)


def test_a_part_that_fails_for_good_stops_the_parts_hashed_ahead(fake_s3, make_file, s3_error):
    path, data = make_file(3 * MIB)

    def unavailable():
        raise s3_error('InternalError', 500)
    fake_s3.faults['UploadPart'] = [lambda: None, unavailable, unavailable, unavailable]
    t = transfer(fake_s3, path, len(data), concurrency=1)
    with pytest.raises(TransferError, match='part 2 .* failed after 3 attempt'):
        t.upload_parts(t.initiate('d'))
    # part 3 was hashed while part 2 was tried, and is not sent once part 2 failed for good
    assert sorted(kw['PartNumber'] for op, kw in fake_s3.calls if op == 'UploadPart') == [1, 2, 2, 2]


@pytest.mark.parametrize('offset, length', [(0, 0), (0, 1), (0, MIB), (MIB, MIB + 5), (3, 2 * MIB + 7)])
def test_hash_range_gives_what_the_tree_hash_module_gives_and_keeps_the_bytes(make_file, offset, length):
    path, data = make_file(4 * MIB)
    digest = multipart.hash_range(path, offset, length)
    with open(path, 'rb') as fh:
        reference = hash_part(fh, offset, length, keep=True)
    assert (digest.sha256, digest.tree_hash, digest.length) == (reference.sha256, reference.tree_hash, length)
    assert digest.data == data[offset:offset + length]
    assert digest.tree_hash == botocore_tree_hash(data[offset:offset + length])


def test_hash_range_of_a_file_that_shrank_says_so(make_file):
    path, dummy = make_file(1000)
    with pytest.raises(TreeHashError, match='expected 2000 bytes at offset 0 but the file ended after 1000'):
        multipart.hash_range(path, 0, 2000)
