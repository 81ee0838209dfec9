# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.inventory does: get a vault inventory, parse it, reconcile it with the catalog, rebuild.

The inventory job is started or reused like a retrieval job (glacier/jobs.py). Reconciling compares the archive ids the
vault lists with the ids the catalog records for the vault; rebuilding adds the archives the catalog lacks, from
the structured descriptions the upload module writes (description.py). Rebuilding only adds: an archive id
already in the catalog is never dropped or changed.

For a bucket (BucketInventory) the listing is ListObjectsV2 under the prefix, consistent at once and taking seconds
(s3/listing.py): no job. HeadObject adds the user metadata (the same ``cvg1`` description) of the objects the catalog
lacks; reconciling and rebuilding compare and add by object key.
"""

import copy
import json
import os
import re
import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import description as desc
from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api as glacier
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import jobs
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.job_output import JobOutput
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import api as s3api
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import listing
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError

_ISO = re.compile(r'\A\s*(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.\d+)?\s*(?:Z|[+-]00:?00)?\s*\Z')
_HEX64 = re.compile(r'\A[0-9a-fA-F]{64}\Z')
MAX_CONCURRENCY = 64


class InventoryError(Exception):
    """The job output is not a Glacier JSON inventory; the message says what is wrong."""


def catalog_time(text):
    """An inventory time ('2012-03-20T17:03:43.221Z') in the catalog's format ('2012-03-20T17:03:43Z'), or None."""
    match = _ISO.match(text) if isinstance(text, str) else None
    return '%sT%sZ' % match.groups() if match else None


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def archive_entry(item):
    """One ArchiveList item as the module returns it; the decoded name and mtime when the description is ours."""
    entry = {
        'archive_id': item['ArchiveId'],
        'description': item.get('ArchiveDescription') or '',
        'creation_date': item.get('CreationDate'),
        'size': item.get('Size'),
        'tree_hash': (item.get('SHA256TreeHash') or '').lower() or None,
    }
    decoded = desc.decode(entry['description'])
    if decoded:
        entry.update(name=decoded['name'], mtime=decoded['mtime'], name_truncated=decoded['truncated'])
    return entry


