# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.upload does: validate, decide under the file change strategy, upload or resume, record.

One run logic for both backends; a target (``VaultTarget``, ``BucketTarget``) says what differs: names, part
sizes, the client, the look-up, the transfer, what a record and the result hold.

The catalog is written at three moments, each under its lock: when a multipart upload starts (so a killed run
can resume it), when an archive is complete (so its id is never lost), and when a stale upload is dropped.
"""

import os
import stat
import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import description as desc
from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api as glacier
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import multipart as vault_multipart
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import api as s3api
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import multipart as s3_multipart
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import Stats
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import TreeHashError, file_tree_hash

MAX_CONCURRENCY = 64


class VaultTarget:
    """A Glacier vault (the vault API, 2012-06-01)."""

    kind = 'vault'
    arn_field = 'vault_arn'
    gone = (vault_multipart.UploadGone,)
    hash_range = staticmethod(vault_multipart.hash_range)

    def __init__(self, module):
        self.module = module
        self.vault = module.params['vault']
        self.where = 'vault %s' % self.vault
        self.entry_fields = {}

    def validate(self):
        p = self.module.params
        problem = glacier.invalid_vault_name('vault', p['vault'])
        for option in ('prefix', 'storage_class'):
            if p[option] is not None:
                problem = problem or '%s: applies to a bucket only; vaults have no %s' % (option, option.replace('_', ' '))
        return problem

    @staticmethod
    def empty_file_problem(src):
        return 'src: %s is empty; Glacier cannot store zero-byte archives' % src

    @staticmethod
    def plan_part_size(size, part_size_mib):
        return vault_multipart.plan_part_size(size, part_size_mib)

    def fields(self):
        return {'vault': self.vault}

    def client(self, concurrency):
        return glacier.client(self.module, concurrency)

    def locate(self, client):
        vault = glacier.describe_vault(self.module, client, self.vault, none_if_missing_in_check_mode=True)
        return vault['VaultARN'] if vault else None

    def transfer(self, client, run, key=None):
        del key
        return vault_multipart.GlacierTransfer(client, self.vault, run.src, run.st.st_size, run.part_size,
                                               self.module.params['concurrency'])

    def identity(self):
        return {}

    def resumable(self, pending, identity):
        return all(pending.get(k) == v for k, v in identity.items())

    def new_key(self, run):
        del run
        return None

    def recover(self, transfer, pending, current):
        """Vaults cannot be asked whether an upload was completed: an upload the vault forgot starts afresh."""
        del transfer, pending, current
        return None

    def record(self, archive, run, single):
        return {'archive_id': archive['archive_id'], 'tree_hash': archive['tree_hash'], 'size': run.st.st_size,
                'mtime': run.st.st_mtime, 'uploaded_at': catalog.now(), 'location': archive['location'],
                'description': archive['description'], 'part_size': None if single else run.part_size}

    @staticmethod
    def returned(record):
        return {k: record.get(k) for k in ('archive_id', 'tree_hash', 'size', 'location')}

    def fail(self, run, exc, msg, resumable):
        """fail_json_aws for AWS errors (also behind a TransferError), so the structured error stays in the result."""
        aws.fail_transfer(self.module, exc, '%s%s' % (msg, ' (the next run resumes the upload)' if resumable else ''),
                          **run.result)


class BucketTarget:
    """An S3 bucket: each version of a file is a new object in one of the Glacier storage classes (or STANDARD)."""

    kind = 'bucket'
    arn_field = 'bucket_arn'
    gone = (s3_multipart.UploadGone,)
    hash_range = staticmethod(s3_multipart.hash_range)

    def __init__(self, module):
        self.module = module
        p = module.params
        self.bucket = p['bucket']
        self.prefix = p['prefix'] or ''
        self.storage_class = p['storage_class'] or s3api.DEFAULT_STORAGE_CLASS
        self.where = 'bucket %s' % self.bucket
        self.key_base = s3_multipart.key_base(self.prefix, p['name'] or os.path.abspath(p['src']))
        self.entry_fields = {}

    def validate(self):
        p = self.module.params
        return s3api.invalid_bucket_name('bucket', p['bucket']) or s3_multipart.invalid_key(
            self.prefix, p['name'] or os.path.abspath(p['src']))

    @staticmethod
    def empty_file_problem(src):
        del src
        return None  # S3 stores empty objects

    @staticmethod
    def plan_part_size(size, part_size_mib):
        return s3_multipart.plan_part_size(size, part_size_mib)

    def fields(self):
        return {'bucket': self.bucket}

    def client(self, concurrency):
        return s3api.client(self.module, concurrency)

    def locate(self, client):
        bucket = s3api.locate_bucket(self.module, client, self.bucket, none_if_missing_in_check_mode=True)
        if bucket is None:
            return None
        self.entry_fields = {'region': bucket['region']}
        return bucket['arn']

    def transfer(self, client, run, key=None):
        return s3_multipart.S3Transfer(client, self.bucket, key or self.new_key(run), run.src, run.st.st_size,
                                       run.part_size, self.storage_class, self.module.params['concurrency'])

    def new_key(self, run):
        return s3_multipart.object_key(self.prefix, run.name)

    def identity(self):
        return {'storage_class': self.storage_class}

    def resumable(self, pending, identity):
        # A prefix or name changed since: the upload goes to a key the catalog would not look for.
        return all(pending.get(k) == v for k, v in identity.items()) and str(pending.get('key')).startswith(self.key_base)

    def recover(self, transfer, pending, current):
        """An object at the recorded upload's key: completed by a run that died before recording it.

        Returns (record, True) when it holds the current file (the file is read once to tell), (record, False)
        for an earlier version of it (recorded with what the upload recorded, without a tree hash), else None.
        """
        if current:
            archive = transfer.adopt(pending.get('description'))
            if archive is not None:
                return archive, True
        head = transfer.head()
        if head is None:
            return None
        checksum = s3_multipart.checksum_of(head)
        record = {'key': transfer.key, 'version_id': head.get('VersionId'), 'etag': head.get('ETag'),
                  'size': head.get('ContentLength'), 'mtime': pending.get('mtime'),
                  'uploaded_at': _iso(head.get('LastModified')) or catalog.now(),
                  'storage_class': head.get('StorageClass') or pending.get('storage_class'), 'checksum': checksum,
                  'part_size': pending.get('part_size'), 'tree_hash': None,
                  'description': (head.get('Metadata') or {}).get(s3_multipart.METADATA_KEY)}
        return record, False

    def record(self, archive, run, single):
        return {'key': archive['key'], 'version_id': archive['version_id'], 'etag': archive['etag'],
                'size': run.st.st_size, 'mtime': run.st.st_mtime, 'uploaded_at': catalog.now(),
                'storage_class': archive['storage_class'], 'checksum': archive['checksum'],
                'part_size': None if single else run.part_size, 'tree_hash': archive['tree_hash'],
                'description': archive['description']}

    @staticmethod
    def returned(record):
        return {k: record.get(k) for k in ('key', 'version_id', 'etag', 'storage_class', 'checksum', 'size', 'tree_hash')}

    def fail(self, run, exc, msg, resumable):
        """fail_json_aws, so the structured S3 error stays in the result, with what to do about it."""
        if resumable:
            msg += ' (the next run resumes the upload)'
        s3api.fail(self.module, exc, msg, bucket=self.bucket, storage_class=self.storage_class, result=run.result)


def _iso(value):
    """A botocore datetime as the catalog writes times; None when absent."""
    if value is None or not hasattr(value, 'strftime'):
        return None
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', value.utctimetuple())


def _validate(module, target):
    """Check every parameter before anything is read, sent or written; fail naming the parameter."""
    p = module.params
    problem = target.validate()
    if problem:
        module.fail_json(msg=problem)
    src = p['src']
    try:
        st = os.stat(src)
    except OSError as e:
        module.fail_json(msg='src: cannot access %s: %s' % (src, e.strerror))
    if stat.S_ISDIR(st.st_mode):
        module.fail_json(msg='src: %s is a directory; archive it first (the coldvault.glacier.backup role does)' % src)
    if not stat.S_ISREG(st.st_mode):
        module.fail_json(msg='src: %s is not a regular file' % src)
    if not os.access(src, os.R_OK):
        module.fail_json(msg='src: %s is not readable' % src)
    if st.st_size == 0 and target.empty_file_problem(src):
        module.fail_json(msg=target.empty_file_problem(src))
    try:
        part_size = target.plan_part_size(st.st_size, p['part_size'])
    except ValueError as e:
        module.fail_json(msg=str(e))
    if not 1 <= p['concurrency'] <= MAX_CONCURRENCY:
        module.fail_json(msg='concurrency: must be from 1 to %d, got %d' % (MAX_CONCURRENCY, p['concurrency']))
    if p['description'] is not None:
        problem = desc.validate_user_description(p['description'])
        if problem:
            module.fail_json(msg='description: %s' % problem)
    mode = arguments.facts_file_mode(module)
    facts_file = os.path.abspath(p['facts_file'])
    if os.path.isdir(facts_file):
        module.fail_json(msg='facts_file: %s is a directory' % facts_file)
    return st, part_size, mode, facts_file


def _check_writable(module, facts_file):
    """Refuse to upload anything whose id could not be recorded afterwards."""
    directory = os.path.dirname(facts_file)
    existing = directory
    while not os.path.isdir(existing):
        existing = os.path.dirname(existing)
    target = facts_file if os.path.exists(facts_file) else existing
    if not os.access(target, os.W_OK) or (target == facts_file and not os.access(directory, os.W_OK)):
        module.fail_json(msg='facts_file: %s cannot be written (no write permission on %s)' % (facts_file, target))


def matches(record, st, strategy, tree_hash=None, fingerprint=None):
    """Whether the recorded archive holds the current file under ``strategy`` (checksum needs the tree hash).

    A caller's ``fingerprint`` (say, of the plaintext of an encrypted file, whose bytes differ on every run)
    replaces the comparison of the file itself.
    """
    if record is None or strategy == 'force':
        return False
    if fingerprint is not None:
        return record.get('fingerprint') == fingerprint
    if record.get('size') != st.st_size:
        return False
    if strategy == 'date_size':
        return record.get('mtime') == st.st_mtime
    return record.get('tree_hash') == tree_hash


def _entry(data, arn, name):
    """The catalog entry of ``name`` as diff mode shows it."""
    return ((catalog.get_entry(data, arn) or {}).get('archives') or {}).get(name) or {}


class Upload:
    """One run of the module."""

    def __init__(self, module):
        self.module = module
        p = module.params
        self.target = BucketTarget(module) if p['bucket'] is not None else VaultTarget(module)
        self.st, self.part_size, self.mode, self.facts_file = _validate(module, self.target)
        self.src = p['src']
        self.name = p['name'] or os.path.abspath(self.src)
        self.arn = None
        self.result = dict(self.target.fields(), changed=False, name=self.name, facts_file=self.facts_file)

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    def update_catalog(self, mutate):
        def with_entry(data):
            catalog.get_entry(data, self.arn, create=True, **self.target.entry_fields)
            mutate(data)
        try:
            before, after = catalog.update(self.facts_file, with_entry, mode=self.mode, atomic_move=self.module.atomic_move)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        if after != before:
            self.result['changed'] = True  # also when the upload fails later: the catalog records it
        return before, after

    def run(self):
        module = self.module
        target = self.target
        try:
            data = catalog.read(self.facts_file)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        if not module.check_mode:
            _check_writable(module, self.facts_file)
        client = target.client(module.params['concurrency'])
        arn = self.arn = target.locate(client)
        if arn is None:  # check mode, vault or bucket not created yet: everything would be uploaded
            self.result.update(changed=True, uploaded=False)
            return self.result
        self.result[target.arn_field] = arn

        recorded = catalog.latest(data, arn, self.name)
        strategy = module.params['file_change_strategy']
        # checksum reads the whole file once; the hash then also goes into the description. A file of one part
        # keeps that read's bytes (when small) and digest for the upload, so it is not read again.
        fingerprint = module.params['fingerprint']
        single = self.st.st_size <= self.part_size
        digest = tree_hash = None
        if strategy == 'checksum' and recorded and fingerprint is None:
            if single:
                digest = target.hash_range(self.src, 0, self.st.st_size)
                tree_hash = digest.tree_hash
            else:
                tree_hash = file_tree_hash(self.src)
        if matches(recorded, self.st, strategy, tree_hash, fingerprint):
            self.result.update(target.returned(recorded), uploaded=False, resumed_parts=0)
            return self.result

        if module.check_mode:
            self.result.update(changed=True, uploaded=False)
            if module._diff:
                entry = _entry(data, arn, self.name)
                self.result['diff'] = {'before': entry,
                                       'after': dict(entry, pending='a new %s of %s (%d bytes)' % (
                                           'archive' if target.kind == 'vault' else 'object', self.src, self.st.st_size))}
            return self.result

        transfer = None
        try:
            if single:
                # One request: hash first (the bytes are kept when small), so the description carries the hash.
                digest = digest or target.hash_range(self.src, 0, self.st.st_size)
                transfer = target.transfer(client, self)
                archive = transfer.upload_single(self._description(digest.tree_hash), digest)
                resumed = 0
            else:
                archive, resumed, transfer = self._multipart(client, data, self._description(tree_hash))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError, TreeHashError, OSError) as e:
            target.fail(self, e, 'uploading %s to %s failed' % (self.src, target.where), bool(self.result.get('upload_id')))

        self.result['changed'] = True
        record = target.record(archive, self, single)
        if module.params['fingerprint'] is not None:
            record['fingerprint'] = module.params['fingerprint']
        # The archive exists now: return its id even if recording it fails, so it is never lost.
        self.result.update(target.returned(record), uploaded=True, resumed_parts=resumed,
                           stats=transfer.stats.as_dict(max(1, -(-self.st.st_size // self.part_size))))

        def record_it(catalog_data):
            catalog.record_archive(catalog_data, arn, self.name, record)
            catalog.clear_upload(catalog_data, arn, self.name)
        before, after = self.update_catalog(record_it)
        if module._diff:
            self.result['diff'] = {'before': _entry(before, arn, self.name), 'after': _entry(after, arn, self.name)}
        st = os.stat(self.src)
        if (st.st_size, st.st_mtime) != (self.st.st_size, self.st.st_mtime):
            module.warn('src %s changed while it was uploaded; the next run uploads it again' % self.src)
        return self.result

    def _description(self, tree_hash):
        return self.module.params['description'] or desc.encode(self.name, self.st.st_size, self.st.st_mtime, tree_hash)

    def _multipart(self, client, data, description):
        """Resume the recorded upload of this file if it is still usable, else start one.

        Returns (archive, parts resumed, transfer).
        """
        target = self.target
        identity = dict(target.identity(), size=self.st.st_size, mtime=self.st.st_mtime, part_size=self.part_size)
        pending = catalog.get_upload(data, self.arn, self.name)
        existing = None
        transfer = None
        if pending:
            transfer = target.transfer(client, self, pending.get('key'))
            current = target.resumable(pending, identity)
            if current:
                try:
                    existing = transfer.list_parts(pending['upload_id'])
                except target.gone:
                    existing = None
            else:
                transfer.abort(pending['upload_id'])  # the file changed: its parts are worthless
            if existing is None:
                recovered = target.recover(transfer, pending, current)
                if recovered is not None and recovered[1]:
                    self.result['upload_id'] = pending['upload_id']
                    return recovered[0], -(-self.st.st_size // self.part_size), transfer
                self._drop_upload(pending, recovered[0] if recovered else None)
        if existing is None:
            transfer = target.transfer(client, self, target.new_key(self))
            upload_id = transfer.initiate(description)
            existing = {}
            upload = dict(identity, upload_id=upload_id, started_at=catalog.now(), description=description)
            if target.kind == 'bucket':
                upload['key'] = transfer.key
            self.update_catalog(lambda d: catalog.set_upload(d, self.arn, self.name, upload))
        else:
            upload_id = pending['upload_id']
            description = pending.get('description', description)  # what the upload was initiated with
        self.result['upload_id'] = upload_id
        tree_hash, resumed = transfer.upload_parts(upload_id, existing)
        return transfer.complete(upload_id, tree_hash, description), resumed, transfer

    def _drop_upload(self, pending, earlier=None):
        """Forget a recorded upload that cannot be resumed, recording the object it left when there is one."""
        def mutate(d):
            if earlier is not None:
                catalog.record_archive(d, self.arn, self.name, earlier)
            catalog.clear_upload(d, self.arn, self.name, pending['upload_id'])
        self.update_catalog(mutate)
        if earlier is not None:
            self.module.warn('%s held %s, completed by an earlier run that did not record it; it is recorded now'
                             % (self.target.where, earlier['key']))


def run_upload(module):
    stats = Stats('upload')  # what a run that moved nothing reports
    result = Upload(module).run()
    result.setdefault('stats', stats.as_dict(parts=0))
    return result
