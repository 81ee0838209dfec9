# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.upload does: validate, decide under the file change strategy, upload or resume, record.

The catalog is written at three moments, each under its lock: when a multipart upload starts (so a killed run
can resume it), when an archive is complete (so its id is never lost), and when a stale upload is dropped.
"""

import os
import stat

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import description as desc
from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api as glacier
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.multipart import GlacierTransfer
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.multipart import UploadGone
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.multipart import hash_range
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.multipart import plan_part_size
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import Stats
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import file_tree_hash

MAX_CONCURRENCY = 64


def _validate(module):
    """Check every parameter before anything is read, sent or written; fail naming the parameter."""
    p = module.params
    problem = glacier.invalid_vault_name('vault', p['vault'])
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
    if st.st_size == 0:
        module.fail_json(msg='src: %s is empty; Glacier cannot store zero-byte archives' % src)
    try:
        part_size = plan_part_size(st.st_size, p['part_size'])
    except ValueError as e:
        module.fail_json(msg=str(e))
    if not 1 <= p['concurrency'] <= MAX_CONCURRENCY:
        module.fail_json(msg='concurrency: must be from 1 to %d, got %d' % (MAX_CONCURRENCY, p['concurrency']))
    if catalog.invalid_lock_timeout(p.get('lock_timeout')):
        module.fail_json(msg=catalog.invalid_lock_timeout(p['lock_timeout']))
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
        self.st, self.part_size, self.mode, self.facts_file = _validate(module)
        self.src = p['src']
        self.name = p['name'] or os.path.abspath(self.src)
        self.vault = p['vault']
        self.result = {'changed': False, 'vault': self.vault, 'name': self.name, 'facts_file': self.facts_file}

    def fail(self, msg, **extra):
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.result)

    def update_catalog(self, mutate, record=False):
        try:
            return catalog.update(self.facts_file, mutate, mode=self.mode, atomic_move=self.module.atomic_move,
                                  **catalog.lock_options(self.module, record=record))
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        return None

    def run(self):
        module = self.module
        try:
            data = catalog.read(self.facts_file)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        if not module.check_mode:
            _check_writable(module, self.facts_file)
        client = glacier.client(module, module.params['concurrency'])
        vault = glacier.describe_vault(module, client, self.vault, none_if_missing_in_check_mode=True)
        if vault is None:  # check mode, vault not created yet: everything would be uploaded
            self.result.update(changed=True, uploaded=False)
            return self.result
        arn = self.arn = vault['VaultARN']
        self.result['vault_arn'] = arn
        if not module.check_mode:
            data = self._lock_name(data)

        recorded = catalog.latest(data, arn, self.name)
        strategy = module.params['file_change_strategy']
        # checksum reads the whole file once; the hash then also goes into the description. A file of one part
        # keeps that read's bytes (when small) and digest for the upload, so it is not read again.
        fingerprint = module.params['fingerprint']
        single = self.st.st_size <= self.part_size
        digest = tree_hash = None
        if strategy == 'checksum' and recorded and fingerprint is None:
            if single:
                digest = hash_range(self.src, 0, self.st.st_size)
                tree_hash = digest.tree_hash
            else:
                tree_hash = file_tree_hash(self.src)
        if matches(recorded, self.st, strategy, tree_hash, fingerprint):
            self.result.update(self._returned(recorded), uploaded=False, resumed_parts=0)
            return self.result

        self.result['changed'] = True
        if module.check_mode:
            self.result['uploaded'] = False
            if module._diff:
                entry = _entry(data, arn, self.name)
                self.result['diff'] = {'before': entry,
                                       'after': dict(entry, pending='a new archive of %s (%d bytes)' % (self.src, self.st.st_size))}
            return self.result

        transfer = GlacierTransfer(client, self.vault, self.src, self.st.st_size, self.part_size, module.params['concurrency'])
        try:
            if single:
                # One request: hash first (the bytes are kept when small), so the description carries the hash.
                digest = digest or hash_range(self.src, 0, self.st.st_size)
                archive = transfer.upload_single(self._description(digest.tree_hash), digest)
                resumed = 0
            else:
                archive, resumed = self._multipart(transfer, data, self._description(tree_hash))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, TransferError, OSError) as e:
            aws.fail_transfer(module, e, 'uploading %s to vault %s failed%s' % (
                self.src, self.vault, ' (the next run resumes the upload)' if self.result.get('upload_id') else ''),
                **self.result)

        record = {
            'archive_id': archive['archive_id'], 'tree_hash': archive['tree_hash'], 'size': self.st.st_size,
            'mtime': self.st.st_mtime, 'uploaded_at': catalog.now(), 'location': archive['location'],
            'description': archive['description'], 'part_size': None if single else self.part_size,
        }
        if module.params['fingerprint'] is not None:
            record['fingerprint'] = module.params['fingerprint']
        # The archive exists now: return its id even if recording it fails, so it is never lost.
        self.result.update(self._returned(record), uploaded=True, resumed_parts=resumed,
                           stats=transfer.stats.as_dict(-(-self.st.st_size // self.part_size)))

        def record_it(catalog_data):
            catalog.record_archive(catalog_data, arn, self.name, record)
            catalog.clear_upload(catalog_data, arn, self.name)
        before, after = self.update_catalog(record_it, record=True)
        if module._diff:
            self.result['diff'] = {'before': _entry(before, arn, self.name), 'after': _entry(after, arn, self.name)}
        st = os.stat(self.src)
        if (st.st_size, st.st_mtime) != (self.st.st_size, self.st.st_mtime):
            module.warn('src %s changed while it was uploaded; the next run uploads it again' % self.src)
        return self.result

    def _lock_name(self, data):
        """Wait for any other run uploading this name to this vault, then read the catalog it may have changed.

        Held until the run ends (run_upload), so that two runs never both decide to upload the same name.
        """
        try:
            self.lock = catalog.name_lock(self.facts_file, self.arn, self.name, mode=self.mode,
                                          **catalog.lock_options(self.module))
            return catalog.read(self.facts_file)
        except catalog.LockTimeout as e:
            self.fail('lock_timeout: %s. Rerun later, or raise lock_timeout to wait longer' % e)
        except catalog.CatalogError as e:
            self.fail('facts_file: %s' % e)
        return data

    def _description(self, tree_hash):
        return self.module.params['description'] or desc.encode(self.name, self.st.st_size, self.st.st_mtime, tree_hash)

    def _multipart(self, transfer, data, description):
        """Resume the recorded upload of this file if it is still usable, else start one; returns (archive, resumed)."""
        identity = {'size': self.st.st_size, 'mtime': self.st.st_mtime, 'part_size': self.part_size}
        pending = catalog.get_upload(data, self.arn, self.name)
        existing = None
        if pending:
            same = all(pending.get(k) == v for k, v in identity.items())
            if same:
                try:
                    existing = transfer.list_parts(pending['upload_id'])
                except UploadGone:
                    existing = None
            else:
                transfer.abort(pending['upload_id'])  # the file changed: its parts are worthless
            if existing is None:
                self.update_catalog(lambda d: catalog.clear_upload(d, self.arn, self.name, pending['upload_id']))
        if existing is None:
            upload_id = transfer.initiate(description)
            existing = {}
            upload = dict(identity, upload_id=upload_id, started_at=catalog.now(), description=description)
            self.update_catalog(lambda d: catalog.set_upload(d, self.arn, self.name, upload))
        else:
            upload_id = pending['upload_id']
            description = pending.get('description', description)  # what the upload was initiated with
        self.result['upload_id'] = upload_id
        archive_hash, resumed = transfer.upload_parts(upload_id, existing)
        return transfer.complete(upload_id, archive_hash, description), resumed

    @staticmethod
    def _returned(record):
        return {k: record.get(k) for k in ('archive_id', 'tree_hash', 'size', 'location')}


def run_upload(module):
    stats = Stats('upload')  # what a run that moved nothing reports
    upload = Upload(module)
    try:
        result = upload.run()
    finally:
        if getattr(upload, 'lock', None):
            upload.lock.release()
    result.setdefault('stats', stats.as_dict(parts=0))
    return result
