# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of a restore from an S3 bucket through a simulated WAN (`make bench`; see docs/benchmark.md).

A DEEP_ARCHIVE object (1 GiB, 8 MiB parts, uploaded by `coldvault.glacier.upload`) is restored and retrieved by
`coldvault.glacier.retrieve` as Ansible runs it, while the endpoint adds a per-request latency and caps every
connection's bandwidth. The module's own transfer counters (`stats.mb_per_s`: bytes received over the download's
wall time) are compared with the aggregate cap (threads x per-connection cap); the restored file is compared with
the source byte for byte, and the endpoint's counters show what was requested.
"""

import argparse
import datetime
import filecmp
import json
import os
import platform
import shutil
import sys
import urllib.request

import boto3
import botocore
import botocore.config

from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from transfer_bench import Endpoint, Runner, adhoc_result, ansible_env, load, make_file  # noqa: E402  pylint: disable=wrong-import-position

BUCKET = 'bench-restore'
CREDENTIALS = {'aws_access_key_id': 'bench', 'aws_secret_access_key': 'bench', 'region_name': 'us-east-1'}


def s3_client(url, pool=10):
    config = botocore.config.Config(retries={'mode': 'standard', 'max_attempts': 5}, max_pool_connections=pool,
                                    s3={'addressing_style': 'path', 'payload_signing_enabled': False})
    return boto3.client('s3', endpoint_url=url, config=config, **CREDENTIALS)


def control(url, action, body=None):
    request = urllib.request.Request('%s/_control/%s' % (url, action), method='POST' if body is not None else 'GET',
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request) as reply:  # nosec - our own endpoint on loopback
        return json.loads(reply.read() or b'{}')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--workdir', default='/tmp/coldvault-glacier-bench')
    parser.add_argument('--quick', action='store_true', help='a 64 MiB object: a smoke run, not results')
    parser.add_argument('--size-mib', type=int, help='size of the object (default 1024, quick 64)')
    parser.add_argument('--part-mib', type=int, default=8, help="the object's part size (the upload default)")
    parser.add_argument('--threads', type=int, default=4, help="the retrieve module's concurrency")
    parser.add_argument('--wan-bandwidth', type=int, default=8 * 1000 * 1000, help='per-connection cap, bytes/s')
    parser.add_argument('--wan-latency-ms', type=int, default=50)
    parser.add_argument('--client-cpu', type=int, default=0, help='CPU the client is pinned to (taskset)')
    parser.add_argument('--endpoint-cpu', type=int, default=1, help='CPU the endpoint is pinned to (taskset)')
    parser.add_argument('--no-pin', action='store_true', help='do not pin (a machine with one CPU)')
    parser.add_argument('--endpoint-data-dir', default='/dev/shm/coldvault-glacier-s3-bench-endpoint')
    parser.add_argument('--json', help='also write the results here')
    # make bench hands both benches the same BENCH_ARGS: the other bench's options are not this one's.
    args, others = parser.parse_known_args()
    if others:
        print('s3_restore_bench: ignoring %s (options of transfer_bench.py)' % ' '.join(others), flush=True)
    if args.size_mib is None:
        args.size_mib = 64 if args.quick else 1024
    if args.no_pin or not shutil.which('taskset') or len(os.sched_getaffinity(0)) < 2:
        args.client_cpu = args.endpoint_cpu = None
    return args


def main():  # pylint: disable=too-many-locals
    args = parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    runner = Runner(args.client_cpu)
    rows = []

    def row(what, value, target, ok):
        rows.append((what, value, target, 'PASS' if ok else 'FAIL' if ok is not None else ''))
        print('%-62s %-40s %-16s %s' % rows[-1], flush=True)

    results = {'machine': {'date': datetime.date.today().isoformat(), 'cpus': os.cpu_count(),
                           'python': platform.python_version(), 'botocore': botocore.__version__,
                           'load_start': load(), 'quick': args.quick}}
    print('machine: %d CPUs, load average %s; client on CPU %s, endpoint on CPU %s' % (
        os.cpu_count(), results['machine']['load_start'], args.client_cpu, args.endpoint_cpu), flush=True)
    source = os.path.join(args.workdir, 's3-restore-%d.bin' % args.size_mib)
    make_file(source, args.size_mib * MIB)
    restored = os.path.join(args.workdir, 's3-restored.bin')
    facts = os.path.join(args.workdir, 's3-restore.fact')
    for leftover in (restored, facts):
        if os.path.exists(leftover):
            os.unlink(leftover)
    with Endpoint(args.workdir, args.endpoint_data_dir, args.endpoint_cpu) as endpoint:
        s3_client(endpoint.url).create_bucket(Bucket=BUCKET)
        # Uploaded (and recorded in the catalog) by the upload module, without shaping.
        common = 'facts_file=%s region=us-east-1 endpoint_url=%s concurrency=%d' % (facts, endpoint.url, args.threads)
        archive = adhoc_result(runner.run(['ansible', 'localhost', '-m', 'coldvault.glacier.upload', '-a',
                                           'bucket=%s name=bench src=%s storage_class=DEEP_ARCHIVE part_size=%d %s'
                                           % (BUCKET, source, args.part_mib, common)], ansible_env(args.workdir))[0])
        cap = args.threads * args.wan_bandwidth / 1e6
        control(endpoint.url, 'reset-counters', {})
        control(endpoint.url, 'network', {'latency_ms': args.wan_latency_ms, 'bandwidth': args.wan_bandwidth})
        argv = ['ansible', 'localhost', '-m', 'coldvault.glacier.retrieve', '-a',
                'bucket=%s name=bench dest=%s poll_interval=1 %s' % (BUCKET, restored, common)]
        try:
            out, seconds, cpu = runner.run(argv, ansible_env(args.workdir))
        finally:
            network = control(endpoint.url, 'network')
            control(endpoint.url, 'network', {'latency_ms': 0, 'bandwidth': 0})
        counters = control(endpoint.url, 'counters')['s3']
    result = adhoc_result(out)
    same = filecmp.cmp(source, restored, shallow=False)
    share = result['stats']['mb_per_s'] / cap
    results['s3_restore'] = {
        'size_mib': args.size_mib, 'part_mib': args.part_mib, 'threads': args.threads, 'latency_ms': args.wan_latency_ms,
        'bandwidth': args.wan_bandwidth, 'aggregate_cap_mb_per_s': cap, 'share': share, 'identical': same,
        'module_stats': result['stats'], 'restore': result.get('restore'), 'process_seconds': seconds,
        'process_cpu_seconds': cpu, 'requests': counters['requests'], 'endpoint_slept': network.get('slept')}
    row('S3 restore %d MiB DEEP_ARCHIVE, %d ms, %d x %.1f MB/s: download' % (
        args.size_mib, args.wan_latency_ms, args.threads, args.wan_bandwidth / 1e6),
        '%.1f MB/s = %.0f%% of cap' % (result['stats']['mb_per_s'], share * 100), '>= 90%', share >= 0.9)
    row('  verified (module: part SHA-256s, composite, tree hash)', 'byte-identical: %s, tree hash %s' % (
        same, 'matches' if result.get('tree_hash') == archive['tree_hash'] else 'DIFFERS'), 'identical',
        same and result.get('tree_hash') == archive['tree_hash'])
    row('  requests', ', '.join('%s %d' % kv for kv in sorted(counters['requests'].items())),
        'RestoreObject 1', counters['requests'].get('RestoreObject') == 1)
    row('  whole module run (ansible start-up, restore, download)', '%.1f s wall, %.1f s CPU' % (seconds, cpu), '', None)
    os.unlink(restored)
    results['machine']['load_end'] = load()
    print('load average at the end: %s' % results['machine']['load_end'])
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as fh:
            json.dump({'results': results, 'rows': rows}, fh, indent=2)
    return 0 if all(r[3] != 'FAIL' for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
