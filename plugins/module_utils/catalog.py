# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""The local catalog of archives: an Ansible local facts file and its history (see docs/catalog.md).

Glacier itself only lists a vault's archives through an inventory job that takes hours, so the modules remember
what they uploaded. The facts file (such as /etc/ansible/facts.d/glacier.fact, which ``setup`` shows as
``ansible_local.glacier``) holds what playbooks need: the latest archive of each name with its counts, pending
uploads and jobs. Every record ever made is in the history store beside it (catalog_history.py), which fact
gathering never reads, and which is the truth the facts file is rebuilt from.

A loaded catalog is a ``Catalog``: the facts document as a dict, plus its history store. The functions below
work on it; those that change the history stage the change in the store. ``update()`` does the locked,
transactional read-modify-write of both. Stdlib only: this runs inside modules on the managed host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import errno
import functools
import hashlib
import json
import os
import re
import shutil
import time

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog_history
from ansible_collections.coldvault.glacier.plugins.module_utils import catalog_lock
from ansible_collections.coldvault.glacier.plugins.module_utils.files import fsync_dir

# 2: the history moved out of the facts file into the history store. Format 1 files are migrated on the first write.
FORMAT = 2
# Fields of one archive record, in the order docs/catalog.md lists them. Records may carry more.
RECORD_FIELDS = ('archive_id', 'tree_hash', 'size', 'mtime', 'uploaded_at', 'location', 'description', 'part_size')
# What an archive entry of the facts file adds to the record it shows; no record may use these names.
COUNT_FIELDS = ('versions', 'deleted_versions')
RESERVED_FIELDS = ('history',) + COUNT_FIELDS
DEFAULT_LOCK_TIMEOUT = catalog_lock.DEFAULT_TIMEOUT
# An upload's record waits at least this long for the catalog's lock: giving up would leave a paid archive unrecorded.
RECORD_LOCK_TIMEOUT = 600

_ARN = re.compile(r'\Aarn:(aws[a-z-]*):glacier:([a-z0-9-]+):([0-9]{12}):vaults/([A-Za-z0-9_.-]{1,255})\Z')
_BUCKET_ARN = re.compile(r'\Aarn:(aws[a-z-]*):s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\Z')
# Where each kind of target lives in the catalog, and which record field identifies one stored copy: a vault's
# archive id, or a bucket's key (every version is a new key that is never overwritten).
SECTIONS = {'vault': 'vaults', 'bucket': 'buckets'}
ID_FIELDS = {'vault': 'archive_id', 'bucket': 'key'}


class CatalogError(Exception):
    """The catalog (facts file or history) cannot be read, parsed or written; the message names the path."""


class LockTimeout(CatalogError):
    """Another process held a lock of the catalog for longer than the timeout; the message says who."""


class Catalog(dict):
    """The facts document (this dict) and ``history_store``, the store of every record.

    Copies share the store: only the facts document is copied.
    """

    def __init__(self, document=None, history_store=None):
        super(Catalog, self).__init__(document or {})
        self.history_store = history_store

    def __copy__(self):
        return Catalog(dict(self), self.history_store)

    def __deepcopy__(self, memo):
        return Catalog(copy.deepcopy(dict(self), memo), self.history_store)


