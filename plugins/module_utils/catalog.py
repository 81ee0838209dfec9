# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local catalog of archives: an Ansible local facts file (see docs/catalog.md).

Glacier itself only lists a vault's archives through an inventory job that takes hours, so
the modules remember what they uploaded in a JSON file such as
/etc/ansible/facts.d/glacier.fact, which ``setup`` then shows as ``ansible_local.glacier``.

The pure functions below work on the loaded dict; ``update()`` does the locked,
atomic read-modify-write. Stdlib only: this runs inside modules on the managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import errno
import fcntl
import json
import os
import re
import time

FORMAT = 1
# Fields of one archive record, in the order docs/catalog.md lists them. Records may carry more.
RECORD_FIELDS = ('archive_id', 'tree_hash', 'size', 'mtime', 'uploaded_at', 'location', 'description', 'part_size')

_ARN = re.compile(r'\Aarn:(aws[a-z-]*):glacier:([a-z0-9-]+):([0-9]{12}):vaults/([A-Za-z0-9_.-]{1,255})\Z')
_PARTITIONS = (('us-gov-', 'aws-us-gov'), ('cn-', 'aws-cn'), ('us-isob-', 'aws-iso-b'), ('us-iso-', 'aws-iso'))


class CatalogError(Exception):
    """The catalog file cannot be read, parsed or written; the message names the path."""


def empty():
    return {'format': FORMAT, 'vaults': {}}


def now():
    """Current UTC time as used for uploaded_at, started_at and deleted_at."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


# ---------------------------------------------------------------------------
# Vault ARNs: the catalog's vault key (partition, region, account and name in one string).

def partition_for_region(region):
    for prefix, partition in _PARTITIONS:
        if region.startswith(prefix):
            return partition
    return 'aws'


def vault_arn(region, account, vault):
    """ARN of a vault, as DescribeVault's VaultARN would give it."""
    return 'arn:%s:glacier:%s:%s:vaults/%s' % (partition_for_region(region), region, account, vault)


def parse_vault_arn(arn):
    """Return dict(partition, region, account, vault) or raise ValueError."""
    match = _ARN.match(arn) if isinstance(arn, str) else None
    if not match:
        raise ValueError('not a Glacier vault ARN: %r' % (arn,))
    return dict(zip(('partition', 'region', 'account', 'vault'), match.groups()))


# ---------------------------------------------------------------------------
# Pure functions on a loaded catalog. Those that change it return True if they did.

def get_vault(data, arn, create=False):
    """The vault's entry, or None if absent (created, with its fields from the ARN, if create)."""
    vaults = data.setdefault('vaults', {}) if create else data.get('vaults', {})
    entry = vaults.get(arn)
    if entry is None and create:
        parts = parse_vault_arn(arn)
        entry = vaults[arn] = {'vault': parts['vault'], 'region': parts['region'], 'account': parts['account'],
                               'archives': {}, 'uploads': {}, 'jobs': {}}
    return entry


def _archive_entry(data, arn, name):
    vault = get_vault(data, arn)
    if vault is None:
        return None
    return vault.get('archives', {}).get(name)


def _flatten(entry):
    """Point the entry's top-level fields at its newest non-deleted record.

    If every record is deleted, the newest one is shown, deleted_at included, so the entry keeps
    its shape and ``deleted_at is defined`` tells a playbook nothing of it is left.
    """
    records = entry['history']
    chosen = records[-1]
    for record in reversed(records):
        if not record.get('deleted_at'):
            chosen = record
            break
    for key in [k for k in entry if k != 'history']:
        del entry[key]
    entry.update(copy.deepcopy(chosen))


def history(data, arn, name):
    """Every record of archive ``name``, oldest first (a copy); [] if none."""
    entry = _archive_entry(data, arn, name)
    return copy.deepcopy(entry['history']) if entry else []


def latest(data, arn, name, include_deleted=False):
    """The newest record of ``name`` that still exists (a copy, without history), or None.

    With include_deleted, the newest record even if it was deleted.
    """
    entry = _archive_entry(data, arn, name)
    if not entry or not entry.get('history'):
        return None
    for record in reversed(entry['history']):
        if include_deleted or not record.get('deleted_at'):
            return copy.deepcopy(record)
    return None


