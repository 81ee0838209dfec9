# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The S3 client as configured, bucket names, bucket look-up and the errors explained (no network)."""

import base64
import hashlib

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import api
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.multipart import S3Transfer


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, check_mode=False, endpoint_url='http://127.0.0.1:9'):
        self.params = {'endpoint_url': endpoint_url}
        self.check_mode = check_mode
        self.warnings = []
        self.config = None

    def warn(self, msg):
        self.warnings.append(msg)

    def fail_json(self, **kwargs):
        raise Failed(kwargs)

    def fail_json_aws(self, exc, msg=None, **kwargs):
        raise Failed(dict(kwargs, msg=msg, exception=exc))

    def client(self, service, config=None):
        self.config = config
        return boto3.client(service, endpoint_url=self.params['endpoint_url'], config=config, region_name='us-east-1',
                            aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='secret')


class HeadBucketS3:
    def __init__(self, reply=None, error=None, region='us-east-1'):
        self.reply, self.error = reply, error
        self.meta = type('Meta', (), {'region_name': region, 'partition': 'aws'})()

    def head_bucket(self, Bucket):
        if self.error is not None:
            raise self.error
        return self.reply


@pytest.mark.parametrize('name', ['abc', 'my.backups-2026', 'a' * 63, '0x1'])
def test_valid_bucket_names(name):
    assert api.invalid_bucket_name('bucket', name) is None


@pytest.mark.parametrize('name', ['ab', 'a' * 64, 'Backups', 'my_bucket', '-abc', 'abc-', 'a..b', '192.168.1.1',
                                  'xn--abc', 'abc-s3alias', None, 12])
def test_invalid_bucket_names_name_the_option(name):
    assert api.invalid_bucket_name('bucket', name).startswith('bucket: %r is not a valid S3 bucket name' % (name,))


def test_client_turns_payload_signing_off_and_uses_path_style_for_an_endpoint():
    module = FakeModule()
    client = api.client(module, concurrency=16)
    assert module.config.s3 == {'payload_signing_enabled': False, 'addressing_style': 'path'}
    assert module.config.max_pool_connections == 18
    assert module.config.retries == {'mode': 'standard', 'total_max_attempts': 5}
    assert client.meta.service_model.service_name == 's3'
    api.client(FakeModule(endpoint_url=None))  # AWS itself: virtual-hosted style, botocore's default


def test_botocore_sends_our_checksum_and_never_hashes_the_body(tmp_path):
    """Through a real botocore client: the SHA-256 goes as x-amz-checksum-sha256, no CRC32 is added, SigV4 does
    not hash the body (UNSIGNED-PAYLOAD), the write is conditional and path-style."""
    data = b'0123456789' * 1000
    path = tmp_path / 'f'
    path.write_bytes(data)
    client = api.client(FakeModule())
    checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
    sent = {}

    class Raw:
        @staticmethod
        def stream():
            return iter([b''])

    def send(request, **kwargs):
        sent.update(url=request.url, headers={k.lower(): v.decode() if isinstance(v, bytes) else v
                                              for k, v in request.headers.items()})
        return AWSResponse(request.url, 200, {'ETag': '"e"', 'x-amz-checksum-sha256': checksum,
                                              'x-amz-checksum-type': 'FULL_OBJECT'}, Raw())
    client.meta.events.register('before-send.s3.PutObject', send)
    archive = S3Transfer(client, 'bucket', 'p/k/1', str(path), len(data), 8 * 1024 * 1024, 'GLACIER_IR').upload_single('cvg1 d')
    headers = sent['headers']
    assert sent['url'] == 'http://127.0.0.1:9/bucket/p/k/1'
    assert headers['x-amz-checksum-sha256'] == checksum
    assert headers['x-amz-content-sha256'] == 'UNSIGNED-PAYLOAD'
    assert not [h for h in headers if h.startswith('x-amz-checksum-') and h != 'x-amz-checksum-sha256']
    assert headers['if-none-match'] == '*'
    assert headers['x-amz-storage-class'] == 'GLACIER_IR'
    assert headers['x-amz-meta-coldvault-description'] == 'cvg1 d'
    assert archive['checksum'] == {'algorithm': 'SHA256', 'type': 'FULL_OBJECT', 'value': checksum}


