# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
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
import datetime
import errno
import fcntl
import json
import os
import re
import time

from ansible_collections.coldvault.glacier.plugins.module_utils.files import fsync_dir

FORMAT = 1
# Fields of one archive record, in the order docs/catalog.md lists them. Records may carry more.
RECORD_FIELDS = ('archive_id', 'tree_hash', 'size', 'mtime', 'uploaded_at', 'location', 'description', 'part_size')

_ARN = re.compile(r'\Aarn:(aws[a-z-]*):glacier:([a-z0-9-]+):([0-9]{12}):vaults/([A-Za-z0-9_.-]{1,255})\Z')
_BUCKET_ARN = re.compile(r'\Aarn:(aws[a-z-]*):s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\Z')
# Where each kind of target lives in the catalog, and which record field identifies one stored copy: a vault's
# archive id, or a bucket's key (every version is a new key that is never overwritten).
SECTIONS = {'vault': 'vaults', 'bucket': 'buckets'}
ID_FIELDS = {'vault': 'archive_id', 'bucket': 'key'}


class CatalogError(Exception):
    """The catalog file cannot be read, parsed or written; the message names the path."""


def empty():
    return {'format': FORMAT, 'vaults': {}, 'buckets': {}}


def now():
    """Current UTC time as used for uploaded_at, started_at and deleted_at."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def parse_time(text):
    """The catalog's UTC timestamps ('2026-11-26T04:20:57Z') as aware datetimes; None when unreadable."""
    try:
        return datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------
# ARNs are the catalog's keys: a vault's (DescribeVault's VaultARN: partition, region, account and name in one
# string) or a bucket's (arn:aws:s3:::name; bucket names are global within a partition).

def parse_vault_arn(arn):
    """Return dict(partition, region, account, vault) or raise ValueError."""
    match = _ARN.match(arn) if isinstance(arn, str) else None
    if not match:
        raise ValueError('not a Glacier vault ARN: %r' % (arn,))
    return dict(zip(('partition', 'region', 'account', 'vault'), match.groups()))


def parse_bucket_arn(arn):
    """Return dict(partition, bucket) or raise ValueError."""
    match = _BUCKET_ARN.match(arn) if isinstance(arn, str) else None
    if not match:
        raise ValueError('not an S3 bucket ARN: %r' % (arn,))
    return dict(zip(('partition', 'bucket'), match.groups()))


def kind_of(arn):
    """'vault' or 'bucket' for a catalog key; raise ValueError for anything else."""
    if isinstance(arn, str) and ':s3:::' in arn:
        parse_bucket_arn(arn)
        return 'bucket'
    parse_vault_arn(arn)
    return 'vault'


def id_field(arn):
    """The record field that identifies one stored copy in the target ``arn``: archive_id or key."""
    return ID_FIELDS[kind_of(arn)]


# ---------------------------------------------------------------------------
# Pure functions on a loaded catalog. Those that change it return True if they did.

def get_entry(data, arn, create=False, **fields):
    """The entry of the vault or bucket ``arn``, or None if absent.

    With create, a missing entry is made with its fields from the ARN (a vault's name, region and account; a
    bucket's name) and ``fields`` (a bucket's region, which its ARN does not hold).
    """
    kind = kind_of(arn)
    section = SECTIONS[kind]
    targets = data.setdefault(section, {}) if create else data.get(section, {})
    entry = targets.get(arn)
    if entry is None and create:
        if kind == 'vault':
            parts = parse_vault_arn(arn)
            entry = {'vault': parts['vault'], 'region': parts['region'], 'account': parts['account']}
        else:
            entry = {'bucket': parse_bucket_arn(arn)['bucket']}
        entry.update(fields, archives={}, uploads={}, jobs={})
        targets[arn] = entry
    return entry


def _archive_entry(data, arn, name):
    vault = get_entry(data, arn)
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
    """(name, record copy) of the record with id ``archive_id`` (a bucket's: its key), or (None, None)."""
    field = id_field(arn)
    vault = get_entry(data, arn)
    for name, entry in sorted((vault or {}).get('archives', {}).items()):
        for record in entry.get('history', []):
            if record.get(field) == archive_id:
                return name, copy.deepcopy(record)
    return None, None


