# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Resumable, verified downloads into one temporary file per (destination, object), for every backend.

A download of an object (a vault archive; later an S3 object version) to ``dest`` lands in
``.NAME.<id>.cvg-part`` next to it, created 0600, where ``<id>`` is the start of the SHA-256 of the object's
identity: a rerun for the same object and dest finds the same file. Beside it, the journal
``.NAME.<id>.cvg-part.jsonl`` says which ranges already hold verified bytes: a header line (identity, size, range
size), then one line per range, appended once the range's bytes were checked by the backend (against the tree hash
Glacier sends with it) and are on disk (fdatasync). A killed or failed run keeps both; the next one fetches only
the ranges the journal lacks, so a restore killed at 90 % sends the last 10 % again, not everything.

Nothing in the journal is trusted blindly: a recorded range is read back from disk and its tree hash must equal
the recorded one, or it is fetched again. The object's tree hash is combined from the range hashes, so it is the
hash of the bytes in the file; the caller's expected hashes must match it before the file is moved onto dest.

Why a journal of appended lines rather than a JSON document rewritten after each range: the cost per range stays
constant (a 500 GiB archive in 1 MiB ranges has half a million), and a crash can only cut the last line short,
which is ignored (that range is fetched again). Why next to the file rather than in the catalog: the journal is
written once per range from several threads, and it must disappear with the file it describes.

The temporary file is locked (flock) while a run uses it, so two runs for the same dest never write it at once;
temporary files of other objects for the same dest, journals without their file, and the randomly named files of
earlier versions are removed unless another run holds them.
"""

import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import threading

from ansible_collections.coldvault.glacier.plugins.module_utils.files import fsync_dir, remove_quietly
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import TransferError, plan_ranges, run_parallel
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, TreeHasher, tree_hash

PART_SUFFIX = '.cvg-part'
JOURNAL_SUFFIX = '.jsonl'
FORMAT = 'coldvault.glacier/partial-download'
VERSION = 1
ID_DIGITS = 16

_OPEN_FLAGS = os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)
_fdatasync = getattr(os, 'fdatasync', os.fsync)


class PartialError(TransferError):
    """The temporary file cannot be used; the message is for the user."""


class PartialBusy(PartialError):
    """Another run holds the temporary file."""


def part_path(dest, identity):
    """The temporary file of the object ``identity`` downloaded to ``dest``."""
    directory, base = os.path.split(os.path.abspath(dest))
    digest = hashlib.sha256(identity.encode('utf-8')).hexdigest()[:ID_DIGITS]
    return os.path.join(directory, '.%s.%s%s' % (base, digest, PART_SUFFIX))


def _names_of(dest):
    """Pattern of the temporary files (and journals) of ``dest``: this version's and the random ones of before."""
    base = os.path.basename(os.path.abspath(dest))
    return re.compile(r'\A\.%s\.[0-9a-f]+%s(%s)?\Z'
                      % (re.escape(base), re.escape(PART_SUFFIX), re.escape(JOURNAL_SUFFIX)))


def _try_lock(fd):
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise


def remove_leftovers(dest, keep=None):
    """Remove the temporary files of ``dest`` (and journals) that no running download holds; return their paths.

    ``keep`` is the temporary file the caller uses (kept, with its journal).
    """
    directory = os.path.dirname(os.path.abspath(dest))
    pattern = _names_of(dest)
    try:
        names = sorted(name for name in os.listdir(directory) if pattern.match(name))
    except OSError:
        return []
    keep = {keep, keep + JOURNAL_SUFFIX} if keep else set()
    removed = []
    parts = [name for name in names if name.endswith(PART_SUFFIX)]
    for name in parts:
        path = os.path.join(directory, name)
        if path in keep:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
        except OSError as e:
            if e.errno == errno.ELOOP:  # a symlink under our name: not ours, but in the way
                remove_quietly(path)
                removed.append(path)
            continue
        try:
            if not _try_lock(fd):
                continue  # another run is downloading into it
            for victim in (path, path + JOURNAL_SUFFIX):
                if os.path.lexists(victim):
                    remove_quietly(victim)
                    removed.append(victim)
        finally:
            os.close(fd)
    for name in names:
        path = os.path.join(directory, name)
        if name.endswith(JOURNAL_SUFFIX) and path not in keep and path not in removed \
                and not os.path.lexists(path[:-len(JOURNAL_SUFFIX)]):
            remove_quietly(path)  # a journal whose file is gone (moved into place, or removed)
            removed.append(path)
    return removed


