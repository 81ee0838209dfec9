# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A strict in-memory S3 for the s3/ package: it verifies checksums, part numbers, sizes and conditions as S3
does, and computes composite checksums itself, so a test passes only if the client sends the right thing."""

import base64
import hashlib
import itertools
import os
import threading

import botocore.exceptions
import pytest


def client_error(code, status, message=None, operation='Op', headers=None):
    return botocore.exceptions.ClientError(
        {'Error': {'Code': code, 'Message': message or code},
         'ResponseMetadata': {'HTTPStatusCode': status, 'HTTPHeaders': headers or {}}}, operation)


def b64sha256(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode('ascii')


def _read(body):
    return bytes(body) if isinstance(body, (bytes, bytearray)) else body.read()


class FakeS3:
    """The S3 calls S3Transfer makes. ``faults[operation]`` is a list of callables run before the operation
    (each may raise); ``after[operation]`` runs after the operation took effect (a reply lost on the way)."""

    def __init__(self, page_size=2, region='us-east-1', versioned=False):
        self.objects = {}   # key -> dict(data, checksum, type, metadata, storage_class, version_id, etag)
        self.uploads = {}   # upload id -> dict(key, parts {number: (data, checksum, etag)}, storage_class, metadata)
        self.calls = []
        self.bodies = []    # (operation, type of body) as received
        self.page_size = page_size
        self.versioned = versioned
        self.faults = {}
        self.after = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.meta = type('Meta', (), {'region_name': region, 'partition': 'aws'})()

    def _call(self, operation, kwargs):
        with self._lock:
            self.calls.append((operation, kwargs))
            pending = self.faults.get(operation) or []
            fault = pending.pop(0) if pending else None
        if fault is not None:
            fault()

    def _after(self, operation):
        with self._lock:
            pending = self.after.get(operation) or []
            hook = pending.pop(0) if pending else None
        if hook is not None:
            hook()

    def count(self, operation):
        return sum(1 for op, dummy in self.calls if op == operation)

    def _check_checksum(self, kwargs, data):
        assert kwargs['ChecksumAlgorithm'] == 'SHA256'
        if kwargs['ChecksumSHA256'] != b64sha256(data):
            raise client_error('BadDigest', 400, 'The SHA256 you specified did not match the calculated checksum.')

    def _new_version(self):
        return 'v%d' % next(self._ids) if self.versioned else None

    # -- operations ----------------------------------------------------------------------------------------------
    def put_object(self, **kwargs):
        self._call('PutObject', kwargs)
        self.bodies.append(('PutObject', type(kwargs['Body'])))
        data = _read(kwargs['Body'])
        assert kwargs['ContentLength'] == len(data)
        self._check_checksum(kwargs, data)
        with self._lock:
            if kwargs.get('IfNoneMatch') == '*' and kwargs['Key'] in self.objects:
                raise client_error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold')
            version = self._new_version()
            self.objects[kwargs['Key']] = {
                'data': data, 'checksum': kwargs['ChecksumSHA256'], 'type': 'FULL_OBJECT', 'metadata': kwargs['Metadata'],
                'storage_class': kwargs['StorageClass'], 'version_id': version, 'etag': '"%s"' % hashlib.md5(data).hexdigest()}
        self._after('PutObject')
        reply = {'ETag': self.objects[kwargs['Key']]['etag'], 'ChecksumSHA256': kwargs['ChecksumSHA256'], 'ChecksumType': 'FULL_OBJECT'}
        if version:
            reply['VersionId'] = version
        return reply

    def create_multipart_upload(self, **kwargs):
        self._call('CreateMultipartUpload', kwargs)
        assert kwargs['ChecksumAlgorithm'] == 'SHA256' and kwargs['ChecksumType'] == 'COMPOSITE'
        upload_id = 'u%d' % next(self._ids)
        self.uploads[upload_id] = {'key': kwargs['Key'], 'parts': {}, 'storage_class': kwargs['StorageClass'],
                                   'metadata': kwargs['Metadata']}
        return {'UploadId': upload_id, 'Bucket': kwargs['Bucket'], 'Key': kwargs['Key']}

    def _upload(self, kwargs):
        upload = self.uploads.get(kwargs['UploadId'])
        if upload is None or upload['key'] != kwargs['Key']:
            raise client_error('NoSuchUpload', 404, 'The specified upload does not exist.')
        return upload

    def upload_part(self, **kwargs):
        self._call('UploadPart', kwargs)
        self.bodies.append(('UploadPart', type(kwargs['Body'])))
        upload = self._upload(kwargs)
        data = _read(kwargs['Body'])
        assert kwargs['ContentLength'] == len(data)
        assert 1 <= kwargs['PartNumber'] <= 10000
        self._check_checksum(kwargs, data)
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        with self._lock:
            upload['parts'][kwargs['PartNumber']] = (data, kwargs['ChecksumSHA256'], etag)
        self._after('UploadPart')
        return {'ETag': etag, 'ChecksumSHA256': kwargs['ChecksumSHA256']}

    def list_parts(self, **kwargs):
        self._call('ListParts', kwargs)
        upload = self._upload(kwargs)
        numbers = sorted(n for n in upload['parts'] if n > kwargs.get('PartNumberMarker', 0))
        page = numbers[:self.page_size]
        reply = {'Parts': [{'PartNumber': n, 'Size': len(upload['parts'][n][0]), 'ChecksumSHA256': upload['parts'][n][1],
                            'ETag': upload['parts'][n][2]} for n in page],
                 'IsTruncated': len(numbers) > len(page), 'ChecksumAlgorithm': 'SHA256', 'ChecksumType': 'COMPOSITE'}
        if reply['IsTruncated']:
            reply['NextPartNumberMarker'] = page[-1]
        return reply

    def abort_multipart_upload(self, **kwargs):
        self._call('AbortMultipartUpload', kwargs)
        self._upload(kwargs)
        del self.uploads[kwargs['UploadId']]
        return {}

    def complete_multipart_upload(self, **kwargs):
        self._call('CompleteMultipartUpload', kwargs)
        upload = self._upload(kwargs)
        assert kwargs['ChecksumType'] == 'COMPOSITE'
        listed = kwargs['MultipartUpload']['Parts']
        numbers = [p['PartNumber'] for p in listed]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise client_error('InvalidPartOrder', 400)
        digests = []
        for part in listed:
            stored = upload['parts'].get(part['PartNumber'])
            if stored is None or stored[2] != part['ETag'] or stored[1] != part['ChecksumSHA256']:
                raise client_error('InvalidPart', 400)
            digests.append(base64.b64decode(stored[1]))
        data = b''.join(upload['parts'][n][0] for n in numbers)
        if kwargs['MpuObjectSize'] != len(data):
            raise client_error('InvalidRequest', 400, 'The provided MpuObjectSize does not match the object size')
        with self._lock:
            if kwargs.get('IfNoneMatch') == '*' and kwargs['Key'] in self.objects:
                raise client_error('PreconditionFailed', 412)
            checksum = '%s-%d' % (base64.b64encode(hashlib.sha256(b''.join(digests)).digest()).decode(), len(digests))
            version = self._new_version()
            self.objects[kwargs['Key']] = {
                'data': data, 'checksum': checksum, 'type': 'COMPOSITE', 'metadata': upload['metadata'],
                'storage_class': upload['storage_class'], 'version_id': version, 'etag': '"x-%d"' % len(digests)}
            del self.uploads[kwargs['UploadId']]
        self._after('CompleteMultipartUpload')
        reply = {'ETag': self.objects[kwargs['Key']]['etag'], 'ChecksumSHA256': checksum, 'ChecksumType': 'COMPOSITE'}
        if version:
            reply['VersionId'] = version
        return reply

    def head_object(self, **kwargs):
        self._call('HeadObject', kwargs)
        obj = self.objects.get(kwargs['Key'])
        if obj is None:
            raise client_error('404', 404, 'Not Found')
        reply = {'ContentLength': len(obj['data']), 'ETag': obj['etag'], 'Metadata': obj['metadata']}
        if obj['storage_class'] != 'STANDARD':
            reply['StorageClass'] = obj['storage_class']
        if obj['version_id']:
            reply['VersionId'] = obj['version_id']
        if kwargs.get('ChecksumMode') == 'ENABLED':
            reply.update(ChecksumSHA256=obj['checksum'], ChecksumType=obj['type'])
        return reply


@pytest.fixture
def fake_s3():
    return FakeS3()


@pytest.fixture
def new_fake_s3():
    """new_fake_s3(page_size=2, region='us-east-1', versioned=False) -> another FakeS3."""
    return FakeS3


@pytest.fixture
def make_file(tmp_path):
    """make_file(size) -> (path, bytes): incompressible content."""
    def make(size, name='src.bin'):
        data = os.urandom(size)
        path = tmp_path / name
        path.write_bytes(data)
        return str(path), data
    return make


@pytest.fixture
def s3_error():
    """s3_error(code, status, message=None, headers=None) -> a ClientError as botocore raises it."""
    return client_error
