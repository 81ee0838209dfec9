# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the catalog with a long history (`make bench-catalog`; see docs/benchmark.md, "The catalog").

Builds a format-1 catalog of 100k records (20 names x 5000 versions, as real uploads write them), migrates it to
format 2, and compares against a 10-record catalog:
  - fact gathering (`ansible localhost -m setup -a filter=ansible_local`): wall time and the largest process's RSS;
  - an upload that records one archive (`ansible localhost -m coldvault.glacier.upload`, a new 1 KiB file each
    time, against the local endpoint), wall time;
  - catalog.update() recording one archive, in-process;
and, for comparison, the same with the format-1 file and the format-1 code (fixtures/format1_catalog.py.txt).
Runs alternate between the two catalogs and the medians are compared, so that a busy machine hits both alike.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import description as desc

HERE = os.path.dirname(os.path.abspath(__file__))
ENDPOINT_PATH = os.path.join(os.path.dirname(HERE), 'endpoint')
FORMAT1_CODE = os.path.join(os.path.dirname(HERE), 'unit', 'plugins', 'module_utils', 'fixtures', 'format1_catalog.py.txt')
VAULT = 'bench-catalog'
ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/' + VAULT
ENV = dict(os.environ, AWS_ACCESS_KEY_ID='bench', AWS_SECRET_ACCESS_KEY='bench', ANSIBLE_LOCALHOST_WARNING='false',
           ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_NOCOLOR='1')
# Runs a command and prints the largest RSS (KiB) among the processes it started: ansible's module process.
RSS = 'import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); ' \
      'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)'


def record(name, version):
    """A record like those the upload module writes (about 900 bytes in a format-1 file)."""
    archive_id = hashlib.sha256(('%s/%d' % (name, version)).encode()).hexdigest()[:138].ljust(138, 'x')
    tree_hash = hashlib.sha256(archive_id.encode()).hexdigest()
    size, mtime = 1000000 + version, 1700000000 + version * 86400
    return {'archive_id': archive_id, 'tree_hash': tree_hash, 'size': size, 'mtime': mtime,
            'uploaded_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(mtime + 3600)),
            'location': '/123456789012/vaults/%s/archives/%s' % (VAULT, archive_id),
            'description': desc.encode(name, size, mtime, tree_hash), 'part_size': 8388608}


def format1_file(path, names, versions, keep):
    """A format-1 catalog as the format-1 code wrote it: every record in each entry's history."""
    archives = {}
    for index in range(names):
        name = '/var/backups/set-%02d.tar.zst' % index
        history = [record(name, v) for v in range(versions)]
        for old in history[:-keep]:
            old['deleted_at'] = old['uploaded_at']  # pruned: the record stays, deleted
        archives[name] = dict(history[-1], history=history)
    target = {'vault': VAULT, 'region': 'us-east-1', 'account': '123456789012', 'archives': archives,
              'uploads': {}, 'jobs': {}}
    document = {'format': 1, 'buckets': {}, 'vaults': {ARN: target}}
    with open(path, 'w', encoding='utf-8') as fileobj:
        fileobj.write(json.dumps(document, indent=2, sort_keys=True) + '\n')


