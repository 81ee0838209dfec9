# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of coldvault.glacier.migrate through the simulated WAN (`make bench`; see docs/benchmark.md).

A 1 GiB archive in a vault of the local endpoint, recorded in a catalog, is migrated into a bucket by the module as
Ansible runs it (`ansible localhost -m coldvault.glacier.migrate`) while the endpoint adds latency to every request
and caps every connection in both directions: the job output comes down capped, the parts go up capped. Prints the
rate against the aggregate cap of the connections in use and the module process's peak RSS, checks the copy byte
for byte, and exits non-zero when a target is missed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import boto3
import botocore.config

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# pylint: disable=wrong-import-position
from transfer_bench import VAULT, Endpoint, adhoc_result, ansible_env, client, make_file  # noqa: E402

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog  # noqa: E402
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.multipart import GlacierTransfer  # noqa: E402
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB, file_tree_hash  # noqa: E402

BUCKET = 'bench-migrate'
TARGET_SHARE = 0.85
TARGET_RSS_MIB = 200


def s3_client(url):
    return boto3.client('s3', endpoint_url=url, region_name='us-east-1', aws_access_key_id='bench',
                        aws_secret_access_key='bench', config=botocore.config.Config(s3={'addressing_style': 'path'}))


def prepare(endpoint, path, facts):
    """Upload the file to the vault (unshaped) and record it in a new catalog, as coldvault.glacier.upload would."""
    size = os.path.getsize(path)
    glacier = client(endpoint.url, 6)
    transfer = GlacierTransfer(glacier, VAULT, path, size, 64 * MIB, 4)
    upload_id = transfer.initiate('bench migrate')
    tree, dummy = transfer.upload_parts(upload_id)
    archive = transfer.complete(upload_id, tree)
    arn = glacier.describe_vault(vaultName=VAULT)['VaultARN']
    record = {'archive_id': archive['archive_id'], 'tree_hash': tree, 'size': size, 'mtime': int(os.path.getmtime(path)),
              'uploaded_at': catalog.now(), 'location': archive['location'], 'description': 'bench migrate',
              'part_size': 64 * MIB}
    catalog.update(facts, lambda d: catalog.record_archive(d, arn, 'bench.bin', record))
    s3_client(endpoint.url).create_bucket(Bucket=BUCKET)
    return archive['archive_id'], tree


