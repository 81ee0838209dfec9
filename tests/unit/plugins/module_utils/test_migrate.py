# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldvault.glacier.migrate's run logic against a fake vault and the strict fake S3 of the s3 tests."""

import datetime
import hashlib
import itertools
import os
import threading

import pytest
from botocore.utils import calculate_tree_hash

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import migrate
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import BlockBody
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB
from ansible_collections.coldvault.glacier.tests.unit.plugins.module_utils.s3.conftest import FakeS3, client_error

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/v'
BUCKET_ARN = 'arn:aws:s3:::bkt'
PART = MIB  # the fixture makes the module plan 1 MiB parts, so the tests move little data


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def read(self, amt=-1):
        amt = len(self.data) - self.pos if amt is None or amt < 0 else amt
        chunk = self.data[self.pos:self.pos + amt]
        self.pos += len(chunk)
        return chunk


_TREES = {}


def tree_of(data):
    key = hashlib.sha256(data).digest()
    if key not in _TREES:
        _TREES[key] = calculate_tree_hash(_Reader(data))
    return _TREES[key]


class Body(_Reader):
    def read(self, amt=-1):
        return super().read(min(amt, 300000) if amt and amt > 0 else amt)  # short reads, as sockets give

    def close(self):
        pass


class FakeGlacier:
    """A vault: jobs complete when ``complete()`` is called; ``corrupt`` ranges get their first byte flipped."""

    def __init__(self, archives):
        self.archives = dict(archives)  # id -> bytes
        self.jobs = {}
        self.calls = []
        self.corrupt = []  # ranges whose next answer is damaged (the tree hash header stays the true one)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.meta = type('Meta', (), {'region_name': 'us-east-1'})()

    def count(self, operation):
        return sum(1 for op, dummy in self.calls if op == operation)

    def _call(self, operation, **kwargs):
        with self._lock:
            self.calls.append((operation, kwargs))

    def describe_vault(self, vaultName):
        self._call('DescribeVault')
        return {'VaultARN': ARN, 'VaultName': vaultName}

    def initiate_job(self, vaultName, jobParameters):
        self._call('InitiateJob', **jobParameters)
        job_id = 'job%d' % next(self._ids)
        self.jobs[job_id] = {'archive_id': jobParameters['ArchiveId'], 'tier': jobParameters['Tier'], 'done': False}
        return {'jobId': job_id}

    def complete(self):
        for job in self.jobs.values():
            job['done'] = True

    def describe_job(self, vaultName, jobId):
        self._call('DescribeJob', jobId=jobId)
        job = self.jobs.get(jobId)
        if job is None:
            raise client_error('ResourceNotFoundException', 404, operation='DescribeJob')
        data = self.archives[job['archive_id']]
        return {'JobId': jobId, 'Action': 'ArchiveRetrieval', 'ArchiveId': job['archive_id'], 'Tier': job['tier'],
                'StatusCode': 'Succeeded' if job['done'] else 'InProgress', 'ArchiveSizeInBytes': len(data),
                'ArchiveSHA256TreeHash': tree_of(data), 'SHA256TreeHash': tree_of(data) if job['done'] else None,
                'RetrievalByteRange': '0-%d' % (len(data) - 1)}

    def get_job_output(self, vaultName, jobId, range):  # pylint: disable=redefined-builtin
        self._call('GetJobOutput', range=range)
        data = self.archives[self.jobs[jobId]['archive_id']]
        first, last = (int(x) for x in range[len('bytes='):].split('-'))
        chunk = data[first:last + 1]
        checksum = tree_of(chunk)
        with self._lock:
            if range in self.corrupt:
                self.corrupt.remove(range)
                chunk = bytes([chunk[0] ^ 1]) + chunk[1:]
        return {'body': Body(chunk), 'checksum': checksum}

    def delete_archive(self, vaultName, archiveId):
        self._call('DeleteArchive', archiveId=archiveId)
        self.archives.pop(archiveId)


