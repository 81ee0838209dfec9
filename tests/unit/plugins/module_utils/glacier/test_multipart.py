# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Part planning and the checksum hand-over of vault uploads (no network)."""

import io
import os
import threading
from types import SimpleNamespace

import botocore.exceptions
import pytest
from botocore.utils import calculate_tree_hash

from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import multipart
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.multipart import MAX_PARTS, install_checksum_handler, plan_part_size
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError
from ansible_collections.coldvault.glacier.tests.unit.plugins.module_utils.pipeline_probe import HeldSends
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB

GIB = 1024 * MIB


@pytest.mark.parametrize('size, expected_mib', [
    (1, 8),
    (8 * MIB * MAX_PARTS, 8),  # exactly 10,000 parts of 8 MiB
    (8 * MIB * MAX_PARTS + 1, 16),
    (100 * GIB, 16),
    (1024 * GIB, 128),
    (4096 * MIB * MAX_PARTS, 4096),
])
def test_default_part_size_is_smallest_power_of_two_from_8_mib(size, expected_mib):
    assert plan_part_size(size) == expected_mib * MIB


def test_file_larger_than_glacier_allows_is_refused():
    with pytest.raises(ValueError, match='largest Glacier archive'):
        plan_part_size(4096 * MIB * MAX_PARTS + 1)


@pytest.mark.parametrize('mib', [0, 3, 6, 12, 8192, -4])
def test_invalid_part_size_names_the_parameter(mib):
    with pytest.raises(ValueError, match='part_size must be a power of two from 1 to 4096'):
        plan_part_size(10, mib)


def test_part_size_too_small_for_file_says_what_would_fit():
    with pytest.raises(ValueError, match=r'part_size 1 MiB is too small .* use at least 16'):
        plan_part_size(MIB * MAX_PARTS * 2 - 1 + MIB * MAX_PARTS * 8, 1)


def test_given_part_size_is_used():
    assert plan_part_size(5 * MIB, 1) == MIB
    assert plan_part_size(1, 4096) == 4096 * MIB


class _Events:
    def __init__(self):
        self.first = []

    def register_first(self, name, handler, unique_id=None):
        self.first.append((name, handler, unique_id))


class _Client:
    def __init__(self):
        self.meta = type('Meta', (), {'events': _Events()})()


def test_checksum_handler_sets_content_sha256_of_the_body_this_thread_sends():
    client = _Client()
    install_checksum_handler(client)
    names = sorted(entry[0] for entry in client.meta.events.first)
    assert names == ['before-call.glacier.UploadArchive', 'before-call.glacier.UploadMultipartPart']
    handler = client.meta.events.first[0][1]

    multipart._sending.content_sha256 = 'ab' * 32
    try:
        params = {'headers': {}, 'body': b'x'}
        handler(params=params)
        assert params['headers']['x-amz-content-sha256'] == 'ab' * 32

        params_other = {'headers': {}, 'body': b'y'}
        other = threading.Thread(target=handler, kwargs={'params': params_other})
        other.start()
        other.join()
        assert 'x-amz-content-sha256' not in params_other['headers']  # another thread's body: botocore hashes it
    finally:
        multipart._sending.content_sha256 = None

    params = {'headers': {}, 'body': b'plain bytes'}
    handler(params=params)
    assert 'x-amz-content-sha256' not in params['headers']


# --- parts hashed ahead of the sends -----------------------------------------------------------------------------

class FakeVault:
    """Just enough of a botocore Glacier client for upload_parts: every UploadMultipartPart goes through ``part``."""

    def __init__(self, part):
        self.meta = SimpleNamespace(events=SimpleNamespace(register_first=lambda *args, **kwargs: None))
        self.part = part
        self.calls = []

    def upload_multipart_part(self, **kwargs):
        self.calls.append(kwargs['range'])
        return self.part(**kwargs)


def part_file(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / 'data.bin'
    path.write_bytes(data)
    return str(path), data


def test_parts_are_hashed_while_at_most_concurrency_parts_are_sent(tmp_path, monkeypatch):
    path, data = part_file(tmp_path, 6 * MIB)
    probe = HeldSends()
    monkeypatch.setattr(multipart, 'hash_range', probe.counting(multipart.hash_range))
    vault = FakeVault(probe.held(lambda **kwargs: {'checksum': kwargs['checksum']}))
    transfer = multipart.GlacierTransfer(vault, 'v', path, len(data), MIB, concurrency=2)
    # two parts held in their sends, the next one already hashed
    result = probe.run_until(lambda: transfer.upload_parts('upload-1'), hashed=3, sending=2)
    assert probe.most_sending == 2 and sorted(probe.hashed) == [i * MIB for i in range(6)]
    assert result == (calculate_tree_hash(io.BytesIO(data)), 0)


def test_a_vault_part_that_fails_for_good_stops_the_parts_hashed_ahead(tmp_path):
    path, data = part_file(tmp_path, 3 * MIB)

    def second_part_unavailable(**kwargs):
        if kwargs['range'].startswith('bytes %d-' % MIB):
            raise botocore.exceptions.ClientError(
                {'Error': {'Code': 'ServiceUnavailableException', 'Message': 'down'}, 'ResponseMetadata': {'HTTPStatusCode': 503}},
                'UploadMultipartPart')
        return {'checksum': kwargs['checksum']}
    vault = FakeVault(second_part_unavailable)
    transfer = multipart.GlacierTransfer(vault, 'v', path, len(data), MIB, concurrency=1, sleep=lambda seconds: None)
    with pytest.raises(TransferError, match='failed after 3 attempt'):
        transfer.upload_parts('upload-1')
    # the third part was hashed while the second was tried, and is not sent once the second failed for good
    assert vault.calls == ['bytes 0-%d/*' % (MIB - 1)] + ['bytes %d-%d/*' % (MIB, 2 * MIB - 1)] * 3
