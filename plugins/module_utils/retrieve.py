# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.retrieve does: pick the archive, skip a correct dest, start or reuse a job, wait, download.

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
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import Stats
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import plan_range_size
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import file_tree_hash

MAX_CONCURRENCY = 64
KEPT = 'kept'  # status when dest exists and overwrite is never
_INDEX = re.compile(r'\A[+-]?[0-9]+\Z')


def select_version(history, version):
    """The record of ``history`` (oldest first) that ``version`` names; raise ValueError saying why not.

    ``version``: None for the latest archive still in the vault; an integer (or a string of one) indexing the
    archives still in the vault like a Python list (0 the oldest, -1 the latest, -2 the one before); or an
    archive id from the history.
    """
    live = [record for record in history if not record.get('deleted_at')]
    if version is None:
        if not live:
            raise ValueError('every archive of it was deleted from the vault')
        return live[-1]
    if isinstance(version, bool):
        raise ValueError('version must be an archive id or an index, not a boolean')
    if isinstance(version, int) or (isinstance(version, str) and _INDEX.match(version)):
        index = int(version)
        if not -len(live) <= index < len(live):
            raise ValueError('version %d is out of range: %d archive(s) of it are still in the vault '
                             '(0 is the oldest, -1 the latest)' % (index, len(live)))
        return live[index]
    if not isinstance(version, str):
        raise ValueError('version must be an archive id or an index, got %r' % (version,))
    for record in history:
        if record.get('archive_id') == version:
            if record.get('deleted_at'):
                raise ValueError('archive %s was deleted from the vault at %s' % (version, record['deleted_at']))
            return record
    raise ValueError('archive id %s is not in its history' % version)


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
        self.result = {'changed': False, 'vault': p['vault'], 'dest': p['dest'], 'facts_file': p['facts_file'],
                       'status': None, 'job_id': None}
        self._validate()
        self.dest = os.path.abspath(p['dest'])
        self.facts_file = os.path.abspath(p['facts_file'])

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    def _validate(self):
        p = self.p
        problem = glacier.invalid_vault_name('vault', p['vault'])
        if problem:
            self.fail(problem)
        if p['archive_id'] is not None and not p['archive_id'].strip():
            self.fail('archive_id: must not be empty')
        if not 1 <= p['concurrency'] <= MAX_CONCURRENCY:
            self.fail('concurrency: must be from 1 to %d, got %d' % (MAX_CONCURRENCY, p['concurrency']))
        problem = arguments.validate_wait(p)
        if problem:
            self.fail(problem)
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
                              atomic_move=self.module.atomic_move)

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


def run_retrieve(module):
    stats = Stats('download')  # what a run that moved nothing reports
    result = Retrieve(module).run()
    result.setdefault('stats', stats.as_dict())
    return result
