# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""The objects of a bucket as the inventory module sees them: ListObjectsV2 under a prefix, HeadObject for what a
listing lacks (the user metadata with the ``cvg1`` description, the checksum, the version id), and the catalog
record an object's metadata rebuilds.

A listing is consistent at once and takes one request per 1,000 keys, so a bucket is listed afresh on every run:
there is no inventory job to wait a day for. HeadObject works on archived objects without a restore.
"""

import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import description as desc
from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.download import derive_part_size
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.multipart import METADATA_KEY, checksum_of
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.restore import iso
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import Attempts, run_parallel

HEAD_ATTEMPTS = 3


def folder(prefix):
    """The key prefix the upload module writes under ``prefix`` (a "/" added when missing; '' for none)."""
    prefix = prefix or ''
    return prefix if not prefix or prefix.endswith('/') else prefix + '/'


def list_objects(client, bucket, prefix):
    """Every object under ``prefix`` (current versions), in key order, as dicts of the fields returned."""
    objects = []
    for page in client.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get('Contents', []):
            objects.append({'key': item['Key'], 'size': item.get('Size'), 'last_modified': iso(item.get('LastModified')),
                            'storage_class': item.get('StorageClass') or 'STANDARD', 'etag': item.get('ETag')})
    return objects


def head_objects(client, bucket, keys, concurrency=4, sleep=time.sleep):
    """{key: HeadObject reply, or None for a key deleted since it was listed}, ``concurrency`` at a time."""
    heads = {}
    attempts = Attempts(HEAD_ATTEMPTS, sleep=sleep)

    def once(key):
        try:
            return client.head_object(Bucket=bucket, Key=key, ChecksumMode='ENABLED')
        except botocore.exceptions.ClientError as e:
            if error_code(e) in ('404', 'NoSuchKey', 'NotFound'):
                return None
            raise

    def work(index, stop, key):
        del index
        heads[key] = attempts.run('HeadObject of s3://%s/%s' % (bucket, key), lambda: once(key), stop,
                                  fatal_if=lambda e: isinstance(e, botocore.exceptions.ClientError)
                                  and error_code(e) in ('AccessDenied', '403', 'NoSuchBucket'))
    run_parallel(work, [(key,) for key in keys], concurrency, 's3-head')
    return heads


def describe(listed, head):
    """The object as the module returns it: the listing's fields, what HeadObject adds, the decoded description."""
    entry = dict(listed)
    if head is None:
        return entry
    description = (head.get('Metadata') or {}).get(METADATA_KEY)
    entry.update(version_id=head.get('VersionId'), checksum=checksum_of(head), description=description,
                 size=head.get('ContentLength', entry.get('size')), etag=head.get('ETag', entry.get('etag')),
                 storage_class=head.get('StorageClass') or entry.get('storage_class') or 'STANDARD')
    decoded = desc.decode(description) if description else None
    if decoded:
        entry.update(name=decoded['name'], mtime=decoded['mtime'], name_truncated=decoded['truncated'])
    return entry


def record_of(entry, decoded):
    """The catalog record the upload module would have written for a described object, from its ``decoded``
    description: the S3 facts win over the description's (the conflicts are the caller's to report)."""
    checksum = entry.get('checksum')
    value = (checksum or {}).get('value') or ''
    part_size = None
    if '-' in value:  # COMPOSITE: <base64>-<parts>
        part_size = derive_part_size(entry['size'], int(value.rsplit('-', 1)[1]))
    return {'key': entry['key'], 'version_id': entry.get('version_id'), 'etag': entry.get('etag'),
            'size': entry.get('size'), 'mtime': decoded['mtime'], 'uploaded_at': entry.get('last_modified'),
            'storage_class': entry.get('storage_class'), 'checksum': checksum, 'part_size': part_size,
            'tree_hash': decoded.get('tree_hash'), 'description': entry.get('description')}
