# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failing with AWS errors: the structured response is kept, also behind a TransferError."""

import botocore.exceptions
import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError


class Failed(Exception):
    def __init__(self, how, msg, kwargs):
        super().__init__(msg)
        self.how, self.msg, self.kwargs = how, msg, kwargs


class FakeModule:
    def fail_json(self, msg, **kwargs):
        raise Failed('fail_json', msg, kwargs)

    def fail_json_aws(self, exc, msg, **kwargs):
        raise Failed('fail_json_aws', msg, dict(kwargs, exception=exc))


def client_error(code):
    return botocore.exceptions.ClientError(
        {'Error': {'Code': code, 'Message': 'no'}, 'ResponseMetadata': {'HTTPStatusCode': 503, 'RequestId': 'R1'}}, 'Op')


def test_a_botocore_error_goes_through_fail_json_aws():
    with pytest.raises(Failed) as failed:
        aws.fail_transfer(FakeModule(), client_error('ServiceUnavailableException'), 'uploading x failed', vault='v')
    assert failed.value.how == 'fail_json_aws' and failed.value.kwargs['vault'] == 'v'


def wrapped_error():
    try:
        raise client_error('ServiceUnavailableException')
    except botocore.exceptions.ClientError as e:
        try:
            raise TransferError('uploading part bytes 0-9 failed after 3 attempt(s): %s' % e) from e
        except TransferError as wrapped:
            return wrapped


def test_a_wrapped_botocore_error_keeps_our_message_and_the_response():
    with pytest.raises(Failed) as failed:
        aws.fail_transfer(FakeModule(), wrapped_error(), 'uploading x failed (the next run resumes the upload)')
    assert failed.value.how == 'fail_json'
    assert failed.value.msg.startswith('uploading x failed (the next run resumes the upload): uploading part bytes 0-9')
    assert failed.value.kwargs['error']['Code'] == 'ServiceUnavailableException'
    assert failed.value.kwargs['response_metadata']['RequestId'] == 'R1'


def test_other_errors_are_plain_failures():
    with pytest.raises(Failed) as failed:
        aws.fail_transfer(FakeModule(), OSError('disk full'), 'retrieving failed')
    assert failed.value.how == 'fail_json' and failed.value.msg == 'retrieving failed: disk full'
    assert 'error' not in failed.value.kwargs


def test_no_longer_supported_is_explained():
    with pytest.raises(Failed) as failed:
        aws.fail_aws(FakeModule(), client_error('NoLongerSupportedException'), 'vault: cannot describe vault v')
    assert 'closed the Glacier vault API' in failed.value.msg
