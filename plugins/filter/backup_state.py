# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: backup_state
short_description: Where each backup set of the backup role stands, from the results of the steps so far
version_added: 0.1.0
author:
  - coldvault.glacier maintainers (@coldvault)
description:
  - The decisions of the C(coldvault.glacier.backup) role, as a pure function of the results its tasks have
    registered so far. Each task of the role loops over the sets whose C(next) step is that task, so every host runs
    each step at the same time, whatever its own sets are.
  - 'The steps, in order: V(list) (GNU tar lists the members to C(/dev/null), reading no content, with their
    metadata, into C(<staging>/<set>.manifest)); V(paths) (only after a failed listing: which paths are missing);
    V(check) (the SHA-256 of the listing and, when a record counts, C(find) looks for a member whose status changed
    since that record was made); V(pack); V(sha) (SHA-256 of the tarball); V(encrypt); V(touch) (a fixed modification
    time); V(upload); V(prune).'
  - A set is not packed, read or sent when its listing has the SHA-256 recorded with the latest archive of the set,
    its settings (paths, exclude patterns, compression, encryption recipient) are the same, no member's status
    changed since (no ctime newer than that record's C(since)), and its C(change_detection) is V(metadata). A record
    counts only while the catalog's latest archive of the set is the one it names.
  - When a set is done (C(next) is V(null)) it carries C(outcome), its entry of C(backup_results), and C(record),
    the manifest to record with its archive (V(null) when there is nothing new to record).
options:
  _input:
    description: The backup sets, completed with the defaults of a set (C(name), C(paths), C(exclude),
      C(compression), C(change_detection)).
    type: list
    elements: dict
    required: true
  context:
    description:
      - C(settings) (the merged C(backup_config)), C(compressors) (the role's C(backup_compressors)), C(entries)
        (the catalog's archives of the vault or bucket, by name), C(records) (the manifest records of the vault or
        bucket, by name), C(vault_arn) or C(bucket_arn), C(vault_pending), C(check_mode), and C(now) (the host's clock, epoch seconds, read before the
        listings).
    type: dict
    required: true
  listing:
    description: Registered result of the listing loop.
    type: dict
  paths:
    description: Registered result of the stat loop over the paths of sets whose listing failed.
    type: dict
  check:
    description: Registered result of the loop that takes each listing's SHA-256 (and runs the ctime check).
    type: dict
  tar:
    description: Registered result of the packing loop.
    type: dict
  sha:
    description: Registered result of the M(ansible.builtin.stat) loop that takes each tarball's SHA-256.
    type: dict
  gpg:
    description: Registered result of the encryption loop.
    type: dict
  touch:
    description: Registered result of the loop that sets the staged files' modification time.
    type: dict
  upload:
    description: Registered result of the upload loop.
    type: dict
  prune:
    description: Registered result of the prune loop.
    type: dict
"""

EXAMPLES = r"""
- name: Pack the sets that need it
  ansible.builtin.command:
    argv: "{{ item.pack_argv }}"
  loop: >-
    {{ backup_sets | coldvault.glacier.backup_state(context, listing=listing, paths=path_stats, check=check)
       | selectattr('next', 'equalto', 'pack') }}
  register: tar
  failed_when: false
  changed_when: false
"""

RETURN = r"""
_value:
  description: One dict per set, in order.
  type: list
  elements: dict
  contains:
    name:
      description: Name of the set.
      type: str
    next:
      description: The next step of the set, or V(null) when it is done.
      type: str
    outcome:
      description: The set's entry of C(backup_results), when it is done.
      type: dict
    record:
      description: The manifest to record with the set's archive, when it is done and has one.
      type: dict
"""

import hashlib
import json
import posixpath
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.coldvault.glacier.plugins.filter.backup_outcome import backup_outcome, error_text, stored_id
from ansible_collections.coldvault.glacier.plugins.filter.backup_path_problems import backup_path_problems

# Raised when what the manifest holds, or how it is compared, changes: older records then no longer count.
MANIFEST_VERSION = 1
# GNU tar's selection, shared by the listing and the packing so that both see the same members: sorted, the gnu
# format (no atime/ctime), numeric owners, sparse files as sparse (holes are neither read into nor stored in the
# tarball), names relative to /.
TAR_FORMAT = ['--force-local', '--format=gnu', '--sort=name', '--numeric-owner', '--sparse', '--directory=/']
_GLOB = re.compile(r'([*?\[\]\\])')
_ESCAPES = re.compile(r'\\(.)')


def _by_name(registered):
    """{set name: result} of a loop over states; {set name: [result, ...]} for a loop over [state, path] items."""
    found = {}
    for result in (registered or {}).get('results') or []:
        item = result.get('item')
        if isinstance(item, list):
            found.setdefault(item[0]['name'], []).append(result)
        elif isinstance(item, dict):
            found[item['name']] = result
    return found


def _sums(registered):
    """{path: 'sha256:<hex>'} from the output of `sha256sum -- FILE...` (GNU escapes "\\" and newlines in names)."""
    sums = {}
    for line in ((registered or {}).get('stdout') or '').split('\n'):
        escaped = line.startswith('\\')
        if escaped:
            line = line[1:]
        if len(line) > 66 and line[64:66] in ('  ', ' *'):
            name = line[66:]
            if escaped:
                name = _ESCAPES.sub(lambda m: {'n': '\n', 'r': '\r', '\\': '\\'}.get(m.group(1), m.group(0)), name)
            sums[name] = 'sha256:' + line[:64]
    return sums


def _digest(value):
    return 'sha256:' + hashlib.sha256(json.dumps(value, sort_keys=True).encode('utf-8')).hexdigest()


def _command_error(what, result):
    return '%s failed: %s' % (what, error_text({'msg': 'exit status %s' % result.get('rc'), 'stderr': result.get('stderr')}))


class _Set(object):
    """What does not depend on the results: a set's files, commands and settings, and whether its record counts."""

    def __init__(self, backup_set, ctx):
        settings = ctx['settings']
        self.set = backup_set
        self.name = backup_set['name']
        staging = settings['staging_dir'].rstrip('/')
        compressor = ctx['compressors'][backup_set['compression']]
        encryption = settings['encryption']
        self.encrypt = bool(encryption['enabled'])
        self.recipient = encryption['recipient'] if self.encrypt else None
        self.tarball = '%s/%s%s' % (staging, self.name, compressor['suffix'])
        self.encrypted = self.tarball + '.gpg'
        self.staged = self.encrypted if self.encrypt else self.tarball
        self.index = '%s/%s.manifest' % (staging, self.name)
        # Never backed up (see the backup_set_problems filter): tar matches them against the member names, which
        # are relative to / (and start with "./" when a path is / itself).
        private = [p.strip('/') for p in (staging, posixpath.dirname(settings['facts_file'].rstrip('/')))]
        paths = ['/' + p.strip('/') for p in backup_set['paths']]
        excludes = [p.lstrip('/') for p in backup_set.get('exclude') or []]
        selection = (TAR_FORMAT + ['--anchored', '--no-wildcards']
                     + ['--exclude=%s%s' % (prefix, p) for p in private for prefix in ('', './')]
                     + ['--no-anchored', '--wildcards'] + ['--exclude=' + p for p in excludes])
        members = [p.strip('/') or '.' for p in paths]
        # Written to /dev/null, tar reads no file's content; the index holds one line per member: type, mode,
        # owner, size, modification time to the nanosecond, name and link target.
        self.list_argv = (['tar', '--create', '--file=/dev/null', '--verbose', '--verbose', '--full-time',
                           '--index-file=' + self.index] + selection + ['--'] + members)
        self.pack_argv = (['tar', '--create', '--file=' + self.tarball] + selection + compressor['tar_args']
                          + ['--'] + members)
        self.gpg_argv = (['gpg'] + (['--homedir', encryption['gpg_homedir']] if encryption.get('gpg_homedir') else [])
                         + ['--batch', '--yes', '--trust-model', 'always', '--encrypt', '--recipient',
                            encryption['recipient'], '--output', self.encrypted, '--', self.tarball])
        # The same selection for find. tar's unanchored pattern P matches a member name or any tail of it after a
        # "/"; -path '*/P' matches exactly that on the absolute path ("*" matches "/" in both).
        prune = [['-path', '/' + _GLOB.sub(r'\\\1', p)] for p in private] + [['-path', '*/' + p] for p in excludes]
        self.find_paths = paths
        self.find_prune = sum(([('-o' if i else '(')] + t for i, t in enumerate(prune)), []) + [')', '-prune']
        self.settings = _digest({'version': MANIFEST_VERSION, 'paths': paths, 'exclude': excludes,
                                 'compression': backup_set['compression'], 'recipient': self.recipient,
                                 'private': private})
        self.content = backup_set.get('change_detection') == 'content'
        entry = (ctx.get('entries') or {}).get(self.name)
        self.entry = entry if isinstance(entry, dict) and 'deleted_at' not in entry else None
        record = (ctx.get('records') or {}).get(self.name)
        valid = (isinstance(record, dict) and self.entry is not None
                 and record.get('archive_id') == stored_id(self.entry)
                 and record.get('settings') == self.settings
                 # A clock that went back since would hide changes from the ctime check.
                 and isinstance(record.get('since'), int) and record['since'] <= int(ctx['now']))
        self.record = record if valid else None


class _Follow(object):
    """Follows one set through the results registered so far, to its next step or to its outcome."""

    def __init__(self, s, ctx, r):
        self.s, self.ctx, self.r = s, ctx, r
        self.state = {'name': s.name, 'set': s.set, 'tarball': s.tarball, 'staged': s.staged, 'listing_file': s.index,
                      'list_argv': s.list_argv, 'pack_argv': s.pack_argv, 'gpg_argv': s.gpg_argv,
                      'scratch': [], 'next': None, 'compared': None, 'listing': None, 'reason': None,
                      'fingerprint': None, 'record': None}

    def step(self, name, **extra):
        self.state['next'] = name
        self.state.update(extra)
        return self.state

    def done(self, record=None, **outcome):
        outcome.setdefault('compared', self.state['compared'])
        self.state['outcome'] = backup_outcome(self.s.name, check_mode=self.ctx.get('check_mode'), **outcome)
        out = self.state['outcome']
        out['packed_because'] = self.state['reason'] if self.state['compared'] == 'content' else None
        if out['packed_because'] and out['status'] != 'failed':
            out['summary'] += '; packed because %s' % out['packed_because']
        self.state['record'] = None if self.ctx.get('check_mode') else record
        return self.state

    def run(self):
        s, r, state = self.s, self.r, self.state
        listing = r['listing'].get(s.name)
        if listing is None:
            return self.step('list')
        if listing.get('rc') not in (0, 1):
            stats = r['paths'].get(s.name)
            if stats is None:
                return self.step('paths')
            missing = backup_path_problems(stats).get(s.name)
            return self.done(failed_step='list', error='; '.join(missing) if missing else
                             'paths: ' + _command_error('listing the files with tar', listing))
        check = r['check'].get(s.name)
        if check is None:
            return self.step('check', check_argv=self.check_argv())
        sums = _sums(check)
        state['listing'] = sums.get(s.index)
        if s.content:
            state['reason'] = 'change_detection is content'
        elif s.entry is None:
            state['reason'] = 'the catalog has no archive of the set'
        elif s.record is None:
            state['reason'] = 'no manifest is recorded with the latest archive, or the settings changed'
        elif listing.get('rc') != 0 or state['listing'] is None or state['listing'] != s.record.get('listing'):
            state['reason'] = 'files were added, removed or renamed, or their metadata changed'
        else:
            # What find printed after the listing's SHA-256: the first member whose status changed.
            printed = (check.get('stdout') or '').split('\n')
            changed = '\n'.join(line for line in printed if line.strip() and not _sums({'stdout': line})).strip()
            if check.get('rc') == 0 and not changed:
                state['compared'] = 'manifest'
                entry = s.entry
                unchanged = {'changed': False, 'uploaded': False, 'name': s.name, 'archive_id': entry.get('archive_id'),
                             'key': entry.get('key'), 'vault_arn': self.ctx.get('vault_arn'),
                             'bucket_arn': self.ctx.get('bucket_arn'), 'size': entry.get('size')}
                state['fingerprint'] = entry.get('fingerprint')
                return self.retention(unchanged, None)
            state['reason'] = ('%s changed since the latest archive (its status change time is newer)' % changed
                               if check.get('rc') == 0 else _command_error('find', check))
        return self.pack()

    def check_argv(self):
        """The SHA-256 of the listing; with a record that counts, find also looks for a member whose status changed
        since it was made (its -exec prints the listing's SHA-256 first, then -print the first such member)."""
        s = self.s
        if s.content or s.record is None:
            return ['sha256sum', '--', s.index]
        return (['find', '-P', s.index] + s.find_paths
                + ['(', '-path', _GLOB.sub(r'\\\1', s.index), '-exec', 'sha256sum', '--', '{}', ';', '-prune', ')', '-o']
                + s.find_prune + ['-o', '-newerct', '@%d' % s.record['since'], '-print', '-quit'])

    def pack(self):
        s, r, state = self.s, self.r, self.state
        state['compared'] = 'content'
        state['scratch'] = [s.tarball] + ([s.encrypted] if s.encrypt else [])
        tar = r['tar'].get(s.name)
        if tar is None:
            return self.step('pack')
        if tar.get('rc') not in (0, 1):
            return self.done(failed_step='pack', error=_command_error('packing the files with tar', tar))
        stat = r['sha'].get(s.name)
        if stat is None:
            return self.step('sha')
        checksum = (stat.get('stat') or {}).get('checksum')
        if stat.get('failed') or not checksum:
            return self.done(failed_step='sha', error='the SHA-256 of %s: %s' % (s.tarball, error_text(stat)))
        state['fingerprint'] = 'sha256:%s%s' % (checksum, ' gpg:%s' % s.recipient if s.encrypt else '')
        if s.encrypt:
            gpg = r['gpg'].get(s.name)
            if gpg is None:
                return self.step('encrypt')
            if gpg.get('rc') != 0:
                return self.done(failed_step='encrypt', error=_command_error('encrypting with GPG', gpg))
        touch = r['touch'].get(s.name)
        if touch is None:
            return self.step('touch')
        if touch.get('failed'):
            return self.done(failed_step='touch', error='the modification time of %s: %s' % (
                s.staged, error_text(touch)))
        if self.ctx.get('vault_pending'):
            return self.done(tar=tar, tarball=stat, fingerprint=state['fingerprint'], vault_pending=True)
        upload = r['upload'].get(s.name)
        if upload is None:
            return self.step('upload')
        if upload.get('failed'):
            return self.done(failed_step='upload', error=error_text(upload))
        return self.retention(upload, tar, stat)

    def retention(self, upload, tar, stat=None):
        """Retention, then the outcome and the manifest to record with the archive that holds the set."""
        s, state = self.s, self.state
        record = None
        if state['compared'] == 'content' and state['listing'] and stored_id(upload):
            record = {'archive_id': stored_id(upload), 'listing': state['listing'], 'settings': s.settings,
                      'since': int(self.ctx['now']) - 1, 'fingerprint': state['fingerprint']}
        prune = None
        if self.ctx['settings']['retention']['enabled'] and not self.ctx.get('vault_pending'):
            prune = self.r['prune'].get(s.name)
            if prune is None:
                # The archive holds the set already: its manifest can be recorded before the retention policy runs.
                state['record'] = None if self.ctx.get('check_mode') else record
                return self.step('prune')
            if prune.get('failed'):
                return self.done(record, upload=upload, failed_step='prune',
                                 error='the retention policy: %s' % error_text(prune))
        return self.done(record, upload=upload, prune=prune, tar=tar, tarball=stat, fingerprint=state['fingerprint'])


def backup_state(sets, context, listing=None, paths=None, check=None, tar=None, sha=None, gpg=None, touch=None,
                 upload=None, prune=None):
    """One state dict per set, in order (see DOCUMENTATION)."""
    for key in ('settings', 'compressors', 'now'):
        if context.get(key) is None:
            raise AnsibleFilterError('backup_state: context.%s is required' % key)
    r = {'listing': _by_name(listing), 'paths': _by_name(paths), 'check': _by_name(check), 'tar': _by_name(tar),
         'sha': _by_name(sha), 'gpg': _by_name(gpg), 'touch': _by_name(touch), 'upload': _by_name(upload),
         'prune': _by_name(prune)}
    return [_Follow(_Set(backup_set, context), context, r).run() for backup_set in sets or []]


class FilterModule(object):
    """The backup_state filter."""

    def filters(self):
        return {'backup_state': backup_state}