class Bucket(FakeS3):
    def head_bucket(self, Bucket):
        self._call('HeadBucket', {'Bucket': Bucket})
        return {'BucketRegion': 'us-east-1'}


class Failed(Exception):
    def __init__(self, kwargs):
        super().__init__(kwargs.get('msg'))
        self.kwargs = kwargs


class FakeModule:
    def __init__(self, glacier, s3, check_mode=False, **params):
        self.glacier, self.s3 = glacier, s3
        self.check_mode = check_mode
        self.params = dict(vault='v', bucket='bkt', prefix='', storage_class='DEEP_ARCHIVE', names=None, versions='all',
                           tier='Bulk', max_jobs=None, concurrency=2, part_size=None, delete_source=False,
                           allow_early_deletion=False, wait=False, wait_timeout=100, poll_interval=5,
                           facts_file_mode='0600', endpoint_url=None)
        self.params.update(params)
        self.warnings = []

    def client(self, service, config=None):
        return self.glacier if service == 'glacier' else self.s3

    def fail_json(self, **kwargs):
        raise Failed(kwargs)

    def fail_json_aws(self, exc, msg=None, **kwargs):
        raise Failed(dict(kwargs, msg='%s: %s' % (msg, exc)))

    def warn(self, text):
        self.warnings.append(text)

    @staticmethod
    def atomic_move(src, dest):
        os.replace(src, dest)


def days_ago(days):
    return (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)).strftime('%Y-%m-%dT%H:%M:%SZ')


@pytest.fixture
def vault(tmp_path, monkeypatch):
    """(glacier, s3, facts_file, {name: [(archive id, bytes)]}): three names, 'db' with two versions."""
    real = migrate.s3_multipart.plan_part_size
    monkeypatch.setattr(migrate.s3_multipart, 'plan_part_size', lambda size, mib=None: PART if mib is None else real(size, mib))
    contents = {'db': [os.urandom(PART + 1), os.urandom(3 * PART + 12345)], 'etc': [os.urandom(1000)],
                'big': [os.urandom(2 * PART)]}
    glacier = FakeGlacier({})
    facts = str(tmp_path / 'facts.d' / 'glacier.fact')
    archives = {}

    def add(data):
        for name, versions in contents.items():
            for age, blob in zip((200, 10), versions):
                archive_id = 'A-%s-%d' % (name, age)
                glacier.archives[archive_id] = blob
                archives.setdefault(name, []).append((archive_id, blob))
                catalog.record_archive(data, ARN, name, {
                    'archive_id': archive_id, 'tree_hash': tree_of(blob), 'size': len(blob), 'mtime': 1700000000,
                    'uploaded_at': days_ago(age), 'description': 'cvg1 test %s' % name, 'part_size': None})
    catalog.update(facts, add)
    s3 = Bucket(page_size=2)
    return glacier, s3, facts, archives


def run(glacier, s3, facts, **params):
    return migrate.Migrate(FakeModule(glacier, s3, facts_file=facts, **params), sleep=lambda s: None).run()


def object_bytes(s3, result, name):
    return [s3.objects[a['key']]['data'] for a in result['archives'] if a['name'] == name]


def test_select_latest_all_and_unknown_names(vault):
    dummy, dummy, facts, archives = vault
    data = catalog.read(facts)
    assert [(n, r['archive_id']) for n, r in migrate.select(data, ARN, None, 'latest')] == [
        ('big', 'A-big-200'), ('db', 'A-db-10'), ('etc', 'A-etc-200')]
    assert [r['archive_id'] for n, r in migrate.select(data, ARN, ['db'], 'all')] == ['A-db-200', 'A-db-10']
    with pytest.raises(ValueError, match=r"names: .*'nope'"):
        migrate.select(data, ARN, ['db', 'nope'], 'all')
    # An archive copied and deleted since stays the latest one: a rerun does not move on to the one before it.
    catalog.mark_deleted(data, ARN, 'A-db-10', fields={'migrated_to': {'key': 'k'}})
    assert [r['archive_id'] for n, r in migrate.select(data, ARN, ['db'], 'latest')] == ['A-db-10']
    catalog.mark_deleted(data, ARN, 'A-etc-200')
    assert migrate.select(data, ARN, ['etc'], 'all') == []
    assert catalog.find_archive(data, ARN, 'A-db-10')[1]['migrated_to'] == {'key': 'k'}


