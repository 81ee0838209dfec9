#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the migrate target that the modules under test must not do for themselves.

verify ENDPOINT FACTS BUCKET_ARN SOURCES  restore and download every copy the catalog records in the bucket with
                                          boto3 and compare it byte for byte with its source file (SOURCES: JSON
                                          {archive id: path}); prints JSON
delete ENDPOINT BUCKET KEY               delete an object, as someone cleaning the bucket by hand would
backdate FACTS VAULT_ARN DAYS ID...      date the vault records of these archive ids DAYS days back (uploaded_at)
"""

import datetime
import json
import os
import sys
import time

import boto3
import botocore.config

CHUNK = 1024 * 1024


def s3_client(endpoint):
    return boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id='x',
                        aws_secret_access_key='x', config=botocore.config.Config(s3={'addressing_style': 'path'}))


def catalog_module():
    """The collection's catalog code, from the collections path ansible-test exports (both catalog formats)."""
    for base in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
        if os.path.isdir(os.path.join(base, 'ansible_collections', 'coldvault', 'glacier')):
            sys.path.insert(0, base)
            break
    from ansible_collections.coldvault.glacier.plugins.module_utils import catalog  # pylint: disable=import-outside-toplevel
    return catalog


def same_bytes(stream, path):
    with open(path, 'rb') as fh:
        while True:
            a, b = stream.read(CHUNK), fh.read(CHUNK)
            if a != b:
                return False
            if not a:
                return True


def verify(endpoint, facts, bucket_arn, sources):
    catalog = catalog_module()
    data = catalog.read(facts)
    bucket = bucket_arn.split(':::', 1)[1]
    s3 = s3_client(endpoint)
    checked = []
    for name in sorted((catalog.get_entry(data, bucket_arn) or {}).get('archives') or {}):
        for record in catalog.history(data, bucket_arn, name):
            source = sources[record['migrated_from']['archive_id']]
            version = {'VersionId': record['version_id']} if record.get('version_id') else {}
            s3.restore_object(Bucket=bucket, Key=record['key'], RestoreRequest={
                'Days': 1, 'GlacierJobParameters': {'Tier': 'Standard'}}, **version)
            # This endpoint completes restores at once; the bound only ends a run whose restore never completes.
            for dummy in range(600):
                head = s3.head_object(Bucket=bucket, Key=record['key'], **version)
                if 'ongoing-request="false"' in head.get('Restore', ''):
                    break
                time.sleep(0.1)
            body = s3.get_object(Bucket=bucket, Key=record['key'], **version)['Body']
            checked.append({'name': name, 'key': record['key'], 'source': source, 'size': head['ContentLength'],
                            'storage_class': head.get('StorageClass'), 'identical': same_bytes(body, source)})
    print(json.dumps({'checked': checked}))


def backdate(facts, vault_arn, days, archive_ids):
    with open(facts, encoding='utf-8') as fh:
        data = json.load(fh)
    if data.get('format') != 1:
        sys.exit('backdate: %s is catalog format %s; this helper dates back format-1 records only' % (facts, data.get('format')))
    when = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)).strftime('%Y-%m-%dT%H:%M:%SZ')
    found = 0
    for entry in data['vaults'][vault_arn]['archives'].values():
        for record in entry['history']:
            if record['archive_id'] in archive_ids:
                record['uploaded_at'] = when
                found += 1
        entry.update(entry['history'][-1])
    if found != len(archive_ids):
        sys.exit('backdate: found %d of the %d archive ids' % (found, len(archive_ids)))
    with open(facts, 'w', encoding='utf-8') as fh:
        json.dump(data, fh)


def main(argv):
    if argv[0] == 'verify':
        verify(argv[1], argv[2], argv[3], json.loads(argv[4]))
    elif argv[0] == 'delete':
        s3_client(argv[1]).delete_object(Bucket=argv[2], Key=argv[3])
    elif argv[0] == 'backdate':
        backdate(argv[1], argv[2], int(argv[3]), argv[4:])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
