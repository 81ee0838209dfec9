# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""The catalog's history store: every archive record ever made, in an SQLite database beside the facts file.

The facts file (catalog.py) shows what playbooks need; this database holds the whole truth: every record of every
name, and the rest of the catalog (targets, pending uploads, jobs) as one JSON document, so that one transaction
commits a change and the facts file can always be rebuilt from it. Ansible's setup reads only ``*.fact`` files,
so it never reads this one (``glacier.fact`` -> ``glacier.history.sqlite``). See docs/catalog.md, "The history".

SQLite's rollback journal (the default mode, ``synchronous=FULL``) makes each commit atomic and durable: a process
killed mid-write leaves a journal that the next connection rolls back. No WAL: it needs shared memory files that
some filesystems lack, and the catalog's own lock already serialises writers.
"""

import json
import os
import stat
from urllib.parse import quote

try:
    import sqlite3
except ImportError:  # a Python built without it; catalog.py says so when it needs it
    sqlite3 = None

# PRAGMA user_version of the database: the schema this code writes. A newer one is refused.
SCHEMA = 2
BUSY_TIMEOUT = 60.0  # seconds a reader or the writer waits for the other's short SQLite lock

_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    target TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    id TEXT,
    uploaded_at TEXT,
    deleted_at TEXT,
    record TEXT NOT NULL
);
CREATE INDEX records_by_name ON records (target, name, position, deleted_at);
CREATE INDEX records_by_id ON records (target, id, name, position);
"""


class HistoryError(Exception):
    """The history database cannot be opened, read or written; catalog.py turns it into a CatalogError."""


def history_path(facts_file):
    """The history of ``glacier.fact``: ``glacier.history.sqlite`` in the same directory (never ``*.fact``)."""
    directory, base = os.path.split(os.path.abspath(facts_file))
    stem = base[:-len('.fact')] if base.endswith('.fact') and len(base) > len('.fact') else base
    return os.path.join(directory, stem + '.history.sqlite')


def _text(value):
    return value if isinstance(value, str) else None


def _deleted(record):
    # A record counts as deleted when its deleted_at is set (truthy), as catalog.py has always read it.
    value = record.get('deleted_at')
    if not value:
        return None
    return value if isinstance(value, str) else _dump(value)


def _dump(value):
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