def read_journal(path):
    """(header, {offset: (length, raw digest)}) of a journal, or (None, {}) when it is missing or unreadable.

    Lines that cannot be parsed (the last one, cut short by a crash) are skipped: their ranges are fetched again.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
    except OSError:
        return None, {}
    try:
        with os.fdopen(fd, 'rb') as fh:
            lines = fh.read().split(b'\n')
    except OSError:
        return None, {}
    try:
        header = json.loads(lines[0].decode('utf-8'))
    except ValueError:
        return None, {}
    if not isinstance(header, dict) or header.get('format') != FORMAT or header.get('version') != VERSION:
        return None, {}
    records = {}
    for line in lines[1:]:
        try:
            record = json.loads(line.decode('utf-8'))
            records[int(record['offset'])] = (int(record['length']), bytes.fromhex(record['tree_hash']))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return header, records


class PartialDownload:
    """The temporary file of one download, resumed from its journal when it matches the object.

    Use as a context manager: on leaving without finish(), the file and journal stay for the next run (unless
    no range was ever verified), and the lock is released.
    """

    def __init__(self, dest, identity, size, range_size):
        self.dest = os.path.abspath(dest)
        self.identity = identity
        self.size = size
        self.range_size = range_size
        self.path = part_path(dest, identity)
        self.journal_path = self.path + JOURNAL_SUFFIX
        self.recorded = {}  # offset -> (length, raw digest), from the journal: not verified yet
        self.resumed = False  # whether a matching file and journal were found
        self.removed = []  # leftovers of dest removed when opening
        self.restarted = None  # why an existing file was started afresh instead of resumed
        self.fd = None
        self._journal_fd = None
        self._lock = threading.Lock()
        self._finished = False

    # -- opening -------------------------------------------------------------------------------------------------
    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def open(self):
        self.fd = self._open_locked()
        try:
            self.removed = remove_leftovers(self.dest, keep=self.path)
            header, records = read_journal(self.journal_path)
            if header is not None:
                self.restarted = self._mismatch(header)
            elif os.fstat(self.fd).st_size:
                self.restarted = 'its journal is missing or unreadable'
            if header is not None and self.restarted is None:
                self.range_size = header['range_size']  # the ranges recorded are of this size
                self.recorded = records
                self.resumed = True
            else:
                self._start_afresh()
            self._journal_fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | _OPEN_FLAGS)
        except BaseException:
            self.close()
            raise

    def _open_locked(self):
        """The temporary file, open and locked; the lock is on the file the name still points to."""
        for dummy in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _OPEN_FLAGS, 0o600)
            except OSError as e:
                if e.errno != errno.ELOOP:
                    raise
                remove_quietly(self.path)  # a symlink planted under our name is never followed
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise PartialError('%s is not a regular file; remove it' % self.path)
                if not _try_lock(fd):
                    raise PartialBusy('another run is downloading the same archive to %s (it holds %s)'
                                      % (self.dest, self.path))
                try:
                    now = os.stat(self.path, follow_symlinks=False)
                except FileNotFoundError:
                    now = None
                if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                    os.fchmod(fd, 0o600)  # whatever the umask or an earlier run did: never readable by others
                    return fd
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # removed or replaced between open and lock: open the new one
        raise PartialError('%s keeps changing while it is opened' % self.path)

    def _mismatch(self, header):
        """None when the journal ``header`` describes this download, else why the file is started afresh."""
        if header.get('identity') != self.identity:
            return 'the journal is of another object (%s)' % header.get('identity')
        if header.get('size') != self.size or os.fstat(self.fd).st_size != self.size:
            return 'the journal or the file is of another size than %d bytes' % self.size
        range_size = header.get('range_size')
        try:
            plan_ranges(self.size, range_size)
        except (TypeError, ValueError):
            return 'the journal has an invalid range size %r' % (range_size,)
        return None

    def _start_afresh(self):
        # The journal first: once it holds only the header, no stale record can vouch for the old bytes.
        remove_quietly(self.journal_path)
        header = {'format': FORMAT, 'version': VERSION, 'identity': self.identity, 'size': self.size,
                  'range_size': self.range_size}
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS, 0o600)
        try:
            _write_all(fd, (json.dumps(header, sort_keys=True) + '\n').encode('utf-8'))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.ftruncate(self.fd, 0)
        os.ftruncate(self.fd, self.size)  # sparse: ranges land at their offsets in any order
        self.recorded = {}
        fsync_dir(os.path.dirname(self.path))

    # -- downloading ---------------------------------------------------------------------------------------------
    def download(self, fetch, concurrency, stats, thread_name='range'):
        """Bring every range into the file; return the object's tree hash (hex) over the bytes in the file.

        ``fetch(fd, offset, length, stop)`` writes one range at its offset, checks it, and returns its raw tree
        hash. Ranges from the journal whose bytes on disk still have the recorded hash are not fetched.
        ``stats.resumed(nbytes)`` counts those.
        """
        ranges = plan_ranges(self.size, self.range_size)
        digests = [None] * len(ranges)

        def work(index, stop, offset, length):
            recorded = self.recorded.get(offset)
            if recorded is not None and recorded[0] == length and self._hash_on_disk(offset, length) == recorded[1]:
                digests[index] = recorded[1]
                stats.resumed(length)
            else:
                digests[index] = fetch(self.fd, offset, length, stop)
                self._record(offset, length, digests[index])

        run_parallel(work, ranges, concurrency, thread_name)
        return tree_hash(digests).hex()

    def _hash_on_disk(self, offset, length):
        hasher = TreeHasher()
        done = 0
        while done < length:
            want = min(MIB, length - done)
            block = os.pread(self.fd, want, offset + done)
            if len(block) != want:
                return None  # the file is shorter than it should be: fetch the range again
            hasher.add_leaf(hashlib.sha256(block).digest())
            done += want
        return hasher.digest()

    def _record(self, offset, length, digest):
        _fdatasync(self.fd)  # the bytes are on disk before the journal vouches for them
        line = json.dumps({'offset': offset, 'length': length, 'tree_hash': digest.hex()}, sort_keys=True) + '\n'
        with self._lock:
            _write_all(self._journal_fd, line.encode('utf-8'))

    # -- finishing -----------------------------------------------------------------------------------------------
    def finish(self, object_hash, expected=None, atomic_move=None):
        """Move the file onto dest once ``object_hash`` matches every hash of ``expected`` (source -> hex).

        A mismatch removes the file and journal: each range matched, the whole does not, so no part is to be kept.
        """
        for source, value in sorted((expected or {}).items()):
            if value and value.lower() != object_hash:
                self.discard()
                raise TransferError('tree hash mismatch for the archive: the %s has %s, the bytes received hash to %s'
                                    % (source, value, object_hash))
        os.fsync(self.fd)
        (atomic_move or os.replace)(self.path, self.dest)
        self._finished = True
        remove_quietly(self.journal_path)
        fsync_dir(os.path.dirname(self.dest))

    def discard(self):
        remove_quietly(self.path)
        remove_quietly(self.journal_path)
        self._finished = True

    def close(self):
        """Release the file. One that holds no verified range is not worth keeping."""
        if self.fd is not None and not self._finished and not read_journal(self.journal_path)[1]:
            self.discard()
        for fd in (self._journal_fd, self.fd):
            if fd is not None:
                os.close(fd)  # releases the lock
        self._journal_fd = self.fd = None


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
