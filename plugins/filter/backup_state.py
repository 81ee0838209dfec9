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
  - 'The steps, in order: V(scan) (M(coldvault.glacier.backup_scan) decides from the metadata of the members which
    sets changed since their latest archive); V(pack); V(sha) (SHA-256 of the tarball); V(encrypt); V(touch) (a fixed
    modification time); V(upload); V(prune).'
  - A set found V(unchanged) by the scan is not packed, read or sent. The tarball of a changed set selects exactly
    the members the scan listed.
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
      - C(settings) (the merged C(backup_config)), C(compressors) (the role's C(backup_compressors)), C(vault_arn)
        or C(bucket_arn), C(vault_pending) and C(check_mode).
    type: dict
    required: true
  scan:
    description: Registered result of M(coldvault.glacier.backup_scan) for the sets.
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
    {{ backup_sets | coldvault.glacier.backup_state(context, scan=scan) | selectattr('next', 'equalto', 'pack') }}
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

from ansible.errors import AnsibleFilterError
from ansible_collections.coldvault.glacier.plugins.filter.backup_outcome import backup_outcome, error_text
from ansible_collections.coldvault.glacier.plugins.module_utils.backup_scan import Selection, command_error, stored_id


def _by_name(registered):
    """{set name: result} of a loop over states."""
    found = {}
    for result in (registered or {}).get('results') or []:
        item = result.get('item')
        if isinstance(item, dict):
            found[item['name']] = result
    return found


def _command_error(what, result):
    return command_error(what, result.get('rc'), result.get('stderr'))


class _Set(object):
    """What does not depend on the results: a set's files, commands and settings."""

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
        # The listing's selection (backup_scan), so that the tarball holds exactly the members that were listed.
        self.selection = Selection(backup_set, settings['staging_dir'], settings['facts_file'], self.recipient)
        self.index = self.selection.index
        self.pack_argv = (['tar', '--create', '--file=' + self.tarball] + self.selection.tar_selection
                          + compressor['tar_args'] + ['--'] + self.selection.members)
        self.gpg_argv = (['gpg'] + (['--homedir', encryption['gpg_homedir']] if encryption.get('gpg_homedir') else [])
                         + ['--batch', '--yes', '--trust-model', 'always', '--encrypt', '--recipient',
                            encryption['recipient'], '--output', self.encrypted, '--', self.tarball])
        self.settings = self.selection.settings


class _Follow(object):
    """Follows one set through the results registered so far, to its next step or to its outcome."""

    def __init__(self, s, ctx, r):
        self.s, self.ctx, self.r = s, ctx, r
        self.state = {'name': s.name, 'set': s.set, 'tarball': s.tarball, 'staged': s.staged, 'listing_file': s.index,
                      'pack_argv': s.pack_argv, 'gpg_argv': s.gpg_argv,
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
        s, state = self.s, self.state
        scanned = self.r['scan'].get(s.name)
        if scanned is None:
            return self.step('scan')
        if scanned.get('status') == 'failed':
            return self.done(failed_step='list', error=scanned.get('error') or 'the listing failed')
        state['listing'] = scanned.get('listing')
        moved = self.ctx.get('vault_arn') and self.r['scan_arn'] and self.ctx['vault_arn'] != self.r['scan_arn']
        if scanned.get('status') == 'unchanged' and moved:
            # The look-up found another vault of that name (other credentials) than the one the catalog knows.
            state['reason'] = 'the vault is %s, not %s of the catalog' % (self.ctx['vault_arn'], self.r['scan_arn'])
            return self.pack()
        if scanned.get('status') == 'unchanged':
            state['compared'] = 'manifest'
            entry = scanned.get('entry') or {}
            unchanged = {'changed': False, 'uploaded': False, 'name': s.name, 'archive_id': entry.get('archive_id'),
                         'key': entry.get('key'), 'vault_arn': self.ctx.get('vault_arn'),
                         'bucket_arn': self.ctx.get('bucket_arn'), 'size': entry.get('size')}
            state['fingerprint'] = entry.get('fingerprint')
            return self.retention(unchanged, None)
        state['reason'] = scanned.get('reason')
        return self.pack()

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
                      'since': int(self.r['now']) - 1, 'fingerprint': state['fingerprint']}
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


def backup_state(sets, context, scan=None, tar=None, sha=None, gpg=None, touch=None, upload=None, prune=None):
    """One state dict per set, in order (see DOCUMENTATION)."""
    for key in ('settings', 'compressors'):
        if context.get(key) is None:
            raise AnsibleFilterError('backup_state: context.%s is required' % key)
    scanned = scan if isinstance(scan, dict) and isinstance(scan.get('sets'), list) else {}
    if scanned and not isinstance(scanned.get('now'), int):
        raise AnsibleFilterError('backup_state: scan.now is required')
    r = {'scan': {found['name']: found for found in scanned.get('sets', []) if isinstance(found, dict)},
         'now': scanned.get('now'), 'scan_arn': scanned.get('target_arn'), 'tar': _by_name(tar), 'sha': _by_name(sha), 'gpg': _by_name(gpg),
         'touch': _by_name(touch), 'upload': _by_name(upload), 'prune': _by_name(prune)}
    return [_Follow(_Set(backup_set, context), context, r).run() for backup_set in sets or []]


class FilterModule(object):
    """The backup_state filter."""

    def filters(self):
        return {'backup_state': backup_state}
