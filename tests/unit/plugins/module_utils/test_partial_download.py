# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resumable temporary file of a download, with a fake backend: kill, resume, verify, clean up."""

import fcntl
import hashlib
import json
import os
import signal
import stat

import pytest
from botocore.utils import calculate_tree_hash

from ansible_collections.coldvault.glacier.plugins.module_utils import partial_download as pd
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import Stats, TransferError
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, TreeHasher

IDENTITY = 'glacier:arn:aws:glacier:us-east-1:123456789012:vaults/v:ARCHIVE-1'


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, amt=-1):
        chunk = self.data[self.pos:self.pos + amt]
        self.pos += len(chunk)
        return chunk


def tree_hash_of(data):
    return calculate_tree_hash(_Reader(data))


def raw_tree_hash(data):
    hasher = TreeHasher()
    for start in range(0, len(data), MIB):
        hasher.add_leaf(hashlib.sha256(data[start:start + MIB]).digest())
    return hasher.digest()


class Backend:
    """Writes ranges of ``data`` and returns their tree hash; ``fail_at`` (offset) raises, ``kill_after`` kills."""

    def __init__(self, data, fail_at=None, kill_after=None, half_then_fail=False):
        self.data = data
        self.fail_at = fail_at
        self.kill_after = kill_after
        self.half_then_fail = half_then_fail
        self.fetched = []

    def fetch(self, fd, offset, length, stop):
        if self.kill_after is not None and len(self.fetched) == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        chunk = self.data[offset:offset + length]
        if offset == self.fail_at:
            if self.half_then_fail:
                os.pwrite(fd, chunk[:length // 2], offset)
            raise TransferError('range at %d failed' % offset)
        os.pwrite(fd, chunk, offset)
        self.fetched.append(offset)
        return raw_tree_hash(chunk)


def run(dest, data, backend, range_size=MIB, identity=IDENTITY, expected='auto'):
    stats = Stats('download')
    with pd.PartialDownload(str(dest), identity, len(data), range_size) as part:
        digest = part.download(backend.fetch, 1, stats)
        part.finish(digest, {'catalog': tree_hash_of(data) if expected == 'auto' else expected})
    return digest, stats.as_dict(), part


def names(directory):
    return sorted(os.listdir(str(directory)))


def part_and_journal(dest):
    path = pd.part_path(str(dest), IDENTITY)
    return path, path + pd.JOURNAL_SUFFIX


def test_temporary_name_is_one_per_dest_and_object(tmp_path):
    dest = str(tmp_path / 'db.dump')
    path = pd.part_path(dest, IDENTITY)
    assert path == pd.part_path(dest, IDENTITY)
    assert os.path.basename(path) == '.db.dump.%s.cvg-part' % hashlib.sha256(IDENTITY.encode()).hexdigest()[:16]
    assert pd.part_path(dest, IDENTITY + 'x') != path
    assert pd.part_path(str(tmp_path / 'other'), IDENTITY) != path


def test_a_failed_download_resumes_with_only_the_missing_ranges(tmp_path):
    data = os.urandom(6 * MIB + 5)
    dest = tmp_path / 'out.bin'
    with pytest.raises(TransferError, match='range at 3145728 failed'):
        run(dest, data, Backend(data, fail_at=3 * MIB, half_then_fail=True))
    part, journal = part_and_journal(dest)
    assert names(tmp_path) == sorted(os.path.basename(p) for p in (part, journal))
    assert stat.S_IMODE(os.stat(part).st_mode) == 0o600 and stat.S_IMODE(os.stat(journal).st_mode) == 0o600
    header, records = pd.read_journal(journal)
    assert header['identity'] == IDENTITY and header['size'] == len(data) and header['range_size'] == MIB
    assert sorted(records) == [0, MIB, 2 * MIB]  # the half-written range is not in the journal

    backend = Backend(data)
    digest, stats, dummy = run(dest, data, backend)
    assert backend.fetched == [3 * MIB, 4 * MIB, 5 * MIB, 6 * MIB]
    assert dest.read_bytes() == data and digest == tree_hash_of(data)
    assert stats['bytes_resumed'] == 3 * MIB and stats['ranges_resumed'] == 3
    assert names(tmp_path) == ['out.bin']


def test_a_download_killed_with_sigkill_resumes(tmp_path):
    data = os.urandom(8 * MIB)
    dest = tmp_path / 'out.bin'
    child = os.fork()
    if child == 0:  # pragma: no cover - the child is killed in the middle of the download
        try:
            run(dest, data, Backend(data, kill_after=4))
        finally:
            os._exit(3)
    dummy, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert not dest.exists()

    backend = Backend(data)
    digest, stats, part = run(dest, data, backend)
    assert part.resumed and stats['ranges_resumed'] == 4
    assert backend.fetched == [4 * MIB, 5 * MIB, 6 * MIB, 7 * MIB]
    assert dest.read_bytes() == data
    assert names(tmp_path) == ['out.bin']


def test_resumed_ranges_are_read_back_from_disk_not_trusted(tmp_path):
    data = os.urandom(4 * MIB)
    dest = tmp_path / 'out.bin'
    with pytest.raises(TransferError):
        run(dest, data, Backend(data, fail_at=3 * MIB))
    part, dummy = part_and_journal(dest)
    with open(part, 'r+b') as fh:  # damage the second range on disk
        fh.seek(MIB + 10)
        fh.write(bytes([data[MIB + 10] ^ 0xFF]))
    backend = Backend(data)
    dummy, stats, dummy = run(dest, data, backend)
    assert backend.fetched == [MIB, 3 * MIB]
    assert stats['ranges_resumed'] == 2
    assert dest.read_bytes() == data


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path):
    data = os.urandom(4 * MIB)
    dest = tmp_path / 'out.bin'
    with pytest.raises(TransferError):
        run(dest, data, Backend(data, fail_at=3 * MIB))
    dummy, journal = part_and_journal(dest)
    with open(journal, 'rb') as fh:
        content = fh.read()
    with open(journal, 'wb') as fh:
        fh.write(content[:-20])  # the last record (range 2) cut short
    backend = Backend(data)
    run(dest, data, backend)
    assert backend.fetched == [2 * MIB, 3 * MIB]
    assert dest.read_bytes() == data


def test_the_recorded_range_size_wins(tmp_path):
    data = os.urandom(8 * MIB)
    dest = tmp_path / 'out.bin'
    with pytest.raises(TransferError):
        run(dest, data, Backend(data, fail_at=4 * MIB), range_size=2 * MIB)
    backend = Backend(data)
    dummy, stats, part = run(dest, data, backend, range_size=MIB)
    assert part.range_size == 2 * MIB
    assert backend.fetched == [4 * MIB, 6 * MIB] and stats['ranges_resumed'] == 2


@pytest.mark.parametrize('damage, reason', [
    (lambda journal, part: open(journal, 'wb').write(b'not json\n'), 'journal is missing or unreadable'),
    (lambda journal, part: os.unlink(journal), 'journal is missing or unreadable'),
    (lambda journal, part: os.truncate(part, 5), 'of another size'),
    (lambda journal, part: _rewrite_header(journal, identity='glacier:other'), 'of another object (glacier:other)'),
    (lambda journal, part: _rewrite_header(journal, size=1), 'of another size'),
    (lambda journal, part: _rewrite_header(journal, range_size=3 * MIB), 'invalid range size'),
])
def test_a_temporary_file_that_does_not_match_is_started_afresh(tmp_path, damage, reason):
    data = os.urandom(4 * MIB)
    dest = tmp_path / 'out.bin'
    with pytest.raises(TransferError):
        run(dest, data, Backend(data, fail_at=3 * MIB))
    part, journal = part_and_journal(dest)
    damage(journal, part)
    backend = Backend(data)
    dummy, stats, result = run(dest, data, backend)
    assert not result.resumed and reason in result.restarted
    assert backend.fetched == [0, MIB, 2 * MIB, 3 * MIB] and stats['ranges_resumed'] == 0
    assert dest.read_bytes() == data
    assert names(tmp_path) == ['out.bin']


def _rewrite_header(journal, **changes):
    with open(journal) as fh:
        lines = fh.read().split('\n')
    header = json.loads(lines[0])
    header.update(changes)
    with open(journal, 'w') as fh:
        fh.write('\n'.join([json.dumps(header)] + lines[1:]))


def test_leftovers_of_other_archives_and_earlier_versions_are_removed(tmp_path):
    data = os.urandom(MIB)
    dest = tmp_path / 'out.bin'
    stale = ['.out.bin.0a1b2c3d4e5f.cvg-part', '.out.bin.%s.cvg-part' % ('ab' * 8),
             '.out.bin.%s.cvg-part.jsonl' % ('ab' * 8), '.out.bin.%s.cvg-part.jsonl' % ('cd' * 8)]
    untouched = ['.out.bin.other.0a1b2c3d4e5f.cvg-part', '.other.0a1b2c3d4e5f.cvg-part', 'out.bin.cvg-part', 'keep']
    for name in stale + untouched:
        (tmp_path / name).write_bytes(b'x')
    held = tmp_path / ('.out.bin.%s.cvg-part' % ('ef' * 8))  # another run is downloading into this one
    held.write_bytes(b'x')
    with open(str(held), 'rb') as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        dummy, dummy, part = run(dest, data, Backend(data))
    assert sorted(os.path.basename(p) for p in part.removed) == sorted(stale)
    assert names(tmp_path) == sorted(untouched + ['out.bin', held.name])


def test_two_runs_never_share_the_temporary_file(tmp_path):
    data = os.urandom(2 * MIB)
    dest = tmp_path / 'out.bin'
    with pd.PartialDownload(str(dest), IDENTITY, len(data), MIB):
        with pytest.raises(pd.PartialBusy, match='another run is downloading the same archive to .*out.bin'):
            run(dest, data, Backend(data))
    run(dest, data, Backend(data))
    assert dest.read_bytes() == data


def test_a_symlink_under_the_temporary_name_is_not_followed(tmp_path):
    data = os.urandom(MIB)
    dest = tmp_path / 'out.bin'
    target = tmp_path / 'precious'
    target.write_bytes(b'precious')
    part, journal = part_and_journal(dest)
    os.symlink(str(target), part)
    os.symlink(str(target), journal)
    run(dest, data, Backend(data))
    assert target.read_bytes() == b'precious'
    assert dest.read_bytes() == data and names(tmp_path) == ['out.bin', 'precious']


def test_a_wrong_whole_hash_discards_the_temporary_file(tmp_path):
    data = os.urandom(2 * MIB)
    dest = tmp_path / 'out.bin'
    with pytest.raises(TransferError, match='the catalog has ' + 'ab' * 32):
        run(dest, data, Backend(data), expected='ab' * 32)
    assert names(tmp_path) == []


def test_a_failure_before_any_verified_range_leaves_nothing(tmp_path):
    data = os.urandom(2 * MIB)
    with pytest.raises(TransferError):
        run(tmp_path / 'out.bin', data, Backend(data, fail_at=0))
    assert names(tmp_path) == []


def test_remove_leftovers_when_dest_is_already_right(tmp_path):
    dest = tmp_path / 'out.bin'
    (tmp_path / '.out.bin.0a1b2c3d4e5f.cvg-part').write_bytes(b'x')
    assert [os.path.basename(p) for p in pd.remove_leftovers(str(dest))] == ['.out.bin.0a1b2c3d4e5f.cvg-part']
    assert names(tmp_path) == []