def _history_errors(function):
    """An error of the history store (an SQLite error, naming the file) as a CatalogError."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except catalog_history.HistoryError as e:
            raise CatalogError(str(e))
    return wrapper


def _memory_store(catalog_id=None):
    try:
        return catalog_history.HistoryStore.memory(catalog_id)
    except catalog_history.HistoryError as e:
        raise CatalogError(str(e))


def empty():
    """A new catalog held in memory (its history too)."""
    return Catalog({'format': FORMAT, 'vaults': {}, 'buckets': {}}, _memory_store())


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
# Functions on a loaded catalog. Those that change it return True if they did.

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


def _store(data):
    store = getattr(data, 'history_store', None)
    if store is None:
        raise TypeError('the catalog functions need a catalog from catalog.empty(), read() or update(), not a %s'
                        % type(data).__name__)
    return store


def _shown(record, total, deleted):
    """An archive entry of the facts file: the record it shows, and the counts of its history."""
    entry = copy.deepcopy(record)
    entry.update(versions=total, deleted_versions=deleted)
    return entry


def _refresh(data, arn, name):
    """Point the entry of ``name`` at its newest non-deleted record, with the counts of its history.

    If every record is deleted, the newest one is shown, deleted_at included, so the entry keeps its shape and
    ``deleted_at is defined`` tells a playbook nothing of it is left.
    """
    store = _store(data)
    archives = get_entry(data, arn, create=True).setdefault('archives', {})
    record = store.newest(arn, name, live=True) or store.newest(arn, name, live=False)
    if record is None:
        archives.pop(name, None)
        return
    archives[name] = _shown(record, *store.counts(arn, name))


@_history_errors
def history(data, arn, name):
    """Every record of archive ``name``, oldest first (copies); [] if none."""
    kind_of(arn)
    return _store(data).records(arn, name)


@_history_errors
def all_records(data, arn):
    """(name, record) of every record of the target ``arn``, by name, oldest first, deleted ones included."""
    kind_of(arn)
    return _store(data).target_records(arn)


@_history_errors
def latest(data, arn, name, include_deleted=False):
    """The newest record of ``name`` that still exists (a copy), or None.

    With include_deleted, the newest record even if it was deleted.
    """
    kind_of(arn)
    return _store(data).newest(arn, name, live=not include_deleted)


@_history_errors
def find_archive(data, arn, archive_id):
    """(name, record copy) of the record with id ``archive_id`` (a bucket's: its key), or (None, None)."""
    kind_of(arn)
    found = _store(data).find(arn, archive_id)
    return (found[1], found[2]) if found else (None, None)


def _checked_record(arn, record):
    field = id_field(arn)
    if not isinstance(record, dict) or not isinstance(record.get(field), str) or not record[field]:
        raise ValueError('an archive record needs a non-empty %s' % field)
    for key in RESERVED_FIELDS:
        if key in record:
            raise ValueError('an archive record may not contain "%s"' % key)
    return field


@_history_errors
def record_archive(data, arn, name, record):
    """Add an uploaded archive as the newest record of ``name``.

    ``record`` holds its id (a vault's archive_id, a bucket's key) and usually the other RECORD_FIELDS. The
    history keeps every record ever made; recording an id already in the name's history changes nothing.
    """
    field = _checked_record(arn, record)
    store = _store(data)
    get_entry(data, arn, create=True)
    if store.contains(arn, name, record[field]):
        return False
    store.append(arn, name, copy.deepcopy(record), field)
    _refresh(data, arn, name)
    return True


@_history_errors
def insert_archive(data, arn, name, record):
    """Add ``record`` to the history of ``name`` at its place by uploaded_at (record_archive appends).

    For archives found later (an inventory rebuild): it goes after the last record not uploaded later than it.
    An id already in the name's history changes nothing; the entry keeps showing the newest record still stored.
    """
    field = _checked_record(arn, record)
    store = _store(data)
    get_entry(data, arn, create=True)
    if store.contains(arn, name, record[field]):
        return False
    store.insert_by_time(arn, name, copy.deepcopy(record), field)
    _refresh(data, arn, name)
    return True


@_history_errors
def mark_deleted(data, arn, archive_id, deleted_at=None, name=None, fields=None):
    """Mark the record with ``archive_id`` deleted (in ``name``, or any name if None).

    The record stays in the history, with deleted_at and ``fields`` (such as where its copy went); the entry's
    top-level fields move to the newest record that is not deleted. Unknown or already deleted ids change nothing.
    """
    kind_of(arn)
    store = _store(data)
    found = store.find(arn, archive_id, name)
    if found is None:
        return False
    seq, found_name, record = found
    if record.get('deleted_at'):
        return False
    store.set_deleted(seq, dict(record, **copy.deepcopy(fields or {})), deleted_at or now())
    _refresh(data, arn, found_name)
    return True


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


@_history_errors
def expand(data):
    """The whole catalog in one dict, every archive entry with its ``history`` list (the shape of format 1).

    For reading and for comparing; it holds every record, so it is as big as the history.
    """
    result = copy.deepcopy({k: v for k, v in data.items() if k != 'history'})
    for kind, section in SECTIONS.items():
        for arn, target in result.get(section, {}).items():
            archives = {}
            records = {}
            for name, record in _store(data).target_records(arn):
                records.setdefault(name, []).append(record)
            for name, items in records.items():
                live = [r for r in items if not r.get('deleted_at')]
                archives[name] = dict(copy.deepcopy((live or items)[-1]), history=items)
            target['archives'] = archives
    return result


# ---------------------------------------------------------------------------
# Files: the facts file, the history beside it, and how the two are kept in step.
#
# The history store is the truth: every record, and the rest of the catalog as one JSON document (its "state").
# Each update() commits both in one SQLite transaction, then writes the facts file, which names the store's
# generation it shows. A facts file that trails the store (a run killed between the two) is rebuilt from the store.

def history_file(facts_file, document=None):
    """Path of the history of ``facts_file`` (the file a format-2 facts document names, else the default)."""
    info = (document or {}).get('history') if isinstance(document, dict) else None
    name = info.get('file') if isinstance(info, dict) else None
    if isinstance(name, str) and name and os.sep not in name and name not in ('.', '..') and not name.endswith('.fact'):
        return os.path.join(os.path.dirname(os.path.abspath(facts_file)), name)
    return catalog_history.history_path(facts_file)


def _load(path):
    """The parsed facts file, or None when it is missing or empty."""
    try:
        with open(path, 'rb') as fileobj:
            raw = fileobj.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.EISDIR:
            raise CatalogError('%s is a directory, not a catalog file' % path)
        raise CatalogError('cannot read the catalog %s: %s' % (path, exc.strerror or exc))
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise CatalogError('%s is not valid JSON (%s); fix or move it away, it was left untouched' % (path, exc))


def _check(data, path):
    """Raise CatalogError unless ``data`` has the shape of a catalog this code understands (format 1 or 2)."""
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
    if fmt not in (1, FORMAT):
        raise CatalogError('%s has unknown catalog format %r; it was left untouched' % (path, fmt))
    info = data.get('history', {})
    if fmt == FORMAT and not (isinstance(info, dict) and all(
            isinstance(info.get(key, 0), int) and not isinstance(info.get(key, 0), bool)
            for key in ('generation', 'records')) and isinstance(info.get('id', ''), str)):
        raise CatalogError('%s: "history" must be an object with an integer generation and records and a string '
                           'id; the file was left untouched' % path)
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
                if fmt == 1:
                    records = entry.get('history') if isinstance(entry, dict) else None
                    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
                        raise CatalogError('%s: %s %s: archive %r needs a non-empty "history" list of objects; '
                                           'the file was left untouched' % (path, kind, arn, name))
                elif not isinstance(entry, dict):
                    raise CatalogError('%s: %s %s: archive %r must be an object; the file was left untouched'
                                       % (path, kind, arn, name))


def _state_of(document):
    """The catalog without its archive entries: what the history store keeps beside the records."""
    state = {}
    for key, value in document.items():
        if key in ('format', 'history'):
            continue
        if key in SECTIONS.values() and isinstance(value, dict):
            value = {arn: {k: v for k, v in target.items() if k != 'archives'} for arn, target in value.items()}
        state[key] = copy.deepcopy(value)
    return state


def _info(store, path):
    return {'file': os.path.basename(store.path) if store.path else os.path.basename(history_file(path)),
            'id': store.catalog_id(), 'generation': store.generation(), 'records': store.count()}


def _from_store(store, path):
    """The facts document as the store's state and records make it."""
    document = store.state()
    for section in SECTIONS.values():
        for target in document.setdefault(section, {}).values():
            target['archives'] = {}
    data = Catalog(document, store)
    for arn, names in store.entries().items():
        archives = get_entry(data, arn, create=True)['archives']
        for name, (record, total, deleted) in names.items():
            archives[name] = _shown(record, total, deleted)
    data['format'] = FORMAT
    if store.generation() > 0:
        data['history'] = _info(store, path)
    return data


def _merge(store, document):
    """Add to ``store`` every record of ``document`` that it lacks; the document's state replaces the store's.

    A format-1 document brings its whole history; a format-2 one the records its entries show. Records already
    in the store (same target, name and id) are kept as they are, gaining only a deleted_at they lack: a rerun
    of an interrupted migration adds nothing twice, and nothing the store holds is ever dropped.
    """
    for kind, section in SECTIONS.items():
        field = ID_FIELDS[kind]
        for arn, target in document.get(section, {}).items():
            for name, entry in target.get('archives', {}).items():
                if document.get('format') == 1:
                    records = entry['history']
                else:
                    records = [{k: v for k, v in entry.items() if k not in COUNT_FIELDS}]
                for record in records:
                    record_id = record.get(field)
                    if not isinstance(record_id, str):
                        if record not in store.records(arn, name):
                            store.append(arn, name, record, field)
                        continue
                    found = store.find(arn, record_id, name)
                    if found is None:
                        store.append(arn, name, record, field)
                    elif record.get('deleted_at') and not found[2].get('deleted_at'):
                        store.set_deleted(found[0], found[2], record['deleted_at'])
    store.save_state(_state_of(document))


def _open_store(path, **kwargs):
    try:
        return catalog_history.HistoryStore.open(path, **kwargs)
    except catalog_history.HistoryError as e:
        raise CatalogError(str(e))


def _missing_history(path, history, records):
    return CatalogError(
        'the history %s is missing: the catalog %s says it holds %d records. Restore it from a backup, or move the '
        'facts file away to start a new catalog (the archives are still stored: an inventory with rebuild: true '
        'lists them again); the facts file was left untouched' % (history, path, records))


def _load_catalog(path, document, for_write=False, mode=0o600):
    """The Catalog of ``document`` (the parsed facts file, None if there is none); (catalog, rewrite).

    ``rewrite`` says the facts file must be written even if nothing changes: it is format 1, missing, or does
    not show what the store holds. With ``for_write`` (under the catalog lock) the store is opened for writing,
    created if needed, and left in a transaction, into which a format-1 document has been migrated. Without, the
    store is only read; what a write would merge is merged into a private copy in memory.
    """
    if document is not None:
        _check(document, path)
    history = history_file(path, document)
    exists = os.path.lexists(history)
    info = {}
    if document is not None and document['format'] == FORMAT:
        info = document.get('history') or {}
    if not exists and info.get('records'):
        raise _missing_history(path, history, info['records'])
    if for_write:
        store = _open_store(history, create=True, mode=mode, catalog_id=info.get('id'))
        try:
            store.begin()
        except Exception as e:
            store.close()
            raise CatalogError('cannot write the history %s: %s' % (history, e))
        try:
            return _view(path, document, info, history, store, for_write)
        except BaseException:
            store.rollback()
            raise
    if exists:
        store = _open_store(history, writable=True)
    else:
        store = _memory_store(info.get('id'))
    return _view(path, document, info, history, store, for_write)


def _view(path, document, info, history, store, for_write):
    if info.get('id') and store.catalog_id() != info['id']:
        raise CatalogError('the history %s belongs to another catalog (id %s), not to %s (id %s); both were left '
                           'untouched' % (history, store.catalog_id(), path, info['id']))
    if document is None:
        # No facts file: a new catalog, or one whose facts file was lost after a commit (rebuilt from the store).
        return _from_store(store, path), store.generation() > 0
    generation = store.generation()
    if document['format'] == 1 or generation < info.get('generation', 0):
        # Migration, or a store older than the facts file (restored from a backup?): keep the union of both.
        if not for_write and store.path:
            store = store.copy_to_memory()
        _merge(store, document)
        return _from_store(store, path), True
    if generation > info.get('generation', 0):
        return _from_store(store, path), True  # the facts file trails the store: a write was interrupted
    for section in SECTIONS.values():
        document.setdefault(section, {})
    return Catalog(document, store), False


@_history_errors
def read(path):
    """Load the catalog at ``path``; a missing or empty file is an empty catalog.

    Raises CatalogError, naming the path, if the file cannot be read, is not JSON, is not a catalog, is a newer
    format, or its history is missing or unreadable. Such a file is never written over by update(). A format-1
    file is read as it will be migrated (its history then lives in memory); nothing is written.
    """
    return _load_catalog(path, _load(path))[0]


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


def _keep_format1(path):
    """Keep the format-1 file being migrated as ``<path>.format1.bak`` (a hard link: no copy), for a downgrade."""
    backup = path + '.format1.bak'
    if os.path.lexists(backup):
        return
    try:
        os.link(path, backup)
    except OSError:
        try:
            shutil.copy2(path, backup)
        except OSError:
            pass  # the history holds every record; the backup is a convenience


def _remove_leftovers(path):
    """Remove the temporary facts files of writers that were killed (only a lock holder makes them)."""
    directory, base = os.path.split(path)
    pattern = re.compile(r'\A\.%s\.[0-9a-f]{12}\.tmp\Z' % re.escape(base))
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if pattern.match(name):
            try:
                os.unlink(os.path.join(directory, name))
            except OSError:
                pass


def _discard_new(store):
    """Remove a history that this update() created and did not commit to (under the catalog lock)."""
    if store.created and store.generation() == 0:
        store.close()
        for leftover in (store.path, store.path + '-journal'):
            try:
                os.unlink(leftover)
            except OSError:
                pass


def _catalog_lock(path, mode, lock_timeout, owner):
    return catalog_lock.FileLock(path + '.lock', 'the catalog %s' % path, mode=mode, owner=owner,
                                 timeout=DEFAULT_LOCK_TIMEOUT if lock_timeout is None else lock_timeout)


def _acquire(lock, path):
    try:
        return lock.acquire()
    except catalog_lock.LockTimeout as e:
        raise LockTimeout(str(e))
    except catalog_lock.LockError as e:
        raise CatalogError('cannot lock the catalog %s: %s' % (path, e))
    except OSError as e:
        raise CatalogError('cannot lock the catalog %s: %s' % (path, e.strerror or e))


@_history_errors
def update(path, mutate, mode=0o600, atomic_move=None, check_mode=False, lock_timeout=None, owner=None):
    """Apply ``mutate(data)`` to the catalog at ``path`` under an exclusive lock; return (before, after).

    ``mutate`` changes the Catalog in place (its return value is ignored): the facts document directly (uploads,
    jobs), the history through the functions above. Under the lock, the history store is changed in one
    transaction and committed first; then the facts file is written: a temporary file with ``mode`` in the same
    directory, fsynced, moved into place with ``atomic_move(tmp, path)`` (pass ``module.atomic_move``; default
    os.replace). Nothing is written if nothing changed, unless the facts file must be migrated or rebuilt.
    A missing parent directory is created (0755 less the umask). The lock is ``<path>.lock``, a sibling file that
    is kept (removing it would race) and ignored by setup; it is waited for at most ``lock_timeout`` seconds
    (default DEFAULT_LOCK_TIMEOUT), then LockTimeout names who holds it (``owner``, such as the module's name,
    is what this process tells others). With check_mode nothing is created, locked or written, and ``after``
    shows what would have been written (its history is a private copy).
    """
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise CatalogError('%s is a directory, not a catalog file' % path)

    if check_mode:
        data = read(path)
        if data.history_store.path:
            data.history_store = data.history_store.copy_to_memory()
        before = copy.deepcopy(data)
        mutate(data)
        _check(data, path)
        return before, data

    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755, exist_ok=True)
    except OSError as exc:
        raise CatalogError('cannot write the catalog %s: %s' % (path, exc.strerror or exc))
    lock = _acquire(_catalog_lock(path, mode, lock_timeout, owner), path)
    try:
        _remove_leftovers(path)
        # Read again under the lock: another task may have written since the caller last looked.
        document = _load(path)
        data, rewrite = _load_catalog(path, document, for_write=True, mode=mode)
        store = data.history_store
        try:
            before = copy.deepcopy(data)
            mutate(data)
            _check(data, path)
            if data.get('format') != FORMAT:
                raise CatalogError('%s: the catalog must stay format %d; nothing was written' % (path, FORMAT))
            changed = store.changed or dict(data) != dict(before)
            if not (rewrite or changed):
                store.rollback()
                _discard_new(store)
                return before, data
            if changed:
                store.save_state(_state_of(data))
                store.bump()
                data['history'] = _info(store, path)
                store.commit()  # from here on the change is durable, whatever happens to the facts file
            else:
                store.rollback()  # only the facts file is behind: write what the history holds
                data['history'] = _info(store, path)
        except BaseException:
            store.rollback()
            _discard_new(store)
            raise
        try:
            os.chmod(store.path, mode)
        except OSError:
            pass
        if document is not None and document.get('format') == 1:
            _keep_format1(path)
        try:
            _write(path, data, mode, atomic_move)
        except CatalogError as e:
            raise CatalogError('%s. The change is in the history %s: the next write of the catalog shows it'
                               % (e, store.path))
        return before, data
    finally:
        lock.release()


