# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.migrate does: copy the archives the catalog records in a vault into a bucket, proven equal.

For each archive: reuse or start its retrieval job (glacier/jobs.py, recorded in the catalog), then stream the job
output range by range straight into the parts of an S3 multipart upload (one PutObject for an archive of one part).
Parts are a power of two MiB, so each range is a node of the archive's tree hash: the service sends that node with
the range and a range whose bytes hash otherwise is fetched again. The ranges' hashes combine into the archive's
tree hash, which must equal the vault's before the upload is completed; otherwise it is aborted. Nothing touches
the disk but a journal of the parts sent; memory holds at most 2 x concurrency parts (one per worker, and every
worker fetches a range and then sends it, so about half of them download while the others upload).

Resumable: the S3 upload id and key go into the catalog (the bucket entry's ``migrations``, by archive id) before
the first part, and each part stored is noted with its tree hash in a journal beside the catalog
(``<catalog stem>.migrate/``). A later run lists the parts S3 holds and keeps those the journal vouches for, without
fetching them; a part S3 holds that the journal lacks is fetched again, and sent only if its bytes differ.

The copy is recorded like an uploaded object, under the same name, with ``migrated_from``; the vault's record stays,
and ``delete_source`` deletes the vault archive (checked against the object first) once it is old enough.
"""

import base64
import binascii
import calendar
import copy
import datetime
import errno
import hashlib
import json
import os
import threading
import time

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import description as desc
from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api as glacier_api
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import jobs
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.jobs import JobGone
from ansible_collections.coldvault.glacier.plugins.module_utils.inventory import insert_record
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import api as s3api
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import multipart as s3_multipart
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.multipart import (
    ALGORITHM, DAMAGED, METADATA_KEY, KeyTaken, UploadGone, b64, checksum_of, composite_checksum)
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import (
    Attempts, BlockBody, Stats, TransferError, part_ranges, read_exact, retryable, run_parallel)
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import tree_hash

DEFAULT_TIER = 'Bulk'
VERSIONS = ('latest', 'all')
MAX_CONCURRENCY = 32
# Glacier bills an archive deleted before it is 90 days old as if it had stayed 90 days.
VAULT_MIN_DAYS = 90
# Attempts per range and per part on top of botocore's own retries: a range cut off or hashing otherwise than the
# service says, a part S3 received damaged.
RANGE_ATTEMPTS = 4
PART_ATTEMPTS = 3
# The bucket entry's map of migrations under way, by archive id: upload id, key, part size...
MIGRATIONS = 'migrations'
SOURCE_VAULT_KEY = 'coldvault-source-vault'
SOURCE_ARCHIVE_KEY = 'coldvault-source-archive-id'
# Errors that every other archive would meet too: the run stops at the first one.
RUN_WIDE = set(s3api.DENIED) | set(s3api.WRONG_REGION) | {'NoSuchBucket', 'NoLongerSupportedException',
                                                          'AccessDeniedException', 'UnrecognizedClientException'}

# Status of each archive in the result.
DONE = 'done'            # copied by an earlier run: nothing sent
MIGRATED = 'migrated'    # copied by this run
PENDING = 'pending'      # its job runs
WAITING = 'waiting'      # no job yet: max_jobs reached
FAILED = 'failed'
PLANNED = 'planned'      # check mode: would be copied (now, or once its job completes)


class ArchiveFailed(Exception):
    """This archive cannot be migrated now; the others go on. The message is for the user."""


# ---------------------------------------------------------------------------
# Pure functions on a loaded catalog.

def select(data, vault_arn, names, versions):
    """(name, record) of the archives to migrate, by name and oldest first; raise ValueError naming ``names``.

    ``latest``: each name's newest record still in the vault, or the newest one migrated and deleted since (so a
    rerun does not move on to the version before it). ``all``: every record still in the vault, and those migrated
    and deleted since.
    """
    entry = catalog.get_entry(data, vault_arn) or {}
    known = sorted(entry.get('archives') or {})
    if names is None:
        wanted = known
    else:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError('names: the catalog records no archive named %s in this vault; list the names with '
                             'ansible_local (the catalog), or rebuild the catalog with '
                             'coldvault.glacier.inventory (rebuild: true)' % ', '.join(repr(n) for n in unknown))
        wanted = list(dict.fromkeys(names))
    selected = []
    for name in wanted:
        records = [r for r in catalog.history(data, vault_arn, name) if not r.get('deleted_at') or r.get('migrated_to')]
        for record in records[-1:] if versions == 'latest' else records:
            selected.append((name, record))
    return selected


def copy_of(data, bucket_arn, name, vault_arn, archive_id):
    """The bucket's record of the copy of ``archive_id`` (deleted or not), or None."""
    for record in reversed(catalog.history(data, bucket_arn, name)):
        source = record.get('migrated_from') or {}
        if source.get('archive_id') == archive_id and source.get('vault_arn') == vault_arn:
            return record
    return None


def get_migration(data, bucket_arn, archive_id):
    found = ((catalog.get_entry(data, bucket_arn) or {}).get(MIGRATIONS) or {}).get(archive_id)
    return copy.deepcopy(found) if isinstance(found, dict) else None


def set_migration(data, bucket_arn, archive_id, record, **fields):
    catalog.get_entry(data, bucket_arn, create=True, **fields).setdefault(MIGRATIONS, {})[archive_id] = copy.deepcopy(record)