def test_wait_false_reports_pending_then_copies_everything_byte_for_byte(vault):
    glacier, s3, facts, archives = vault
    first = run(glacier, s3, facts)
    assert first['counts'] == {'selected': 4, 'done': 0, 'migrated': 0, 'pending': 4, 'waiting': 0, 'failed': 0,
                               'planned': 0, 'deleted': 0}
    assert first['changed'] and not first['finished'] and glacier.count('InitiateJob') == 4
    assert {j['tier'] for j in glacier.jobs.values()} == {'Bulk'}
    again = run(glacier, s3, facts)  # the recorded jobs are reused, not paid for twice
    assert glacier.count('InitiateJob') == 4 and not again['changed'] and again['counts']['pending'] == 4

    glacier.complete()
    done = run(glacier, s3, facts)
    assert done['finished'] and done['counts']['migrated'] == 4 and glacier.count('InitiateJob') == 4
    for name, versions in archives.items():
        assert object_bytes(s3, done, name) == [blob for dummy, blob in versions]
    # Multipart objects went as parts straight from the ranges' blocks (never joined), single ones as one PutObject.
    assert {kind for op, kind in s3.bodies} == {BlockBody}
    assert sum(1 for op, dummy in s3.bodies if op == 'PutObject') == 1
    data = catalog.read(facts)
    copy = catalog.latest(data, BUCKET_ARN, 'db')
    assert copy['migrated_from'] == {'vault_arn': ARN, 'archive_id': 'A-db-10', 'tree_hash': tree_of(archives['db'][1][1]),
                                     'uploaded_at': catalog.latest(data, ARN, 'db')['uploaded_at']}
    assert copy['tree_hash'] == tree_of(archives['db'][1][1]) and copy['storage_class'] == 'DEEP_ARCHIVE'
    assert [r['migrated_from']['archive_id'] for r in catalog.history(data, BUCKET_ARN, 'db')] == ['A-db-200', 'A-db-10']
    assert catalog.latest(data, ARN, 'db')['archive_id'] == 'A-db-10'  # the vault's history stays
    assert not (catalog.get_entry(data, ARN).get('jobs') or {})  # used jobs are forgotten
    assert not os.listdir(migrate.journal_dir(facts))  # journals of finished uploads are removed
    metadata = s3.objects[copy['key']]['metadata']
    assert metadata == {'coldvault-description': 'cvg1 test db', migrate.SOURCE_VAULT_KEY: ARN,
                        migrate.SOURCE_ARCHIVE_KEY: 'A-db-10'}

    calls = len(glacier.calls), len(s3.calls)
    rerun = run(glacier, s3, facts)
    assert rerun['finished'] and not rerun['changed'] and rerun['counts']['done'] == 4
    assert (len(glacier.calls), len(s3.calls)) == (calls[0] + 1, calls[1] + 1)  # DescribeVault, HeadBucket


def test_a_corrupted_range_is_fetched_again_and_a_bad_archive_is_aborted(vault):
    glacier, s3, facts, archives = vault
    run(glacier, s3, facts, names=['big'])
    glacier.complete()
    glacier.corrupt.append('bytes=%d-%d' % (PART, 2 * PART - 1))
    result = run(glacier, s3, facts, names=['big'])
    assert result['counts']['migrated'] == 1 and result['stats']['range_retries'] == 1
    assert object_bytes(s3, result, 'big') == [archives['big'][0][1]]

    # The vault's bytes no longer match its tree hash (every answer for the range damaged): nothing is completed.
    run(glacier, s3, facts, names=['etc'])
    glacier.complete()
    etc_range = 'bytes=0-999'
    glacier.corrupt.extend([etc_range] * migrate.RANGE_ATTEMPTS)
    failed = run(glacier, s3, facts, names=['etc'])
    assert failed['counts']['failed'] == 1 and 'tree hash mismatch' in failed['failed'][0]['msg']
    assert not [k for k in s3.objects if '/etc/' in k]