def find_archive(data, arn, archive_id):
    """(name, record copy) of the record with ``archive_id`` in the vault, or (None, None)."""
    vault = get_vault(data, arn)
    for name, entry in sorted((vault or {}).get('archives', {}).items()):
        for record in entry.get('history', []):
            if record.get('archive_id') == archive_id:
                return name, copy.deepcopy(record)
    return None, None


def record_archive(data, arn, name, record):
    """Add an uploaded archive as the newest record of ``name``.

    ``record`` holds archive_id and usually the other RECORD_FIELDS. The history keeps every
    record ever made; recording an archive_id already in the name's history changes nothing.
    """
    if not isinstance(record, dict) or not isinstance(record.get('archive_id'), str) or not record['archive_id']:
        raise ValueError('an archive record needs a non-empty archive_id')
    if 'history' in record:
        raise ValueError('an archive record may not contain "history"')
    vault = get_vault(data, arn, create=True)
    entry = vault.setdefault('archives', {}).get(name)
    if entry is None:
        entry = vault['archives'][name] = {'history': []}
    if any(old.get('archive_id') == record['archive_id'] for old in entry['history']):
        return False
    entry['history'].append(copy.deepcopy(record))
    _flatten(entry)
    return True


def mark_deleted(data, arn, archive_id, deleted_at=None, name=None):
    """Mark the record with ``archive_id`` deleted (in ``name``, or any name if None).

    The record stays in the history, with deleted_at; the entry's top-level fields move to the
    newest record that is not deleted. Unknown or already deleted ids change nothing.
    """
    vault = get_vault(data, arn)
    if vault is None:
        return False
    archives = vault.get('archives', {})
    names = [name] if name is not None else sorted(archives)
    for each in names:
        entry = archives.get(each)
        for record in (entry or {}).get('history', []):
            if record.get('archive_id') == archive_id:
                if record.get('deleted_at'):
                    return False
                record['deleted_at'] = deleted_at or now()
                _flatten(entry)
                return True
    return False


def get_upload(data, arn, name):
    """The pending multipart upload of ``name`` (a copy), or None."""
    vault = get_vault(data, arn)
    upload = (vault or {}).get('uploads', {}).get(name)
    return copy.deepcopy(upload) if upload is not None else None


def set_upload(data, arn, name, upload):
    """Remember an in-progress multipart upload of ``name`` so a later run can resume it.

    ``upload`` holds upload_id and usually part_size, size, mtime, started_at.
    """
    if not isinstance(upload, dict) or not isinstance(upload.get('upload_id'), str) or not upload['upload_id']:
        raise ValueError('a pending upload needs a non-empty upload_id')
    uploads = get_vault(data, arn, create=True).setdefault('uploads', {})
    if uploads.get(name) == upload:
        return False
    uploads[name] = copy.deepcopy(upload)
    return True


def clear_upload(data, arn, name, upload_id=None):
    """Forget the pending upload of ``name`` (only if its id is ``upload_id``, when given)."""
    uploads = (get_vault(data, arn) or {}).get('uploads', {})
    current = uploads.get(name)
    if current is None or (upload_id is not None and current.get('upload_id') != upload_id):
        return False
    del uploads[name]
    return True


# ---------------------------------------------------------------------------
# File I/O.

def _check(data, path):
    """Raise CatalogError unless ``data`` has the shape of a catalog this code understands."""
    if not isinstance(data, dict):
        raise CatalogError('%s does not hold a JSON object, so it is not a coldvault.glacier catalog; '
                           'it was left untouched' % path)
    fmt = data.get('format')
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise CatalogError('%s has no valid "format" field, so it is not a coldvault.glacier catalog; '
                           'it was left untouched' % path)
    if fmt > FORMAT:
        raise CatalogError('%s is catalog format %d, written by a newer coldvault.glacier; this version reads '
                           'format %d. Upgrade the collection; the file was left untouched' % (path, fmt, FORMAT))
    if fmt != FORMAT:
        raise CatalogError('%s has unknown catalog format %r; it was left untouched' % (path, fmt))
    vaults = data.get('vaults', {})
    if not isinstance(vaults, dict):
        raise CatalogError('%s: "vaults" must be an object; the file was left untouched' % path)
    for arn, vault in vaults.items():
        if not isinstance(vault, dict):
            raise CatalogError('%s: vault %s must be an object; the file was left untouched' % (path, arn))
        for key in ('archives', 'uploads', 'jobs'):
            if not isinstance(vault.get(key, {}), dict):
                raise CatalogError('%s: vault %s: "%s" must be an object; the file was left untouched' % (path, arn, key))
        for name, entry in vault.get('archives', {}).items():
            records = entry.get('history') if isinstance(entry, dict) else None
            if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
                raise CatalogError('%s: vault %s: archive %r needs a non-empty "history" list of objects; '
                                   'the file was left untouched' % (path, arn, name))


