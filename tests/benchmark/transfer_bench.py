# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of coldvault.glacier upload and restore against the local endpoint (`make bench`; see docs/benchmark.md).

Each transfer runs in a fresh child process so that its wall time, bytes read (/proc/self/io rchar) and peak
RSS are its own. Prints a table and writes the numbers as JSON.
"""

import argparse
import filecmp
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

import boto3
import botocore.config
from botocore.utils import calculate_tree_hash

from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.job_output import download_archive
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.multipart import GlacierTransfer, plan_part_size
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import FileSlice, plan_range_size
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB

HERE = os.path.dirname(os.path.abspath(__file__))
ENDPOINT_PATH = os.path.join(os.path.dirname(HERE), 'endpoint')
VAULT = 'bench'
CREDENTIALS = {'aws_access_key_id': 'bench', 'aws_secret_access_key': 'bench', 'region_name': 'us-east-1'}


def client(url, pool=10):
    config = botocore.config.Config(retries={'mode': 'standard', 'max_attempts': 5}, max_pool_connections=pool)
    return boto3.client('glacier', endpoint_url=url, config=config, **CREDENTIALS)


def rchar():
    with open('/proc/self/io', encoding='ascii') as fh:
        return int(dict(line.split(': ') for line in fh.read().splitlines())['rchar'])


def make_file(path, size):
    """Incompressible data, written quickly: a random block, varied per MiB."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    block = os.urandom(16 * MIB)
    with open(path + '.tmp', 'wb') as fh:
        written = 0
        while written < size:
            chunk = block[(written // MIB) % 16 * MIB:][:MIB]
            chunk = (written // MIB).to_bytes(8, 'big') + chunk[8:]
            chunk = chunk[:size - written]
            fh.write(chunk)
            written += len(chunk)
    os.replace(path + '.tmp', path)


# -- the two algorithms, each run in a child process -------------------------------------------------------------
def run_module_engine(url, path, part_mib, concurrency):
    size = os.path.getsize(path)
    part_size = plan_part_size(size, part_mib)
    transfer = GlacierTransfer(client(url, concurrency + 2), VAULT, path, size, part_size, concurrency)
    upload_id = transfer.initiate('bench module')
    tree, dummy = transfer.upload_parts(upload_id)
    return transfer.complete(upload_id, tree)['archive_id']


def run_seed(url, path, part_mib, concurrency):
    """The seed's algorithm: sequential parts, botocore hashing each body, the whole file re-read at the end."""
    del concurrency
    size = os.path.getsize(path)
    part_size = part_mib * MIB
    glacier = client(url)
    upload_id = glacier.initiate_multipart_upload(vaultName=VAULT, archiveDescription='bench seed', partSize=str(part_size))['uploadId']
    for offset in range(0, size, part_size):
        length = min(part_size, size - offset)
        with FileSlice(path, offset, length) as body:
            glacier.upload_multipart_part(vaultName=VAULT, uploadId=upload_id, range='bytes %d-%d/*' % (offset, offset + length - 1), body=body)
    with open(path, 'rb') as fh:
        tree = calculate_tree_hash(fh)
    return glacier.complete_multipart_upload(vaultName=VAULT, uploadId=upload_id, archiveSize=str(size), checksum=tree)['archiveId']


def run_restore(url, job_id, dest, size, tree_hash, concurrency):
    """coldvault.glacier.retrieve's download: parallel ranges, each range's and the archive's tree hash checked."""
    glacier = client(url, concurrency + 2)
    range_size = plan_range_size(size, concurrency)
    archive_hash, dummy = download_archive(glacier, VAULT, job_id, dest, size, range_size, concurrency, expected={'upload': tree_hash})
    return archive_hash


def child(spec):
    """Run one transfer and print its own measurements as JSON."""
    read_before = rchar()
    started = time.monotonic()
    if spec['variant'] == 'restore':
        archive_id = run_restore(spec['url'], spec['job_id'], spec['dest'], spec['size'], spec['tree_hash'], spec['concurrency'])
        size = spec['size']
    else:
        runner = {'module': run_module_engine, 'seed': run_seed}[spec['variant']]
        archive_id = runner(spec['url'], spec['file'], spec.get('part_mib'), spec['concurrency'])
        size = os.path.getsize(spec['file'])
    seconds = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        'cpu_seconds': usage.ru_utime + usage.ru_stime,
        'variant': spec['variant'], 'size': size, 'seconds': seconds, 'archive_id': archive_id,
        'read_per_byte': (rchar() - read_before) / size,
        'peak_rss_mib': usage.ru_maxrss / 1024.0,
        'mb_per_s': size / seconds / 1e6,
    }))