def clear_migration(data, bucket_arn, archive_id, upload_id=None):
    migrations = (catalog.get_entry(data, bucket_arn) or {}).get(MIGRATIONS) or {}
    current = migrations.get(archive_id)
    if current is None or (upload_id is not None and current.get('upload_id') != upload_id):
        return False
    del migrations[archive_id]
    return True


def epoch_of(text):
    when = catalog.parse_time(text)
    return calendar.timegm(when.utctimetuple()) if when else None


def copy_key(prefix, name, vault_arn, record):
    """The object key of an archive's copy: ``PREFIX/NAME/<upload time>-<8 hex>``, the same on every run.

    The time is the archive's upload time and the token comes from its ARN and id, so a rerun that lost track of a
    copy finds it at the same key (every write is conditional: it never replaces an object).
    """
    token = hashlib.sha256(('%s %s' % (vault_arn, record['archive_id'])).encode('utf-8')).hexdigest()[:8]
    return s3_multipart.object_key(prefix, name, epoch_of(record.get('uploaded_at')) or 0, token)


def object_metadata(vault_arn, name, record):
    """The copy's user metadata: the archive's description (a coldvault.glacier one says name, size and mtime)
    and where it came from, so that a lost catalog can be rebuilt from the bucket too."""
    description = record.get('description')
    if not description:
        description = desc.encode(name, record['size'], record.get('mtime') or 0, record.get('tree_hash'))
    return {METADATA_KEY: description, SOURCE_VAULT_KEY: vault_arn, SOURCE_ARCHIVE_KEY: record['archive_id']}


def age_days(record, now):
    """Days since the archive was uploaded (its catalog's uploaded_at), or None when unknown."""
    when = catalog.parse_time(record.get('uploaded_at'))
    return None if when is None else (now - when).total_seconds() / 86400.0


def copy_record(record, archive, vault_arn, part_size, migrated_at):
    """The bucket's record of a copy: what coldvault.glacier.upload records for an object, and where it came from.

    ``uploaded_at`` and ``mtime`` are the archive's (the backup's age and place in the name's history);
    ``migrated_at`` is when the object was written (S3's minimum storage duration counts from then). The archive's
    ``fingerprint`` (the backup role's, of the plaintext) goes with the bytes it describes: a role switched to the
    bucket then finds its sets there and uploads nothing again.
    """
    copy_ = {'key': archive['key'], 'version_id': archive['version_id'], 'etag': archive['etag'],
             'size': record['size'], 'mtime': record.get('mtime'), 'uploaded_at': record.get('uploaded_at') or migrated_at,
             'storage_class': archive['storage_class'], 'checksum': archive['checksum'], 'part_size': part_size,
             'tree_hash': archive['tree_hash'], 'description': archive['description'], 'migrated_at': migrated_at,
             'migrated_from': {'vault_arn': vault_arn, 'archive_id': record['archive_id'],
                               'tree_hash': record.get('tree_hash') or archive['tree_hash'],
                               'uploaded_at': record.get('uploaded_at')}}
    if record.get('fingerprint'):
        copy_['fingerprint'] = record['fingerprint']
    return copy_


# ---------------------------------------------------------------------------
# The journal of parts sent, beside the catalog.

def journal_dir(facts_file):
    """``/etc/ansible/facts.d/glacier.fact`` -> ``/etc/ansible/facts.d/glacier.migrate`` (never read by setup)."""
    directory, base = os.path.split(os.path.abspath(facts_file))
    stem = base[:-len('.fact')] if base.endswith('.fact') and len(base) > 5 else base
    return os.path.join(directory, stem + '.migrate')


