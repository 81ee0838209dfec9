# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: restore_state
short_description: Where each set of the backup role's restore stands, from the results of the steps so far
version_added: 0.1.0
author:
  - coldvault.glacier maintainers (@coldvault)
description:
  - The decisions of the C(restore) entry point of the C(coldvault.glacier.backup) role, as a pure function of the
    results its tasks have registered so far. Each task loops over the sets whose C(next) step is that task, so every
    host runs each step at the same time, whatever its own sets are.
  - 'The steps, in order: V(retrieve) (M(coldvault.glacier.retrieve) into the staging directory); V(magic) (the
    first bytes of the archive, C(od)); V(decrypt) and V(magic_decrypted) for a GPG message; V(target) (is
    C(<dest>/<set>) there); V(compare) (C(tar --diff) against it); V(mkdir); V(extract); V(report) (check mode: what
    would be extracted); V(copy) (with C(extract=false)).'
  - What an archive is comes from its content (the M(coldvault.glacier.archive_format) filter), not from the
    settings, so one run restores sets backed up with and without encryption.
  - When a set is done (C(next) is V(null)) it carries C(outcome), its entry of C(backup_restore_results).
options:
  _input:
    description: Names of the sets to restore.
    type: list
    elements: str
    required: true
  context:
    description:
      - C(settings) (the merged C(backup_config)), C(restore) (the merged C(backup_restore)), C(check_mode), and
        C(root) (whether the restore runs as root, which alone can give files their owners back).
    type: dict
    required: true
  retrieve:
    description: Registered result of the retrieve loop.
    type: dict
  magic:
    description: Registered result of the C(od) loop over the archives.
    type: dict
  decrypt:
    description: Registered result of the decryption loop.
    type: dict
  magic_decrypted:
    description: Registered result of the C(od) loop over the decrypted tarballs.
    type: dict
  target:
    description: Registered result of the M(ansible.builtin.stat) loop over the restore directories.
    type: dict
  compare:
    description: Registered result of the C(tar --diff) loop.
    type: dict
  mkdir:
    description: Registered result of the loop that creates the restore directories.
    type: dict
  extract:
    description: Registered result of the extraction loop.
    type: dict
  report:
    description: Registered result of the check mode report loop.
    type: dict
  copy:
    description: Registered result of the loop that copies tarballs (C(extract=false)).
    type: dict
"""

EXAMPLES = r"""
- name: Decrypt the archives that are GPG messages
  ansible.builtin.command:
    argv: "{{ item.gpg_argv }}"
  loop: >-
    {{ sets | coldvault.glacier.restore_state(context, retrieve=retrieved, magic=magic)
       | selectattr('next', 'equalto', 'decrypt') }}
  register: decrypted
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
      description: The set's entry of C(backup_restore_results), when it is done.
      type: dict