def parse_inventory(raw):
    """Parse a JSON inventory (bytes or str) into dict(vault_arn, inventory_date, archives); raise InventoryError."""
    try:
        document = json.loads(raw.decode('utf-8') if isinstance(raw, bytes) else raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InventoryError('the inventory is not JSON: %s' % e)
    if not isinstance(document, dict) or not isinstance(document.get('ArchiveList'), list):
        raise InventoryError('the inventory has no ArchiveList')
    archives = []
    for index, item in enumerate(document['ArchiveList']):
        if not isinstance(item, dict) or not isinstance(item.get('ArchiveId'), str) or not item['ArchiveId']:
            raise InventoryError('ArchiveList item %d has no ArchiveId' % index)
        if not _int(item.get('Size')) or item['Size'] < 0:
            raise InventoryError('archive %s has no valid Size' % item['ArchiveId'])
        if item.get('SHA256TreeHash') is not None and not _HEX64.match(str(item['SHA256TreeHash'])):
            raise InventoryError('archive %s has an invalid SHA256TreeHash' % item['ArchiveId'])
        archives.append(archive_entry(item))
    return {'vault_arn': document.get('VaultARN'), 'inventory_date': document.get('InventoryDate'),
            'archives': archives}


def _catalog_records(data, arn):
    """(name, record) of every record the catalog's history holds for the vault, deleted ones included."""
    return catalog.all_records(data, arn)


def reconcile(data, arn, inventory):
    """Compare the catalog's records of vault ``arn`` with a parsed inventory.

    Returns dict(missing_in_vault, not_in_inventory_yet, missing_in_catalog): live catalog records the inventory
    lacks (split by whether they were uploaded before the inventory was taken or after: an inventory is a snapshot,
    refreshed by AWS about once a day), and inventory archives whose id is nowhere in the catalog's vault.
    """
    listed = {item['archive_id'] for item in inventory['archives']}
    taken = catalog_time(inventory.get('inventory_date'))
    known = set()
    missing, newer = [], []
    for name, record in _catalog_records(data, arn):
        known.add(record.get('archive_id'))
        if record.get('deleted_at') or record.get('archive_id') in listed:
            continue
        brief = {'name': name, 'archive_id': record.get('archive_id'), 'uploaded_at': record.get('uploaded_at'),
                 'size': record.get('size'), 'tree_hash': record.get('tree_hash')}
        uploaded = record.get('uploaded_at')
        (newer if taken and isinstance(uploaded, str) and uploaded > taken else missing).append(brief)
    return {
        'missing_in_vault': missing,
        'not_in_inventory_yet': newer,
        'missing_in_catalog': [dict(item) for item in inventory['archives'] if item['archive_id'] not in known],
    }


def location(arn, archive_id):
    """The Location Glacier gives an archive: /<account>/vaults/<vault>/archives/<id>."""
    parts = catalog.parse_vault_arn(arn)
    return '/%s/vaults/%s/archives/%s' % (parts['account'], parts['vault'], archive_id)


def plan_rebuild(data, arn, missing_in_catalog):
    """What rebuilding adds: (additions [(name, record)] oldest first, foreign [inventory items], conflicts [str]).

    Only our own descriptions say which file an archive holds; others are foreign and are not added. A shortened
    name is matched to a name of the catalog by the SHA-256 of the full name, or else kept shortened.
    """
    names = sorted(((catalog.get_entry(data, arn) or {}).get('archives') or {}))
    additions, foreign, conflicts = [], [], []
    for item in missing_in_catalog:
        decoded = desc.decode(item.get('description'))
        if decoded is None:
            foreign.append(item)
            continue
        name = decoded['name']
        if decoded['truncated']:
            name = next((known for known in names if desc.name_matches(decoded, known)), name)
        tree_hash = decoded['tree_hash'] or item.get('tree_hash')
        if item.get('tree_hash') and tree_hash != item['tree_hash']:
            conflicts.append('archive %s: its description says tree hash %s, the inventory %s; the inventory wins'
                             % (item['archive_id'], tree_hash, item['tree_hash']))
            tree_hash = item['tree_hash']
        if decoded['size'] != item.get('size'):
            conflicts.append('archive %s: its description says %d bytes, the inventory %s; the inventory wins'
                             % (item['archive_id'], decoded['size'], item.get('size')))
        record = {
            'archive_id': item['archive_id'], 'tree_hash': tree_hash, 'size': item.get('size'),
            'mtime': decoded['mtime'], 'uploaded_at': catalog_time(item.get('creation_date')),
            'location': location(arn, item['archive_id']), 'description': item.get('description'),
            'part_size': None,
        }
        additions.append((name, record))
    additions.sort(key=lambda pair: pair[1]['uploaded_at'] or '')
    return additions, foreign, conflicts


def insert_record(data, arn, name, record):
    """Add ``record`` to the history of ``name`` at its place by uploaded_at (catalog.insert_archive).

    An id already in the history (a vault's archive id, a bucket's key) changes nothing. The entry's top-level
    fields follow the newest record still in the vault, as catalog.record_archive keeps them.
    """
    return catalog.insert_archive(data, arn, name, record)


def rebuild(data, arn, inventory):
    """Add what plan_rebuild() finds to ``data``; returns (added [dict(name, record...)], foreign, conflicts)."""
    missing = reconcile(data, arn, inventory)['missing_in_catalog']
    additions, foreign, conflicts = plan_rebuild(data, arn, missing)
    added = []
    for name, record in additions:
        if insert_record(data, arn, name, record):
            added.append(dict(record, name=name))
    return added, foreign, conflicts


class Inventory:
    """One run of the module."""

    def __init__(self, module):
        self.module = module
        self.p = p = module.params
        self.result = {'changed': False, 'vault': p['vault'], 'facts_file': p['facts_file'], 'status': None,
                       'job_id': None}
        problem = glacier.invalid_vault_name('vault', p['vault'])
        if not problem and p.get('prefix') is not None:
            problem = 'prefix: applies to a bucket only'
        if problem:
            self.fail(problem)
        problem = arguments.validate_wait(p)
        if problem:
            self.fail(problem)
        if catalog.invalid_lock_timeout(p.get('lock_timeout')):
            self.fail(catalog.invalid_lock_timeout(p['lock_timeout']))
        self.mode = arguments.facts_file_mode(self.module)
        if os.path.isdir(p['facts_file']):
            self.fail('facts_file: %s is a directory' % p['facts_file'])

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    def save(self, mutate):
        return catalog.update(self.p['facts_file'], mutate, mode=self.mode, atomic_move=self.module.atomic_move,
                              **catalog.lock_options(self.module))

    def _aws(self, what, call, *args):
        try:
            return call(*args)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            if what == 'InitiateJob' and aws.error_code(e) == 'ResourceNotFoundException':
                self.fail('vault %s has no inventory yet: AWS prepares the first one about a day after the first '
                          'archive was added; try again later' % self.p['vault'])
            aws.fail_aws(self.module, e, 'vault %s: %s failed' % (self.p['vault'], what), **self.result)
        return None

    def run(self):
        module, p = self.module, self.p
        try:
            data = catalog.read(p['facts_file'])
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        client = glacier.client(module)
        arn = glacier.describe_vault(module, client, p['vault'])['VaultARN']
        self.result['vault_arn'] = arn
        runner = jobs.Jobs(client, p['vault'], arn, self.save, check_mode=module.check_mode)
        if p['refresh']:
            data = _without_job(data, arn)
        parameters = {'Type': jobs.INVENTORY_RETRIEVAL, 'Format': 'JSON'}
        try:
            job = self._aws('InitiateJob', runner.obtain, data, jobs.INVENTORY_KEY, parameters)
        except jobs.JobError as e:
            self.fail('starting an inventory job failed: %s' % e)
        described = job['described']
        self.result.update(job_id=job['job_id'], status=jobs.status(described), changed=job['started'])
        if job['replaced']:
            self.result['replaced_job'] = job['replaced']
        if described is None:  # check mode would start a job
            return self.result
        if described.get('StatusCode') != 'Succeeded':
            if not p['wait']:
                return self.result
            try:
                described = self._aws('waiting for job %s' % job['job_id'], runner.wait, job['job_id'],
                                      p['wait_timeout'], p['poll_interval'], described)
            except jobs.JobTimeout as e:
                self.fail('wait_timeout: %s. Its id is recorded in %s: a rerun continues with this job instead of '
                          'starting another' % (e, p['facts_file']))
            except jobs.JobError as e:
                self.fail('%s; a rerun starts a new job' % e)
        self.result['status'] = jobs.SUCCEEDED
        try:
            raw = JobOutput(client, p['vault'], job['job_id']).read_all()
            inventory = parse_inventory(raw)
        except jobs.JobGone as e:
            self.fail('%s; a rerun starts a new job' % e)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError, InventoryError) as e:
            self.fail('reading the inventory of job %s failed: %s' % (job['job_id'], e))
        self.result.update(inventory_date=inventory['inventory_date'], archives=inventory['archives'])
        if p['reconcile'] or p['rebuild']:
            self.result.update(reconcile(data, arn, inventory))
        if p['rebuild']:
            self._rebuild(arn, inventory)
        return self.result

    def _rebuild(self, arn, inventory):
        outcome = {}

        def mutate(fresh):
            # Planned again under the catalog's lock, on what the file holds now.
            outcome['added'], outcome['foreign'], outcome['conflicts'] = rebuild(fresh, arn, inventory)
        try:
            if self.module.check_mode:
                catalog.update(self.p['facts_file'], mutate, mode=self.mode, check_mode=True)
            else:
                self.save(mutate)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        for warning in outcome['conflicts']:
            self.module.warn(warning)
        self.result.update(rebuilt=outcome['added'], foreign=outcome['foreign'])
        self.result['changed'] = self.result['changed'] or bool(outcome['added'])