def test_a_tree_hash_that_differs_from_the_vaults_aborts_the_upload(vault):
    glacier, s3, facts, archives = vault
    catalog.update(facts, lambda d: catalog.record_archive(d, ARN, 'odd', {
        'archive_id': 'A-odd', 'tree_hash': tree_of(b'other'), 'size': 2 * PART, 'uploaded_at': days_ago(1)}))
    glacier.archives['A-odd'] = os.urandom(2 * PART)
    run(glacier, s3, facts, names=['odd'])
    glacier.complete()
    result = run(glacier, s3, facts, names=['odd'])
    assert result['counts']['failed'] == 1 and 'disagree' in result['failed'][0]['msg']
    assert s3.count('CreateMultipartUpload') == 0  # found out before anything was sent

    # The job's own hashes lie too: the bytes are streamed, then the upload is aborted before completion.
    real = glacier.describe_job

    def lying(**kwargs):
        return dict(real(**kwargs), ArchiveSHA256TreeHash=tree_of(b'other'), SHA256TreeHash=None)
    glacier.describe_job = lying
    result = run(glacier, s3, facts, names=['odd'])
    assert result['counts']['failed'] == 1 and 'upload was aborted' in result['failed'][0]['msg']
    assert s3.count('UploadPart') == 2 and s3.count('AbortMultipartUpload') == 1 and not s3.uploads
    assert s3.count('CompleteMultipartUpload') == 0


def test_a_killed_run_resumes_sending_only_the_missing_parts(vault, monkeypatch):
    glacier, s3, facts, archives = vault

    def one_by_one(work, items, concurrency, name):
        for index, item in enumerate(items):
            work(index, threading.Event(), *item)
    run(glacier, s3, facts, names=['db'], versions='latest')
    glacier.complete()

    class Killed(BaseException):
        pass

    def kill():
        raise Killed()
    # Part 1 is stored and journaled; part 2 is stored but the run dies before its reply (not journaled).
    s3.after['UploadPart'] = [lambda: None, kill]
    with monkeypatch.context() as patched:
        patched.setattr(migrate, 'run_parallel', one_by_one)  # the parts in order, so the kill lands after part 2
        with pytest.raises(Killed):
            run(glacier, s3, facts, names=['db'], versions='latest')
    upload_id, = s3.uploads
    assert sorted(s3.uploads[upload_id]['parts']) == [1, 2]
    jobs_before, ranges_before, parts_before = glacier.count('InitiateJob'), glacier.count('GetJobOutput'), s3.count('UploadPart')

    result = run(glacier, s3, facts, names=['db'], versions='latest')
    assert result['counts']['migrated'] == 1 and glacier.count('InitiateJob') == jobs_before
    assert s3.count('CreateMultipartUpload') == 1  # the recorded upload was resumed
    # 4 parts: part 1 kept unread, part 2 fetched again (the journal lacks it) but not sent, parts 3 and 4 sent.
    assert s3.count('UploadPart') - parts_before == 2
    assert glacier.count('GetJobOutput') - ranges_before == 3
    assert result['stats']['parts_kept'] == 2
    assert object_bytes(s3, result, 'db') == [archives['db'][1][1]]
    assert not (catalog.get_entry(catalog.read(facts), BUCKET_ARN).get(migrate.MIGRATIONS))


def test_a_run_that_died_after_completing_adopts_the_object_without_sending(vault):
    glacier, s3, facts, archives = vault
    run(glacier, s3, facts, names=['big'])
    glacier.complete()

    def kill():
        raise KeyboardInterrupt()
    s3.after['CompleteMultipartUpload'] = [kill]
    with pytest.raises(KeyboardInterrupt):
        run(glacier, s3, facts, names=['big'])
    sent = s3.count('UploadPart')
    result = run(glacier, s3, facts, names=['big'])
    assert result['counts']['migrated'] == 1 and s3.count('UploadPart') == sent
    assert catalog.latest(catalog.read(facts), BUCKET_ARN, 'big')['key'] == result['archives'][0]['key']


