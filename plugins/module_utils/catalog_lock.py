# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Locks beside the catalog: the catalog's own (short, around each write) and one per (target, name) for uploads.

Both are ``flock`` locks on small files next to the facts file, waited for at most a timeout. The holder writes
who it is (pid, host, module, since when) into the file, so that a run that gives up can say who holds it. Lock
files are opened without following symbolic links, and only a regular file with one link is used: a planted
symlink or hard link is refused instead of being written through.
"""

import errno
import fcntl
import json
import os
import socket
import stat
import time

DEFAULT_TIMEOUT = 60
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)


class LockError(Exception):
    """A lock file cannot be used (not a regular file, cannot be opened); the message names it."""


class LockTimeout(LockError):
    """Another process held the lock for longer than the timeout; ``holder`` is what it wrote, or None."""

    def __init__(self, message, holder=None):
        super(LockTimeout, self).__init__(message)
        self.holder = holder


def describe_holder(holder):
    """'pid 123 on host web1 (coldvault.glacier.upload) since 2026-11-26T04:00:00Z', or a fallback."""
    if not isinstance(holder, dict) or not holder.get('pid'):
        return 'a process that did not say who it is (an older coldvault.glacier, or another program)'
    text = 'pid %s on host %s' % (holder.get('pid'), holder.get('host') or '?')
    if holder.get('module'):
        text += ' (%s)' % holder['module']
    if holder.get('since'):
        text += ' since %s' % holder['since']
    return text


def _open(path, mode):
    """An fd of the lock file ``path``, created with ``mode`` if missing; never through a symlink."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise LockError('cannot use the lock file %s: %s' % (path, exc.strerror or exc))
    if st is not None and not stat.S_ISREG(st.st_mode):
        # Checked before open(): opening a FIFO or a device can block or have side effects.
        raise LockError('the lock file %s is not a regular file (%s); refusing to use it. Remove it if nothing '
                        'of yours put it there' % (path, 'a symbolic link' if stat.S_ISLNK(st.st_mode) else 'a special file'))
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC | os.O_NONBLOCK, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LockError('the lock file %s is a symbolic link; refusing to follow it. Remove it if nothing of '
                            'yours put it there' % path)
        raise LockError('cannot open the lock file %s: %s' % (path, exc.strerror or exc))
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        raise LockError('the lock file %s is not a regular file with a single link; refusing to use it. Remove it '
                        'if nothing of yours put it there' % path)
    return fd


def _read_holder(fd):
    try:
        raw = os.pread(fd, 4096, 0)
        holder = json.loads(raw.decode('utf-8')) if raw.strip() else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _wait(fd, timeout, max_delay):
    """flock ``fd`` exclusively within ``timeout`` seconds (None: forever); False if it timed out."""
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay)


class FileLock:
    """An exclusive lock on ``path``; a context manager.

    ``removable`` locks are unlinked by their holder on release (so that one lock per name does not pile up
    files): a waiter that then gets the lock of the unlinked file sees that the path no longer names it, and
    tries again on the new file.
    """

    def __init__(self, path, what, timeout=DEFAULT_TIMEOUT, mode=0o600, owner=None, removable=False, max_delay=0.05,
                 details=None):
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
            raise ValueError('a lock timeout must be a number of seconds, not negative, got %r' % (timeout,))
        self.path = path
        self.what = what
        self.timeout = timeout
        self.mode = mode
        self.owner = owner
        self.removable = removable
        self.max_delay = max_delay
        self.details = details or {}
        self.fd = None

    def acquire(self):
        started = time.monotonic()
        while True:
            fd = _open(self.path, self.mode)
            try:
                left = None if self.timeout is None else max(0.0, self.timeout - (time.monotonic() - started))
                if not _wait(fd, left, self.max_delay):
                    holder = _read_holder(fd)
                    raise LockTimeout('waited %s s for %s (lock file %s), held by %s; nothing was changed'
                                      % (_seconds(self.timeout), self.what, self.path, describe_holder(holder)), holder)
                if self.removable and not self._still_named(fd):
                    os.close(fd)
                    fd = None
                    continue
            except BaseException:
                if fd is not None:
                    os.close(fd)
                raise
            self.fd = fd
            self._write_holder()
            return self

    def _still_named(self, fd):
        try:
            named = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (mine.st_dev, mine.st_ino)

    def _write_holder(self):
        if os.fstat(self.fd).st_uid != os.geteuid():
            return  # someone else's lock file (a shared catalog): lock it, but do not write into it
        holder = dict(self.details, pid=os.getpid(), host=socket.gethostname(), module=self.owner,
                      since=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        payload = (json.dumps(holder, sort_keys=True) + '\n').encode('utf-8')
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, payload, 0)
        except OSError:
            pass  # who holds it is a courtesy to waiters, not a condition of holding it

    def release(self):
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            if self.removable:
                try:
                    os.unlink(self.path)  # still held: nobody can lock this file and believe it is current
                except OSError:
                    pass
            elif os.fstat(fd).st_uid == os.geteuid():
                os.ftruncate(fd, 0)  # the next waiter that times out must not name this process
        except OSError:
            pass
        finally:
            os.close(fd)  # releases the lock

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def _seconds(value):
    return ('%g' % value) if isinstance(value, float) else str(value)
