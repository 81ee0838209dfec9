#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run every module's EXAMPLES and every playbook of README.md and docs/*.md as written.

Runs inside the private mount namespace that runme.sh makes: a tmpfs goes over each directory the examples use
(/srv, /var/backups, /etc/ansible), so the files they read and write, and the default catalog, never touch the
host. Between the examples, fixture plays create what a reader would already have (the files they back up, the
vault before the first upload, a second version of "etc" for the example that restores the one before the latest).
A task whose name says it fails ("(fails, ...") must fail; every other task must succeed.
"""

import argparse
import ast
import datetime
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

MOUNTS = ('/srv', '/var/backups', '/etc/ansible')
# The order a reader follows: back up, look at the vault, restore, migrate, prune; the vault examples last, since
# their final task deletes the vault and must fail while it holds archives.
MODULE_ORDER = ('upload', 'catalog_info', 'backup_scan', 'inventory', 'retrieve', 'migrate', 'prune', 'vault')
EXPECTED_FAILURE = re.compile(r'\(fails\b')
# The groups the docs' playbooks name and the docs' inventory (the snippets that start with "# inventory/...")
# does not define: each stands for one of that inventory's hosts, or for this host.
GROUP_HOSTS = {'databases': 'db1.example.com', 'web': 'web1.example.com'}


def module_examples(collection):
    """{module: list of tasks} from the EXAMPLES of plugins/modules/*.py."""
    examples = {}
    for path in sorted(glob.glob(os.path.join(collection, 'plugins', 'modules', '*.py'))):
        tree = ast.parse(open(path, encoding='utf-8').read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'EXAMPLES' for t in node.targets):
                examples[os.path.basename(path)[:-3]] = yaml.safe_load(node.value.value)
    return examples


def doc_snippets(collection):
    """(playbooks, inventory files) of the ```yaml blocks of README.md and docs/*.md.

    playbooks: [(document, where, plays)] of the blocks that are plays (a list of dicts with hosts); inventory
    files: {document: {relative path: text}} of the blocks whose first line is a comment naming a file under
    inventory/ (each document describes its own example inventory; the first snippet of a path counts).
    """
    found = []
    inventory = {}
    for path in [os.path.join(collection, 'README.md')] + sorted(glob.glob(os.path.join(collection, 'docs', '*.md'))):
        if not os.path.exists(path):
            continue
        text = open(path, encoding='utf-8').read()
        for match in re.finditer(r'^```ya?ml\n(.*?)^```', text, flags=re.S | re.M):
            named = re.match(r'# (inventory/[\w./-]+\.yml)\b', match.group(1))
            document = os.path.relpath(path, collection)
            if named:
                # A second snippet of the same file is an alternative the reader may choose (a bucket instead of
                # the vault): it must parse, but the document's playbooks run with the first one.
                yaml.safe_load(match.group(1))
                inventory.setdefault(document, {}).setdefault(named.group(1), match.group(1))
                continue
            data = yaml.safe_load(match.group(1))
            if isinstance(data, list) and data and all(isinstance(p, dict) and 'hosts' in p for p in data):
                line = text[:match.start()].count('\n') + 1
                found.append((document, '%s:%d' % (document, line), data))
    return found, inventory


def backed_up_paths(plays, inventory):
    """Absolute paths that the backup sets of ``plays`` and of the inventory's variables name."""
    paths = set()

    def walk(value):
        if isinstance(value, dict):
            if isinstance(value.get('paths'), list) and 'name' in value:
                paths.update(p for p in value['paths'] if isinstance(p, str))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    walk(plays)
    for text in inventory.values():
        walk(yaml.safe_load(text))
    return sorted(paths)


def expect_failures(tasks):
    """The tasks, where one whose name says it fails is checked to fail instead of failing the play."""
    out = []
    for index, task in enumerate(tasks):
        if EXPECTED_FAILURE.search(task.get('name', '')):
            var = '_example_expected_failure_%d' % index
            out.append(dict(task, register=var, ignore_errors=True))
            out.append({'name': 'The task above failed, as its name says', 'ansible.builtin.assert': {
                'that': ['%s is failed' % var, '%s is not changed' % var]}})
        else:
            out.append(task)
    return out


class Runner:
    def __init__(self, args, work, profiles=()):
        self.args = args
        self.work = work
        # Credentials as a reader's host has them: a shared credentials file with a default profile and every
        # profile the examples name (keys in the environment would clash with a task's own ``profile``).
        credentials = os.path.join(work, 'credentials')
        with open(credentials, 'w', encoding='utf-8') as fh:
            for name in ['default'] + sorted(set(profiles) - {'default'}):
                fh.write('[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n'
                         % (name, os.environ['AWS_ACCESS_KEY_ID'], os.environ['AWS_SECRET_ACCESS_KEY']))
        self.env = {k: v for k, v in os.environ.items() if k not in ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY')}
        self.env['AWS_SHARED_CREDENTIALS_FILE'] = credentials
        self.inventory = os.path.join(work, 'inventory.yml')
        self.ran = []
        self.failed = []

    def write_inventory(self, name, groups, files):
        """The docs' inventory files as they are, plus every other group, all of whose hosts are this host."""
        base = os.path.join(self.work, name)
        self.inventory = os.path.join(base, 'inventory')
        for relative, text in files.items():
            path = os.path.join(base, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as fh:
                fh.write(text)
        os.makedirs(os.path.join(self.inventory, 'group_vars'), exist_ok=True)
        children = {g: {'hosts': {GROUP_HOSTS.get(g, 'localhost'): {}}} for g in sorted(groups)}
        with open(os.path.join(self.inventory, 'zz-examples.yml'), 'w', encoding='utf-8') as fh:
            yaml.safe_dump({'all': {'hosts': {'localhost': {}}, 'children': children}}, fh)
        with open(os.path.join(self.inventory, 'group_vars', 'all.yml'), 'w', encoding='utf-8') as fh:
            yaml.safe_dump({'ansible_connection': 'local', 'ansible_python_interpreter': self.args.python}, fh)

    def play(self, what, plays, extra_vars=None):
        path = os.path.join(self.work, 'play-%d.yml' % len(self.ran))
        with open(path, 'w', encoding='utf-8') as fh:
            yaml.safe_dump(plays, fh, sort_keys=False)
        command = ['ansible-playbook', '-i', self.inventory, path]
        if extra_vars:
            command += ['-e', json.dumps(extra_vars)]
        print('=== %s' % what, flush=True)
        rc = subprocess.call(command, env=self.env)
        self.ran.append(what)
        if rc != 0:
            self.failed.append('%s (ansible-playbook exited %d)' % (what, rc))

    def tasks(self, what, tasks, extra_vars=None):
        self.play(what, [{'name': what, 'hosts': 'localhost', 'gather_facts': True, 'tasks': expect_failures(tasks)}],
                  extra_vars)


def fixture_files(version):
    """Tasks that create the files the examples back up; ``version`` changes the content of the "etc" tarball."""
    return [
        {'name': 'Create the directories the examples use', 'ansible.builtin.file': {
            'path': '{{ item }}', 'state': 'directory', 'mode': '0755'},
         'loop': ['/srv/dumps', '/srv/data', '/srv/restore', '/var/backups']},
        {'name': 'Create the files the examples back up', 'ansible.builtin.shell': {
            'cmd': 'head -c 1500000 /dev/urandom > /srv/dumps/db.sql.gz && '
                   'head -c 3000000 /dev/urandom > /srv/data/archive.bin && '
                   'head -c 400000 /dev/urandom > /var/backups/monthly.tar.gz',
            'creates': '/srv/data/archive.bin'}},
        {'name': 'Create version %d of the dated tarball' % version, 'ansible.builtin.shell': {
            'cmd': 'head -c 2100000 /dev/urandom > "/var/backups/etc-{{ ansible_date_time.date }}.tar.gz" && '
                   'touch -d "@%d" "/var/backups/etc-{{ ansible_date_time.date }}.tar.gz"'
                   % (1700000000 + version)}, 'changed_when': True},
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--collection', required=True)
    parser.add_argument('--endpoint', required=True)
    parser.add_argument('--python', default=sys.executable)
    args = parser.parse_args()

    created = []
    for mount in MOUNTS:
        if not os.path.isdir(mount):
            os.makedirs(mount)
            created.append(mount)
        subprocess.check_call(['mount', '-t', 'tmpfs', '-o', 'mode=0755', 'cvg-examples', mount])
    try:
        with tempfile.TemporaryDirectory(prefix='cvg-examples.') as work:
            return run(args, work)
    finally:
        for mount in reversed(MOUNTS):
            subprocess.call(['umount', mount])
        for path in reversed(created):
            os.rmdir(path)


def hosts_of(plays):
    groups = set()
    for play in plays:
        groups.update(g.strip() for g in re.split(r'[:,]', str(play['hosts'])))
    return groups - {'', 'all', 'localhost'}


def defined_groups(files):
    """Groups that the inventory files (not their group_vars or host_vars) define."""
    groups = set()
    for relative, text in files.items():
        if '/group_vars/' not in relative and '/host_vars/' not in relative:
            groups.update((yaml.safe_load(text) or {}).keys())
    return groups


def profiles_named(collection):
    """The AWS profile names that README.md, docs/*.md and the modules' EXAMPLES use."""
    names = set()
    for path in [os.path.join(collection, 'README.md')] + glob.glob(os.path.join(collection, 'docs', '*.md')) + \
            glob.glob(os.path.join(collection, 'plugins', 'modules', '*.py')):
        names.update(re.findall(r'^\s*profile:\s*([\w.-]+)', open(path, encoding='utf-8').read(), flags=re.M))
    return names


def run(args, work):
    runner = Runner(args, work, profiles_named(args.collection))
    examples = module_examples(args.collection)
    unknown = sorted(set(examples) - set(MODULE_ORDER))
    if unknown:
        print('modules whose examples this test does not run yet: %s' % ', '.join(unknown))
        return 1
    playbooks, inventories = doc_snippets(args.collection)

    runner.write_inventory('modules', set(), {})
    runner.tasks('fixture: the files to back up, the vault and the bucket', fixture_files(1) + [
        {'name': 'Create the vault the examples use', 'coldvault.glacier.vault': {'name': 'backups'}},
        {'name': 'Create the bucket the examples use', 'amazon.aws.s3_bucket': {'name': 'example-backups'}}])
    runner.tasks('EXAMPLES of coldvault.glacier.upload', examples['upload'])
    runner.tasks('fixture: a second version of the dated tarball', fixture_files(2))
    runner.tasks('EXAMPLES of coldvault.glacier.upload, again with a new "etc"', examples['upload'])
    runner.tasks('EXAMPLES of coldvault.glacier.catalog_info', examples['catalog_info'])
    runner.tasks('EXAMPLES of coldvault.glacier.backup_scan', examples['backup_scan'])
    runner.tasks('EXAMPLES of coldvault.glacier.inventory', examples['inventory'])
    with open('/etc/ansible/facts.d/glacier.fact', encoding='utf-8') as fh:
        catalog = json.load(fh)
    vault = [v for v in catalog['vaults'].values() if v['vault'] == 'backups'][0]
    # The one variable an example takes from its reader: an archive id, here of /srv/data/archive.bin.
    extra = {'archive_id': vault['archives']['/srv/data/archive.bin']['archive_id']}
    runner.tasks('EXAMPLES of coldvault.glacier.retrieve', examples['retrieve'], extra)
    runner.tasks('fixture: the bucket the vault is migrated into', [
        {'name': 'Create the bucket', 'amazon.aws.s3_bucket': {'name': 'example-backups-archive'}}])
    runner.tasks('EXAMPLES of coldvault.glacier.migrate', examples['migrate'])
    runner.tasks('EXAMPLES of coldvault.glacier.prune', examples['prune'])
    runner.tasks('EXAMPLES of coldvault.glacier.vault', examples['vault'])

    documents = []
    for document, dummy, dummy2 in playbooks:
        if document not in documents:
            documents.append(document)
    for document in documents:
        plays = [(where, p) for d, where, p in playbooks if d == document]
        files = inventories.get(document, {})
        groups = set().union(*(hosts_of(p) for dummy, p in plays))
        runner.write_inventory(re.sub(r'\W', '_', document), groups - defined_groups(files), files)
        # What the document's backup sets name exists on a reader's host; here only what the tmpfs mounts hold
        # is made (the rest, such as /etc, is this host's own).
        missing = [p for p in backed_up_paths([p for dummy, p in plays], files)
                   if not os.path.exists(p) and p.startswith(tuple(m + '/' for m in MOUNTS))]
        if missing:
            runner.tasks('fixture: the paths %s backs up' % document, [
                {'name': 'Create the directories to back up', 'ansible.builtin.file': {
                    'path': '{{ item }}', 'state': 'directory', 'mode': '0755'}, 'loop': missing},
                {'name': 'Put a file in each', 'ansible.builtin.copy': {
                    'dest': '{{ item }}/example.txt', 'content': 'example\n', 'mode': '0644'}, 'loop': missing}])
        for where, play in plays:
            runner.play('playbook in %s' % where, play)

    print('\n%d example runs: %s' % (len(runner.ran), '; '.join(runner.ran)))
    if runner.failed:
        print('FAILED: %s' % '; '.join(runner.failed))
        return 1
    print('every example ran as written (%s)' % datetime.datetime.now(datetime.timezone.utc).strftime('%H:%M:%SZ'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