def test_max_jobs_limits_the_jobs_and_a_copy_frees_a_slot(vault):
    glacier, s3, facts, archives = vault
    result = run(glacier, s3, facts, max_jobs=2)
    assert glacier.count('InitiateJob') == 2 and result['counts']['waiting'] == 2
    glacier.complete()
    # The two done jobs are copied, which frees their slots: the next two jobs start in the same run.
    result = run(glacier, s3, facts, max_jobs=2)
    assert result['counts']['migrated'] == 2 and result['counts']['pending'] == 2 and glacier.count('InitiateJob') == 4


def test_wait_polls_until_the_jobs_complete(vault):
    glacier, s3, facts, archives = vault
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        glacier.complete()
    module = FakeModule(glacier, s3, facts_file=facts, wait=True, names=['etc'])
    result = migrate.Migrate(module, sleep=sleep).run()
    assert result['finished'] and sleeps == [5]
    with pytest.raises(Failed, match='wait_timeout'):
        migrate.Migrate(FakeModule(glacier, s3, facts_file=facts, wait=True, wait_timeout=0, names=['db']),
                        sleep=lambda s: None).run()


def test_delete_source_deletes_only_verified_old_enough_archives(vault):
    glacier, s3, facts, archives = vault
    run(glacier, s3, facts, names=['db'])
    glacier.complete()
    result = run(glacier, s3, facts, names=['db'], delete_source=True)
    # A-db-200 is 200 days old: deleted; A-db-10 is not 90 days old: kept.
    assert [d['archive_id'] for d in result['deleted']] == ['A-db-200']
    assert [k['archive_id'] for k in result['kept_in_vault']] == ['A-db-10'] and 'A-db-200' not in glacier.archives
    record = catalog.find_archive(catalog.read(facts), ARN, 'A-db-200')[1]
    assert record['deleted_at'] and record['migrated_to']['key'] == result['archives'][0]['key']
    # A copy that no longer holds what was recorded is not trusted.
    del s3.objects[result['archives'][1]['key']]
    result = run(glacier, s3, facts, names=['db'], delete_source=True, allow_early_deletion=True)
    assert result['deleted'] == [] and 'no longer in the bucket' in result['kept_in_vault'][0]['reason']
    assert 'A-db-10' in glacier.archives and glacier.count('DeleteArchive') == 1


def test_check_mode_plans_and_sends_nothing(vault):
    glacier, s3, facts, archives = vault
    before = open(facts, 'rb').read()
    result = migrate.Migrate(FakeModule(glacier, s3, check_mode=True, facts_file=facts, delete_source=True)).run()
    total = sum(len(b) for versions in archives.values() for dummy, b in versions)
    assert result['plan'] == {'archives': 4, 'bytes_to_retrieve': total, 'jobs_to_start': 4, 'jobs_to_reuse': 0,
                              'ready_to_copy': 0, 'to_delete': ['A-big-200', 'A-db-200', 'A-etc-200']}
    assert result['changed'] and {a['status'] for a in result['archives']} == {'planned'}
    assert [op for op, dummy in glacier.calls] == ['DescribeVault'] and [op for op, dummy in s3.calls] == ['HeadBucket']
    assert open(facts, 'rb').read() == before


@pytest.mark.parametrize('params, message', [
    ({'concurrency': 0}, 'concurrency: must be from 1 to 32'),
    ({'part_size': 4}, 'part_size must be a power of two from 8'),
    ({'names': []}, 'names: give at least one name'),
    ({'max_jobs': 0}, 'max_jobs: must be at least 1'),
    ({'allow_early_deletion': True}, 'allow_early_deletion: applies only with delete_source'),
    ({'bucket': 'Bad_Bucket'}, 'bucket: '),
    ({'poll_interval': 0}, 'poll_interval: '),
    ({'names': ['nope']}, "names: the catalog records no archive named 'nope'"),
    ({'prefix': 'p' * 1100}, 'prefix, name: the object keys would be'),
    ({'lock_timeout': -1}, 'lock_timeout: must not be negative'),
])
def test_bad_input_fails_naming_the_parameter_and_sends_nothing(vault, params, message):
    glacier, s3, facts, archives = vault
    with pytest.raises(Failed, match=message):
        run(glacier, s3, facts, **params)
    assert s3.calls == [] and glacier.count('InitiateJob') == 0


