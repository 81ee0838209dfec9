# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog's locks: a timeout that names the holder, no symlinks followed, one upload per name at a time."""

import fcntl
import json
import os
import socket
import threading

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import catalog_lock
from ansible_collections.coldvault.glacier.plugins.module_utils.catalog import CatalogError, LockTimeout

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'
NAME = '/srv/db.tar.gz'


def add(archive_id, name=NAME):
    return lambda data: catalog.record_archive(data, ARN, name, {'archive_id': archive_id})


def hold(path, owner='coldvault.glacier.upload'):
    """The catalog lock of ``path``, held by this process through its own open file (flock conflicts with it)."""
    return catalog_lock.FileLock(path + '.lock', 'test', owner=owner).acquire()


def test_a_held_catalog_lock_times_out_naming_the_file_and_its_holder(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    catalog.update(path, add('id1'))
    raw = open(path, 'rb').read()
    holder = hold(path)
    try:
        with pytest.raises(LockTimeout) as info:
            catalog.update(path, add('id2'), lock_timeout=0.2)
    finally:
        holder.release()
    message = str(info.value)
    assert 'waited 0.2 s for the catalog %s (lock file %s.lock)' % (path, path) in message
    assert 'held by pid %d on host %s (coldvault.glacier.upload) since 20' % (os.getpid(), socket.gethostname()) in message
    assert message.endswith('nothing was changed')
    assert open(path, 'rb').read() == raw
    # Released: the next writer gets it, and the holder's details are gone from the file.
    catalog.update(path, add('id2'), lock_timeout=0)
    assert open(path + '.lock').read() == ''


def test_the_holder_writes_who_it_is_into_the_lock_file(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    holder = hold(path, owner='coldvault.glacier.prune')
    try:
        written = json.loads(open(path + '.lock').read())
    finally:
        holder.release()
    assert written['pid'] == os.getpid() and written['host'] == socket.gethostname()
    assert written['module'] == 'coldvault.glacier.prune' and catalog.parse_time(written['since'])


def test_a_holder_that_says_nothing_is_named_so(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    fd = os.open(path + '.lock', os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as format-1 code (or another program) holds it
    try:
        with pytest.raises(LockTimeout, match='held by a process that did not say who it is'):
            catalog.update(path, add('id1'), lock_timeout=0)
    finally:
        os.close(fd)
    assert not os.path.exists(path)


def test_the_default_timeout_is_finite_and_options_are_checked():
    assert catalog.DEFAULT_LOCK_TIMEOUT == 60
    assert catalog.invalid_lock_timeout(-1) == 'lock_timeout: must not be negative, got -1'
    assert catalog.invalid_lock_timeout(0) is None and catalog.invalid_lock_timeout(None) is None

    class Module:
        params = {'lock_timeout': 5}
        _name = 'coldvault.glacier.upload'
    assert catalog.lock_options(Module()) == {'lock_timeout': 5, 'owner': 'coldvault.glacier.upload'}
    with pytest.raises(ValueError):
        catalog_lock.FileLock('/nonexistent', 'x', timeout=-1)


def test_a_planted_symlink_lock_is_refused_and_not_followed(tmp_path, monkeypatch):
    path = str(tmp_path / 'glacier.fact')
    target = tmp_path / 'elsewhere' / 'victim'
    target.parent.mkdir()
    os.symlink(str(target), path + '.lock')
    with pytest.raises(CatalogError, match='lock file %s.lock is not a regular file \\(a symbolic link\\)' % path):
        catalog.update(path, add('id1'))
    assert not target.exists() and not os.path.exists(path)
    # Also when the symlink appears between the check and the open: O_NOFOLLOW refuses it.
    real_lstat = os.lstat

    def planted_after_the_check(name, *args, **kwargs):
        if name == path + '.lock':
            raise FileNotFoundError(2, 'No such file or directory')
        return real_lstat(name, *args, **kwargs)

    monkeypatch.setattr(catalog_lock.os, 'lstat', planted_after_the_check)
    with pytest.raises(CatalogError, match='is a symbolic link; refusing to follow it'):
        catalog.update(path, add('id1'))
    monkeypatch.undo()
    assert not target.exists() and not os.path.exists(path)


@pytest.mark.parametrize('kind', ['directory', 'fifo', 'hardlink'])
def test_a_lock_path_that_is_not_a_plain_file_is_refused(tmp_path, kind):
    path = str(tmp_path / 'glacier.fact')
    lock = path + '.lock'
    if kind == 'directory':
        os.mkdir(lock)
    elif kind == 'fifo':
        os.mkfifo(lock)
    else:
        (tmp_path / 'precious').write_text('do not truncate me')
        os.link(str(tmp_path / 'precious'), lock)
    with pytest.raises(CatalogError, match='lock file %s' % lock):
        catalog.update(path, add('id1'))
    assert not os.path.exists(path)
    if kind == 'hardlink':
        assert (tmp_path / 'precious').read_text() == 'do not truncate me'


def test_a_name_lock_serialises_one_name_and_leaves_others_free(tmp_path):
    facts = str(tmp_path / 'glacier.fact')
    first = catalog.name_lock(facts, ARN, NAME, owner='coldvault.glacier.upload')
    try:
        with pytest.raises(LockTimeout) as info:
            catalog.name_lock(facts, ARN, NAME, lock_timeout=0.1)
        message = str(info.value)
        assert "another run uploading '/srv/db.tar.gz' to %s" % ARN in message
        assert 'held by pid %d' % os.getpid() in message and '(coldvault.glacier.upload)' in message
        # Another name, or the same name in another vault: free.
        catalog.name_lock(facts, ARN, '/srv/other', lock_timeout=0).release()
        catalog.name_lock(facts, ARN.replace('us-east-1', 'eu-west-1'), NAME, lock_timeout=0).release()
        locks = [n for n in os.listdir(str(tmp_path)) if n.startswith('.')]
        assert len(locks) == 1 and locks[0].startswith('.glacier.fact.') and locks[0].endswith('.lock')  # never *.fact
        assert json.loads((tmp_path / locks[0]).read_text())['name'] == NAME
    finally:
        first.release()
    assert os.listdir(str(tmp_path)) == ['glacier.fact.lock']  # released name locks do not pile up


def test_a_waiter_gets_the_name_lock_when_the_holder_releases_it(tmp_path):
    facts = str(tmp_path / 'glacier.fact')
    first = catalog.name_lock(facts, ARN, NAME)
    got = {}
    waiting = threading.Event()

    def wait_for_it():
        waiting.set()
        got['lock'] = catalog.name_lock(facts, ARN, NAME, lock_timeout=60)

    thread = threading.Thread(target=wait_for_it)
    thread.start()
    waiting.wait()
    first.release()  # unlinks the file it held: the waiter must lock the new file, not the unlinked one
    thread.join(60)
    assert 'lock' in got
    try:
        with pytest.raises(LockTimeout):
            catalog.name_lock(facts, ARN, NAME, lock_timeout=0)
    finally:
        got['lock'].release()
    catalog.name_lock(facts, ARN, NAME, lock_timeout=0).release()


def test_a_name_lock_is_only_given_when_the_catalog_can_be_written(tmp_path):
    # An upload takes its name lock before it sends anything: it must fail then, not after the upload.
    facts = str(tmp_path / 'glacier.fact')
    holder = hold(facts, owner='coldvault.glacier.inventory')
    try:
        with pytest.raises(LockTimeout, match='for the catalog %s .*coldvault.glacier.inventory' % facts):
            catalog.name_lock(facts, ARN, NAME, lock_timeout=0.1)
    finally:
        holder.release()
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith('.')]  # the name lock was let go
    os.unlink(facts + '.lock')
    os.symlink(str(tmp_path / 'victim'), facts + '.lock')
    with pytest.raises(CatalogError, match='symbolic link'):
        catalog.name_lock(facts, ARN, NAME)
    assert not os.path.exists(str(tmp_path / 'victim'))


def test_recording_an_uploaded_archive_waits_longer():
    class Module:
        params = {'lock_timeout': 5}
        _name = 'coldvault.glacier.upload'
    assert catalog.lock_options(Module(), record=True)['lock_timeout'] == catalog.RECORD_LOCK_TIMEOUT
    Module.params = {'lock_timeout': 3600}
    assert catalog.lock_options(Module(), record=True)['lock_timeout'] == 3600