def record_archive(data, arn, name, record):
    """Add an uploaded archive as the newest record of ``name``.

    ``record`` holds its id (a vault's archive_id, a bucket's key) and usually the other RECORD_FIELDS. The
    history keeps every record ever made; recording an id already in the name's history changes nothing.
    """
    field = id_field(arn)
    if not isinstance(record, dict) or not isinstance(record.get(field), str) or not record[field]:
        raise ValueError('an archive record needs a non-empty %s' % field)
    if 'history' in record:
        raise ValueError('an archive record may not contain "history"')
    vault = get_entry(data, arn, create=True)
    entry = vault.setdefault('archives', {}).get(name)
    if entry is None:
        entry = vault['archives'][name] = {'history': []}
    if any(old.get(field) == record[field] for old in entry['history']):
        return False
    entry['history'].append(copy.deepcopy(record))
    _flatten(entry)
    return True


def mark_deleted(data, arn, archive_id, deleted_at=None, name=None, fields=None):
    """Mark the record with ``archive_id`` deleted (in ``name``, or any name if None).

    The record stays in the history, with deleted_at and ``fields`` (such as where its copy went); the entry's
    top-level fields move to the newest record that is not deleted. Unknown or already deleted ids change nothing.
    """
    field = id_field(arn)
    vault = get_entry(data, arn)
    if vault is None:
        return False
    archives = vault.get('archives', {})
    names = [name] if name is not None else sorted(archives)
    for each in names:
        entry = archives.get(each)
        for record in (entry or {}).get('history', []):
            if record.get(field) == archive_id:
                if record.get('deleted_at'):
                    return False
                record.update(copy.deepcopy(fields or {}), deleted_at=deleted_at or now())
                _flatten(entry)
                return True
    return False


def get_upload(data, arn, name):
    """The pending multipart upload of ``name`` (a copy), or None."""
    vault = get_entry(data, arn)
    upload = (vault or {}).get('uploads', {}).get(name)
    return copy.deepcopy(upload) if upload is not None else None


def set_upload(data, arn, name, upload):
    """Remember an in-progress multipart upload of ``name`` so a later run can resume it.

    ``upload`` holds upload_id and usually part_size, size, mtime, started_at.
    """
    if not isinstance(upload, dict) or not isinstance(upload.get('upload_id'), str) or not upload['upload_id']:
        raise ValueError('a pending upload needs a non-empty upload_id')
    uploads = get_entry(data, arn, create=True).setdefault('uploads', {})
    if uploads.get(name) == upload:
        return False
    uploads[name] = copy.deepcopy(upload)
    return True


def clear_upload(data, arn, name, upload_id=None):
    """Forget the pending upload of ``name`` (only if its id is ``upload_id``, when given)."""
    uploads = (get_entry(data, arn) or {}).get('uploads', {})
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
    for kind, section in sorted(SECTIONS.items()):
        targets = data.get(section, {})
        if not isinstance(targets, dict):
            raise CatalogError('%s: "%s" must be an object; the file was left untouched' % (path, section))
        for arn, vault in targets.items():
            if not isinstance(vault, dict):
                raise CatalogError('%s: %s %s must be an object; the file was left untouched' % (path, kind, arn))
            for key in ('archives', 'uploads', 'jobs'):
                if not isinstance(vault.get(key, {}), dict):
                    raise CatalogError('%s: %s %s: "%s" must be an object; the file was left untouched'
                                       % (path, kind, arn, key))
            for name, entry in vault.get('archives', {}).items():
                records = entry.get('history') if isinstance(entry, dict) else None
                if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
                    raise CatalogError('%s: %s %s: archive %r needs a non-empty "history" list of objects; '
                                       'the file was left untouched' % (path, kind, arn, name))


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
    data.setdefault('buckets', {})
    return data


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