# ---------------------------------------------------------------------------
# Buckets.

def reconcile_bucket(data, arn, objects, prefix=''):
    """Compare the catalog's records of bucket ``arn`` under ``prefix`` with the objects listed there.

    Returns dict(missing_in_bucket, missing_in_catalog): live records whose key is not listed, and listed objects
    whose key is nowhere in the catalog's bucket (deleted records included: prune recorded those).
    """
    listed = {item['key'] for item in objects}
    known = set()
    missing = []
    for name, record in _catalog_records(data, arn):
        key = record.get('key')
        known.add(key)
        if record.get('deleted_at') or key in listed or not str(key).startswith(prefix):
            continue
        missing.append({'name': name, 'key': key, 'version_id': record.get('version_id'),
                        'uploaded_at': record.get('uploaded_at'), 'size': record.get('size'),
                        'storage_class': record.get('storage_class')})
    return {'missing_in_bucket': missing,
            'missing_in_catalog': [dict(item) for item in objects if item['key'] not in known]}


def plan_bucket_rebuild(data, arn, missing_in_catalog):
    """What rebuilding adds: (additions [(name, record)] oldest first, foreign [objects], conflicts [str])."""
    names = sorted(((catalog.get_entry(data, arn) or {}).get('archives') or {}))
    additions, foreign, conflicts = [], [], []
    for item in missing_in_catalog:
        decoded = desc.decode(item.get('description'))
        if decoded is None:
            foreign.append(item)
            continue
        name = decoded['name']
        if decoded['truncated']:
            name = next((known for known in names if desc.name_matches(decoded, known)), name)
        if decoded['size'] != item.get('size'):
            conflicts.append('object %s: its description says %d bytes, S3 %s; S3 wins'
                             % (item['key'], decoded['size'], item.get('size')))
        additions.append((name, listing.record_of(item, decoded)))
    additions.sort(key=lambda pair: pair[1]['uploaded_at'] or '')
    return additions, foreign, conflicts