class Endpoint:
    """The local endpoint, its store in RAM so that the disk's speed for the service's writes is not measured."""

    def __init__(self, workdir, data_dir):
        self.dir = os.path.join(workdir, 'endpoint')
        self.data_dir = data_dir
        self.proc = None
        self.url = None

    def __enter__(self):
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.data_dir, exist_ok=True)
        port_file = os.path.join(self.dir, 'port')
        if os.path.exists(port_file):
            os.unlink(port_file)
        with open(os.path.join(self.dir, 'log'), 'ab') as log:
            self.proc = subprocess.Popen([sys.executable, '-m', 'glacier_endpoint', '--port', '0', '--quiet',  # pylint: disable=consider-using-with
                                          '--data-dir', self.data_dir, '--port-file', port_file],
                                         env=dict(os.environ, PYTHONPATH=ENDPOINT_PATH), stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError('the endpoint did not start; see %s/log' % self.dir)
            time.sleep(0.05)
        with open(port_file, encoding='ascii') as fh:
            self.url = 'http://127.0.0.1:%s' % fh.read().strip()
        subprocess.run(['ansible', 'localhost', '-m', 'coldvault.glacier.vault', '-a',
                        'name=%s region=us-east-1 endpoint_url=%s' % (VAULT, self.url)], check=True, capture_output=True,
                       env=ENV)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def timed(argv):
    """(seconds, largest RSS in MiB) of one run of ``argv``."""
    started = time.monotonic()
    out = subprocess.run([sys.executable, '-c', RSS] + argv, check=True, capture_output=True, text=True, env=ENV).stdout
    return time.monotonic() - started, int(out.split()[-1]) / 1024.0


def alternate(commands, repeat):
    """Run each command of ``commands`` (a dict) in turn, ``repeat`` rounds; {key: (median s, median RSS MiB)}."""
    runs = {key: [] for key in commands}
    for dummy in range(repeat):
        for key, command in commands.items():
            runs[key].append(command() if callable(command) else timed(command))
    return {key: (statistics.median(r[0] for r in values), statistics.median(r[1] for r in values))
            for key, values in runs.items()}


def setup_command(fact_dir):
    return ['ansible', 'localhost', '-m', 'ansible.builtin.setup', '-a', 'filter=ansible_local fact_path=%s' % fact_dir]


def uploader(workdir, facts_file, url):
    """A command that uploads a new 1 KiB file into ``facts_file`` on every call (one archive recorded)."""
    count = [0]

    def run():
        count[0] += 1
        src = os.path.join(workdir, 'new-%s-%d.bin' % (os.path.basename(os.path.dirname(facts_file)), count[0]))
        with open(src, 'wb') as fileobj:
            fileobj.write(os.urandom(1024))
        result = timed(['ansible', 'localhost', '-m', 'coldvault.glacier.upload', '-a',
                        'vault=%s src=%s name=daily facts_file=%s region=us-east-1 endpoint_url=%s'
                        % (VAULT, src, facts_file, url)])
        os.unlink(src)
        return result
    return run


def in_process_record(facts_file, update):
    """Seconds of one update() that records one new archive (``update``: this code's or the format-1 code's)."""
    counter = [0]

    def run():
        counter[0] += 1
        new = record('/var/backups/in-process', counter[0] + int(time.time()))
        started = time.monotonic()
        update(facts_file, lambda data: recorder(data, new))
        return time.monotonic() - started, 0.0
    recorder = update.recorder
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--workdir', default='/tmp/coldvault-glacier-bench-catalog')
    parser.add_argument('--names', type=int, default=20)
    parser.add_argument('--versions', type=int, default=5000, help='records per name (names x versions in all)')
    parser.add_argument('--keep', type=int, default=30, help='newest records of each name not deleted')
    parser.add_argument('--repeat', type=int, default=7, help='rounds of each alternating comparison')
    parser.add_argument('--no-format1', action='store_true', help='skip the format-1 comparison rows (slow)')
    parser.add_argument('--endpoint-data-dir', default='/dev/shm/coldvault-glacier-bench-catalog-endpoint')
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    big_dir, small_dir, old_dir = (os.path.join(args.workdir, d) for d in ('big', 'small', 'format1'))
    for directory in (big_dir, small_dir, old_dir):
        os.makedirs(directory)
    big, small, old = (os.path.join(d, 'glacier.fact') for d in (big_dir, small_dir, old_dir))
    records = args.names * args.versions
    results = {}
    rows = []

    def row(what, value, target='', ok=True):
        rows.append((what, value, target, '' if not target else 'PASS' if ok else 'FAIL'))
        print('%-62s %-34s %-10s %s' % rows[-1], flush=True)

    print('%-62s %-34s %-10s %s' % ('measure', 'value', 'target', ''), flush=True)
    format1_file(big, args.names, args.versions, args.keep)
    shutil.copy(big, old)
    row('format-1 facts file, %d records' % records, '%.1f MB' % (os.path.getsize(big) / 1e6))

    # The migration, once, as the first write after an upgrade does it.
    seconds, rss = timed([sys.executable, '-c', 'import sys; from ansible_collections.coldvault.glacier.plugins.'
                          'module_utils import catalog; catalog.update(sys.argv[1], lambda d: None)', big])
    migrated = catalog.read(big)
    assert migrated['history']['records'] == records, migrated['history']
    assert len(catalog.history(migrated, ARN, '/var/backups/set-00.tar.zst')) == args.versions
    results['migration'] = {'seconds': seconds, 'peak_rss_mib': rss}
    row('migration of that file to format 2 (once)', '%.1f s, %.0f MiB' % (seconds, rss))
    history = os.path.join(big_dir, 'glacier.history.sqlite')
    row('format 2: facts file / history', '%.1f kB / %.1f MB' % (os.path.getsize(big) / 1e3, os.path.getsize(history) / 1e6))

    # The small catalog: 10 records, 2 names.
    def ten(data):
        for v in range(5):
            for name in ('/var/backups/a.tar', '/var/backups/b.tar'):
                catalog.record_archive(data, ARN, name, record(name, v))
    catalog.update(small, ten)
    assert catalog.read(small)['history']['records'] == 10

    facts = alternate({'small': setup_command(small_dir), 'big': setup_command(big_dir)}, args.repeat)
    ratio = facts['big'][0] / facts['small'][0]
    results['setup'] = {'small': facts['small'], 'big': facts['big'], 'ratio': ratio}
    row('setup filter=ansible_local: %dk records / 10 records' % (records // 1000),
        '%.2f s / %.2f s = %.2fx' % (facts['big'][0], facts['small'][0], ratio), '<= 1.2x', ratio <= 1.2)
    row('  largest process RSS (%dk / 10 records)' % (records // 1000), '%.0f MiB / %.0f MiB' % (facts['big'][1], facts['small'][1]))

    with Endpoint(args.workdir, args.endpoint_data_dir) as endpoint:
        uploads = alternate({'small': uploader(args.workdir, small, endpoint.url),
                             'big': uploader(args.workdir, big, endpoint.url)}, args.repeat)
    ratio = uploads['big'][0] / uploads['small'][0]
    results['upload'] = {'small': uploads['small'], 'big': uploads['big'], 'ratio': ratio}
    row('upload recording one archive: %dk records / 10 records' % (records // 1000),
        '%.2f s / %.2f s = %.2fx' % (uploads['big'][0], uploads['small'][0], ratio), '<= 1.2x', ratio <= 1.2)
    assert catalog.read(big)['history']['records'] == records + args.repeat

    catalog.update.recorder = lambda data, new: catalog.record_archive(data, ARN, '/var/backups/in-process', new)
    direct = alternate({'small': in_process_record(small, catalog.update),
                        'big': in_process_record(big, catalog.update)}, args.repeat)
    results['update'] = direct
    row('  of which catalog.update() recording it (%dk / 10 records)' % (records // 1000),
        '%.1f ms / %.1f ms' % (direct['big'][0] * 1000, direct['small'][0] * 1000))

    if not args.no_format1:
        namespace = {'__name__': 'format1_catalog'}
        with open(FORMAT1_CODE, encoding='utf-8') as fileobj:
            exec(compile(fileobj.read(), FORMAT1_CODE, 'exec'), namespace)  # pylint: disable=exec-used
        old_update = namespace['update']
        old_update.recorder = lambda data, new: namespace['record_archive'](data, ARN, '/var/backups/in-process', new)
        before = alternate({'setup': setup_command(old_dir), 'update': in_process_record(old, old_update)},
                           max(1, args.repeat // 3))
        results['format1'] = {'setup': before['setup'], 'update_seconds': before['update'][0]}
        row('format 1, for comparison: setup with %dk records' % (records // 1000),
            '%.2f s, %.0f MiB' % before['setup'])
        row('  format-1 code: update() recording one archive', '%.2f s' % before['update'][0])

    if args.json:
        with open(args.json, 'w', encoding='utf-8') as fh:
            json.dump({'results': results, 'rows': rows}, fh, indent=2)
    return 0 if all(r[3] != 'FAIL' for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
