# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of coldvault.glacier uploads to an S3 bucket against the local endpoint (see docs/benchmark.md, "S3").

Each transfer runs in a fresh child process so that its wall time, CPU time, bytes read (/proc/self/io rchar)
and peak RSS are its own. The module's engine (S3Transfer, with the client exactly as the module configures it)
is measured; boto3's own ``upload_file`` (s3transfer) runs beside it on the loopback file for reference. Prints a
table, exits non-zero when a target is missed, and writes the numbers as JSON.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import urllib.request

import boto3
import boto3.s3.transfer
import botocore
import botocore.config

from ansible_collections.coldvault.glacier.plugins.module_utils.s3 import api
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.multipart import S3Transfer, object_key, plan_part_size
from ansible_collections.coldvault.glacier.plugins.module_utils.tree_hash import MIB

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_files import make_file  # noqa: E402  pylint: disable=wrong-import-position
ENDPOINT_PATH = os.path.join(os.path.dirname(HERE), 'endpoint')
BUCKET = 'cvg-bench'
CREDENTIALS = {'aws_access_key_id': 'bench', 'aws_secret_access_key': 'bench', 'region_name': 'us-east-1'}


class BenchModule:
    """What api.client needs of a module: the endpoint URL and a client factory (as AnsibleAWSModule.client)."""

    def __init__(self, url):
        self.params = {'endpoint_url': url}

    def client(self, service, config=None):
        return boto3.client(service, endpoint_url=self.params['endpoint_url'], config=config, **CREDENTIALS)


def plain_client(url):
    return boto3.client('s3', endpoint_url=url, config=botocore.config.Config(s3={'addressing_style': 'path'}), **CREDENTIALS)


def rchar():
    with open('/proc/self/io', encoding='ascii') as fh:
        return int(dict(line.split(': ') for line in fh.read().splitlines())['rchar'])


# -- what a child process runs ---------------------------------------------------------------------------------
def module_client(url, concurrency):
    return api.client(BenchModule(url), concurrency)


def run_module_engine(s3, path, part_mib, concurrency):
    """The module's upload: S3Transfer with the module's client, multipart when the file exceeds one part."""
    size = os.path.getsize(path)
    part_size = plan_part_size(size, part_mib)
    transfer = S3Transfer(s3, BUCKET, object_key('bench', os.path.basename(path)), path, size, part_size, 'DEEP_ARCHIVE',
                          concurrency)
    if size <= part_size:
        return transfer.upload_single('bench')['key']
    upload_id = transfer.initiate('bench')
    tree, dummy = transfer.upload_parts(upload_id)
    return transfer.complete(upload_id, tree)['key']


def boto3_client(url, concurrency):
    config = botocore.config.Config(s3={'addressing_style': 'path'}, max_pool_connections=concurrency + 2)
    return boto3.client('s3', endpoint_url=url, config=config, **CREDENTIALS)


def run_boto3_upload_file(s3, path, part_mib, concurrency):
    """boto3's managed transfer with its defaults (botocore's CRC32 checksums), same part size and threads."""
    key = object_key('boto3', os.path.basename(path))
    config = boto3.s3.transfer.TransferConfig(multipart_chunksize=(part_mib or 8) * MIB, max_concurrency=concurrency)
    s3.upload_file(path, BUCKET, key, ExtraArgs={'StorageClass': 'DEEP_ARCHIVE'}, Config=config)
    return key


def child(spec):
    """Run one transfer and print its own measurements as JSON.

    The client is made and has looked the bucket up (as the module does first) before measuring starts: loading
    botocore's S3 model reads a few MB of files, which is start-up, not transfer.
    """
    make_client, runner = {'module': (module_client, run_module_engine), 'boto3': (boto3_client, run_boto3_upload_file)}[spec['variant']]
    s3 = make_client(spec['url'], spec['concurrency'])
    s3.head_bucket(Bucket=BUCKET)
    read_before = rchar()
    started = time.monotonic()
    key = runner(s3, spec['file'], spec.get('part_mib'), spec['concurrency'])
    seconds = time.monotonic() - started
    size = os.path.getsize(spec['file'])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        'variant': spec['variant'], 'size': size, 'seconds': seconds, 'key': key,
        'cpu_seconds': usage.ru_utime + usage.ru_stime, 'read_per_byte': (rchar() - read_before) / size,
        'peak_rss_mib': usage.ru_maxrss / 1024.0, 'mb_per_s': size / seconds / 1e6,
    }))


