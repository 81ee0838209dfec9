# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.retrieve does: pick the archive, skip a correct dest, start or reuse a job, wait, download.

For a bucket (BucketRetrieve): pick the object, skip a correct dest, restore it when it is archived (s3/restore.py),
wait, download it part by part (s3/download.py).

The job id is recorded in the catalog the moment the job starts (glacier/jobs.py), so a rerun after ``wait: false``, a
timeout or a failed download continues with the same job. The download is verified range by range and as a whole
(glacier/job_output.py) and lands at ``dest`` in one rename. A download that was killed or failed is resumed: the
ranges already verified stay in the archive's temporary file next to ``dest`` (partial_download.py), also when the
job expired and a new one is needed.
"""

import os
import re

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils import files
from ansible_collections.coldvault.glacier.plugins.module_utils import partial_download
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api as glacier
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import jobs
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.job_output import archive_identity
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.job_output import download_archive
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import api as s3api
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import download as s3download
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import multipart as s3_multipart
from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import restore as s3restore
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import Stats
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import plan_range_size
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import file_tree_hash

MAX_CONCURRENCY = 64
KEPT = 'kept'  # status when dest exists and overwrite is never
_INDEX = re.compile(r'\A[+-]?[0-9]+\Z')


def select_version(history, version, field='archive_id', where='vault'):
    """The record of ``history`` (oldest first) that ``version`` names; raise ValueError saying why not.

    ``version``: None for the latest archive still in the vault; an integer (or a string of one) indexing the
    archives still in the vault like a Python list (0 the oldest, -1 the latest, -2 the one before); or an
    archive id from the history. For a bucket (``field`` key, ``where`` bucket) the same with objects and keys.
    """
    noun = 'archive' if field == 'archive_id' else 'object'
    ident = 'archive id' if field == 'archive_id' else 'key'
    live = [record for record in history if not record.get('deleted_at')]
    if version is None:
        if not live:
            raise ValueError('every %s of it was deleted from the %s' % (noun, where))
        return live[-1]
    if isinstance(version, bool):
        raise ValueError('version must be an %s or an index, not a boolean' % ident)
    if isinstance(version, int) or (isinstance(version, str) and _INDEX.match(version)):
        index = int(version)
        if not -len(live) <= index < len(live):
            raise ValueError('version %d is out of range: %d %s(s) of it are still in the %s '
                             '(0 is the oldest, -1 the latest)' % (index, len(live), noun, where))
        return live[index]
    if not isinstance(version, str):
        raise ValueError('version must be an %s or an index, got %r' % (ident, version))
    for record in history:
        if record.get(field) == version:
            if record.get('deleted_at'):
                raise ValueError('%s %s was deleted from the %s at %s' % (noun, version, where, record['deleted_at']))
            return record
    raise ValueError('%s %s is not in its history' % (ident, version))


def dest_holds(dest, size, tree_hash):
    """Whether ``dest`` is a regular file of ``size`` bytes with SHA-256 tree hash ``tree_hash`` (read only then)."""
    if size is None or not tree_hash:
        return False
    try:
        if not os.path.isfile(dest) or os.path.getsize(dest) != size:
            return False
        return file_tree_hash(dest) == tree_hash.lower()
    except OSError:
        return False


class Retrieve:
    """One run of the module."""

    def __init__(self, module):
        self.module = module
        self.p = p = module.params
        self.result = self.initial_result()
        self._validate()
        self.dest = os.path.abspath(p['dest'])
        self.facts_file = os.path.abspath(p['facts_file'])

    def initial_result(self):
        p = self.p
        return {'changed': False, 'vault': p['vault'], 'dest': p['dest'], 'facts_file': p['facts_file'],
                'status': None, 'job_id': None}

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    def validate_target(self):
        """An error message for the options of a vault, or None."""
        p = self.p
        problem = glacier.invalid_vault_name('vault', p['vault'])
        if problem:
            return problem
        for option in ('key', 'restore_days'):
            if p.get(option) is not None:
                return '%s: applies to a bucket only' % option
        if p['archive_id'] is not None and not p['archive_id'].strip():
            return 'archive_id: must not be empty'
        return None

    def _validate(self):
        p = self.p
        problem = self.validate_target()
        if problem:
            self.fail(problem)
        if not 1 <= p['concurrency'] <= MAX_CONCURRENCY:
            self.fail('concurrency: must be from 1 to %d, got %d' % (MAX_CONCURRENCY, p['concurrency']))
        problem = arguments.validate_wait(p)
        if problem:
            self.fail(problem)
        if catalog.invalid_lock_timeout(p.get('lock_timeout')):
            self.fail(catalog.invalid_lock_timeout(p['lock_timeout']))
        if p['range_size'] is not None:
            try:
                plan_range_size(1, 1, p['range_size'])
            except ValueError as e:
                self.fail(str(e))
        dest = p['dest']
        if os.path.isdir(dest) or dest.endswith(os.sep):
            self.fail('dest: %s is a directory; give the path of the file to write' % dest)
        parent = os.path.dirname(os.path.abspath(dest))
        if not os.path.isdir(parent):
            self.fail('dest: directory %s does not exist' % parent)
        if not os.access(parent, os.W_OK | os.X_OK):
            self.fail('dest: directory %s is not writable' % parent)
        if os.path.exists(dest) and not os.path.isfile(dest):
            self.fail('dest: %s exists and is not a regular file' % dest)
        if os.path.isdir(p['facts_file']):
            self.fail('facts_file: %s is a directory' % p['facts_file'])

    def save(self, mutate):
        """Update the catalog, keeping its permissions (``mode`` is the permission of dest in this module)."""
        return catalog.update(self.facts_file, mutate, mode=files.current_mode(self.facts_file),
                              atomic_move=self.module.atomic_move, **catalog.lock_options(self.module))

    def resolve(self, data, arn):
        """(name, catalog record or None, archive id) of the archive asked for."""
        p = self.p
        if p['archive_id'] is not None:
            name, record = catalog.find_archive(data, arn, p['archive_id'])
            if record and record.get('deleted_at'):
                self.module.warn('the catalog marks archive %s deleted at %s; trying anyway'
                                 % (p['archive_id'], record['deleted_at']))
            return name, record, p['archive_id']
        history = catalog.history(data, arn, p['name'])
        if not history:
            self.fail('name: the catalog %s records no archive named %r in vault %s; list the vault with '
                      'coldvault.glacier.inventory (rebuild: true restores a lost catalog) or give archive_id'
                      % (self.facts_file, p['name'], p['vault']))
        try:
            record = select_version(history, p['version'])
        except ValueError as e:
            self.fail('%s: %s' % ('version' if p['version'] is not None else 'name',
                                  'archive %r in vault %s: %s' % (p['name'], p['vault'], e)))
        return p['name'], record, record['archive_id']

    def run(self):
        module, p = self.module, self.p
        try:
            data = catalog.read(self.facts_file)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        client = glacier.client(module, p['concurrency'])
        arn = glacier.describe_vault(module, client, p['vault'])['VaultARN']
        name, record, archive_id = self.resolve(data, arn)
        record = record or {}
        self.result.update(vault_arn=arn, name=name, archive_id=archive_id, size=record.get('size'),
                           tree_hash=record.get('tree_hash'), downloaded=False)
        if p['overwrite'] == 'never' and os.path.lexists(self.dest):
            self.result['status'] = KEPT  # whatever dest holds: no job, no download
            return self._finish()
        runner = jobs.Jobs(client, p['vault'], arn, self.save, check_mode=module.check_mode)

        known = {'size': record.get('size'), 'tree_hash': record.get('tree_hash')}
        if not known['tree_hash']:
            # An archive the catalog lacks: a recorded job knows its size and hash without starting another.
            recorded = jobs.get_job(data, arn, archive_id)
            described = self._aws('DescribeJob', runner.describe, recorded['job_id']) if recorded else None
            if described and described.get('ArchiveId') == archive_id:
                known = {'size': described.get('ArchiveSizeInBytes'), 'tree_hash': described.get('ArchiveSHA256TreeHash')}
                self.result.update(known)
        if p['overwrite'] == 'different' and dest_holds(self.dest, known['size'], known['tree_hash']):
            self.result['status'] = jobs.SUCCEEDED
            return self._finish(cleanup=True)

        parameters = {'Type': jobs.ARCHIVE_RETRIEVAL, 'ArchiveId': archive_id, 'Tier': p['tier']}
        try:
            job = self._aws('starting or reusing a retrieval job', runner.obtain, data, archive_id, parameters)
        except jobs.JobError as e:
            self.fail('starting a retrieval job for archive %s failed: %s' % (archive_id, e))
        described = job['described']
        self.result.update(job_id=job['job_id'], status=jobs.status(described), changed=job['started'])
        if job['replaced']:
            self.result['replaced_job'] = job['replaced']
        if described:
            self.result['tier'] = described.get('Tier')
            if not known['tree_hash']:
                self.result.update(size=described.get('ArchiveSizeInBytes'), tree_hash=described.get('ArchiveSHA256TreeHash'))
        if module.check_mode:
            self.result['changed'] = True  # a file would be written, now or once the job completes
            return self.result
        if described.get('StatusCode') != 'Succeeded':
            if not p['wait']:
                self.result['status'] = jobs.PENDING
                return self.result
            described = self._wait(runner, job['job_id'], described)
        return self._download(client, arn, archive_id, record, described)

    def _aws(self, what, call, *args):
        try:
            return call(*args)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            aws.fail_aws(self.module, e, 'vault %s: %s failed' % (self.p['vault'], what), **self.result)
        return None

    def _wait(self, runner, job_id, described):
        p = self.p
        try:
            return self._aws('waiting for job %s' % job_id, runner.wait, job_id, p['wait_timeout'], p['poll_interval'], described)
        except jobs.JobTimeout as e:
            self.fail('wait_timeout: %s. Its id is recorded in %s: a rerun continues with this job instead of '
                      'starting (and paying for) another' % (e, self.facts_file), status=jobs.PENDING)
        except jobs.JobError as e:
            self.fail('%s; a rerun starts a new job' % e, status=None)
        return None

    def _download(self, client, arn, archive_id, record, described):
        p = self.p
        size = described.get('ArchiveSizeInBytes')
        if not isinstance(size, int) or size < 1:
            self.fail('job %s does not say how big archive %s is' % (described.get('JobId'), archive_id))
        if record.get('size') is not None and record['size'] != size:
            self.fail('archive %s: the catalog %s records %d bytes, the vault has %d; refusing to write dest'
                      % (archive_id, self.facts_file, record['size'], size))
        expected = {'catalog': record.get('tree_hash'), 'job': described.get('SHA256TreeHash'),
                    'vault': described.get('ArchiveSHA256TreeHash')}
        if p['overwrite'] == 'different' and not record.get('tree_hash') and dest_holds(self.dest, size, described.get('ArchiveSHA256TreeHash')):
            return self._finish(cleanup=True)  # the catalog did not know the archive; dest holds it already
        range_size = plan_range_size(size, p['concurrency'], p['range_size'])
        identity = archive_identity(arn, archive_id)
        try:
            tree_hash, stats = download_archive(client, p['vault'], described['JobId'], self.dest, size, range_size,
                                                p['concurrency'], expected, atomic_move=self._move, identity=identity)
        except jobs.JobGone as e:
            try:
                self.save(lambda d: jobs.clear_job(d, arn, archive_id, described['JobId']))
            except catalog.CatalogError:
                pass  # the next run finds out again that the job is gone
            self.fail('%s; a rerun starts a new job%s' % (e, self._kept(identity)), status=None)
        except partial_download.PartialBusy as e:
            self.fail('dest: %s' % e, status=jobs.SUCCEEDED)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError, OSError) as e:
            self.result['status'] = jobs.SUCCEEDED
            aws.fail_transfer(self.module, e, 'retrieving archive %s to %s failed (dest was left untouched; a rerun '
                              'downloads again from the same job%s)' % (archive_id, self.dest, self._kept(identity)),
                              **self.result)
        self.result.update(changed=True, downloaded=True, status=jobs.SUCCEEDED, size=size, tree_hash=tree_hash,
                           stats=stats)
        return self._finish()

    def _kept(self, identity):
        """What a failed download leaves for the next run, for the message."""
        path = partial_download.part_path(self.dest, identity)
        if not os.path.exists(path):
            return ''
        return (' and fetches only the ranges not verified yet: those verified so far are kept in %s (with a journal '
                'of them beside it)' % path)

    def _move(self, tmp, dest):
        """module.atomic_move; a new file is never readable by others before ``mode`` is applied."""
        if self.p['mode'] is not None and not os.path.lexists(dest):
            # atomic_move gives a new file the umask's permissions (0644 most often), until mode is set after it.
            previous = os.umask(0o077)
            try:
                self.module.atomic_move(tmp, dest)
            finally:
                os.umask(previous)
        else:
            self.module.atomic_move(tmp, dest)

    def _finish(self, cleanup=False):
        """Apply the file attributes; with ``cleanup``, dest holds the archive: temporary files of it are clutter."""
        module = self.module
        if cleanup and not module.check_mode:
            partial_download.remove_leftovers(self.dest)
        if os.path.exists(self.dest):
            file_args = module.load_file_common_arguments(module.params, path=self.dest)
            self.result['changed'] = module.set_fs_attributes_if_different(file_args, self.result['changed'])
        return self.result


class BucketRetrieve(Retrieve):
    """One run of the module for an object of a bucket: restore it when it is archived, then download it."""

    def initial_result(self):
        p = self.p
        return {'changed': False, 'bucket': p['bucket'], 'dest': p['dest'], 'facts_file': p['facts_file'],
                'status': None}

    def validate_target(self):
        p = self.p
        problem = s3api.invalid_bucket_name('bucket', p['bucket'])
        if problem:
            return problem
        if p['archive_id'] is not None:
            return 'archive_id: applies to a vault only; name the object by its key (or by name)'
        if p['range_size'] is not None:
            return ('range_size: applies to a vault only; an object is downloaded part by part, in the part size '
                    'it was uploaded with, so that each part is checked against its SHA-256')
        if p['key'] is not None and not p['key'].strip():
            return 'key: must not be empty'
        if p['restore_days'] is not None and not 1 <= p['restore_days'] <= s3restore.MAX_DAYS:
            return 'restore_days: must be from 1 to %d, got %d' % (s3restore.MAX_DAYS, p['restore_days'])
        return None

    def resolve(self, data, arn):
        """(name, catalog record or {}, key) of the object asked for."""
        p = self.p
        if p['key'] is not None:
            name, record = catalog.find_archive(data, arn, p['key'])
            if record and record.get('deleted_at'):
                self.module.warn('the catalog marks object %s deleted at %s; trying anyway' % (p['key'], record['deleted_at']))
            return name, record or {}, p['key']
        history = catalog.history(data, arn, p['name'])
        if not history:
            self.fail('name: the catalog %s records no object named %r in bucket %s; list the bucket with '
                      'coldvault.glacier.inventory (rebuild: true restores a lost catalog) or give key'
                      % (self.facts_file, p['name'], p['bucket']))
        try:
            record = select_version(history, p['version'], field='key', where='bucket')
        except ValueError as e:
            self.fail('%s: object %r in bucket %s: %s' % ('version' if p['version'] is not None else 'name',
                                                          p['name'], p['bucket'], e))
        return p['name'], record, record['key']

    def _tier_problem(self, storage_class):
        problem = s3restore.invalid_tier(storage_class, self.p['tier'])
        if problem:
            self.fail('%s; nothing was sent' % problem)

    def _holds(self, known):
        """Whether dest holds the object: its tree hash when recorded, else its S3 checksum (one read of dest)."""
        size, checksum = known.get('size'), (known.get('checksum') or {}).get('value')
        if known.get('tree_hash'):
            return dest_holds(self.dest, size, known['tree_hash'])
        if size is None or not checksum or not os.path.isfile(self.dest) or os.path.getsize(self.dest) != size:
            return False
        try:
            return s3download.file_checksum(self.dest, s3download.plan(size, known.get('part_size'), checksum))[0] == checksum
        except (ValueError, OSError):
            return False

    def run(self):
        module, p = self.module, self.p
        try:
            data = catalog.read(self.facts_file)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        client = s3api.client(module, p['concurrency'])
        arn = s3api.bucket_arn(client, p['bucket'])  # no request: the catalog is looked at first
        name, record, key = self.resolve(data, arn)
        self.result.update(bucket_arn=arn, name=name, key=key, downloaded=False,
                           **{k: record.get(k) for k in ('version_id', 'size', 'storage_class', 'checksum', 'tree_hash')})
        if record.get('storage_class'):
            self._tier_problem(record['storage_class'])
        if p['overwrite'] == 'never' and os.path.lexists(self.dest):
            self.result['status'] = KEPT  # whatever dest holds: no request at all
            return self._finish()
        if record and p['overwrite'] == 'different' and self._holds(record):
            self.result['status'] = jobs.SUCCEEDED  # no request at all
            return self._finish(cleanup=True)

        located = s3api.locate_bucket(module, client, p['bucket'])
        restores = s3restore.Restores(client, p['bucket'], arn, self.save, check_mode=module.check_mode,
                                      entry_fields={'region': located['region']})
        head = self._s3('HeadObject', restores.head, key, record.get('version_id'))
        known = self._known(record, head)
        if not record and p['overwrite'] == 'different' and self._holds(known):
            self.result['status'] = jobs.SUCCEEDED
            return self._finish(cleanup=True)
        self._tier_problem(known['storage_class'])
        restore = {'needed': s3restore.needs_restore(known['storage_class'])}
        self.result['restore'] = restore
        if restore['needed']:
            head = self._restore(restores, data, key, known, head, restore)
            if head is None:
                return self.result
        elif module.check_mode:
            self.result.update(changed=True, status=jobs.SUCCEEDED)  # readable at once: dest would be written
            return self.result
        return self._download(client, arn, key, known)

    def _s3(self, what, call, *args):
        try:
            return call(*args)
        except s3restore.ObjectGone as e:
            self.fail('%s%s' % (e, '; the catalog %s still records it' % self.facts_file if self.result.get('name') else ''))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
            if aws.error_code(e) == 'GlacierExpeditedRetrievalNotAvailable':
                aws.fail_aws(self.module, e, 'tier: S3 has no Expedited capacity for this restore now; retry later '
                             'or use the Standard tier (nothing was requested)', **self.result)
            s3api.fail(self.module, e, 'bucket %s: %s failed' % (self.p['bucket'], what), bucket=self.p['bucket'],
                       result=self.result)
        return None

    def _known(self, record, head):
        """What the object is, from HeadObject, checked against the catalog's record."""
        checksum = s3_multipart.checksum_of(head)
        known = {'size': head.get('ContentLength'), 'version_id': head.get('VersionId') or record.get('version_id'),
                 'storage_class': head.get('StorageClass') or 'STANDARD', 'checksum': checksum,
                 'tree_hash': record.get('tree_hash'), 'part_size': record.get('part_size')}
        where = 's3://%s/%s' % (self.p['bucket'], self.result['key'])
        if record.get('size') is not None and record['size'] != known['size']:
            self.fail('%s: the catalog %s records %d bytes, the bucket has %s; refusing to write dest'
                      % (where, self.facts_file, record['size'], known['size']))
        recorded = (record.get('checksum') or {}).get('value')
        if recorded and checksum and recorded != checksum['value']:
            self.fail('%s: the catalog %s records checksum %s, the bucket has %s; refusing to write dest'
                      % (where, self.facts_file, recorded, checksum['value']))
        known['checksum'] = record.get('checksum') or checksum
        self.result.update({k: known[k] for k in ('size', 'version_id', 'storage_class', 'checksum')})
        return known

    def _restore(self, restores, data, key, known, head, restore):
        """Request a restore when there is no copy, wait as asked; the readable head, or None (result is ready)."""
        p, module = self.p, self.module
        days = p['restore_days'] or s3restore.DEFAULT_DAYS
        try:
            outcome = self._s3('RestoreObject', restores.obtain, data, key, known['version_id'], head, p['tier'], days)
        except s3restore.RestoreError as e:
            self.fail(str(e))
        record = outcome['record'] or {}
        restore.update(state=outcome['state'], requested=outcome['requested'], answer=outcome['answer'],
                       tier=record.get('tier'), days=record.get('days'), started_at=record.get('started_at'))
        expiry = s3restore.state_of(outcome['head'])[1]
        restore['expiry_date'] = s3restore.iso(expiry)
        if outcome['restored_again']:
            self.result['restored_again'] = outcome['restored_again']
        self.result['changed'] = outcome['requested']
        if module.check_mode:
            self.result.update(changed=True, status=jobs.SUCCEEDED if outcome['state'] == s3restore.AVAILABLE
                               else jobs.PENDING)
            return None
        if outcome['state'] == s3restore.AVAILABLE:
            return outcome['head']
        if not p['wait']:
            self.result['status'] = jobs.PENDING
            return None
        try:
            # A restore just requested that HeadObject did not show yet: the next look tells.
            seen = None if outcome['requested'] and s3restore.state_of(outcome['head'])[0] == s3restore.NONE else outcome['head']
            head = self._s3('waiting for the restore', restores.wait, key, known['version_id'], p['wait_timeout'],
                            p['poll_interval'], seen)
        except s3restore.RestoreTimeout as e:
            self.fail('wait_timeout: %s. The request is recorded in %s: a rerun waits for the same restore instead of '
                      'requesting (and paying for) another' % (e, self.facts_file), status=jobs.PENDING)
        except s3restore.RestoreError as e:
            self.fail('%s; a rerun requests a new restore' % e, status=None)
        restore.update(state=s3restore.AVAILABLE, expiry_date=s3restore.iso(s3restore.state_of(head)[1]))
        return head

    def _download(self, client, arn, key, known):
        p = self.p
        where = 's3://%s/%s' % (p['bucket'], key)
        try:
            the_plan = s3download.plan(known['size'], known['part_size'], known['checksum'])
        except ValueError as e:
            self.fail('%s: %s: %s' % ('key' if p['key'] is not None else 'name', where, e))
        identity = s3download.object_identity(arn, key, known['version_id'], the_plan)
        try:
            tree_hash, stats = s3download.download_object(
                client, p['bucket'], key, known['version_id'], self.dest, the_plan, identity, p['concurrency'],
                tree_hash=known['tree_hash'], atomic_move=self._move)
        except s3download.ObjectArchived as e:
            self.fail('%s; a rerun restores it again%s' % (e, self._kept(identity)), status=None)
        except partial_download.PartialBusy as e:
            self.fail('dest: %s' % e, status=jobs.SUCCEEDED)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError, OSError) as e:
            self.result['status'] = jobs.SUCCEEDED if (self.result.get('restore') or {}).get('needed') else None
            aws.fail_transfer(self.module, e, 'downloading %s to %s failed (dest was left untouched; a rerun '
                              'downloads again%s)' % (where, self.dest, self._kept(identity)), **self.result)
        self.result.update(changed=True, downloaded=True, status=jobs.SUCCEEDED, tree_hash=tree_hash, stats=stats)
        return self._finish()


def run_retrieve(module):
    stats = Stats('download')  # what a run that moved nothing reports
    result = (BucketRetrieve if module.params.get('bucket') is not None else Retrieve)(module).run()
    result.setdefault('stats', stats.as_dict())
    return result
