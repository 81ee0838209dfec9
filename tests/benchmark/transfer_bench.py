# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of coldvault.glacier upload and restore against the local endpoint (`make bench`; see docs/benchmark.md).

Every contender runs in a fresh process, pinned to the client CPU while the endpoint is pinned to another, so
its wall time and CPU time (its own and its children's) are its own. Prints one row per measure and target,
writes the numbers as JSON and draws them as an SVG chart (chart.py).
"""

import argparse
import datetime
import filecmp
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

import boto3
import botocore
import botocore.config
from botocore.utils import calculate_tree_hash

from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.job_output import download_archive
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.multipart import GlacierTransfer, plan_part_size
from ansible_collections.coldvault.glacier.plugins.module_utils.transfer import FileSlice, plan_range_size
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chart  # noqa: E402  pylint: disable=wrong-import-position
from bench_files import make_file  # noqa: E402  pylint: disable=wrong-import-position

ENDPOINT_PATH = os.path.join(os.path.dirname(HERE), 'endpoint')
VAULT = 'bench'
CREDENTIALS = {'aws_access_key_id': 'bench', 'aws_secret_access_key': 'bench', 'region_name': 'us-east-1'}
GIB = 1024 * MIB
CONTENDERS = ('module', 'engine', 'glacier-upload', 'seed')


def client(url, pool=10):
    config = botocore.config.Config(retries={'mode': 'standard', 'max_attempts': 5}, max_pool_connections=pool)
    return boto3.client('glacier', endpoint_url=url, config=config, **CREDENTIALS)


def rchar():
    with open('/proc/self/io', encoding='ascii') as fh:
        return int(dict(line.split(': ') for line in fh.read().splitlines())['rchar'])


# -- what runs in a child process ----------------------------------------------------------------------------
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


def floor_child():
    """The floor: CPU time of the two SHA-256 passes every uploaded GiB needs (the linear one for
    x-amz-content-sha256 and the 1 MiB leaves of the tree hash), over 1 GiB of data that is not in the cache."""
    block = os.urandom(64 * MIB)
    view = memoryview(block)
    started = time.process_time()
    for dummy in range(16):
        linear = hashlib.sha256()
        for start in range(0, len(block), MIB):
            chunk = view[start:start + MIB]
            linear.update(chunk)
            hashlib.sha256(chunk).digest()
    print(json.dumps({'cpu_seconds_per_gib': time.process_time() - started}))


def transport_child(path, sink_cpu):
    """What any client pays beyond the floor to move the bytes: read the file (8 MiB reads into one buffer) and
    write it to a TCP socket on the loopback, read by a sink on the endpoint's CPU. No HTTP, no hashing."""
    import socket  # pylint: disable=import-outside-toplevel
    server = socket.create_server(('127.0.0.1', 0))
    sink = ("import socket\ns = socket.create_connection(('127.0.0.1', %d))\nb = memoryview(bytearray(1 << 20))\n"
            "while s.recv_into(b):\n    pass\n" % server.getsockname()[1])
    prefix = ['taskset', '-c', str(sink_cpu)] if sink_cpu is not None else []
    proc = subprocess.Popen(prefix + [sys.executable, '-c', sink])  # pylint: disable=consider-using-with
    conn, dummy = server.accept()
    buf = bytearray(8 * MIB)
    view = memoryview(buf)
    size = 0
    started = time.process_time()
    with open(path, 'rb', buffering=0) as fh:
        while True:
            got = fh.readinto(buf)
            if not got:
                break
            conn.sendall(view[:got])
            size += got
    conn.close()
    cpu = time.process_time() - started
    proc.wait()
    print(json.dumps({'cpu_seconds_per_gib': cpu / (size / GIB)}))


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


# -- running and measuring a process -------------------------------------------------------------------------
class Runner:
    """Starts processes pinned to the client CPU (taskset) and measures each one's wall and CPU time."""

    def __init__(self, cpu):
        self.prefix = ['taskset', '-c', str(cpu)] if cpu is not None else []

    def run(self, argv, env=None):
        """(stdout, wall seconds, CPU seconds of the process and every descendant it waited for)."""
        # RUSAGE_CHILDREN grows by exactly this process tree: the bench waits for one child at a time (the
        # endpoint, the only other child, is reaped at the end).
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.run(self.prefix + argv, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            raise RuntimeError('%s failed (%d):\n%s\n%s' % (' '.join(argv), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return proc.stdout, seconds, cpu

    def measure(self, url, variant, path=None, part_mib=None, concurrency=4, **extra):
        spec = dict(extra, url=url, variant=variant, file=path, part_mib=part_mib, concurrency=concurrency)
        out, seconds, cpu = self.run([sys.executable, __file__, '_child', json.dumps(spec)])
        result = json.loads(out.strip().splitlines()[-1])
        result.update(process_seconds=seconds, process_cpu_seconds=cpu)
        return result


def ansible_env(workdir):
    return dict(os.environ, AWS_ACCESS_KEY_ID='bench', AWS_SECRET_ACCESS_KEY='bench', ANSIBLE_LOCALHOST_WARNING='false',
                ANSIBLE_INVENTORY_UNPARSED_WARNING='false', ANSIBLE_NOCOLOR='1',
                ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-local'), ANSIBLE_REMOTE_TEMP=os.path.join(workdir, 'ansible-remote'))


def adhoc_result(out):
    """The module's result from `ansible localhost -m ...` output ("localhost | CHANGED => {...}")."""
    return json.loads(out.split('=>', 1)[1])


class SideBySide:
    """The four contenders on one file, same part size and threads, each in a fresh pinned process."""

    def __init__(self, runner, endpoint, args, path):
        self.runner = runner
        self.endpoint = endpoint
        self.args = args
        self.path = path
        self.size = os.path.getsize(path)
        self.env = ansible_env(args.workdir)
        self.facts = os.path.join(args.workdir, 'side-by-side.fact')
        # Ansible starts the module's interpreter through rusage_run.py, so the module's own process is measured too.
        self.module_usage = os.path.join(args.workdir, 'module-process.json')
        self.interpreter = os.path.join(args.workdir, 'measured-python')
        with open(self.interpreter, 'w', encoding='utf-8') as fh:
            fh.write('#!/bin/sh\nexec "%s" "%s" "%s" "%s" "$@"\n' % (sys.executable, os.path.join(HERE, 'rusage_run.py'),
                                                                     self.module_usage, sys.executable))
        os.chmod(self.interpreter, 0o755)
        self.peer = shutil.which('glacier', path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''))

    def _module_argv(self, strategy):
        return ['ansible', 'localhost', '-e', 'ansible_python_interpreter=%s' % self.interpreter, '-m', 'coldvault.glacier.upload',
                '-a', 'vault=%s src=%s facts_file=%s region=us-east-1 endpoint_url=%s part_size=%d concurrency=%d file_change_strategy=%s'
                % (VAULT, self.path, self.facts, self.endpoint.url, self.args.part_mib, self.args.threads, strategy)]

    def module(self, strategy='force'):
        out, seconds, cpu = self.runner.run(self._module_argv(strategy), self.env)
        result = adhoc_result(out)
        with open(self.module_usage, encoding='utf-8') as fh:
            proc = json.load(fh)
        return {'seconds': seconds, 'cpu_seconds': cpu, 'module_seconds': proc['seconds'], 'module_cpu_seconds': proc['cpu_seconds'],
                'transfer_seconds': result.get('stats', {}).get('seconds'), 'archive_id': result.get('archive_id'),
                'uploaded': result.get('uploaded')}

    def engine(self):
        r = self.runner.measure(self.endpoint.url, 'module', self.path, self.args.part_mib, self.args.threads)
        return {'seconds': r['process_seconds'], 'cpu_seconds': r['process_cpu_seconds'], 'transfer_seconds': r['seconds'],
                'archive_id': r['archive_id'], 'read_per_byte': r['read_per_byte'], 'peak_rss_mib': r['peak_rss_mib']}

    def seed(self):
        r = self.runner.measure(self.endpoint.url, 'seed', self.path, self.args.seed_part_mib, 1)
        return {'seconds': r['process_seconds'], 'cpu_seconds': r['process_cpu_seconds'], 'transfer_seconds': r['seconds'],
                'archive_id': r['archive_id'], 'read_per_byte': r['read_per_byte'], 'peak_rss_mib': r['peak_rss_mib']}

    def glacier_upload(self):
        # glacier-upload builds a plain boto3.client("glacier"): botocore's per-service variable points it here.
        env = dict(self.env, AWS_ENDPOINT_URL_GLACIER=self.endpoint.url, AWS_DEFAULT_REGION='us-east-1')
        out, seconds, cpu = self.runner.run([self.peer, 'upload', '--part-size', str(self.args.part_mib),
                                             '--num-threads', str(self.args.threads), '--arc-desc', 'bench peer', VAULT, self.path], env)
        match = re.search(r'^Archive ID: (\S+)', out, re.M)
        if not match:
            raise RuntimeError('glacier-upload printed no archive id:\n%s' % out[-2000:])
        return {'seconds': seconds, 'cpu_seconds': cpu, 'archive_id': match.group(1)}

    def run(self, rounds):
        """Interleaved rounds, the order rotated each round, so that a busy spell of the machine hits every contender."""
        names = [n for n in CONTENDERS if n != 'glacier-upload' or self.peer]
        runs = {name: [] for name in names}
        startup = []
        for index in range(rounds):
            order = names[index % len(names):] + names[:index % len(names)]
            for name in order:
                before = self.endpoint.cpu_seconds()
                result = {'module': self.module, 'engine': self.engine, 'seed': self.seed, 'glacier-upload': self.glacier_upload}[name]()
                # The endpoint's work for this upload, on its own CPU: no contender can finish before it is done.
                result['endpoint_cpu_seconds'] = self.endpoint.cpu_seconds() - before
                self.endpoint.forget(result['archive_id'])
                runs[name].append(result)
                print('  round %d %-15s wall %6.2f s  cpu %6.2f s  endpoint cpu %6.2f s' % (
                    index + 1, name, result['seconds'], result['cpu_seconds'], result['endpoint_cpu_seconds']), flush=True)
            # The same module run on the file it just recorded (date_size: unchanged, nothing sent): what the
            # module costs before and after a transfer.
            startup.append(self.module('date_size'))
        return runs, startup


def summarize(runs, startup, size):
    gib = size / GIB
    summary = {}
    for name, results in runs.items():
        s = {'seconds': [r['seconds'] for r in results], 'cpu_per_gib': [r['cpu_seconds'] / gib for r in results]}
        s['median_seconds'] = statistics.median(s['seconds'])
        s['median_cpu_per_gib'] = statistics.median(s['cpu_per_gib'])
        s['endpoint_cpu_per_gib'] = statistics.median(r['endpoint_cpu_seconds'] / gib for r in results)
        if results[0].get('transfer_seconds') is not None:
            s['transfer_seconds'] = [r['transfer_seconds'] for r in results]
        if name == 'module':
            base_proc = statistics.median(r['module_cpu_seconds'] for r in startup)
            s['startup_module_cpu_seconds'] = base_proc
            s['startup_seconds'] = statistics.median(r['seconds'] for r in startup)
            s['startup_cpu_seconds'] = statistics.median(r['cpu_seconds'] for r in startup)
            s['module_cpu_per_gib'] = [r['module_cpu_seconds'] / gib for r in results]
            s['transfer_cpu_per_gib'] = [(r['module_cpu_seconds'] - base_proc) / gib for r in results]
            s['median_module_cpu_per_gib'] = statistics.median(s['module_cpu_per_gib'])
            s['median_transfer_cpu_per_gib'] = statistics.median(s['transfer_cpu_per_gib'])
            s['module_seconds'] = [r['module_seconds'] for r in results]
            # The module's run if its transfer lasted only as long as the endpoint's CPU work for it: Ansible and the
            # module start on the client's core before a byte is sent, and the endpoint's core must do its share.
            s['bound_seconds'] = statistics.median(r['seconds'] - r['transfer_seconds'] + r['endpoint_cpu_seconds'] for r in results)
        for key in ('read_per_byte', 'peak_rss_mib'):
            if key in results[0]:
                s[key] = max(r[key] for r in results)
        summary[name] = s
    return summary


# -- the endpoint ------------------------------------------------------------------------------------------------
class Endpoint:
    """The local endpoint, pinned to its own CPU. Its data goes to ``data_dir``: RAM (/dev/shm) by default, so that
    what is measured is the client, not how fast this machine's disk takes the service's writes."""

    def __init__(self, workdir, data_dir, cpu=None):
        self.dir = os.path.join(workdir, 'endpoint')
        self.data_dir = data_dir
        self.prefix = ['taskset', '-c', str(cpu)] if cpu is not None else []
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
            argv = self.prefix + [sys.executable, '-m', 'glacier_endpoint', '--port', '0', '--quiet',
                                  '--data-dir', self.data_dir, '--port-file', port_file]
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)  # pylint: disable=consider-using-with
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError('the endpoint did not start; see %s/log' % self.dir)
            time.sleep(0.05)
        with open(port_file, encoding='ascii') as fh:
            self.url = 'http://127.0.0.1:%s' % fh.read().strip()
        client(self.url).create_vault(vaultName=VAULT)
        return self

    def cpu_seconds(self):
        """User + system time the endpoint (all its threads) has used so far."""
        with open('/proc/%d/stat' % self.proc.pid, encoding='ascii') as fh:
            fields = fh.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

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


def ansible_seconds(runner, argv, env, repeat=3):
    """Median wall time of an ad-hoc ansible command (each includes ansible's own start-up)."""
    return statistics.median(runner.run(argv, env)[1] for dummy in range(repeat))


def load():
    return '%.1f' % os.getloadavg()[0]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--workdir', default='/tmp/coldvault-glacier-bench')
    parser.add_argument('--quick', action='store_true', help='small files and one round (about a minute): a smoke run, not results')
    parser.add_argument('--size-mib', type=int, help='size of the side-by-side file (default 2048, quick 256)')
    parser.add_argument('--part-mib', type=int, default=8, help='part size of the side-by-side module, engine and glacier-upload runs')
    parser.add_argument('--seed-part-mib', type=int, default=32, help="the seed's part size")
    parser.add_argument('--threads', type=int, default=4)
    parser.add_argument('--rounds', type=int, help='side-by-side rounds (default 3, quick 1)')
    parser.add_argument('--client-cpu', type=int, default=0, help='CPU the clients are pinned to (taskset)')
    parser.add_argument('--endpoint-cpu', type=int, default=1, help='CPU the endpoint is pinned to (taskset)')
    parser.add_argument('--no-pin', action='store_true', help='do not pin (a machine with one CPU)')
    parser.add_argument('--wan-size-mib', type=int, help='default 256, quick 64')
    parser.add_argument('--wan-bandwidth', type=int, default=8 * 1000 * 1000, help='per-connection cap, bytes/s')
    parser.add_argument('--wan-latency-ms', type=int, default=50)
    parser.add_argument('--restore-size-mib', type=int, help='default 1024, quick 64')
    parser.add_argument('--rss-size-mib', type=int, help='default 2048, quick 1024')
    parser.add_argument('--rerun-size-mib', type=int, help='default 4096, quick 1024')
    parser.add_argument('--endpoint-data-dir', default='/dev/shm/coldvault-glacier-bench-endpoint',
                        help="the endpoint's store; RAM by default, so the disk's write speed is not measured")
    parser.add_argument('--json', help='also write the results here')
    parser.add_argument('--chart', help='also draw them here (SVG)')
    args = parser.parse_args()
    defaults = {'size_mib': (2048, 256), 'rounds': (3, 1), 'wan_size_mib': (256, 64), 'restore_size_mib': (1024, 64),
                'rss_size_mib': (2048, 1024), 'rerun_size_mib': (4096, 1024)}
    for key, (full, quick) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
    if args.no_pin or not shutil.which('taskset') or len(os.sched_getaffinity(0)) < 2:
        args.client_cpu = args.endpoint_cpu = None
    return args


def main():  # pylint: disable=too-many-locals,too-many-statements
    args = parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    runner = Runner(args.client_cpu)
    results = {'machine': {'date': datetime.date.today().isoformat(), 'cpus': os.cpu_count(), 'python': platform.python_version(),
                           'botocore': botocore.__version__, 'load_start': load(), 'quick': args.quick}}
    rows = []

    def row(what, value, target, ok):
        rows.append((what, value, target, 'PASS' if ok else 'FAIL' if ok is not None else ''))
        print('%-62s %-40s %-16s %s' % rows[-1], flush=True)

    print('machine: %d CPUs, load average %s; clients on CPU %s, endpoint on CPU %s' % (
        os.cpu_count(), results['machine']['load_start'], args.client_cpu, args.endpoint_cpu), flush=True)
    print('%-62s %-40s %-16s %s' % ('measure', 'value', 'target', ''), flush=True)
    floor = json.loads(runner.run([sys.executable, __file__, '_floor'])[0])
    results['floor'] = floor
    row('floor: two SHA-256 passes over 1 GiB, client CPU', '%.2f s' % floor['cpu_seconds_per_gib'], '', None)

    with Endpoint(args.workdir, args.endpoint_data_dir, args.endpoint_cpu) as endpoint:
        # 1. side by side: the module as Ansible runs it, its engine alone, glacier-upload and the seed's algorithm.
        big = os.path.join(args.workdir, 'side-by-side-%d.bin' % args.size_mib)
        make_file(big, args.size_mib * MIB)
        transport = json.loads(runner.run([sys.executable, __file__, '_transport', big,
                                           '-' if args.endpoint_cpu is None else str(args.endpoint_cpu)])[0])
        results['transport'] = transport
        contest = SideBySide(runner, endpoint, args, big)
        if not contest.peer:
            row('glacier-upload', 'not installed: pip install -r tests/benchmark/requirements.txt', 'present', False)
        runs, startup = contest.run(args.rounds)
        summary = summarize(runs, startup, contest.size)
        results['side_by_side'] = {'size_mib': args.size_mib, 'part_mib': args.part_mib, 'threads': args.threads,
                                   'seed_part_mib': args.seed_part_mib, 'client_cpu': args.client_cpu,
                                   'endpoint_cpu': args.endpoint_cpu, 'runs': runs, 'startup': startup, 'summary': summary,
                                   'load_after': load()}
        label = '%d MiB, %d MiB parts, %d threads' % (args.size_mib, args.part_mib, args.threads)
        for name in summary:
            s = summary[name]
            row('%s (%s): wall, CPU/GiB' % (name, label if name != 'seed' else 'sequential, %d MiB parts' % args.seed_part_mib),
                '%.2f s (%.2f-%.2f), %.2f s/GiB' % (s['median_seconds'], min(s['seconds']), max(s['seconds']), s['median_cpu_per_gib']),
                '', None)
        mod = summary['module']
        row('  module: transfer inside Ansible (stats.seconds)', '%.2f-%.2f s' % (min(mod['transfer_seconds']), max(mod['transfer_seconds'])),
            '', None)
        row('  module: unchanged rerun (start-up, no transfer)', '%.2f s, %.2f s CPU (module process %.2f s)' % (
            mod['startup_seconds'], mod['startup_cpu_seconds'], mod['startup_module_cpu_seconds']), '', None)
        if 'glacier-upload' in summary:
            ratio = mod['median_seconds'] / summary['glacier-upload']['median_seconds']
            row('module / glacier-upload: whole-process wall time', '%.2fx' % ratio, '<= 0.9x', ratio <= 0.9)
        ratio = mod['median_seconds'] / summary['seed']['median_seconds']
        row("module / seed's algorithm: whole-process wall time", '%.2fx' % ratio, '<= 0.6x', ratio <= 0.6)
        ratio = summary['engine']['median_seconds'] / summary['seed']['median_seconds']
        row('engine / seed: whole-process wall time', '%.2fx' % ratio, '<= 0.35x', ratio <= 0.35)
        if 'glacier-upload' in summary:
            bound = mod['bound_seconds']
            row("  bound: the module's start-up + the endpoint's CPU for its upload", '%.2f s = %.2fx glacier-upload, %.2fx seed' % (
                bound, bound / summary['glacier-upload']['median_seconds'], bound / summary['seed']['median_seconds']), '', None)
        row('  endpoint CPU per GiB (module, engine, glacier-upload, seed)',
            ', '.join('%.2f' % summary[name]['endpoint_cpu_per_gib'] for name in summary) + ' s', '', None)
        per_floor = mod['median_transfer_cpu_per_gib'] / floor['cpu_seconds_per_gib']
        row('client CPU per GiB: module transfer / floor', '%.2f s/GiB = %.2fx' % (mod['median_transfer_cpu_per_gib'], per_floor),
            '<= 1.4x', per_floor <= 1.4)
        moved = floor['cpu_seconds_per_gib'] + transport['cpu_seconds_per_gib']
        row('  floor + reading the file and writing it to a TCP socket', '%.2f s/GiB = %.2fx' % (moved, moved / floor['cpu_seconds_per_gib']),
            '', None)
        row('  module process, start-up included / floor', '%.2f s/GiB = %.2fx' % (
            mod['median_module_cpu_per_gib'], mod['median_module_cpu_per_gib'] / floor['cpu_seconds_per_gib']), '', None)
        row('  engine process, start-up included / floor', '%.2f s/GiB = %.2fx' % (
            summary['engine']['median_cpu_per_gib'], summary['engine']['median_cpu_per_gib'] / floor['cpu_seconds_per_gib']), '', None)
        eng, seed = summary['engine'], summary['seed']
        row('bytes read per byte uploaded (engine, seed)', '%.2f, %.2f' % (eng['read_per_byte'], seed['read_per_byte']),
            'engine < seed', eng['read_per_byte'] < seed['read_per_byte'])
        row('peak RSS MiB (engine, seed)', '%.0f, %.0f' % (eng['peak_rss_mib'], seed['peak_rss_mib']), '', None)

        # 2. simulated WAN: per-request latency and a per-connection bandwidth cap.
        wan = os.path.join(args.workdir, 'wan-%d.bin' % args.wan_size_mib)
        make_file(wan, args.wan_size_mib * MIB)
        cap = 4 * args.wan_bandwidth / 1e6
        endpoint.network(args.wan_latency_ms, args.wan_bandwidth)
        try:
            wan_run = runner.measure(endpoint.url, 'module', wan, None, 4)
        finally:
            endpoint.network(0, 0)
        endpoint.forget(wan_run['archive_id'])
        share = wan_run['mb_per_s'] / cap
        results['wan'] = dict(wan_run, aggregate_cap_mb_per_s=cap, share=share, latency_ms=args.wan_latency_ms, bandwidth=args.wan_bandwidth)
        row('WAN %d MiB, %d ms, 4 x %.1f MB/s: throughput' % (args.wan_size_mib, args.wan_latency_ms, args.wan_bandwidth / 1e6),
            '%.1f MB/s = %.0f%% of cap' % (wan_run['mb_per_s'], share * 100), '>= 85%', share >= 0.85)

        # 2b. restore over the same WAN: an archive retrieved with a job and downloaded in ranges.
        source = os.path.join(args.workdir, 'restore-%d.bin' % args.restore_size_mib)
        make_file(source, args.restore_size_mib * MIB)
        uploaded = runner.measure(endpoint.url, 'module', source, None, 4)
        glacier = client(endpoint.url)
        job_id = glacier.initiate_job(vaultName=VAULT, jobParameters={'Type': 'archive-retrieval', 'ArchiveId': uploaded['archive_id']})['jobId']
        restored = os.path.join(args.workdir, 'restored.bin')
        with open(source, 'rb') as fh:
            expected = calculate_tree_hash(fh)
        endpoint.network(args.wan_latency_ms, args.wan_bandwidth)
        try:
            restore = runner.measure(endpoint.url, 'restore', concurrency=4, job_id=job_id, dest=restored, size=uploaded['size'], tree_hash=expected)
        finally:
            endpoint.network(0, 0)
        same = filecmp.cmp(source, restored, shallow=False)
        os.unlink(restored)
        endpoint.forget(uploaded['archive_id'])
        share = restore['mb_per_s'] / cap
        results['restore'] = dict(restore, aggregate_cap_mb_per_s=cap, share=share, identical=same)
        row('restore %d MiB over that WAN, verified: throughput' % args.restore_size_mib,
            '%.1f MB/s = %.0f%% of cap' % (restore['mb_per_s'], share * 100), '>= 85%', share >= 0.85 and same)

        # 3. memory: big parts are streamed, never held.
        rss_file = os.path.join(args.workdir, 'rss.bin')
        make_file(rss_file, args.rss_size_mib * MIB)
        rss = runner.measure(endpoint.url, 'module', rss_file, 512, 4)
        endpoint.forget(rss['archive_id'])
        results['rss'] = rss
        row('peak RSS, %d MiB file, 512 MiB parts, 4 threads' % args.rss_size_mib, '%.0f MiB' % rss['peak_rss_mib'],
            '<= 200 MiB', rss['peak_rss_mib'] <= 200)
        os.unlink(rss_file)

        # 4. an unchanged rerun under date_size against ansible.builtin.stat of the same file (both ad hoc).
        rerun = os.path.join(args.workdir, 'rerun-%d.bin' % args.rerun_size_mib)
        make_file(rerun, args.rerun_size_mib * MIB)
        facts = os.path.join(args.workdir, 'bench.fact')
        env = ansible_env(args.workdir)
        upload = ['ansible', 'localhost', '-m', 'coldvault.glacier.upload', '-a',
                  'vault=%s src=%s facts_file=%s region=us-east-1 endpoint_url=%s' % (VAULT, rerun, facts, endpoint.url)]
        first = adhoc_result(runner.run(upload, env)[0])  # the first upload records the archive (or finds it recorded)
        unchanged = ansible_seconds(runner, upload, env)
        stat = ansible_seconds(runner, ['ansible', 'localhost', '-m', 'ansible.builtin.stat', '-a', 'path=%s' % rerun], env)
        if first.get('uploaded'):
            endpoint.forget(first['archive_id'])
        os.unlink(facts)
        results['rerun'] = {'upload_unchanged_seconds': unchanged, 'stat_seconds': stat}
        row('unchanged rerun of %d MiB (date_size) / stat' % args.rerun_size_mib,
            '%.2fs / %.2fs = %.2fx' % (unchanged, stat, unchanged / stat), '<= 1.3x', unchanged <= 1.3 * stat)

    results['machine']['load_end'] = load()
    print('load average at the end: %s' % results['machine']['load_end'])
    data = {'results': results, 'rows': rows}
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as fh:
            json.dump(data, fh, indent=2)
    if args.chart:
        chart.write(data, args.chart)
        print('chart: %s' % args.chart)
    return 0 if all(r[3] != 'FAIL' for r in rows) else 1


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_child':
        child(json.loads(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == '_floor':
        floor_child()
    elif len(sys.argv) > 1 and sys.argv[1] == '_transport':
        transport_child(sys.argv[2], None if sys.argv[3] == '-' else int(sys.argv[3]))
    else:
        sys.exit(main())