def rebuild_bucket(data, arn, missing_in_catalog):
    """Add what plan_bucket_rebuild() finds to ``data``; returns (added [dict(name, record...)], foreign, conflicts)."""
    additions, foreign, conflicts = plan_bucket_rebuild(data, arn, missing_in_catalog)
    added = []
    for name, record in additions:
        if insert_record(data, arn, name, record):
            added.append(dict(record, name=name))
    return added, foreign, conflicts


class BucketInventory(Inventory):
    """One run of the module for a bucket: list, describe what the catalog lacks, reconcile, rebuild."""

    def __init__(self, module):  # pylint: disable=super-init-not-called
        self.module = module
        self.p = p = module.params
        self.prefix = listing.folder(p['prefix'])
        self.result = {'changed': False, 'bucket': p['bucket'], 'prefix': self.prefix, 'facts_file': p['facts_file'],
                       'status': None}
        problem = s3api.invalid_bucket_name('bucket', p['bucket'])
        if not problem and p['refresh']:
            problem = 'refresh: applies to a vault only; a bucket is listed afresh on every run'
        if problem:
            self.fail(problem)
        if not 1 <= p['concurrency'] <= MAX_CONCURRENCY:
            self.fail('concurrency: must be from 1 to %d, got %d' % (MAX_CONCURRENCY, p['concurrency']))
        self.mode = arguments.facts_file_mode(self.module)
        if os.path.isdir(p['facts_file']):
            self.fail('facts_file: %s is a directory' % p['facts_file'])

    def run(self):
        module, p = self.module, self.p
        try:
            data = catalog.read(p['facts_file'])
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        client = s3api.client(module, p['concurrency'])
        located = s3api.locate_bucket(module, client, p['bucket'])
        arn = located['arn']
        self.result['bucket_arn'] = arn
        try:
            objects = listing.list_objects(client, p['bucket'], self.prefix)
            known = {record.get('key'): name for name, record in _catalog_records(data, arn)}
            heads = listing.head_objects(client, p['bucket'], [o['key'] for o in objects if o['key'] not in known],
                                         p['concurrency'])
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError) as e:
            aws.fail_transfer(module, e, 'listing bucket %s under %r failed' % (p['bucket'], self.prefix), **self.result)
        described = []
        for item in objects:
            if item['key'] in known:
                described.append(dict(item, name=known[item['key']]))
            elif heads.get(item['key']) is not None:
                described.append(listing.describe(item, heads[item['key']]))
            # else: deleted between the listing and its HeadObject; it is not there any more
        self.result.update(status=jobs.SUCCEEDED, objects=described)
        if p['reconcile'] or p['rebuild']:
            self.result.update(reconcile_bucket(data, arn, described, self.prefix))
        if p['rebuild']:
            self._rebuild_bucket(arn, described, located['region'])
        return self.result

    def _rebuild_bucket(self, arn, described, region):
        outcome = {}

        def mutate(fresh):
            # Planned again under the catalog's lock, on what the file holds now.
            catalog.get_entry(fresh, arn, create=True, region=region)
            missing = reconcile_bucket(fresh, arn, described, self.prefix)['missing_in_catalog']
            outcome['added'], outcome['foreign'], outcome['conflicts'] = rebuild_bucket(fresh, arn, missing)
        try:
            if self.module.check_mode:
                catalog.update(self.p['facts_file'], mutate, mode=self.mode, check_mode=True)
            else:
                self.save(mutate)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        for warning in outcome['conflicts']:
            self.module.warn(warning)
        self.result.update(rebuilt=outcome['added'], foreign=outcome['foreign'])
        self.result['changed'] = bool(outcome['added'])


def _without_job(data, arn):
    """A copy of ``data`` that records no inventory job, so that obtain() starts a new one."""
    fresh = copy.deepcopy(data)
    jobs.clear_job(fresh, arn, jobs.INVENTORY_KEY)
    return fresh


def run_inventory(module):
    started = time.monotonic()
    result = (BucketInventory if module.params.get('bucket') is not None else Inventory)(module).run()
    result['seconds'] = round(time.monotonic() - started, 3)
    return result
