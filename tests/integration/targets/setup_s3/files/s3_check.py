#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an independent client (boto3, not the collection) finds in the local endpoint's S3, for the tests.

s3_check.py URL ping
s3_check.py URL bucket NAME REGION [--versioned] [--object-lock]
                                                     create a bucket (idempotent); prints created or exists;
                                                     --object-lock: versioned, with a default GOVERNANCE
                                                     retention of 1 day
s3_check.py URL object BUCKET KEY SRC                JSON: the object's fields, its bytes compared with SRC
s3_check.py URL list BUCKET PREFIX                   JSON: keys, versions and multipart uploads under PREFIX
"""

import base64
import hashlib
import io
import json
import sys
import urllib.request

import boto3
import botocore.config
import botocore.exceptions
from botocore.utils import calculate_tree_hash

CREDENTIALS = {'aws_access_key_id': 'AKIACOLDVAULTTEST001', 'aws_secret_access_key': 'cvg-it-check'}
ARCHIVED = ('GLACIER', 'DEEP_ARCHIVE')


def client(url, region='us-east-1'):
    config = botocore.config.Config(s3={'addressing_style': 'path'}, retries={'mode': 'standard'})
    return boto3.client('s3', endpoint_url=url, region_name=region, config=config, **CREDENTIALS)


def control(url, action, body):
    request = urllib.request.Request(url + '/_control/' + action, data=json.dumps(body).encode(), method='POST')
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def b64sha256(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode('ascii')


def expected_checksum(src, parts_count, part_size):
    """The checksum S3 should show for SRC: full-object SHA-256, or composite over parts of part_size."""
    with open(src, 'rb') as fh:
        data = fh.read()
    if not parts_count:
        return b64sha256(data)
    digests = [hashlib.sha256(data[i:i + part_size]).digest() for i in range(0, len(data), part_size)]
    return '%s-%d' % (b64sha256(b''.join(digests)), len(digests))


def check_object(url, bucket, key, src):
    s3 = client(url)
    try:
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode='ENABLED')
    except botocore.exceptions.ClientError as e:
        if e.response['Error']['Code'] in ('404', 'NoSuchKey'):
            return {'exists': False}
        raise
    storage_class = head.get('StorageClass', 'STANDARD')
    parts_count = part_size = None
    first = s3.head_object(Bucket=bucket, Key=key, PartNumber=1)
    if first.get('PartsCount'):
        parts_count, part_size = first['PartsCount'], first['ContentLength']
    if storage_class in ARCHIVED:
        # Archived objects refuse GetObject until restored: restore, and have the endpoint finish it at once.
        try:
            s3.restore_object(Bucket=bucket, Key=key, RestoreRequest={'Days': 1, 'GlacierJobParameters': {'Tier': 'Bulk'}})
        except botocore.exceptions.ClientError as e:
            if e.response['Error']['Code'] != 'RestoreAlreadyInProgress':
                raise
        control(url, 's3/complete-restores', {'bucket': bucket, 'key': key})
    data = s3.get_object(Bucket=bucket, Key=key)['Body'].read()
    with open(src, 'rb') as fh:
        local = fh.read()
    return {
        'exists': True, 'storage_class': storage_class, 'metadata': head.get('Metadata', {}),
        'checksum': head.get('ChecksumSHA256'), 'checksum_type': head.get('ChecksumType'), 'size': head['ContentLength'],
        'version_id': head.get('VersionId'), 'etag': head['ETag'], 'parts_count': parts_count, 'part_size': part_size,
        'lock_mode': head.get('ObjectLockMode'),
        'content_equal': data == local, 'tree_hash': calculate_tree_hash(io.BytesIO(data)),
        'expected_checksum': expected_checksum(src, parts_count, part_size),
    }


def listing(url, bucket, prefix):
    s3 = client(url)
    keys, versions, uploads = [], 0, []
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
        keys += [item['Key'] for item in page.get('Contents', [])]
    for page in s3.get_paginator('list_object_versions').paginate(Bucket=bucket, Prefix=prefix):
        versions += len(page.get('Versions', []))
    for page in s3.get_paginator('list_multipart_uploads').paginate(Bucket=bucket, Prefix=prefix):
        uploads += [{'key': item['Key'], 'upload_id': item['UploadId']} for item in page.get('Uploads', [])]
    return {'keys': keys, 'versions': versions, 'uploads': uploads}


def create_bucket(url, bucket, region, versioned, object_lock):
    s3 = client(url, region)
    kwargs = {} if region == 'us-east-1' else {'CreateBucketConfiguration': {'LocationConstraint': region}}
    if object_lock:
        kwargs['ObjectLockEnabledForBucket'] = True
    try:
        s3.create_bucket(Bucket=bucket, **kwargs)
        outcome = 'created'
    except botocore.exceptions.ClientError as e:
        if e.response['Error']['Code'] != 'BucketAlreadyOwnedByYou':
            raise
        outcome = 'exists'
    if versioned and not object_lock:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={'Status': 'Enabled'})
    if object_lock:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            'ObjectLockEnabled': 'Enabled', 'Rule': {'DefaultRetention': {'Mode': 'GOVERNANCE', 'Days': 1}}})
    return outcome


def main(argv):
    url, command, args = argv[1], argv[2], argv[3:]
    if command == 'ping':
        client(url).list_buckets()
    elif command == 'bucket':
        print(create_bucket(url, args[0], args[1], '--versioned' in args[2:], '--object-lock' in args[2:]))
    elif command == 'object':
        print(json.dumps(check_object(url, *args)))
    elif command == 'list':
        print(json.dumps(listing(url, *args)))
    else:
        sys.exit('unknown command %s' % command)


if __name__ == '__main__':
    main(sys.argv)
