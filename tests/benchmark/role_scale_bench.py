# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scale benchmark of the coldvault.glacier.backup role against the local endpoint (`make bench-role`).

See docs/benchmark.md, section "The backup role at scale". Three rows, each a target of issue 12:

  data    a no-change run of a set of BIG_GIB GiB of real (random, incompressible) data costs at most 2 s more than
          a no-change run of the same playbook whose set holds one small file;
  fleet   HOSTS hosts (local connection, forks), each with its own paths, facts file and staging directory: a
          no-change run costs at most 0.3x the first run;
  layout  the same HOSTS hosts with per-host paths run within 1.1x of the same run with identical sets on every host,
          and the play has as many task banners either way.

Every run is `ansible-playbook coldvault.glacier.backup` as docs/ci.md runs it; times are wall times of that command.
Prints one row per target and writes every number as JSON; exits non-zero when a target is missed.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_files import make_file  # noqa: E402  pylint: disable=wrong-import-position
ENDPOINT_CTL = os.path.join(os.path.dirname(HERE), 'endpoint', 'endpoint-ctl')
MIB = 1024 * 1024


class Bench(object):
    def __init__(self, args):
        self.args = args
        self.work = os.path.abspath(args.workdir)
        self.endpoint = args.endpoint_url
        self.results = {}
        self.python = sys.executable

    # -- plumbing ------------------------------------------------------------------------------------------------
    def start_endpoint(self):
        if self.endpoint:
            return
        state = os.path.join(self.work, 'endpoint')
        # An empty store: a vault left by an interrupted run would already exist, and the first fleet run would
        # create nothing (the vault row) and have fewer task banners than the other.
        shutil.rmtree(os.path.join(state, 'data'), ignore_errors=True)
        # On disk: the data row stores BIG_GIB GiB, more than /dev/shm should hold beside other work.
        subprocess.run([ENDPOINT_CTL, 'start', state], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(state, 'port'), encoding='ascii') as fh:
            self.endpoint = 'http://127.0.0.1:%s' % fh.read().strip()
        self.own_endpoint = state

    def stop_endpoint(self):
        state = getattr(self, 'own_endpoint', None)
        if state:
            subprocess.run([ENDPOINT_CTL, 'stop', state], check=False, stdout=subprocess.DEVNULL)
            # The archives (BIG_GIB GiB of them): the next run starts with an empty vault anyway.
            shutil.rmtree(os.path.join(state, 'data'), ignore_errors=True)

    def inventory(self, name, hosts, paths_for, sets_for=None):
        """An inventory of len(hosts) local hosts in group glacier_backup; per-host facts file and staging dir."""
        base = os.path.join(self.work, name)
        shutil.rmtree(base, ignore_errors=True)
        os.makedirs(base)
        inventory = {'glacier_backup': {'hosts': {}, 'vars': {
            'ansible_connection': 'local', 'ansible_python_interpreter': self.python,
            'backup_config': {
                'vault': 'bench-role-%s' % name,
                'aws': {'endpoint_url': self.endpoint, 'region': 'us-east-1',
                        'access_key': 'AKIABENCHROLESCALE01', 'secret_key': 'cvg-bench-SECRET-9f3e1d'},
                'staging_dir': '{{ bench_state }}/staging',
                'facts_file': '{{ bench_state }}/facts.d/glacier.fact',
            },
        }}}
        for host in hosts:
            sets = sets_for(host) if sets_for else [{'name': 'data', 'paths': paths_for(host), 'compression': 'none'}]
            inventory['glacier_backup']['hosts'][host] = {'bench_state': os.path.join(base, 'state', host),
                                                          'backup_sets': sets}
        path = os.path.join(base, 'inventory.json')
        with open(path, 'w', encoding='utf-8') as fh:
            json.dump({'all': {'children': inventory}}, fh, indent=1)
        return path

    def play(self, inventory, label):
        env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='false',
                   ANSIBLE_HOST_KEY_CHECKING='false', ANSIBLE_FORKS=str(self.args.forks))
        if self.args.profile:
            # Per-task times at the end of each log (ansible.posix, part of the ansible package).
            env['ANSIBLE_CALLBACKS_ENABLED'] = 'ansible.posix.profile_tasks'
        started = time.monotonic()
        done = subprocess.run(['ansible-playbook', 'coldvault.glacier.backup', '-i', inventory],
                              env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        log = os.path.join(self.work, 'logs', re.sub(r'\W+', '-', label) + '.log')
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, 'w', encoding='utf-8') as fh:
            fh.write(done.stdout + done.stderr)
        if done.returncode != 0:
            sys.exit('%s failed (exit %d), see %s' % (label, done.returncode, log))
        recap = [line for line in done.stdout.splitlines() if re.match(r'^\S+\s+: ok=', line)]
        changed = sum(int(re.search(r'changed=(\d+)', line).group(1)) for line in recap)
        banners = len(re.findall(r'^TASK \[', done.stdout, re.M))
        # Hosts that reported a change in the task that creates the vault.
        vault_changed = sum(len(re.findall(r'^changed: \[', section, re.M))
                            for section in re.split(r'^TASK \[', done.stdout, flags=re.M)[1:]
                            if 'Create the vault if it is missing' in section.split('\n', 1)[0])
        print('  %-48s %7.1f s  (%d task banners, %d changed)' % (label, seconds, banners, changed), flush=True)
        return {'seconds': round(seconds, 2), 'banners': banners, 'changed': changed, 'vault_changed': vault_changed,
                'log': log}

    def runs(self, inventory, label, repeat):
        first = self.play(inventory, label + ': first run')
        again = [self.play(inventory, '%s: no-change run %d' % (label, i + 1)) for i in range(repeat)]
        return {'first': first, 'no_change': again,
                'no_change_median': statistics.median(r['seconds'] for r in again)}

    # -- the rows ------------------------------------------------------------------------------------------------
    def data_row(self):
        data = os.path.join(self.work, 'data')
        big = os.path.join(data, 'big')
        small = os.path.join(data, 'small')
        os.makedirs(big, exist_ok=True)
        os.makedirs(small, exist_ok=True)
        print('data: writing %d GiB of random data' % self.args.big_gib, flush=True)
        for i in range(self.args.big_gib):
            make_file(os.path.join(big, 'part-%02d.bin' % i), 1024 * MIB)
        with open(os.path.join(small, 'small.txt'), 'w', encoding='ascii') as fh:
            fh.write('one small file\n')
        row = {}
        for name, path in (('small', small), ('big', big)):
            inventory = self.inventory('data-' + name, ['localhost'], lambda host, path=path: [path])
            row[name] = self.runs(inventory, 'data, %s set' % name, self.args.repeat)
        extra = row['big']['no_change_median'] - row['small']['no_change_median']
        row['extra_seconds'] = round(extra, 2)
        self.results['data'] = row
        self.row('no-change run, %d GiB set minus one small file' % self.args.big_gib, '%+.2f s (%.2f s vs %.2f s)' % (
            extra, row['big']['no_change_median'], row['small']['no_change_median']), '<= 2 s', extra <= 2.0)

    def fleet_rows(self):
        hosts = ['h%03d' % i for i in range(self.args.hosts)]
        root = os.path.join(self.work, 'fleet-files')
        for host in hosts + ['shared']:
            directory = os.path.join(root, host)
            os.makedirs(directory, exist_ok=True)
            for i in range(3):
                with open(os.path.join(directory, 'file-%d.txt' % i), 'w', encoding='ascii') as fh:
                    fh.write(('%s %d\n' % (host, i)) * 100)
        layouts = (('per-host paths', self.inventory('fleet-per-host', hosts, lambda h: [os.path.join(root, h)])),
                   ('identical sets', self.inventory('fleet-identical', hosts, lambda h: [os.path.join(root, 'shared')])))
        first = [self.play(inventory, '%d hosts, %s: first run' % (len(hosts), label)) for label, inventory in layouts]
        # The no-change runs of the two layouts take turns, so that a change of the machine's load over the minutes
        # of the bench weighs on both alike; the medians count.
        again = ([], [])
        for i in range(self.args.fleet_repeat):
            for (label, inventory), runs in zip(layouts, again):
                runs.append(self.play(inventory, '%d hosts, %s: no-change run %d' % (len(hosts), label, i + 1)))
        per_host, same = ({'first': f, 'no_change': a, 'no_change_median': statistics.median(r['seconds'] for r in a)}
                          for f, a in zip(first, again))
        self.results['fleet'] = {'per_host': per_host, 'identical': same}
        ratio = per_host['no_change_median'] / per_host['first']['seconds']
        self.row('%d hosts: no-change run / first run' % len(hosts), '%.2fx (%.1f s / %.1f s)' % (
            ratio, per_host['no_change_median'], per_host['first']['seconds']), '<= 0.3x', ratio <= 0.3)
        first = per_host['first']['seconds'] / same['first']['seconds']
        self.row('%d hosts: per-host paths / identical sets, first run' % len(hosts), '%.2fx (%.1f s / %.1f s)' % (
            first, per_host['first']['seconds'], same['first']['seconds']), '<= 1.1x', first <= 1.1)
        again = per_host['no_change_median'] / same['no_change_median']
        self.row('%d hosts: per-host paths / identical sets, no-change run' % len(hosts), '%.2fx (%.1f s / %.1f s)' % (
            again, per_host['no_change_median'], same['no_change_median']), '<= 1.1x', again <= 1.1)
        banners = (per_host['first']['banners'], same['first']['banners'])
        self.row('task banners, per-host paths / identical sets', '%d / %d' % banners, 'equal',
                 banners[0] == banners[1])
        vault_changes = per_host['first']['vault_changed']
        self.row('hosts that report the vault of the first run as created', str(vault_changes), '1', vault_changes == 1)

    def row(self, what, value, target, met):
        self.results.setdefault('rows', []).append({'what': what, 'value': value, 'target': target, 'met': met})

    def report(self):
        with open('/proc/loadavg', encoding='ascii') as fh:
            self.results['loadavg_after'] = fh.read().split()[:3]
        print('\nload average at the end: %s' % ' '.join(self.results['loadavg_after']))
        print('\n| measure | result | target | |\n| --- | --- | --- | --- |')
        for row in self.results.get('rows', []):
            print('| %s | %s | %s | %s |' % (row['what'], row['value'], row['target'], 'met' if row['met'] else '**missed**'))
        if self.args.json:
            with open(self.args.json, 'w', encoding='utf-8') as fh:
                json.dump(self.results, fh, indent=2)
        return all(row['met'] for row in self.results.get('rows', []))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--workdir', default=os.path.join(tempfile.gettempdir(), 'coldvault-glacier-role-bench'))
    parser.add_argument('--json', help='write the numbers here')
    parser.add_argument('--endpoint-url', help='use this endpoint instead of starting one')
    parser.add_argument('--rows', default='data,fleet', help='comma-separated: data, fleet')
    parser.add_argument('--big-gib', type=int, default=10)
    parser.add_argument('--hosts', type=int, default=100)
    parser.add_argument('--forks', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=3, help='no-change runs of the data row (the median counts)')
    parser.add_argument('--fleet-repeat', type=int, default=3,
                        help='no-change runs of each fleet layout, taking turns (the medians count)')
    parser.add_argument('--profile', action='store_true', help='per-task times in the logs (ansible.posix.profile_tasks)')
    args = parser.parse_args()
    bench = Bench(args)
    os.makedirs(bench.work, exist_ok=True)
    bench.start_endpoint()
    try:
        rows = args.rows.split(',')
        if 'data' in rows:
            bench.data_row()
        if 'fleet' in rows:
            bench.fleet_rows()
    finally:
        bench.stop_endpoint()
    sys.exit(0 if bench.report() else 1)


if __name__ == '__main__':
    main()
