# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A strict in-memory S3 of stored objects for the restore, download, listing and prune code: archived classes
refuse GetObject until restored, part reads answer with S3's Content-Range and part checksum, Object Lock refuses
deletes. Checksums are computed here with hashlib, never with the code under test."""

import base64
import datetime
import hashlib
import os
import threading

import botocore.exceptions

MIB = 1024 * 1024
ARCHIVED = ('GLACIER', 'DEEP_ARCHIVE')
NOW = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def error(code, status, message=None, operation='Op'):
    return botocore.exceptions.ClientError(
        {'Error': {'Code': code, 'Message': message or code},
         'ResponseMetadata': {'HTTPStatusCode': status, 'HTTPHeaders': {}}}, operation)


def raising(exc):
    """A fault that raises ``exc``."""
    def fault(kwargs):
        del kwargs
        raise exc
    return fault


def b64sha(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode('ascii')


class Body:
    def __init__(self, data, owner):
        self.data, self.pos, self.owner = data, 0, owner

    def read(self, amt=None):
        amt = len(self.data) - self.pos if amt is None or amt < 0 else amt
        chunk = self.data[self.pos:self.pos + amt]
        self.pos += len(chunk)
        return chunk

    def close(self):
        self.owner.closed += 1


class FakeObjects:
    """``faults[operation]``: callables run before an operation (each may raise or return a replacement reply
    transformer); ``damage``: {(key, part number)} whose next read has its first byte flipped."""

    def __init__(self, versioned=False, page_size=2):
        self.versioned = versioned
        self.page_size = page_size
        self.objects = {}  # key -> list of versions, oldest first
        self.calls = []
        self.faults = {}
        self.damage = set()
        self.closed = 0
        self._lock = threading.Lock()
        self._ids = 0
        self.meta = type('Meta', (), {'region_name': 'us-east-1', 'partition': 'aws'})()

    # -- set-up --------------------------------------------------------------------------------------------------
    def add(self, key, data, storage_class='DEEP_ARCHIVE', part_size=None, metadata=None, last_modified=NOW,
            lock_mode=None, retain_until=None, legal_hold=False):
        self._ids += 1
        if part_size:
            parts = [data[o:o + part_size] for o in range(0, len(data), part_size)] or [b'']
            digests = b''.join(hashlib.sha256(p).digest() for p in parts)
            checksum = '%s-%d' % (base64.b64encode(hashlib.sha256(digests).digest()).decode('ascii'), len(parts))
        else:
            parts, checksum = [data], b64sha(data)
        version = {'key': key, 'data': data, 'parts': parts, 'part_size': part_size, 'checksum': checksum,
                   'storage_class': storage_class, 'metadata': metadata or {}, 'last_modified': last_modified,
                   'version_id': 'v%d' % self._ids if self.versioned else None, 'restore': None, 'expiry': None,
                   'lock_mode': lock_mode, 'retain_until': retain_until, 'legal_hold': legal_hold}
        self.objects.setdefault(key, []).append(version)
        return version

    def finish_restores(self, expiry=NOW + datetime.timedelta(days=3)):
        for versions in self.objects.values():
            for version in versions:
                if version['restore'] == 'ongoing':
                    version.update(restore='available', expiry=expiry)

    def expire_restores(self):
        for versions in self.objects.values():
            for version in versions:
                version.update(restore=None, expiry=None)

    def count(self, operation):
        return sum(1 for op, dummy in self.calls if op == operation)

    # -- helpers -------------------------------------------------------------------------------------------------
    def _call(self, operation, kwargs):
        with self._lock:
            self.calls.append((operation, kwargs))
            pending = self.faults.get(operation) or []
            fault = pending.pop(0) if pending else None
        if fault is not None:
            fault(kwargs)

    def _version(self, kwargs, operation):
        versions = self.objects.get(kwargs['Key'])
        if not versions:
            raise error('404' if operation == 'HeadObject' else 'NoSuchKey', 404, operation=operation)
        if kwargs.get('VersionId'):
            for version in versions:
                if version['version_id'] == kwargs['VersionId']:
                    return version
            raise error('404' if operation == 'HeadObject' else 'NoSuchVersion', 404, operation=operation)
        return versions[-1]

    @staticmethod
    def _restore_header(version):
        if version['restore'] == 'ongoing':
            return 'ongoing-request="true"'
        if version['restore'] == 'available':
            return 'ongoing-request="false", expiry-date="%s"' % version['expiry'].strftime('%a, %d %b %Y %H:%M:%S GMT')
        return None

    def _describe(self, version, part=None):
        reply = {'ContentLength': len(version['data']), 'ETag': '"e-%s"' % version['checksum'][:8],
                 'LastModified': version['last_modified'], 'Metadata': dict(version['metadata'])}
        if version['storage_class'] != 'STANDARD':
            reply['StorageClass'] = version['storage_class']
        if version['version_id']:
            reply['VersionId'] = version['version_id']
        if self._restore_header(version):
            reply['Restore'] = self._restore_header(version)
        if version['lock_mode']:
            reply.update(ObjectLockMode=version['lock_mode'], ObjectLockRetainUntilDate=version['retain_until'])
        if version['legal_hold']:
            reply['ObjectLockLegalHoldStatus'] = 'ON'
        reply.update(ChecksumSHA256=version['checksum'],
                     ChecksumType='COMPOSITE' if version['part_size'] else 'FULL_OBJECT')
        if part is not None:
            start = (part - 1) * version['part_size']
            data = version['parts'][part - 1]
            reply.update(ContentLength=len(data), PartsCount=len(version['parts']), ChecksumSHA256=b64sha(data),
                         ContentRange='bytes %d-%d/%d' % (start, start + len(data) - 1, len(version['data'])))
        return reply

    # -- operations ----------------------------------------------------------------------------------------------
    def head_bucket(self, **kwargs):
        self._call('HeadBucket', kwargs)
        return {'BucketRegion': 'us-east-1'}

    def head_object(self, **kwargs):
        self._call('HeadObject', kwargs)
        return self._describe(self._version(kwargs, 'HeadObject'))

    def get_object(self, **kwargs):
        self._call('GetObject', kwargs)
        assert 'Range' not in kwargs, 'the download reads by part number'
        version = self._version(kwargs, 'GetObject')
        if version['storage_class'] in ARCHIVED and version['restore'] != 'available':
            raise error('InvalidObjectState', 403, "The operation is not valid for the object's storage class", 'GetObject')
        part = kwargs.get('PartNumber')
        if part is not None and version['part_size'] is None:
            assert part == 1
            part = None
        reply = self._describe(version, part)
        data = version['parts'][part - 1] if part else version['data']
        with self._lock:
            if (kwargs['Key'], part or 1) in self.damage:
                self.damage.discard((kwargs['Key'], part or 1))
                data = bytes([data[0] ^ 1]) + data[1:]
        reply['Body'] = Body(data, self)
        return reply

    def restore_object(self, **kwargs):
        self._call('RestoreObject', kwargs)
        version = self._version(kwargs, 'RestoreObject')
        request = kwargs['RestoreRequest']
        assert request['Days'] >= 1 and request['GlacierJobParameters']['Tier'] in ('Expedited', 'Standard', 'Bulk')
        if version['storage_class'] not in ARCHIVED:
            raise error('InvalidObjectState', 403, 'Restore is not allowed for the object\'s current storage class')
        if version['storage_class'] == 'DEEP_ARCHIVE' and request['GlacierJobParameters']['Tier'] == 'Expedited':
            raise error('InvalidArgument', 400)
        if version['restore'] == 'ongoing':
            raise error('RestoreAlreadyInProgress', 409, 'Object restore is already in progress')
        if version['restore'] == 'available':
            return {'ResponseMetadata': {'HTTPStatusCode': 200}}
        version['restore'] = 'ongoing'
        return {'ResponseMetadata': {'HTTPStatusCode': 202}}

    def delete_object(self, **kwargs):
        self._call('DeleteObject', kwargs)
        versions = self.objects.get(kwargs['Key']) or []
        if self.versioned and not kwargs.get('VersionId'):
            raise AssertionError('a delete without a version id only adds a delete marker on a versioned bucket')
        version = self._version(kwargs, 'DeleteObject')
        if version['legal_hold'] or (version['retain_until'] and version['retain_until'] > NOW):
            raise error('AccessDenied', 403, 'Access Denied because object protected by object lock.')
        versions.remove(version)
        if not versions:
            del self.objects[kwargs['Key']]
        return {'ResponseMetadata': {'HTTPStatusCode': 204}}

    def get_paginator(self, name):
        assert name == 'list_objects_v2'
        fake = self

        class Paginator:
            @staticmethod
            def paginate(Bucket, Prefix=''):  # noqa: N803 - botocore's parameter names
                fake.calls.append(('ListObjectsV2', {'Bucket': Bucket, 'Prefix': Prefix}))
                keys = sorted(k for k in fake.objects if k.startswith(Prefix))
                for start in range(0, max(len(keys), 1), fake.page_size):
                    page = []
                    for key in keys[start:start + fake.page_size]:
                        version = fake.objects[key][-1]
                        page.append({'Key': key, 'Size': len(version['data']), 'LastModified': version['last_modified'],
                                     'StorageClass': version['storage_class'], 'ETag': '"e-%s"' % version['checksum'][:8]})
                    yield {'Contents': page} if page else {}
        return Paginator()


class Failed(Exception):
    """fail_json of FakeModule."""

    def __init__(self, result):
        super().__init__(result['msg'])
        self.result = result


class FakeModule:
    """What the run logic uses of AnsibleAWSModule: params, client(), check_mode, warn, fail_json, atomic_move."""

    def __init__(self, client, check_mode=False, **params):
        self.params = dict(endpoint_url=None, **params)
        self._client = client
        self.check_mode = check_mode
        self.warnings = []
        self._diff = False

    def client(self, service, config=None):
        assert service == 's3' and config is not None
        return self._client

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, **result):
        raise Failed(result)

    def fail_json_aws(self, exc, msg=None, **result):
        raise Failed(dict(result, msg='%s: %s' % (msg, exc)))

    @staticmethod
    def atomic_move(src, dest):
        os.replace(src, dest)