class PartJournal:
    """The parts of one S3 upload that were verified and stored: one JSON line each (number, size, SHA-256, tree
    hash, ETag). Appended without fsync: a line lost in a crash only means that part is fetched again."""

    def __init__(self, directory, upload_id):
        self.directory = directory
        self.path = os.path.join(directory, hashlib.sha256(upload_id.encode('utf-8')).hexdigest()[:32] + '.parts')
        self._lock = threading.Lock()
        self._fh = None

    def load(self):
        """{part number: entry} of the lines that parse (the last may be torn by a kill)."""
        entries = {}
        try:
            with open(self.path, 'rb') as fh:
                for line in fh:
                    try:
                        entry = json.loads(line.decode('utf-8'))
                        entries[int(entry['n'])] = entry
                    except (ValueError, KeyError, TypeError):
                        continue
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
        return entries

    def add(self, number, size, sha256, tree, etag):
        line = json.dumps({'n': number, 'size': size, 'sha256': sha256, 'tree': tree, 'etag': etag}, sort_keys=True)
        with self._lock:
            if self._fh is None:
                os.makedirs(self.directory, 0o700, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                self._fh = os.fdopen(fd, 'ab')
            self._fh.write(line.encode('utf-8') + b'\n')
            self._fh.flush()

    def close(self):
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def remove(self):
        self.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


# ---------------------------------------------------------------------------
# One archive: job output ranges into S3 parts.

class Piece:
    """One range of the job output in memory, as received (the blocks are sent as they are, never joined)."""

    __slots__ = ('blocks', 'length', 'sha256', 'tree')

    def __init__(self, blocks, length, sha256, tree):
        self.blocks = blocks
        self.length = length
        self.sha256 = sha256
        self.tree = tree


def _is_no_such_upload(exc):
    return isinstance(exc, botocore.exceptions.ClientError) and error_code(exc) == 'NoSuchUpload'


def _is_precondition_failed(exc):
    return isinstance(exc, botocore.exceptions.ClientError) and (
        error_code(exc) == 'PreconditionFailed' or exc.response.get('ResponseMetadata', {}).get('HTTPStatusCode') == 412)


def _damaged(exc):
    return error_code(exc) in DAMAGED


def _not_worth_retrying(exc):
    return isinstance(exc, botocore.exceptions.ClientError) and not retryable(exc, _damaged)


class ArchiveCopy:
    """Copies the output of one completed retrieval job to one key of a bucket (thread-safe botocore clients)."""

    def __init__(self, glacier, vault, job_id, s3, bucket, key, size, part_size, storage_class, concurrency,
                 down=None, up=None, on_kept=None, sleep=time.sleep):
        self.glacier = glacier
        self.vault = vault
        self.job_id = job_id
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.size = size
        self.part_size = part_size
        self.storage_class = storage_class
        self.concurrency = concurrency
        self.down = down or Stats('download')
        self.up = up or Stats('upload')
        self._on_kept = on_kept or (lambda: None)
        self.object = s3_multipart.S3Transfer(s3, bucket, key, None, size, part_size, storage_class, concurrency, sleep)
        self._ranges = Attempts(RANGE_ATTEMPTS, fatal=(JobGone,), sleep=sleep, on_retry=self.down.retried)
        self._parts = Attempts(PART_ATTEMPTS, damaged=_damaged, fatal=(UploadGone, KeyTaken), sleep=sleep)

    @property
    def where(self):
        return 's3://%s/%s' % (self.bucket, self.key)

    # -- Glacier -------------------------------------------------------------------------------------------------
    def fetch(self, offset, length, stop=None):
        """One range of the job output, checked against the tree hash the service sends with it (again if not)."""
        http_range = 'bytes=%d-%d' % (offset, offset + length - 1)
        return self._ranges.run('downloading %s of the output of job %s' % (http_range, self.job_id),
                                lambda: self._fetch_once(offset, length, http_range), stop)

    def _fetch_once(self, offset, length, http_range):
        del offset
        try:
            reply = self.glacier.get_job_output(vaultName=self.vault, jobId=self.job_id, range=http_range)
        except botocore.exceptions.ClientError as e:
            if error_code(e) == 'ResourceNotFoundException':
                raise JobGone('job %s is no longer known to the vault (job output expires 24 hours after the job '
                              'completes)' % self.job_id) from e
            raise
        blocks = []
        digest, linear = read_exact(reply['body'], length, http_range, lambda block, done: blocks.append(block),
                                    self.down.moved, linear=True)
        remote = reply.get('checksum')
        if remote and remote.lower() != digest.hex():
            raise TransferError('tree hash mismatch for %s: the service sent %s, the bytes received hash to %s'
                                % (http_range, remote, digest.hex()))
        self.down.piece_done()
        return Piece(blocks, length, linear, digest)

    # -- S3 ------------------------------------------------------------------------------------------------------
    def _archive(self, reply, tree_hex, expected, description):
        checksum = checksum_of(reply)
        if checksum is not None and checksum['value'] != expected:
            raise TransferError('checksum mismatch for %s: computed %s from the bytes sent, S3 has %s'
                                % (self.where, expected, checksum['value']))
        return {'key': self.key, 'version_id': reply.get('VersionId'), 'etag': reply.get('ETag'),
                'storage_class': self.storage_class, 'tree_hash': tree_hex, 'description': description,
                'checksum': checksum or {'algorithm': ALGORITHM, 'type': 'COMPOSITE' if '-' in expected else 'FULL_OBJECT',
                                         'value': expected}}

    def adopt(self, expected, tree_hex, description, upload_id=None):
        """The object at the key when it holds exactly these bytes (an earlier attempt or run wrote it), else raise.

        ``upload_id``: this run's upload, aborted then (S3 bills an open upload until it is aborted).
        """
        head = self.object.head()
        if head is None:
            raise UploadGone('%s: the upload is no longer known to S3 and no object was stored' % self.where)
        found = checksum_of(head)
        if found is None or found['value'] != expected or head.get('ContentLength') != self.size:
            raise KeyTaken('%s already holds another object; it was left alone' % self.where)
        if upload_id is not None:
            self.object.abort(upload_id)
        return self._archive(head, tree_hex, expected, description)

    def put_single(self, piece, metadata):
        """PutObject of an archive of one part (its range's tree hash is the archive's, checked by the caller)."""
        checksum = b64(piece.sha256)

        def once():
            reply = self.s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=BlockBody(piece.blocks), ContentLength=piece.length,
                StorageClass=self.storage_class, Metadata=metadata, ChecksumAlgorithm=ALGORITHM, ChecksumSHA256=checksum,
                IfNoneMatch='*')
            self.up.sent(piece.length)
            return reply
        try:
            reply = self._parts.run('uploading %s' % self.where, once,
                                    fatal_if=lambda e: _is_precondition_failed(e) or _not_worth_retrying(e))
        except botocore.exceptions.ClientError as e:
            if not _is_precondition_failed(e):
                raise
            return self.adopt(checksum, piece.tree.hex(), metadata[METADATA_KEY])
        return self._archive(reply, piece.tree.hex(), checksum, metadata[METADATA_KEY])

    def create(self, metadata):
        return self.s3.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, StorageClass=self.storage_class, Metadata=metadata,
            ChecksumAlgorithm=ALGORITHM, ChecksumType='COMPOSITE')['UploadId']

    def send_part(self, upload_id, number, piece, checksum, stop=None):
        def once():
            reply = self.s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=upload_id, PartNumber=number, Body=BlockBody(piece.blocks),
                ContentLength=piece.length, ChecksumAlgorithm=ALGORITHM, ChecksumSHA256=checksum)
            if reply.get('ChecksumSHA256') and reply['ChecksumSHA256'] != checksum:
                raise TransferError('checksum mismatch for part %d: computed %s locally, S3 has %s'
                                    % (number, checksum, reply['ChecksumSHA256']))
            self.up.sent(piece.length)
            return reply['ETag']
        try:
            return self._parts.run('uploading part %d of %s' % (number, self.where), once, stop,
                                   fatal_if=lambda e: _is_no_such_upload(e) or _not_worth_retrying(e))
        except botocore.exceptions.ClientError as e:
            if _is_no_such_upload(e):
                raise UploadGone('upload %s of %s is no longer known to S3' % (upload_id, self.where)) from e
            raise

    def copy_parts(self, upload_id, existing, journal, send=True):
        """Every part: kept when S3 holds it and the journal vouches for it, else fetched (verified) and sent unless
        S3 holds those very bytes. Without ``send``, only fetch and hash (to prove an object found at the key).

        Returns (tree hash hex, parts for CompleteMultipartUpload, raw part SHA-256s).
        """
        ranges = part_ranges(self.size, self.part_size)
        trees = [None] * len(ranges)
        shas = [None] * len(ranges)
        parts = [None] * len(ranges)
        noted = journal.load()

        def work(index, stop, offset, length):
            number = index + 1
            remote = existing.get(number)
            entry = noted.get(number)
            # Without ``send`` the object's checksum, compared afterwards, vouches for the journal's parts.
            if entry and (not send or remote and remote[0] == length == entry.get('size')
                          and remote[1] == entry.get('sha256') and remote[2]):
                trees[index] = binascii.unhexlify(entry['tree'])
                shas[index] = base64.b64decode(entry['sha256'])
                etag = remote[2] if remote else entry.get('etag')
                self._on_kept()
            else:
                piece = self.fetch(offset, length, stop)
                checksum = b64(piece.sha256)
                trees[index], shas[index] = piece.tree, piece.sha256
                if remote and remote[0] == length and remote[1] == checksum and remote[2]:
                    etag = remote[2]  # S3 got these bytes from a run that died before noting them
                    self._on_kept()
                elif send:
                    etag = self.send_part(upload_id, number, piece, checksum, stop)
                else:
                    etag = None
                del piece  # the range's memory is free before the next one is fetched
                if etag:
                    journal.add(number, length, checksum, trees[index].hex(), etag)
            parts[index] = {'PartNumber': number, 'ETag': etag, 'ChecksumSHA256': b64(shas[index])}

        try:
            run_parallel(work, ranges, 2 * self.concurrency, 'migrate-part')
        finally:
            journal.close()
        return tree_hash(trees).hex(), parts, shas

    def complete(self, upload_id, parts, shas, tree_hex, description):
        """CompleteMultipartUpload, conditional (never replaces an object), with the size and the parts' checksums."""
        expected = composite_checksum(shas)

        def once():
            return self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=upload_id, MultipartUpload={'Parts': parts},
                ChecksumType='COMPOSITE', MpuObjectSize=self.size, IfNoneMatch='*')
        try:
            reply = self._parts.run('completing %s' % self.where, once,
                                    fatal_if=lambda e: _is_precondition_failed(e) or _is_no_such_upload(e)
                                    or _not_worth_retrying(e))
        except botocore.exceptions.ClientError as e:
            if not (_is_precondition_failed(e) or _is_no_such_upload(e)):
                raise
            # An earlier attempt completed it and its reply was lost, or another run got there first.
            return self.adopt(expected, tree_hex, description, None if _is_no_such_upload(e) else upload_id)
        return self._archive(reply, tree_hex, expected, description)