def name_lock(facts_file, arn, name, lock_timeout=None, owner=None, mode=0o600):
    """Lock the name ``name`` of the target ``arn`` in the catalog ``facts_file``; returns the held lock.

    Held by an upload from its decision to its record, so that a second run of the same name waits, then finds
    the archive (runs of other names go on in parallel). A hidden file next to the facts file, removed on
    ``release()``. Raises LockTimeout after ``lock_timeout`` seconds (default DEFAULT_LOCK_TIMEOUT). Returns only
    once the catalog's own lock could be taken too (it is let go at once), so that an upload never starts while
    the catalog cannot be written.
    """
    facts_file = os.path.abspath(facts_file)
    directory, base = os.path.split(facts_file)
    digest = hashlib.sha256(('%s\0%s' % (arn, name)).encode('utf-8', 'surrogatepass')).hexdigest()[:32]
    lock = catalog_lock.FileLock(
        os.path.join(directory, '.%s.%s.lock' % (base, digest)), 'another run uploading %r to %s' % (name, arn),
        timeout=DEFAULT_LOCK_TIMEOUT if lock_timeout is None else lock_timeout, mode=mode, owner=owner,
        removable=True, max_delay=0.5, details={'target': arn, 'name': name})
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755, exist_ok=True)
    except OSError as exc:
        raise CatalogError('cannot write the catalog %s: %s' % (facts_file, exc.strerror or exc))
    _acquire(lock, facts_file)
    try:
        _acquire(_catalog_lock(facts_file, mode, lock_timeout, owner), facts_file).release()
    except BaseException:
        lock.release()
        raise
    return lock


def lock_options(module, record=False):
    """update()'s and name_lock()'s lock arguments from a module: its lock_timeout option and its name.

    With ``record``, for the write that records an archive just uploaded: at least RECORD_LOCK_TIMEOUT.
    """
    timeout = module.params.get('lock_timeout')
    if record:
        timeout = max(DEFAULT_LOCK_TIMEOUT if timeout is None else timeout, RECORD_LOCK_TIMEOUT)
    return {'lock_timeout': timeout, 'owner': getattr(module, '_name', None)}


def invalid_lock_timeout(value):
    """The error for a module's lock_timeout option, or None (checked before anything is done)."""
    if value is not None and value < 0:
        return 'lock_timeout: must not be negative, got %d' % value
    return None
