# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash safety and concurrent writers: kill -9 at random points of writes, and eight writers at once.

After each kill the facts file and the history must both be valid, and every id whose write had returned must be
in the history, once. The kill points are random on purpose; no outcome of the race may fail the test.
"""

import json
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/fixture-backups'
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'format1.fact')
TRIALS = 40

# Records archives as fast as it can, printing each id once update() has returned (the id is then promised kept).
WRITER = r'''
import os, sys
from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
path, arn, prefix = sys.argv[1:4]
i = 0
while True:
    archive_id = '%s-%d' % (prefix, i)
    def mutate(data, archive_id=archive_id, i=i):
        name = 'name-%d' % (i % 3)
        catalog.record_archive(data, arn, name, {'archive_id': archive_id, 'size': i, 'uploaded_at': catalog.now()})
        catalog.set_upload(data, arn, name, {'upload_id': 'u-' + archive_id})
        if i % 4 == 3:
            catalog.mark_deleted(data, arn, '%s-%d' % (prefix, i - 2), name='name-%d' % ((i - 2) % 3))
    catalog.update(path, mutate)
    sys.stdout.write(archive_id + '\n')
    sys.stdout.flush()
    i += 1
'''


def environment():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))


def check_valid(path):
    """Both files valid; returns the history's ids by name after a write has put the facts file in step."""
    with open(path, 'rb') as fileobj:
        document = json.loads(fileobj.read().decode('utf-8'))  # never a half-written facts file
    assert document['format'] in (1, 2)
    history = os.path.join(os.path.dirname(path), 'glacier.history.sqlite')
    if os.path.exists(history):
        db = sqlite3.connect(history)  # rolls back a hot journal left by the kill
        try:
            assert db.execute('PRAGMA integrity_check').fetchall() == [('ok',)]
        finally:
            db.close()
    data = catalog.read(path)
    catalog.update(path, lambda d: None)  # any write brings a trailing facts file in step
    assert catalog.read(path) == json.loads(open(path).read())
    ids = {}
    for name, record in catalog.all_records(data, ARN):
        ids.setdefault(name, []).append(record['archive_id'])
    return data, ids


def test_kill_9_during_writes_loses_no_id_and_leaves_both_files_valid(tmp_path):
    rng = random.Random(os.getpid())
    path = str(tmp_path / 'glacier.fact')
    promised = []
    for trial in range(TRIALS):
        migrating = trial % 4 == 0
        if migrating:  # start again from a format-1 file: kills during the migration too
            for name in os.listdir(str(tmp_path)):
                os.unlink(str(tmp_path / name))
            shutil.copy(FIXTURE, path)
            promised = [r['archive_id'] for e in json.load(open(FIXTURE))['vaults'][ARN]['archives'].values()
                        for r in e['history']]
        writer = subprocess.Popen([sys.executable, '-c', WRITER, path, ARN, 't%d' % trial], stdout=subprocess.PIPE,
                                  env=environment(), text=True)
        try:
            # Let it complete 0 to 3 writes (none when it migrates: about its start-up time instead), then kill it
            # at a random moment of the next ones: in a transaction, between commit and rename, while renaming.
            if migrating:
                time.sleep(0.1)
            else:
                for dummy in range(rng.randint(0, 3)):
                    promised.append(writer.stdout.readline().strip())
            time.sleep(rng.uniform(0, 0.05))
        finally:
            os.kill(writer.pid, signal.SIGKILL)
            rest, dummy = writer.communicate()
        promised.extend(line for line in rest.split('\n') if line)  # written out before the kill: also promised
        assert writer.returncode == -signal.SIGKILL
        data, ids = check_valid(path)
        recorded = [archive_id for each in ids.values() for archive_id in each]
        assert len(recorded) == len(set(recorded)), 'an id is in the history twice'
        missing = set(promised) - set(recorded)
        assert not missing, 'trial %d lost %s' % (trial, sorted(missing))
        # The facts entries show what the history says.
        for name, entry in data['vaults'][ARN]['archives'].items():
            records = catalog.history(data, ARN, name)
            live = [r for r in records if not r.get('deleted_at')]
            assert entry['archive_id'] == (live or records)[-1]['archive_id']
            assert (entry['versions'], entry['deleted_versions']) == (len(records), len(records) - len(live))
        # A temporary facts file the killed writer left is gone after the next write. (SQLite leaves a journal
        # that is not hot, which nothing reads, for its next transaction to reuse.)
        assert sorted(n for n in os.listdir(str(tmp_path)) if not n.endswith(('.bak', '-journal'))) == [
            'glacier.fact', 'glacier.fact.lock', 'glacier.history.sqlite']


def _writer(path, index, barrier):
    barrier.wait()
    for round_ in range(5):
        catalog.update(path, lambda d: catalog.record_archive(d, ARN, '/srv/file%d' % index, {'archive_id': 'id%d-%d' % (index, round_)}))
        catalog.update(path, lambda d: catalog.record_archive(d, ARN, '/shared', {'archive_id': 'again%d-%d' % (index, round_)}))
        catalog.update(path, lambda d: catalog.set_upload(d, ARN, '/up%d' % index, {'upload_id': 'u%d-%d' % (index, round_)}))


def test_eight_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    ctx = multiprocessing.get_context('fork')
    barrier = ctx.Barrier(8)
    procs = [ctx.Process(target=_writer, args=(path, i, barrier)) for i in range(8)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * 8
    data = catalog.read(path)
    target = data['vaults'][ARN]
    assert sorted(target['archives']) == sorted(['/shared'] + ['/srv/file%d' % i for i in range(8)])
    for i in range(8):
        assert [r['archive_id'] for r in catalog.history(data, ARN, '/srv/file%d' % i)] == ['id%d-%d' % (i, r) for r in range(5)]
        assert target['archives']['/srv/file%d' % i]['archive_id'] == 'id%d-4' % i
        assert target['uploads']['/up%d' % i] == {'upload_id': 'u%d-4' % i}
    shared = [r['archive_id'] for r in catalog.history(data, ARN, '/shared')]
    assert sorted(shared) == sorted('again%d-%d' % (i, r) for i in range(8) for r in range(5))
    for i in range(8):  # each writer's records in its own order
        mine = [a for a in shared if a.startswith('again%d-' % i)]
        assert mine == ['again%d-%d' % (i, r) for r in range(5)]
    assert data['history']['records'] == 80 and data['history']['generation'] == 120
    assert sorted(os.listdir(str(tmp_path))) == ['glacier.fact', 'glacier.fact.lock', 'glacier.history.sqlite']