# ---------------------------------------------------------------------------
# One run of the module.

def _brief(name, record):
    return {'name': name, 'archive_id': record['archive_id'], 'size': record.get('size'), 'status': None}


class Migrate:
    """One run of the module."""

    def __init__(self, module, sleep=time.sleep, clock=time.monotonic):
        self.module = module
        self.p = p = module.params
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self.down = Stats('download', clock=clock)
        self.up = Stats('upload', clock=clock)
        self.kept_parts = 0
        self.started_jobs = 0
        self.bucket_arn = self.bucket_region = self.vault_arn = None
        self.result = {'changed': False, 'vault': p['vault'], 'bucket': p['bucket'], 'facts_file': p['facts_file'],
                       'archives': [], 'failed': [], 'deleted': [], 'kept_in_vault': []}
        self._validate()
        self.facts_file = self.result['facts_file'] = os.path.abspath(p['facts_file'])
        self.journals = journal_dir(self.facts_file)
        self.prefix = p['prefix'] or ''

    # -- input ---------------------------------------------------------------------------------------------------
    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.finish())

    def _validate(self):
        p = self.p
        problem = glacier_api.invalid_vault_name('vault', p['vault']) or s3api.invalid_bucket_name('bucket', p['bucket'])
        if problem:
            self.fail(problem)
        if p['names'] is not None:
            if not p['names']:
                self.fail('names: give at least one name, or leave names out to migrate every name of the vault')
            bad = [n for n in p['names'] if not isinstance(n, str) or not n]
            if bad:
                self.fail('names: every name must be a non-empty string, got %r' % (bad[0],))
        if not 1 <= p['concurrency'] <= MAX_CONCURRENCY:
            self.fail('concurrency: must be from 1 to %d, got %d' % (MAX_CONCURRENCY, p['concurrency']))
        if p['part_size'] is not None:
            try:
                s3_multipart.plan_part_size(1, p['part_size'])
            except ValueError as e:
                self.fail(str(e))
        if p['max_jobs'] is not None and p['max_jobs'] < 1:
            self.fail('max_jobs: must be at least 1 (or left out: no limit), got %d' % p['max_jobs'])
        if p['allow_early_deletion'] and not p['delete_source']:
            self.fail('allow_early_deletion: applies only with delete_source: true')
        problem = arguments.validate_wait(p) or catalog.invalid_lock_timeout(p.get('lock_timeout'))
        if problem:
            self.fail(problem)
        self.mode = arguments.facts_file_mode(self.module)
        if os.path.isdir(p['facts_file']):
            self.fail('facts_file: %s is a directory' % p['facts_file'])

    def _plan_checks(self, selected):
        """Before anything is sent: every key can exist in S3 and every archive fits the part size."""
        for name in dict.fromkeys(name for name, dummy in selected):
            problem = s3_multipart.invalid_key(self.prefix, name)
            if problem:
                self.fail('%s (archive %r)' % (problem, name))
        for name, record in selected:
            if isinstance(record.get('size'), int) and record['size'] > 0:
                try:
                    s3_multipart.plan_part_size(record['size'], self.p['part_size'])
                except ValueError as e:
                    self.fail('%s (archive %s of %r)' % (str(e).replace('src', 'the archive'), record['archive_id'], name))

    # -- catalog -------------------------------------------------------------------------------------------------
    def save(self, mutate):
        """One locked, atomic catalog update; the bucket's entry is made with its region."""
        def with_entry(data):
            if self.bucket_arn:
                catalog.get_entry(data, self.bucket_arn, create=True, region=self.bucket_region)
            mutate(data)
        try:
            # Every write records something paid for (a job, parts sent, a copy): wait for the lock as a record does.
            return catalog.update(self.facts_file, with_entry, mode=self.mode, atomic_move=self.module.atomic_move,
                                  **catalog.lock_options(self.module, record=True))
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        return None

    # -- the run -------------------------------------------------------------------------------------------------
    def run(self):
        module, p = self.module, self.p
        try:
            self.data = catalog.read(self.facts_file)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        self.glacier = glacier_api.client(module, 2 * p['concurrency'])
        vault = glacier_api.describe_vault(module, self.glacier, p['vault'], none_if_missing_in_check_mode=True)
        if vault is None:  # check mode, vault not created yet: nothing of it to migrate
            return self.finish()
        self.vault_arn = self.result['vault_arn'] = vault['VaultARN']
        try:
            selected = select(self.data, self.vault_arn, p['names'], p['versions'])
        except ValueError as e:
            self.fail(str(e))
        self._plan_checks(selected)
        self.s3 = s3api.client(module, 2 * p['concurrency'])
        bucket = s3api.locate_bucket(module, self.s3, p['bucket'], none_if_missing_in_check_mode=True)
        self.bucket_arn = bucket['arn'] if bucket else s3api.bucket_arn(self.s3, p['bucket'])
        self.bucket_region = bucket['region'] if bucket else self.s3.meta.region_name
        self.result['bucket_arn'] = self.bucket_arn
        self.runner = jobs.Jobs(self.glacier, p['vault'], self.vault_arn, self.save, check_mode=module.check_mode,
                                sleep=self._sleep, clock=self._clock)
        self.now = datetime.datetime.now(datetime.timezone.utc)

        todo = []
        for name, record in selected:
            item = _brief(name, record)
            self.result['archives'].append(item)
            found = copy_of(self.data, self.bucket_arn, name, self.vault_arn, record['archive_id'])
            if found is None and record.get('migrated_to'):
                # Deleted from the vault after it was copied; the bucket's record is not in this catalog (any more).
                item.update(status=DONE, key=record['migrated_to'].get('key'), deleted=True)
            elif found is not None:
                item.update(status=DONE, key=found.get('key'), version_id=found.get('version_id'))
                if p['delete_source']:
                    self._delete_source(name, record, found, item)
            else:
                todo.append((name, record, item))
        if module.check_mode:
            return self._plan(todo)
        self._advance(todo)
        if p['wait']:
            self._wait(todo)
        return self.finish()

    def _parameters(self, record):
        return {'Type': jobs.ARCHIVE_RETRIEVAL, 'ArchiveId': record['archive_id'], 'Tier': self.p['tier']}

    def _kept(self):
        with self._lock:
            self.kept_parts += 1

    def _aws_error(self, name, record, item, exc, what):
        """An AWS error for one archive: the run stops if every archive would meet it, else the archive failed."""
        cause = aws.botocore_cause(exc)
        advice = s3api.explain(cause, self.p['bucket'], self.p['storage_class']) if cause is not None else ''
        msg = '%s for archive %s of %r failed' % (what, record['archive_id'], name)
        if cause is not None and error_code(cause) in RUN_WIDE:
            item['status'] = FAILED
            aws.fail_transfer(self.module, exc, '%s: %s' % (msg, advice) if advice else msg, **self.finish())
        self._failed(name, record, item, '%s: %s%s' % (what, exc, '; %s' % advice if advice else ''))

    def _failed(self, name, record, item, msg):
        item.update(status=FAILED, msg=msg)
        self.result['failed'].append({'name': name, 'archive_id': record['archive_id'], 'msg': msg})

    def _advance(self, todo):
        """Reuse or start jobs and copy the archives whose job is done, until no more can be done now.

        With max_jobs, a copied archive frees a job slot for the next one, so one run can go on as far as it gets.
        """
        while True:
            ready = self._obtain_jobs([entry for entry in todo if entry[2]['status'] in (None, WAITING)],
                                      active=sum(1 for entry in todo if entry[2]['status'] == PENDING))
            if not ready:
                return
            for entry in ready:
                self._copy(*entry)

    def _obtain_jobs(self, candidates, active):
        """Reuse or start the jobs of ``candidates`` (a new one only while fewer than max_jobs are active).

        Returns the entries whose job is done, with their DescribeJob.
        """
        ready = []
        limit = self.p['max_jobs']
        for name, record, item in candidates:
            recorded = jobs.get_job(self.data, self.vault_arn, record['archive_id'])
            if recorded is None and limit is not None and active >= limit:
                item['status'] = WAITING
                continue
            try:
                job = self.runner.obtain(self.data, record['archive_id'], self._parameters(record))
            except jobs.JobError as e:
                self._failed(name, record, item, str(e))
                continue
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self._aws_error(name, record, item, e, 'starting or reusing a retrieval job')
                continue
            active += 1
            if job['started']:
                self.started_jobs += 1
                self.result['changed'] = True
            item.update(job_id=job['job_id'], job_started=job['started'])
            if job['replaced']:
                item['replaced_job'] = job['replaced']
            if jobs.status(job['described']) == jobs.SUCCEEDED:
                item['status'] = PENDING  # until copied
                ready.append((name, record, item, job['described']))
            else:
                item['status'] = PENDING
        return ready

    def _wait(self, todo):
        """Poll the pending jobs until each completes (and is copied) or wait_timeout passes."""
        deadline = self._clock() + self.p['wait_timeout']
        while True:
            pending = [entry for entry in todo if entry[2]['status'] == PENDING]
            if not pending:
                return  # what is left waits for a job slot of a later run (max_jobs), or failed
            remaining = deadline - self._clock()
            if remaining <= 0:
                self.fail('wait_timeout: the retrieval jobs of %d archive(s) did not complete within %s seconds. Their '
                          'ids are recorded in %s: a rerun continues with these jobs instead of starting (and paying '
                          'for) others' % (len(pending), self.p['wait_timeout'], self.facts_file))
            self._sleep(min(self.p['poll_interval'], remaining))
            for name, record, item in pending:
                try:
                    described = self.runner.describe(item['job_id'])
                except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                    self._aws_error(name, record, item, e, 'describing job %s' % item['job_id'])
                    continue
                if described is None or described.get('StatusCode') == 'Failed':
                    self._failed(name, record, item, 'job %s cannot be used because %s; a rerun starts a new job'
                                 % (item['job_id'], jobs.why_unusable(described, self._parameters(record))))
                elif described.get('StatusCode') == 'Succeeded':
                    self._copy(name, record, item, described)
            self._advance(todo)  # copied archives free job slots

    def _plan(self, todo):
        """Check mode: what a run would retrieve and start, from the catalog and the recorded jobs (DescribeJob)."""
        p = self.p
        plan = {'archives': len(todo), 'bytes_to_retrieve': 0, 'jobs_to_start': 0, 'jobs_to_reuse': 0,
                'ready_to_copy': 0, 'to_delete': [d['archive_id'] for d in self.result['deleted']]}
        for name, record, item in todo:
            if jobs.get_job(self.data, self.vault_arn, record['archive_id']) is None and p['max_jobs'] is not None \
                    and plan['jobs_to_start'] >= p['max_jobs']:
                item['status'] = WAITING
                continue
            try:
                job = self.runner.obtain(self.data, record['archive_id'], self._parameters(record))
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
                self._aws_error(name, record, item, e, 'describing the recorded job')
                continue
            item.update(status=PLANNED, job_id=job['job_id'], job_started=job['started'])
            plan['jobs_to_start' if job['started'] else 'jobs_to_reuse'] += 1
            plan['bytes_to_retrieve'] += record.get('size') or 0
            if jobs.status(job['described']) == jobs.SUCCEEDED:
                plan['ready_to_copy'] += 1
            age = age_days(record, self.now)
            if p['delete_source'] and (p['allow_early_deletion'] or (age is not None and age >= VAULT_MIN_DAYS)):
                plan['to_delete'].append(record['archive_id'])
        self.result['plan'] = plan
        self.result['changed'] = bool(todo) or bool(plan['to_delete'])
        return self.finish()

    # -- one archive ---------------------------------------------------------------------------------------------
    def _copy(self, name, record, item, described):
        archive_id = record['archive_id']
        try:
            archive, part_size, journal = self._stream(name, record, described)
        except ArchiveFailed as e:
            return self._failed(name, record, item, str(e))
        except JobGone as e:
            self.save(lambda d: jobs.clear_job(d, self.vault_arn, archive_id, described.get('JobId')))
            return self._failed(name, record, item, '%s; a rerun starts a new job (the parts sent are kept)' % e)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError, OSError) as e:
            return self._aws_error(name, record, item, e, 'copying to s3://%s (a rerun resumes)' % self.p['bucket'])
        new = copy_record(record, archive, self.vault_arn, part_size, catalog.now())

        def record_it(d):
            insert_record(d, self.bucket_arn, name, new)
            clear_migration(d, self.bucket_arn, archive_id)
            jobs.clear_job(d, self.vault_arn, archive_id, described.get('JobId'))
        # The object exists now: it is in the result even if recording it fails.
        item.update(status=MIGRATED, key=new['key'], version_id=new['version_id'], tree_hash=new['tree_hash'])
        self.result['changed'] = True
        self.save(record_it)
        if journal is not None:
            journal.remove()
        if self.p['delete_source']:
            self._delete_source(name, record, new, item)
        return None

    def _stream(self, name, record, described):
        """Copy one archive whose job completed; returns (archive dict, part size or None, journal or None)."""
        p = self.p
        size = described.get('ArchiveSizeInBytes')
        if not isinstance(size, int) or size < 1:
            raise ArchiveFailed('job %s does not say how big the archive is' % described.get('JobId'))
        if record.get('size') is not None and record['size'] != size:
            raise ArchiveFailed('the catalog records %s bytes, the vault %d; nothing was copied' % (record['size'], size))
        expected = {k: v.lower() for k, v in (('catalog', record.get('tree_hash')),
                                              ('vault', described.get('ArchiveSHA256TreeHash')),
                                              ('job', described.get('SHA256TreeHash'))) if v}
        if len(set(expected.values())) > 1:
            raise ArchiveFailed('the tree hashes disagree (%s); nothing was copied'
                                % ', '.join('%s %s' % pair for pair in sorted(expected.items())))
        if not expected:
            raise ArchiveFailed('neither the catalog nor job %s gives the archive\'s tree hash; nothing was copied'
                                % described.get('JobId'))
        vault_hash = next(iter(expected.values()))
        part_size = s3_multipart.plan_part_size(size, p['part_size'])
        record = dict(record, size=size)
        key = copy_key(self.prefix, name, self.vault_arn, record)
        metadata = object_metadata(self.vault_arn, name, record)
        copier = ArchiveCopy(self.glacier, p['vault'], described['JobId'], self.s3, p['bucket'], key, size, part_size,
                             p['storage_class'], p['concurrency'], self.down, self.up, self._kept, self._sleep)
        if size <= part_size:
            piece = copier.fetch(0, size)
            if piece.tree.hex() != vault_hash:
                raise ArchiveFailed('the bytes received hash to %s, the vault has %s; nothing was written to the bucket'
                                    % (piece.tree.hex(), vault_hash))
            return copier.put_single(piece, metadata), None, None
        archive, journal = self._multipart(copier, name, record, metadata, vault_hash)
        return archive, part_size, journal

    def _multipart(self, copier, name, record, metadata, vault_hash):
        """Resume the recorded upload of this archive if S3 still has it, else start one; returns (archive, journal)."""
        archive_id = record['archive_id']
        description = metadata[METADATA_KEY]
        pending = get_migration(self.data, self.bucket_arn, archive_id)
        upload_id = existing = None
        if pending and pending.get('upload_id'):
            same = (pending.get('key'), pending.get('part_size'), pending.get('storage_class')) == \
                (copier.key, copier.part_size, copier.storage_class)
            if same:
                upload_id = pending['upload_id']
                try:
                    existing = copier.object.list_parts(upload_id)
                except UploadGone:
                    found = self._recover(copier, upload_id, description, vault_hash)
                    if found is not None:
                        return found
                    upload_id = None
            else:
                copier.object.abort(pending['upload_id'])  # another part size or class: its parts are of no use
            if upload_id is None:
                PartJournal(self.journals, pending['upload_id']).remove()
                self.save(lambda d: clear_migration(d, self.bucket_arn, archive_id, pending['upload_id']))
        if upload_id is None:
            upload_id = copier.create(metadata)
            existing = {}
            migration = {'upload_id': upload_id, 'key': copier.key, 'part_size': copier.part_size, 'size': copier.size,
                         'storage_class': copier.storage_class, 'vault_arn': self.vault_arn, 'name': name,
                         'started_at': catalog.now()}
            self.save(lambda d: set_migration(d, self.bucket_arn, archive_id, migration))
        journal = PartJournal(self.journals, upload_id)
        tree_hex, parts, shas = copier.copy_parts(upload_id, existing, journal)
        if tree_hex != vault_hash:
            copier.object.abort(upload_id)
            journal.remove()
            self.save(lambda d: clear_migration(d, self.bucket_arn, archive_id, upload_id))
            raise ArchiveFailed('the bytes received hash to %s, the vault has %s: the upload was aborted'
                                % (tree_hex, vault_hash))
        return copier.complete(upload_id, parts, shas, tree_hex, description), journal

    def _recover(self, copier, upload_id, description, vault_hash):
        """The recorded upload is gone: the object it made, if a run that died completed it (proven by fetching the
        parts the journal lacks, sending nothing), as (archive, journal); None when there is no object."""
        if copier.object.head() is None:
            return None
        journal = PartJournal(self.journals, upload_id)
        tree_hex, dummy, shas = copier.copy_parts(None, {}, journal, send=False)
        if tree_hex != vault_hash:
            raise ArchiveFailed('%s holds an object whose bytes hash to %s, not the vault\'s %s; it was left alone'
                                % (copier.where, tree_hex, vault_hash))
        return copier.adopt(composite_checksum(shas), tree_hex, description), journal

    # -- the source ----------------------------------------------------------------------------------------------
    def _delete_source(self, name, record, copied, item):
        """Delete the vault archive once its copy is verified and it is old enough; record the pointer to the copy."""
        p = self.p
        archive_id = record['archive_id']
        if record.get('deleted_at'):
            item['deleted'] = True
            return None
        age = age_days(record, self.now)
        reason = None
        if copied.get('deleted_at'):
            reason = 'its copy %s was deleted from the bucket' % copied.get('key')
        elif not p['allow_early_deletion'] and (age is None or age < VAULT_MIN_DAYS):
            reason = ('it is %s days old; Glacier bills an archive deleted before %d days as if it had stayed %d '
                      '(allow_early_deletion: true deletes it anyway)'
                      % ('an unknown number of' if age is None else '%.1f' % age, VAULT_MIN_DAYS, VAULT_MIN_DAYS))
        else:
            reason = self._verify_copy(copied)  # a read: check mode checks too
        if reason:
            item['deleted'] = False
            self.result['kept_in_vault'].append({'name': name, 'archive_id': archive_id, 'reason': reason})
            return None
        item['deleted'] = True
        self.result['deleted'].append({'name': name, 'archive_id': archive_id, 'key': copied.get('key')})
        self.result['changed'] = True
        if self.module.check_mode:
            return None
        try:
            self.glacier.delete_archive(vaultName=p['vault'], archiveId=archive_id)
        except botocore.exceptions.ClientError as e:
            if error_code(e) != 'ResourceNotFoundException':  # gone already: as deleted as it gets
                self.result['deleted'].pop()
                item['deleted'] = False
                return self._aws_error(name, record, item, e, 'deleting the archive from the vault')
        except botocore.exceptions.BotoCoreError as e:
            self.result['deleted'].pop()
            item['deleted'] = False
            return self._aws_error(name, record, item, e, 'deleting the archive from the vault')
        pointer = {'migrated_to': {'bucket_arn': self.bucket_arn, 'key': copied.get('key'),
                                   'version_id': copied.get('version_id')}}
        self.save(lambda d: catalog.mark_deleted(d, self.vault_arn, archive_id, name=name, fields=pointer))
        return None

    def _verify_copy(self, copied):
        """Why the copy cannot vouch for the archive (None when it can): HeadObject against what was recorded."""
        kwargs = {'Bucket': self.p['bucket'], 'Key': copied['key'], 'ChecksumMode': 'ENABLED'}
        if copied.get('version_id'):
            kwargs['VersionId'] = copied['version_id']
        try:
            head = self.s3.head_object(**kwargs)
        except botocore.exceptions.ClientError as e:
            if error_code(e) in ('404', 'NoSuchKey', 'NotFound', 'NoSuchVersion'):
                return 'its copy %s is no longer in the bucket' % copied['key']
            return 'its copy %s could not be checked: %s' % (copied['key'], e)
        except botocore.exceptions.BotoCoreError as e:
            return 'its copy %s could not be checked: %s' % (copied['key'], e)
        found = checksum_of(head)
        recorded = (copied.get('checksum') or {}).get('value')
        if head.get('ContentLength') != copied.get('size') or not recorded or found is None or found['value'] != recorded:
            return ('its copy %s does not hold what was recorded (%s bytes, checksum %s; recorded %s bytes, %s)'
                    % (copied['key'], head.get('ContentLength'), found and found['value'], copied.get('size'), recorded))
        return None

    # -- result --------------------------------------------------------------------------------------------------
    def finish(self):
        """The result as it stands: counts, what is pending, the transfer's numbers."""
        result = self.result
        archives = result['archives']
        counts = {status: sum(1 for a in archives if a['status'] == status)
                  for status in (DONE, MIGRATED, PENDING, WAITING, FAILED, PLANNED)}
        counts.update(selected=len(archives), deleted=len(result['deleted']))
        result['counts'] = counts
        result['pending'] = [{k: a.get(k) for k in ('name', 'archive_id', 'job_id', 'status')}
                             for a in archives if a['status'] in (PENDING, WAITING)]
        result['finished'] = counts[DONE] + counts[MIGRATED] == len(archives)
        result['status'] = 'finished' if result['finished'] else PENDING
        seconds = max(self._clock() - self.down.started, 1e-6)
        result['stats'] = {'bytes_received': self.down.bytes, 'ranges': self.down.pieces,
                           'range_retries': self.down.retries, 'bytes_sent': self.up.bytes,
                           'parts_sent': self.up.pieces, 'parts_kept': self.kept_parts,
                           'jobs_started': self.started_jobs, 'seconds': round(seconds, 3),
                           'mb_per_s': round(self.up.bytes / seconds / 1e6, 2)}
        return result


def run_migrate(module):
    migrate = Migrate(module)
    result = migrate.run()
    if result['failed']:
        migrate.fail('%d of %d archive(s) could not be migrated (see failed; the others are listed in archives): %s'
                     % (len(result['failed']), len(result['archives']),
                        '; '.join('%s (archive %s...): %s' % (f['name'], f['archive_id'][:12], f['msg'])
                                  for f in result['failed'][:3])))
    return result