class HistoryStore:
    """One connection to a history database (or to an in-memory one, for catalogs that are not files).

    Methods that change the store only stage the change in the open transaction; ``commit()`` makes it durable.
    ``changed`` says whether anything was staged since the last commit or rollback.
    """

    def __init__(self, connection, path=None):
        self.db = connection
        self.path = path
        self.changed = False
        self.created = False  # this connection made the file (update() removes it again if it stays unused)
        self._added = 0  # records inserted since the counter in meta was last written

    # -- opening ---------------------------------------------------------------------------------------------

    @classmethod
    def memory(cls, catalog_id=None):
        if sqlite3 is None:
            raise HistoryError("Python's sqlite3 module is missing on this host; the catalog's history needs it")
        store = cls(sqlite3.connect(':memory:', isolation_level=None))
        store._create(catalog_id)
        return store

    @classmethod
    def open(cls, path, create=False, mode=0o600, catalog_id=None, writable=True):
        """Open the database at ``path``; with ``create``, make it (with ``mode``) if it does not exist."""
        if sqlite3 is None:
            raise HistoryError("Python's sqlite3 module is missing on this host; the catalog's history needs it")
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise HistoryError('cannot read the history %s: %s' % (path, exc.strerror or exc))
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise HistoryError('the history %s is not a regular file (a symbolic link or something else); '
                               'refusing to use it' % path)
        new = st is None
        if new:
            if not create:
                raise HistoryError('the history %s does not exist' % path)
            try:
                # Created with ``mode`` from the start (SQLite would use 0644); its journal gets the same mode.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0), mode)
                os.fchmod(fd, mode)
                os.close(fd)
            except FileExistsError:
                new = False  # another process made it meanwhile; its creator fills it under the catalog lock
            except OSError as exc:
                raise HistoryError('cannot create the history %s: %s' % (path, exc.strerror or exc))
        access = 'rw' if writable and os.access(path, os.W_OK) else 'ro'
        try:
            connection = sqlite3.connect('file:%s?mode=%s' % (quote(path), access), uri=True,
                                         timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError('cannot open the history %s: %s' % (path, exc))
        store = cls(connection, path)
        store.created = new
        try:
            connection.execute('PRAGMA synchronous=FULL')
            version = connection.execute('PRAGMA user_version').fetchall()[0][0]
            if version == 0:
                if access == 'ro':
                    raise HistoryError('the history %s is empty and cannot be written' % path)
                connection.execute('BEGIN IMMEDIATE')
                if connection.execute('PRAGMA user_version').fetchall()[0][0] == 0:
                    store._create(catalog_id)
                connection.execute('COMMIT')
            elif version > SCHEMA:
                raise HistoryError('the history %s has schema %d, written by a newer coldvault.glacier; this version '
                                   'reads schema %d. Upgrade the collection; the file was left untouched'
                                   % (path, version, SCHEMA))
            elif version != SCHEMA:
                raise HistoryError('the history %s has unknown schema %d; it was left untouched' % (path, version))
            store.catalog_id()  # fails early on a file that is not one of ours
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise HistoryError('%s is not a readable coldvault.glacier history (%s); it was left untouched'
                               % (path, exc))
        except HistoryError:
            connection.close()
            raise
        return store

    def _create(self, catalog_id):
        for statement in _TABLES.split(';'):  # not executescript(): it would commit the caller's transaction
            if statement.strip():
                self._run(statement)
        for key, value in (('id', catalog_id or os.urandom(16).hex()), ('generation', '0'), ('records', '0'),
                           ('state', _dump({}))):
            self._run('INSERT INTO meta (key, value) VALUES (?, ?)', (key, value))
        self._run('PRAGMA user_version=%d' % SCHEMA)

    def close(self):
        try:
            self.db.close()
        except sqlite3.Error:
            pass

    def copy_to_memory(self):
        """A private in-memory copy (check mode changes it freely)."""
        copy = HistoryStore(sqlite3.connect(':memory:', isolation_level=None))
        try:
            self.db.backup(copy.db)
        except sqlite3.Error as exc:
            raise HistoryError('the history %s cannot be read: %s' % (self.path, exc))
        return copy

    # -- transactions ----------------------------------------------------------------------------------------

    def _run(self, query, args=()):
        """The rows of ``query``, all fetched: a statement left unfinished would keep SQLite's shared lock."""
        try:
            return self.db.execute(query, args).fetchall()
        except sqlite3.Error as exc:
            raise HistoryError('the history %s cannot be %s: %s' % (
                self.path or '(in memory)', 'read' if query.startswith('SELECT') else 'written', exc))

    def begin(self):
        self._run('BEGIN IMMEDIATE')
        self.changed = False
        self._added = 0

    def commit(self):
        self._set_meta('records', str(self.count()))
        self._added = 0
        self._run('COMMIT')
        self.changed = False

    def rollback(self):
        if self.db.in_transaction:
            self._run('ROLLBACK')
        self.changed = False
        self._added = 0

    # -- metadata --------------------------------------------------------------------------------------------

    def _one(self, query, args=()):
        rows = self._run(query, args)
        return rows[0] if rows else None

    def _meta(self, key):
        row = self._one('SELECT value FROM meta WHERE key = ?', (key,))
        if row is None:
            raise HistoryError('the history %s has no %s; it is not a coldvault.glacier history' % (self.path, key))
        return row[0]

    def _set_meta(self, key, value):
        self._run('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', (key, value))

    def catalog_id(self):
        return self._meta('id')

    def generation(self):
        return int(self._meta('generation'))

    def count(self):
        """How many records the history holds."""
        return int(self._meta('records')) + self._added

    def state(self):
        """The catalog without its archive entries (targets, uploads, jobs, other keys), as last committed."""
        return json.loads(self._meta('state'))

    def save_state(self, state):
        text = _dump(state)
        if text != self._meta('state'):
            self._set_meta('state', text)
            self.changed = True

    def bump(self):
        """Advance the generation (the facts file names the one it shows); return the new one."""
        generation = self.generation() + 1
        self._set_meta('generation', str(generation))
        return generation

    # -- records ---------------------------------------------------------------------------------------------

    @staticmethod
    def _row(row):
        return json.loads(row[0])

    def records(self, target, name):
        """Every record of ``name`` in ``target``, oldest first."""
        rows = self._run('SELECT record FROM records WHERE target = ? AND name = ? ORDER BY position, seq',
                         (target, name))
        return [self._row(row) for row in rows]

    def target_records(self, target):
        """(name, record) of every record of ``target``, by name, oldest first."""
        rows = self._run('SELECT name, record FROM records WHERE target = ? ORDER BY name, position, seq',
                         (target,))
        return [(row[0], json.loads(row[1])) for row in rows]

    def newest(self, target, name, live=True):
        """The newest record of ``name`` (the newest not deleted, with ``live``), or None."""
        row = self._one('SELECT record FROM records WHERE target = ? AND name = ?%s ORDER BY position DESC, seq DESC '
                        'LIMIT 1' % (' AND deleted_at IS NULL' if live else ''), (target, name))
        return self._row(row) if row else None

    def counts(self, target, name):
        """(records, deleted records) of ``name``."""
        row = self._one('SELECT COUNT(*), COUNT(deleted_at) FROM records WHERE target = ? AND name = ?', (target, name))
        return row[0], row[1]

    def contains(self, target, name, record_id):
        return self._one('SELECT 1 FROM records WHERE target = ? AND name = ? AND id = ? LIMIT 1',
                         (target, name, record_id)) is not None

    def find(self, target, record_id, name=None):
        """(seq, name, record) of the first record with ``record_id`` (by name, then age), or None."""
        query = 'SELECT seq, name, record FROM records WHERE target = ? AND id = ?'
        args = [target, record_id]
        if name is not None:
            query += ' AND name = ?'
            args.append(name)
        row = self._one(query + ' ORDER BY name, position, seq LIMIT 1', args)
        return (row[0], row[1], json.loads(row[2])) if row else None

    def _insert(self, target, name, position, record, id_field):
        self._run('INSERT INTO records (target, name, position, id, uploaded_at, deleted_at, record) '
                  'VALUES (?, ?, ?, ?, ?, ?, ?)',
                  (target, name, position, _text(record.get(id_field)), _text(record.get('uploaded_at')),
                   _deleted(record), _dump(record)))
        self._added += 1
        self.changed = True

    def append(self, target, name, record, id_field):
        """Add ``record`` as the newest of ``name``."""
        row = self._one('SELECT MAX(position) FROM records WHERE target = ? AND name = ?', (target, name))
        self._insert(target, name, 0 if row[0] is None else row[0] + 1, record, id_field)

    def insert_by_time(self, target, name, record, id_field):
        """Add ``record`` after the last record of ``name`` not uploaded later than it (the newest if none is)."""
        when = _text(record.get('uploaded_at'))
        if when is None:
            return self.append(target, name, record, id_field)
        # Walk back from the newest record over those uploaded later than ``record`` (usually none: a rebuild adds
        # the oldest first); they move up by one and it takes their place. The cost is the records walked over.
        position = None
        offset = 0
        while True:
            rows = self._run('SELECT position, uploaded_at FROM records WHERE target = ? AND name = ? '
                             'ORDER BY position DESC LIMIT 256 OFFSET ?', (target, name, offset))
            for row_position, uploaded_at in rows:
                if uploaded_at is None or uploaded_at <= when:
                    break
                position = row_position
            else:
                if len(rows) == 256:
                    offset += 256
                    continue
                break
            break
        if position is None:
            return self.append(target, name, record, id_field)
        self._run('UPDATE records SET position = position + 1 WHERE target = ? AND name = ? AND position >= ?',
                  (target, name, position))
        self._insert(target, name, position, record, id_field)
        return None

    def set_deleted(self, seq, record, deleted_at):
        record = dict(record, deleted_at=deleted_at)
        self._run('UPDATE records SET deleted_at = ?, record = ? WHERE seq = ?', (deleted_at, _dump(record), seq))
        self.changed = True

    # -- whole catalog ---------------------------------------------------------------------------------------

    def entries(self):
        """{target: {name: (shown record, records, deleted records)}} for the facts file, in one pass.

        The shown record is the newest that is not deleted, or the newest if all are (see catalog._entry).
        """
        summary = {}
        chosen = {}
        rows = self._run('SELECT target, name, seq, deleted_at FROM records ORDER BY target, name, position, seq')
        for target, name, seq, deleted_at in rows:
            key = (target, name)
            item = summary.get(key)
            if item is None:
                item = summary[key] = [None, None, 0, 0]  # newest live seq, newest seq, records, deleted
            item[1] = seq
            item[2] += 1
            if deleted_at is None:
                item[0] = seq
            else:
                item[3] += 1
        for (target, name), (live, newest, total, deleted) in summary.items():
            chosen[live if live is not None else newest] = (target, name, total, deleted)
        result = {}
        wanted = sorted(chosen)
        for start in range(0, len(wanted), 500):
            batch = wanted[start:start + 500]
            rows = self._run('SELECT seq, record FROM records WHERE seq IN (%s)' % ','.join('?' * len(batch)), batch)
            for seq, text in rows:
                target, name, total, deleted = chosen[seq]
                result.setdefault(target, {})[name] = (json.loads(text), total, deleted)
        return result