"""

from ansible.module_utils.common.text.formatters import bytes_to_human

from ansible_collections.coldvault.glacier.plugins.filter.archive_format import SUFFIXES, archive_format
from ansible_collections.coldvault.glacier.plugins.filter.backup_outcome import error_text
from ansible_collections.coldvault.glacier.plugins.module_utils.backup_scan import stored_id

TARBALLS = ('gzip', 'xz', 'zstd', 'tar')
_STEPS = ('retrieve', 'magic', 'decrypt', 'magic_decrypted', 'target', 'compare', 'mkdir', 'extract', 'report',
          'copy')


def _by_name(registered):
    return {r['item']['name']: r for r in (registered or {}).get('results') or [] if isinstance(r.get('item'), dict)}


def _command_error(what, result):
    return '%s failed: %s' % (what, error_text({'msg': 'exit status %s' % result.get('rc'), 'stderr': result.get('stderr')}))


class _Follow(object):
    """Follows one set through the results registered so far, to its next step or to its outcome."""

    def __init__(self, name, ctx, r):
        settings, restore = ctx['settings'], ctx['restore']
        self.name, self.ctx, self.r = name, ctx, r
        self.check = bool(ctx.get('check_mode'))
        self.extract = bool(restore['extract'])
        staging = restore['staging_dir']
        archive = '%s/%s.archive' % (staging, name)
        decrypted = '%s/%s.decrypted' % (staging, name)
        gpg = settings['encryption']
        self.state = {
            'name': name, 'archive': archive, 'decrypted': decrypted, 'target': '%s/%s' % (restore['dest'], name),
            'tarball': archive, 'copy_dest': None, 'next': None,
            'gpg_argv': (['gpg'] + (['--homedir', gpg['gpg_homedir']] if gpg.get('gpg_homedir') else [])
                         + ['--batch', '--yes']
                         + (['--pinentry-mode', 'loopback', '--passphrase-file', restore['gpg_passphrase_file']]
                            if restore.get('gpg_passphrase_file') else [])
                         + ['--output', decrypted, '--decrypt', '--', archive]),
            # Scratch in the staging directory: the decrypted tarball always; the download too unless it is kept.
            'scratch': [decrypted] + ([] if restore['keep_downloads'] else [archive]),
        }
        self.facts = {'ready': False, 'encrypted': None, 'format': None, 'exists': None, 'differences': [],
                      'needed': False, 'copied': False}

    def step(self, name):
        self.state['next'] = name
        return self.state

    def result(self, step):
        return self.r[step].get(self.name)

    def run(self):
        retrieved = self.result('retrieve')
        if retrieved is None:
            return self.step('retrieve')
        self.retrieved = retrieved
        if retrieved.get('failed'):
            return self.failed('retrieve', error_text(retrieved))
        # In check mode nothing is downloaded: only an archive that was there already (no job needed) can be read.
        f = self.facts
        # (With a bucket there is no job: a check-mode run that would download reports a change.)
        f['ready'] = retrieved.get('status') == 'succeeded' and (
            not self.check or (retrieved.get('job_id') is None and not retrieved.get('changed')))
        if not f['ready']:
            return self.done()
        magic = self.result('magic')
        if magic is None:
            return self.step('magic')
        if magic.get('rc') != 0:
            return self.failed('magic', _command_error('reading the first bytes of the archive', magic))
        first = archive_format(magic.get('stdout'))
        f['encrypted'] = first == 'gpg'
        shown = magic
        if f['encrypted']:
            self.state['tarball'] = self.state['decrypted']
            decrypted = self.result('decrypt')
            if decrypted is None:
                return self.step('decrypt')
            if decrypted.get('rc') != 0:
                return self.failed('decrypt', _command_error('decrypting with GPG', decrypted))
            shown = self.result('magic_decrypted')
            if shown is None:
                return self.step('magic_decrypted')
            if shown.get('rc') != 0:
                return self.failed('magic_decrypted', _command_error('reading the decrypted tarball', shown))
            first = archive_format(shown.get('stdout'))
        f['format'] = first
        if first not in TARBALLS:
            return self.failed('magic', 'archive %s is %sneither a GPG message nor a tarball of the backup role (gzip, '
                               'xz, zstd or uncompressed); its first bytes: %s' % (
                                   stored_id(retrieved), 'a GPG message that holds ' if f['encrypted'] else '',
                                   ' '.join(str(shown.get('stdout') or '').split())[:48]))
        self.state['copy_dest'] = self.state['target'] + SUFFIXES[first]
        return self.restore() if self.extract else self.copy()

    def restore(self):
        f = self.facts
        target = self.result('target')
        if target is None:
            return self.step('target')
        if target.get('failed'):
            return self.failed('target', error_text(target))
        f['exists'] = bool((target.get('stat') or {}).get('exists'))
        if f['exists']:
            compared = self.result('compare')
            if compared is None:
                return self.step('compare')
            # 1: differences; 2: trouble, such as a damaged tarball.
            if compared.get('rc') not in (0, 1):
                return self.failed('compare', _command_error('comparing with tar --diff', compared))
            if compared.get('rc') == 1:
                lines = [line for line in (compared.get('stdout') or '').splitlines() if line.strip()]
                if not self.ctx.get('root'):
                    # Only root can give the restored files their owners back.
                    lines = [line for line in lines if not line.endswith((': Uid differs', ': Gid differs'))]
                f['differences'] = lines + [line for line in (compared.get('stderr') or '').splitlines() if line.strip()]
        else:
            made = self.result('mkdir')
            if made is None:
                return self.step('mkdir')
            if made.get('failed'):
                return self.failed('mkdir', error_text(made))
        f['needed'] = not f['exists'] or bool(f['differences'])
        if f['needed']:
            step = 'report' if self.check else 'extract'
            extracted = self.result(step)
            if extracted is None:
                return self.step(step)
            if step == 'extract' and extracted.get('rc') != 0:
                return self.failed('extract', _command_error('extracting with tar', extracted))
        return self.done()

    def copy(self):
        copied = self.result('copy')
        if copied is None:
            return self.step('copy')
        if copied.get('failed'):
            return self.failed('copy', error_text(copied))
        self.facts['copied'] = bool(copied.get('changed'))
        return self.done()

    def failed(self, step, error):
        retrieved = getattr(self, 'retrieved', None) or {}
        self.state['next'] = None
        self.state['outcome'] = {
            'name': self.name, 'status': 'failed', 'changed': bool(retrieved.get('downloaded')),
            'archive_id': stored_id(retrieved), 'key': retrieved.get('key'), 'job_id': retrieved.get('job_id'),
            'downloaded': bool(retrieved.get('downloaded')), 'size': retrieved.get('size'), 'encrypted': None,
            'format': None, 'archive': None, 'dest': self.state['target'], 'failed_step': step, 'error': error,
            'summary': 'FAILED: %s' % error,
        }
        return self.state

    def done(self):
        f, rt, state = self.facts, self.retrieved, self.state
        check = self.check
        written = f['ready'] and ((self.extract and f['needed']) or (not self.extract and f['copied']))
        changed = bool(rt.get('changed')) or written
        if rt.get('status') == 'pending' and not check:
            status = 'pending'
        elif check and changed:
            status = 'would restore'
        else:
            status = 'restored' if changed else 'unchanged'
        if self.extract:
            where = state['target'] + '/'
        else:
            where = state['copy_dest'] if f['ready'] else state['target'] + '.*'
        archive_id = stored_id(rt)
        bucket = bool(rt.get('bucket_arn') or rt.get('bucket'))
        noun = 'object' if bucket else 'archive'
        # A bucket has no job: RestoreObject makes a readable copy of a GLACIER or DEEP_ARCHIVE object.
        restore = rt.get('restore') or {}
        if bucket:
            job = 'its restore'
            via = 'from the bucket'
        else:
            job = 'job %s' % rt['job_id'] if rt.get('job_id') else 'a new job'
            via = 'with ' + job
        if status == 'pending':
            summary = ('%s %s: %s is still running (wait: false); run the restore again later to download and '
                       'extract it' % (noun, archive_id, job))
        elif not f['ready'] and bucket:
            # Check mode: a restore this run would request has no answer from S3.
            first = ('after a restore (%s), ' % (restore.get('tier') or self.ctx['restore'].get('tier') or 'Standard')
                     if restore.get('requested') and restore.get('answer') is None else
                     'once its restore is done, ' if restore.get('state') == 'ongoing' else '')
            summary = 'would download object %s %sand restore it into %s' % (archive_id, first, where)
        elif not f['ready']:
            summary = 'would retrieve archive %s with %s%s and restore it into %s' % (
                archive_id, job, ' (done)' if rt.get('status') == 'succeeded' else '', where)
        elif changed:
            steps = (['downloaded %s %s (%s MB/s)' % (bytes_to_human(int(rt.get('size') or 0)), via,
                                                      (rt.get('stats') or {}).get('mb_per_s', 0))]
                     if rt.get('downloaded') else ['already downloaded'])
            if f['encrypted']:
                steps.append('decrypted')
            if self.extract and f['needed']:
                steps.append(('would extract' if check else 'extracted') + (
                    ' (%d difference(s) with what was there)' % len(f['differences']) if f['exists'] else ''))
            if not self.extract and f['copied']:
                steps.append(('would copy' if check else 'copied') + ' the tarball')
            verb = 'would restore' if check else 'restored'
            summary = '%s %s %s into %s: %s' % (verb, noun, archive_id, where, ', '.join(steps))
        else:
            summary = 'unchanged: %s already holds %s %s%s' % (
                where, noun, archive_id, ' (decrypted)' if f['encrypted'] else '')
        state['outcome'] = {
            'name': self.name, 'status': status, 'changed': changed, 'archive_id': archive_id,
            'job_id': rt.get('job_id'), 'key': rt.get('key'), 'restore': rt.get('restore'),
            'downloaded': bool(rt.get('downloaded')), 'size': rt.get('size'),
            'encrypted': f['encrypted'] if f['ready'] else None, 'format': f['format'] if f['ready'] else None,
            'archive': state['archive'] if f['ready'] and self.ctx['restore']['keep_downloads'] else None,
            'dest': where, 'summary': summary,
        }
        state['next'] = None
        return state


def restore_state(names, context, **results):
    """One state dict per set name, in order (see DOCUMENTATION)."""
    r = dict((step, _by_name(results.get(step))) for step in _STEPS)
    return [_Follow(name, context, r).run() for name in names or []]


class FilterModule(object):
    """The restore_state filter."""

    def filters(self):
        return {'restore_state': restore_state}