def test_the_journal_survives_a_torn_line(tmp_path):
    journal = migrate.PartJournal(str(tmp_path / 'j'), 'upload-1')
    journal.add(1, 10, 'c2hh', 'ab' * 32, '"e1"')
    journal.add(2, 10, 'c2hi', 'cd' * 32, '"e2"')
    journal.close()
    with open(journal.path, 'ab') as fh:
        fh.write(b'{"n": 3, "si')  # a kill in the middle of a line
    assert sorted(journal.load()) == [1, 2] and journal.load()[2]['etag'] == '"e2"'
    assert oct(os.stat(journal.path).st_mode & 0o777) == '0o600'
    journal.remove()
    assert journal.load() == {}
    assert migrate.journal_dir('/etc/ansible/facts.d/glacier.fact') == '/etc/ansible/facts.d/glacier.migrate'


def test_copy_keys_depend_on_the_archive_only():
    record = {'archive_id': 'A1', 'uploaded_at': '2025-11-26T04:00:00Z'}
    key = migrate.copy_key('old', '/srv/db.tar', ARN, record)
    assert key == migrate.copy_key('old', '/srv/db.tar', ARN, dict(record))
    assert key.startswith('old/srv/db.tar/20251126T040000Z-') and len(key.rsplit('-', 1)[1]) == 8
    assert key != migrate.copy_key('old', '/srv/db.tar', ARN, dict(record, archive_id='A2'))
    assert migrate.object_metadata(ARN, 'n', {'archive_id': 'A1', 'size': 5, 'mtime': 1.5})['coldvault-description'] \
        .startswith('cvg1 ')


def test_copies_take_their_place_in_the_history_of_a_bucket_already_in_use(vault):
    glacier, s3, facts, archives = vault
    # The backups of "db" went to the bucket already, before the vault's archives of it are migrated.
    catalog.update(facts, lambda d: catalog.record_archive(d, BUCKET_ARN, 'db', {
        'key': 'db/new', 'size': 1, 'uploaded_at': days_ago(0), 'tree_hash': 'ab' * 32}))
    run(glacier, s3, facts, names=['db'])
    glacier.complete()
    assert run(glacier, s3, facts, names=['db'])['counts']['migrated'] == 2
    data = catalog.read(facts)
    assert [r['key'] == 'db/new' or r['migrated_from']['archive_id'] for r in catalog.history(data, BUCKET_ARN, 'db')] \
        == ['A-db-200', 'A-db-10', True]
    assert catalog.latest(data, BUCKET_ARN, 'db')['key'] == 'db/new'  # "the latest" is still the latest backup


def test_a_copy_keeps_the_fingerprint_of_the_archive_it_copies():
    # The backup role decides by fingerprint: a role switched to the bucket must find its sets there.
    archive = {'key': 'k', 'version_id': None, 'etag': '"e"', 'storage_class': 'DEEP_ARCHIVE', 'checksum': {},
               'tree_hash': 'ab', 'description': 'cvg1'}
    record = {'archive_id': 'A', 'size': 3, 'fingerprint': 'sha256:%s gpg:ops@example.com' % ('c' * 64)}
    copy = migrate.copy_record(record, archive, ARN, MIB, '2026-12-01T00:00:00Z')
    assert copy['fingerprint'] == record['fingerprint'] and copy['migrated_from']['archive_id'] == 'A'
    # An archive uploaded without one (by hand, not by the role) gives a copy without one.
    assert 'fingerprint' not in migrate.copy_record(dict(record, fingerprint=None), archive, ARN, MIB, 'now')