def measure(url, variant, path=None, part_mib=None, concurrency=4, **extra):
    spec = dict(extra, url=url, variant=variant, file=path, part_mib=part_mib, concurrency=concurrency)
    out = subprocess.run([sys.executable, __file__, '_child', json.dumps(spec)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- the endpoint ------------------------------------------------------------------------------------------------
class Endpoint:
    """The local endpoint. Its data goes to ``data_dir``: RAM (/dev/shm) by default, so that what is measured is
    the client, not how fast this machine's disk takes the service's writes."""

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
        env = dict(os.environ, PYTHONPATH=ENDPOINT_PATH)
        with open(os.path.join(self.dir, 'log'), 'ab') as log:
            self.proc = subprocess.Popen([sys.executable, '-m', 'glacier_endpoint', '--port', '0', '--quiet',  # pylint: disable=consider-using-with
                                          '--data-dir', self.data_dir, '--port-file', port_file],
                                         env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError('the endpoint did not start; see %s/log' % self.dir)
            time.sleep(0.05)
        with open(port_file, encoding='ascii') as fh:
            self.url = 'http://127.0.0.1:%s' % fh.read().strip()
        client(self.url).create_vault(vaultName=VAULT)
        return self

    def network(self, latency_ms=0, bandwidth=0):
        import urllib.request  # pylint: disable=import-outside-toplevel
        request = urllib.request.Request(self.url + '/_control/network', method='POST',
                                         data=json.dumps({'latency_ms': latency_ms, 'bandwidth': bandwidth}).encode())
        with urllib.request.urlopen(request) as reply:  # nosec - our own endpoint on loopback
            reply.read()

    def forget(self, *archive_ids):
        """Delete measured archives so the RAM-backed store stays small."""
        glacier = client(self.url)
        for archive_id in archive_ids:
            glacier.delete_archive(vaultName=VAULT, archiveId=archive_id)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def ansible_seconds(argv, env, repeat=3):
    """Median wall time of an ad-hoc ansible command (each includes ansible's own start-up)."""
    times = []
    for dummy in range(repeat):
        started = time.monotonic()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.monotonic() - started)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--workdir', default='/tmp/coldvault-glacier-bench')
    parser.add_argument('--size-mib', type=int, default=1024, help='size of the loopback comparison file')
    parser.add_argument('--wan-size-mib', type=int, default=256)
    parser.add_argument('--wan-bandwidth', type=int, default=8 * 1000 * 1000, help='per-connection cap, bytes/s')
    parser.add_argument('--wan-latency-ms', type=int, default=50)
    parser.add_argument('--rss-size-mib', type=int, default=2048)
    parser.add_argument('--rerun-size-mib', type=int, default=4096)
    parser.add_argument('--endpoint-data-dir', default='/dev/shm/coldvault-glacier-bench-endpoint',
                        help="the endpoint's store; RAM by default, so the disk's write speed is not measured")
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    results = {}
    rows = []

    def row(what, value, target, ok):
        rows.append((what, value, target, 'PASS' if ok else 'FAIL'))
        print('%-58s %-22s %-14s %s' % rows[-1], flush=True)

    print('%-58s %-22s %-14s %s' % ('measure', 'value', 'target', ''), flush=True)
    with Endpoint(args.workdir, args.endpoint_data_dir) as endpoint:
        # 1. loopback: the module's engine against the seed's algorithm, same file.
        big = os.path.join(args.workdir, 'loopback.bin')
        make_file(big, args.size_mib * MIB)
        seed = measure(endpoint.url, 'seed', big, 32, 1)
        mod = measure(endpoint.url, 'module', big, None, 4)
        endpoint.forget(seed['archive_id'])
        results['loopback'] = {'seed': seed, 'module': mod}
        ratio = mod['seconds'] / seed['seconds']
        row('loopback %d MiB: wall time module / seed' % args.size_mib,
            '%.2fs / %.2fs = %.2fx' % (mod['seconds'], seed['seconds'], ratio), '<= 0.35x', ratio <= 0.35)
        row('  bytes read per byte uploaded (module, seed)', '%.2f, %.2f' % (mod['read_per_byte'], seed['read_per_byte']),
            'module < seed', mod['read_per_byte'] < seed['read_per_byte'])
        row('  peak RSS MiB (module, seed)', '%.0f, %.0f' % (mod['peak_rss_mib'], seed['peak_rss_mib']), 'info', True)

        # 2. simulated WAN: per-request latency and a per-connection bandwidth cap.
        wan = os.path.join(args.workdir, 'wan.bin')
        make_file(wan, args.wan_size_mib * MIB)
        endpoint.network(args.wan_latency_ms, args.wan_bandwidth)
        try:
            wan_run = measure(endpoint.url, 'module', wan, None, 4)
        finally:
            endpoint.network(0, 0)
        endpoint.forget(wan_run['archive_id'])
        cap = 4 * args.wan_bandwidth / 1e6
        share = wan_run['mb_per_s'] / cap
        results['wan'] = dict(wan_run, aggregate_cap_mb_per_s=cap, share=share)
        row('WAN %d MiB, %d ms, 4 x %.1f MB/s: throughput' % (args.wan_size_mib, args.wan_latency_ms, args.wan_bandwidth / 1e6),
            '%.1f MB/s = %.0f%% of cap' % (wan_run['mb_per_s'], share * 100), '>= 85%', share >= 0.85)

        # 2b. restore over the same WAN: the module's archive, retrieved with a job and downloaded in ranges.
        glacier = client(endpoint.url)
        job_id = glacier.initiate_job(vaultName=VAULT, jobParameters={'Type': 'archive-retrieval', 'ArchiveId': mod['archive_id']})['jobId']
        restored = os.path.join(args.workdir, 'restored.bin')
        endpoint.network(args.wan_latency_ms, args.wan_bandwidth)
        try:
            with open(big, 'rb') as fh:
                expected = calculate_tree_hash(fh)
            restore = measure(endpoint.url, 'restore', concurrency=4, job_id=job_id, dest=restored, size=mod['size'], tree_hash=expected)
        finally:
            endpoint.network(0, 0)
        same = filecmp.cmp(big, restored, shallow=False)
        os.unlink(restored)
        endpoint.forget(mod['archive_id'])
        share = restore['mb_per_s'] / cap
        results['restore'] = dict(restore, aggregate_cap_mb_per_s=cap, share=share, identical=same)
        row('restore %d MiB over that WAN, verified: throughput' % args.size_mib,
            '%.1f MB/s = %.0f%% of cap' % (restore['mb_per_s'], share * 100), '>= 85%', share >= 0.85 and same)

        # 3. memory: big parts are streamed, never held.
        rss_file = os.path.join(args.workdir, 'rss.bin')
        make_file(rss_file, args.rss_size_mib * MIB)
        rss = measure(endpoint.url, 'module', rss_file, 512, 4)
        endpoint.forget(rss['archive_id'])
        results['rss'] = rss
        row('peak RSS, %d MiB file, 512 MiB parts, 4 threads' % args.rss_size_mib, '%.0f MiB' % rss['peak_rss_mib'],
            '<= 200 MiB', rss['peak_rss_mib'] <= 200)
        os.unlink(rss_file)

        # 4. an unchanged rerun under date_size against ansible.builtin.stat of the same file (both ad hoc).
        rerun = os.path.join(args.workdir, 'rerun.bin')
        make_file(rerun, args.rerun_size_mib * MIB)
        facts = os.path.join(args.workdir, 'bench.fact')
        env = dict(os.environ, AWS_ACCESS_KEY_ID='bench', AWS_SECRET_ACCESS_KEY='bench', ANSIBLE_LOCALHOST_WARNING='false',
                   ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
        upload = ['ansible', 'localhost', '-m', 'coldvault.glacier.upload', '-a',
                  'vault=%s src=%s facts_file=%s region=us-east-1 endpoint_url=%s' % (VAULT, rerun, facts, endpoint.url)]
        subprocess.run(upload, check=True, capture_output=True, env=env)  # the first upload records the archive
        unchanged = ansible_seconds(upload, env)
        stat = ansible_seconds(['ansible', 'localhost', '-m', 'ansible.builtin.stat', '-a', 'path=%s' % rerun], env)
        results['rerun'] = {'upload_unchanged_seconds': unchanged, 'stat_seconds': stat}
        row('unchanged rerun of %d MiB (date_size) / stat' % args.rerun_size_mib,
            '%.2fs / %.2fs = %.2fx' % (unchanged, stat, unchanged / stat), '<= 1.3x', unchanged <= 1.3 * stat)

    if args.json:
        with open(args.json, 'w', encoding='utf-8') as fh:
            json.dump({'results': results, 'rows': rows}, fh, indent=2)
    return 0 if all(r[3] == 'PASS' for r in rows) else 1


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_child':
        child(json.loads(sys.argv[2]))
    else:
        sys.exit(main())