def test_locate_bucket_gives_the_arn_and_region():
    s3 = HeadBucketS3({'BucketRegion': 'us-east-1'})
    assert api.locate_bucket(FakeModule(), s3, 'backups') == {'arn': 'arn:aws:s3:::backups', 'region': 'us-east-1'}


def test_a_bucket_in_another_region_says_which_region_to_set():
    s3 = HeadBucketS3({'BucketRegion': 'eu-west-1'})
    with pytest.raises(Failed) as failed:
        api.locate_bucket(FakeModule(), s3, 'backups')
    assert failed.value.args[0]['msg'] == ('bucket: bucket backups is in region eu-west-1, not us-east-1: set the '
                                           'region option (or AWS_REGION) to eu-west-1')


def test_a_missing_bucket_fails_with_the_structured_error_and_what_to_do(s3_error):
    error = s3_error('404', 404, 'Not Found')
    with pytest.raises(Failed) as failed:
        api.locate_bucket(FakeModule(), HeadBucketS3(error=error), 'backups')
    assert failed.value.args[0]['exception'] is error
    assert 'bucket: cannot use bucket backups: bucket backups does not exist' in failed.value.args[0]['msg']
    assert 'amazon.aws.s3_bucket' in failed.value.args[0]['msg']


def test_a_missing_bucket_in_check_mode_is_a_warning_and_a_prediction(s3_error):
    module = FakeModule(check_mode=True)
    assert api.locate_bucket(module, HeadBucketS3(error=s3_error('404', 404)), 'b-1', none_if_missing_in_check_mode=True) is None
    assert module.warnings == ['bucket b-1 does not exist (yet); a real run fails unless it is created first']


@pytest.mark.parametrize('code, status, message, expected', [
    ('NoSuchBucket', 404, None, 'bucket b does not exist'),
    ('AccessDenied', 403, None, 's3:ListBucket on the bucket (HeadBucket) and s3:PutObject'),
    ('403', 403, None, 'the credentials may not do this on bucket b'),
    ('InvalidStorageClass', 400, None, 'storage class GLACIER is not accepted'),
    ('EntityTooSmall', 400, None, 'raise part_size'),
    ('KeyTooLongError', 400, None, 'shorten prefix or name'),
    ('InvalidRequest', 400, 'Bucket is missing Object Lock Configuration', "Object Lock settings refused the write"),
    ('AccessDenied', 403, 'Access Denied because object protected by object lock.', "Object Lock settings refused"),
    ('InternalError', 500, None, ''),
])
def test_errors_are_explained(s3_error, code, status, message, expected):
    advice = api.explain(s3_error(code, status, message), 'b', 'GLACIER')
    assert expected in advice if expected else advice == ''


def test_a_wrong_region_error_names_the_bucket_region(s3_error):
    error = s3_error('PermanentRedirect', 301, headers={'x-amz-bucket-region': 'ap-south-1'})
    assert api.explain(error, 'b') == 'bucket b is in region ap-south-1: set the region option (or AWS_REGION) to it'


def test_fail_keeps_the_result_and_the_error(s3_error):
    error = s3_error('InvalidStorageClass', 400)
    with pytest.raises(Failed) as failed:
        api.fail(FakeModule(), error, 'uploading f to bucket b failed', storage_class='GLACIER_IR',
                 bucket='b', result={'bucket': 'b', 'name': 'f', 'upload_id': 'u1'})
    reported = failed.value.args[0]
    assert reported['exception'] is error
    assert (reported['bucket'], reported['name'], reported['upload_id']) == ('b', 'f', 'u1')
    assert reported['msg'].startswith('uploading f to bucket b failed: storage class GLACIER_IR is not accepted')