def migrate(endpoint, args, facts, env):
    """The module as Ansible runs it; its interpreter goes through rusage_run.py so its own process is measured."""
    usage = os.path.join(args.workdir, 'migrate-process.json')
    interpreter = os.path.join(args.workdir, 'measured-python-migrate')
    with open(interpreter, 'w', encoding='utf-8') as fh:
        fh.write('#!/bin/sh\nexec "%s" "%s" "%s" "%s" "$@"\n' % (sys.executable, os.path.join(HERE, 'rusage_run.py'),
                                                                 usage, sys.executable))
    os.chmod(interpreter, 0o755)
    argv = ['ansible', 'localhost', '-e', 'ansible_python_interpreter=%s' % interpreter, '-m', 'coldvault.glacier.migrate',
            '-a', 'vault=%s bucket=%s facts_file=%s region=us-east-1 endpoint_url=%s concurrency=%d part_size=%d wait=false'
            % (VAULT, BUCKET, facts, endpoint.url, args.concurrency, args.part_mib)]
    prefix = ['taskset', '-c', str(args.client_cpu)] if args.client_cpu is not None else []
    started = time.monotonic()
    proc = subprocess.run(prefix + argv, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if proc.returncode:
        raise RuntimeError('migrate failed (%d):\n%s\n%s' % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    with open(usage, encoding='utf-8') as fh:
        process = json.load(fh)
    return adhoc_result(proc.stdout), wall, process


def shaping(endpoint):
    """What the endpoint's shaping made requests wait, in seconds: {"latency_seconds", "bandwidth_seconds"}."""
    import urllib.request  # pylint: disable=import-outside-toplevel
    with urllib.request.urlopen(endpoint.url + '/_control/network') as reply:  # nosec - our own endpoint on loopback
        return json.load(reply)['slept']


def compare(endpoint, key, path):
    """Restore and download the copy (unshaped) and compare it with the file, byte for byte."""
    s3 = s3_client(endpoint.url)
    s3.restore_object(Bucket=BUCKET, Key=key, RestoreRequest={'Days': 1, 'GlacierJobParameters': {'Tier': 'Standard'}})
    body = s3.get_object(Bucket=BUCKET, Key=key)['Body']
    with open(path, 'rb') as fh:
        while True:
            a, b = body.read(8 * MIB), fh.read(8 * MIB)
            if a != b:
                return False
            if not a:
                return True


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--workdir', default=os.path.join(tempfile.gettempdir(), 'coldvault-glacier-bench'))
    parser.add_argument('--endpoint-data-dir', default=None, help='default: /dev/shm/coldvault-glacier-migrate-bench')
    parser.add_argument('--size-mib', type=int, default=1024)
    parser.add_argument('--latency-ms', type=int, default=50)
    parser.add_argument('--bandwidth', type=int, default=8 * 10 ** 6, help='bytes/s per connection and direction')
    parser.add_argument('--concurrency', type=int, default=4)
    parser.add_argument('--part-mib', type=int, default=8)
    parser.add_argument('--client-cpu', type=int, default=0)
    parser.add_argument('--endpoint-cpu', type=int, default=1)
    parser.add_argument('--no-pin', action='store_true')
    parser.add_argument('--quick', action='store_true', help='64 MiB: a smoke run, not a result')
    parser.add_argument('--json', help='write the numbers here')
    args = parser.parse_args()
    if args.no_pin:
        args.client_cpu = args.endpoint_cpu = None
    if args.quick:
        args.size_mib = 64
    os.makedirs(args.workdir, exist_ok=True)
    data_dir = args.endpoint_data_dir or ('/dev/shm/coldvault-glacier-migrate-bench' if os.path.isdir('/dev/shm')
                                          else os.path.join(args.workdir, 'migrate-endpoint-data'))
    path = os.path.join(args.workdir, 'migrate-%dMiB.bin' % args.size_mib)
    make_file(path, args.size_mib * MIB)
    size = os.path.getsize(path)
    facts = os.path.join(args.workdir, 'migrate-bench.fact')
    for stale in (facts, facts + '.lock'):
        if os.path.exists(stale):
            os.unlink(stale)
    # Keys that appear nowhere else: Ansible masks every no_log value (such as a key) in what the module returns.
    env = dict(ansible_env(args.workdir), AWS_ACCESS_KEY_ID='AKIAMIGRATEBENCH0001', AWS_SECRET_ACCESS_KEY='migrate-bench-5e3c1a')

    with Endpoint(args.workdir, data_dir, args.endpoint_cpu) as endpoint:
        archive_id, tree = prepare(endpoint, path, facts)
        endpoint.network(args.latency_ms, args.bandwidth)
        slept_before, endpoint_cpu = shaping(endpoint), endpoint.cpu_seconds()
        load = os.getloadavg()[0]
        result, wall, process = migrate(endpoint, args, facts, env)
        endpoint_cpu = endpoint.cpu_seconds() - endpoint_cpu
        slept = {k: v - slept_before[k] for k, v in shaping(endpoint).items()}
        endpoint.network(0, 0)
        archive = result['archives'][0]
        identical = archive['status'] == 'migrated' and compare(endpoint, archive['key'], path)

    stats = result['stats']
    cap = args.concurrency * args.bandwidth
    rate = size / stats['seconds']
    numbers = {
        'size': size, 'latency_ms': args.latency_ms, 'bandwidth_per_connection': args.bandwidth,
        'concurrency': args.concurrency, 'part_mib': args.part_mib, 'cap_bytes_per_s': cap,
        'module_seconds': stats['seconds'], 'ansible_wall_seconds': wall, 'rate_bytes_per_s': rate,
        'share_of_cap': rate / cap, 'peak_rss_mib': process['peak_rss_mib'], 'module_cpu_seconds': process['cpu_seconds'],
        'bytes_received': stats['bytes_received'], 'bytes_sent': stats['bytes_sent'], 'parts_sent': stats['parts_sent'],
        'range_retries': stats['range_retries'], 'identical': identical,
        'tree_hash_matches': archive.get('tree_hash') == tree == file_tree_hash(path), 'archive_id': archive_id,
        'endpoint_cpu_seconds': endpoint_cpu, 'shaping_slept': slept, 'load_average_before': load,
        'load_average_after': os.getloadavg()[0],
    }
    rows = [
        ('migrate %d MiB, %d ms, %d x %.0f MB/s each way, %d MiB parts'
         % (size // MIB, args.latency_ms, args.concurrency, args.bandwidth / 1e6, args.part_mib),
         '%.1f MB/s = %.0f %% of the cap (%.0f MB/s)' % (rate / 1e6, 100 * rate / cap, cap / 1e6),
         '>= %.0f %%' % (100 * TARGET_SHARE), rate / cap >= TARGET_SHARE),
        ('peak RSS of the module process', '%.0f MiB' % process['peak_rss_mib'], '<= %d MiB' % TARGET_RSS_MIB,
         process['peak_rss_mib'] <= TARGET_RSS_MIB),
        ('copy restored and compared byte for byte; tree hash', '%s; %s' % (
            'identical' if identical else 'DIFFERENT', 'matches' if numbers['tree_hash_matches'] else 'DIFFERS'),
         'identical', identical and numbers['tree_hash_matches']),
    ]
    print('\n%-62s %-40s %-10s' % ('measure', 'result', 'target'))
    for measure, value, target, met in rows:
        print('%-62s %-40s %-10s %s' % (measure, value, target, 'met' if met else 'MISSED'))
    print('module run %.1f s (whole ansible command %.1f s), module CPU %.1f s, endpoint CPU %.1f s; %d bytes down, '
          '%d up, %d range retries; shaping slept %.1f s (latency) + %.1f s (bandwidth) of connection time; load average '
          '%.1f before, %.1f after' % (stats['seconds'], wall, process['cpu_seconds'], endpoint_cpu, stats['bytes_received'],
                                       stats['bytes_sent'], stats['range_retries'], slept['latency_seconds'],
                                       slept['bandwidth_seconds'], load, numbers['load_average_after']))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as fh:
            json.dump(numbers, fh, indent=2)
    if args.quick:
        return 0
    return 0 if all(met for dummy, dummy2, dummy3, met in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