def read(path):
    """Load the catalog at ``path``; a missing or empty file is an empty catalog.

    Raises CatalogError, naming the path, if the file cannot be read, is not JSON, is not a
    catalog, or is a newer format. Such a file is never written over by update().
    """
    try:
        with open(path, 'rb') as fileobj:
            raw = fileobj.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return empty()
        if exc.errno == errno.EISDIR:
            raise CatalogError('%s is a directory, not a catalog file' % path)
        raise CatalogError('cannot read the catalog %s: %s' % (path, exc.strerror or exc))
    if not raw.strip():
        return empty()
    try:
        data = json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise CatalogError('%s is not valid JSON (%s); fix or move it away, it was left untouched' % (path, exc))
    _check(data, path)
    data.setdefault('vaults', {})
    return data


def fsync_dir(directory):
    # Makes the rename durable. Some filesystems cannot fsync a directory: then it is best effort.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write(path, data, mode, atomic_move):
    directory, base = os.path.split(path)
    payload = (json.dumps(data, indent=2, sort_keys=True) + '\n').encode('utf-8')
    tmp = None
    for dummy in range(100):
        # Hidden and not ending in .fact, so setup never reads a half-written file.
        candidate = os.path.join(directory, '.%s.%s.tmp' % (base, os.urandom(6).hex()))
        try:
            # Created with ``mode`` from the start: the content is never readable by others.
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        except OSError as exc:
            raise CatalogError('cannot write the catalog %s: %s' % (path, exc.strerror or exc))
        tmp = candidate
        break
    if tmp is None:
        raise CatalogError('cannot write the catalog %s: no free temporary file name' % path)
    moved = placeholder = False
    try:
        try:
            with os.fdopen(fd, 'wb') as fileobj:
                os.fchmod(fileobj.fileno(), mode)  # the umask may have taken bits away
                fileobj.write(payload)
                fileobj.flush()
                os.fsync(fileobj.fileno())
            # module.atomic_move gives a new file the umask's mode (0644 most often) and keeps an old file's mode:
            # make sure a file with ``mode`` is there first, so the content is never readable by others.
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
                placeholder = True
            except FileExistsError:
                pass
            os.chmod(path, mode)
            (atomic_move or os.replace)(tmp, path)
            moved = True
            os.chmod(path, mode)
        except OSError as exc:
            raise CatalogError('cannot write the catalog %s: %s' % (path, exc.strerror or exc))
        fsync_dir(directory)
    finally:
        if not moved:
            for leftover in [tmp] + ([path] if placeholder else []):
                try:
                    os.unlink(leftover)
                except OSError:
                    pass


def update(path, mutate, mode=0o600, atomic_move=None, check_mode=False):
    """Apply ``mutate(data)`` to the catalog at ``path`` under an exclusive lock; return (before, after).

    ``mutate`` changes the dict in place (its return value is ignored). The file is only written
    if something changed: a temporary file with ``mode`` in the same directory, fsynced, then moved
    into place with ``atomic_move(tmp, path)`` (pass ``module.atomic_move``; default os.replace).
    A missing parent directory is created (0755 less the umask). The lock is ``<path>.lock``, a
    sibling file that is kept (removing it would race) and ignored by setup. With check_mode
    nothing is created, locked or written, and ``after`` shows what would have been written.
    """
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise CatalogError('%s is a directory, not a catalog file' % path)

    def apply():
        before = read(path)
        after = copy.deepcopy(before)
        mutate(after)
        _check(after, path)
        return before, after

    if check_mode:
        return apply()

    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755, exist_ok=True)
        lock_fd = os.open(path + '.lock', os.O_RDWR | os.O_CREAT, mode)
    except OSError as exc:
        raise CatalogError('cannot write the catalog %s: %s' % (path, exc.strerror or exc))
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        # Read again under the lock: another task may have written since the caller last looked.
        before, after = apply()
        if after != before:
            _write(path, after, mode, atomic_move)
        return before, after
    finally:
        os.close(lock_fd)  # releases the lock