def measure(url, variant, path, part_mib=None, concurrency=4):
    spec = {'url': url, 'variant': variant, 'file': path, 'part_mib': part_mib, 'concurrency': concurrency}
    out = subprocess.run([sys.executable, __file__, '_child', json.dumps(spec)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- the endpoint ------------------------------------------------------------------------------------------------
class Endpoint:
    """The local endpoint with its store in RAM (/dev/shm), so that the disk's write speed is not what is measured."""

    def __init__(self, workdir, data_dir):
        self.dir = os.path.join(workdir, 'endpoint-s3')
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
        plain_client(self.url).create_bucket(Bucket=BUCKET)
        return self

    def network(self, latency_ms=0, bandwidth=0):
        request = urllib.request.Request(self.url + '/_control/network', method='POST',
                                         data=json.dumps({'latency_ms': latency_ms, 'bandwidth': bandwidth}).encode())
        with urllib.request.urlopen(request) as reply:  # nosec - our own endpoint on loopback
            reply.read()

    def forget(self, *keys):
        """Delete measured objects so the RAM-backed store stays small."""
        s3 = plain_client(self.url)
        for key in keys:
            s3.delete_object(Bucket=BUCKET, Key=key)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def main():  # pylint: disable=too-many-locals
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--workdir', default='/tmp/coldvault-glacier-bench')
    parser.add_argument('--size-mib', type=int, default=1024, help='size of the loopback file')
    parser.add_argument('--wan-size-mib', type=int, default=256)
    parser.add_argument('--wan-bandwidth', type=int, default=8 * 1000 * 1000, help='per-connection cap, bytes/s')
    parser.add_argument('--wan-latency-ms', type=int, default=50)
    parser.add_argument('--rss-size-mib', type=int, default=2048)
    parser.add_argument('--endpoint-data-dir', default='/dev/shm/coldvault-glacier-bench-s3-endpoint',
                        help="the endpoint's store; RAM by default, so the disk's write speed is not measured")
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    results = {'machine': {'date': time.strftime('%Y-%m-%d'), 'cpus': os.cpu_count(), 'botocore': botocore.__version__,
                           'load_start': '%.1f' % os.getloadavg()[0]}}
    rows = []

    def row(what, value, target, ok):
        rows.append((what, value, target, 'PASS' if ok else 'FAIL' if ok is not None else ''))
        print('%-60s %-30s %-12s %s' % rows[-1], flush=True)

    print('%-60s %-30s %-12s %s' % ('measure (S3)', 'value', 'target', ''), flush=True)
    with Endpoint(args.workdir, args.endpoint_data_dir) as endpoint:
        # 1. loopback: the module's engine, and boto3's upload_file beside it for reference.
        big = os.path.join(args.workdir, 'loopback.bin')
        make_file(big, args.size_mib * MIB)
        mod = measure(endpoint.url, 'module', big)
        endpoint.forget(mod['key'])
        ref = measure(endpoint.url, 'boto3', big, 8)
        endpoint.forget(ref['key'])
        results['loopback'] = {'module': mod, 'boto3_upload_file': ref}
        row('loopback %d MiB, 8 MiB parts, 4 threads: module, boto3' % args.size_mib,
            '%.0f, %.0f MB/s' % (mod['mb_per_s'], ref['mb_per_s']), '', None)
        row('  client CPU seconds (module, boto3 upload_file)', '%.2f, %.2f' % (mod['cpu_seconds'], ref['cpu_seconds']), '', None)
        row('  bytes read per byte uploaded (module)', '%.2f' % mod['read_per_byte'], '1.00', round(mod['read_per_byte'], 2) == 1.00)
        row('  bytes read per byte uploaded (boto3 upload_file)', '%.2f' % ref['read_per_byte'], '', None)

        # 2. simulated WAN: per-request latency and a per-connection bandwidth cap, as for vaults.
        wan = os.path.join(args.workdir, 'wan.bin')
        make_file(wan, args.wan_size_mib * MIB)
        endpoint.network(args.wan_latency_ms, args.wan_bandwidth)
        try:
            wan_run = measure(endpoint.url, 'module', wan)
        finally:
            endpoint.network(0, 0)
        endpoint.forget(wan_run['key'])
        cap = 4 * args.wan_bandwidth / 1e6
        share = wan_run['mb_per_s'] / cap
        results['wan'] = dict(wan_run, aggregate_cap_mb_per_s=cap, share=share)
        row('WAN %d MiB, %d ms, 4 x %.1f MB/s: throughput' % (args.wan_size_mib, args.wan_latency_ms, args.wan_bandwidth / 1e6),
            '%.1f MB/s = %.0f%% of cap' % (wan_run['mb_per_s'], share * 100), '>= 90%', share >= 0.90)
        row('  bytes read per byte uploaded', '%.2f' % wan_run['read_per_byte'], '1.00', round(wan_run['read_per_byte'], 2) == 1.00)

        # 3. memory: big parts are streamed from disk, never held.
        rss_file = os.path.join(args.workdir, 'rss.bin')
        make_file(rss_file, args.rss_size_mib * MIB)
        rss = measure(endpoint.url, 'module', rss_file, 512)
        endpoint.forget(rss['key'])
        results['rss'] = rss
        row('peak RSS, %d MiB file, 512 MiB parts, 4 threads' % args.rss_size_mib, '%.0f MiB' % rss['peak_rss_mib'],
            '<= 200 MiB', rss['peak_rss_mib'] <= 200)
        row('  bytes read per byte uploaded (parts above 16 MiB: hashed, then streamed)', '%.2f' % rss['read_per_byte'], '', None)
        os.unlink(rss_file)

    if args.json:
        with open(args.json, 'w', encoding='utf-8') as fh:
            json.dump({'results': results, 'rows': rows}, fh, indent=2)
    return 0 if all(r[3] != 'FAIL' for r in rows) else 1


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '_child':
        child(json.loads(sys.argv[2]))
    else:
        sys.exit(main())
