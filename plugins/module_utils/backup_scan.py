# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backup sets of the backup role changed since their latest archive, decided from their members' metadata.

One call per host (the backup_scan module) does what a no-change run of the role needs on the host: read the catalog
and the role's manifests, list each set's members with GNU tar (to /dev/null: no content is read), compare the
listing's SHA-256 with the one recorded with the set's latest archive, and look for a member whose status changed
since (find -newerct). The backup_state filter then packs only the sets found changed; the tar selection here is the
one its tarballs use, so the listing and the tarball always see the same members.
"""

import errno
import hashlib
import json
import os
import posixpath
import re
import time

# Raised when what the manifest holds, or how it is compared, changes: older records then no longer count.
MANIFEST_VERSION = 1
# GNU tar's selection, shared by the listing and the packing so that both see the same members: sorted, the gnu
# format (no atime/ctime), numeric owners, sparse files as sparse (holes are neither read into nor stored in the
# tarball), names relative to /.
TAR_FORMAT = ['--force-local', '--format=gnu', '--sort=name', '--numeric-owner', '--sparse', '--directory=/']
# The oldest GNU tar with --sort=name.
TAR_MIN_VERSION = (1, 28)
SECTIONS = {'vault': 'vaults', 'bucket': 'buckets'}
_GLOB = re.compile(r'([*?\[\]\\])')


class ScanError(Exception):
    """A problem of the host, not of one set (no GNU tar, an unreadable catalog): nothing was decided."""


def digest(value):
    return 'sha256:' + hashlib.sha256(json.dumps(value, sort_keys=True).encode('utf-8')).hexdigest()


def stored_id(record):
    """What identifies a stored copy in a record: the archive id, or a bucket's object key."""
    if not isinstance(record, dict):
        return None
    return record.get('archive_id') or record.get('key')


def command_error(what, rc, stderr):
    """'<what> failed: exit status N: <stderr on one line>', as the role reports a failed command."""
    lines = ' | '.join(line.strip() for line in str(stderr or '').strip().splitlines() if line.strip())
    return '%s failed: exit status %s%s' % (what, rc, ': ' + lines if lines else '')


class Selection(object):
    """What the listing, the ctime check and the tarball of one set select, and the digest of those settings."""

    def __init__(self, backup_set, staging_dir, facts_file, recipient=None):
        self.name = backup_set['name']
        staging = staging_dir.rstrip('/')
        self.index = '%s/%s.manifest' % (staging, self.name)
        # Never backed up (see the backup_set_problems filter): tar matches them against the member names, which
        # are relative to / (and start with "./" when a path is / itself).
        private = [p.strip('/') for p in (staging, posixpath.dirname(facts_file.rstrip('/')))]
        self.paths = ['/' + p.strip('/') for p in backup_set['paths']]
        excludes = [p.lstrip('/') for p in backup_set.get('exclude') or []]
        self.tar_selection = (TAR_FORMAT + ['--anchored', '--no-wildcards']
                              + ['--exclude=%s%s' % (prefix, p) for p in private for prefix in ('', './')]
                              + ['--no-anchored', '--wildcards'] + ['--exclude=' + p for p in excludes])
        self.members = [p.strip('/') or '.' for p in self.paths]
        # Written to /dev/null, tar reads no file's content; the index holds one line per member: type, mode,
        # owner, size, modification time to the nanosecond, name and link target.
        self.list_argv = (['tar', '--create', '--file=/dev/null', '--verbose', '--verbose', '--full-time',
                           '--index-file=' + self.index] + self.tar_selection + ['--'] + self.members)
        # The same selection for find. tar's unanchored pattern P matches a member name or any tail of it after a
        # "/"; -path '*/P' matches exactly that on the absolute path ("*" matches "/" in both).
        prune = [['-path', '/' + _GLOB.sub(r'\\\1', p)] for p in private] + [['-path', '*/' + p] for p in excludes]
        self.find_prune = sum(([('-o' if i else '(')] + t for i, t in enumerate(prune)), []) + [')', '-prune']
        self.settings = digest({'version': MANIFEST_VERSION, 'paths': self.paths, 'exclude': excludes,
                                'compression': backup_set['compression'], 'recipient': recipient or None,
                                'private': private})
        self.content = backup_set.get('change_detection') == 'content'

    def find_argv(self, since):
        """find prints the first member whose status changed after ``since`` (epoch seconds), then stops."""
        return (['find', '-P'] + self.paths + self.find_prune
                + ['-o', '-newerct', '@%d' % since, '-print', '-quit'])


def live_entry(entries, name):
    """The catalog's latest record of ``name``, unless it is missing or deleted."""
    entry = (entries or {}).get(name)
    return entry if isinstance(entry, dict) and 'deleted_at' not in entry else None


def counting_record(selection, entry, record, now):
    """The manifest record of the set, when it counts: made with the catalog's latest archive and these settings."""
    if (isinstance(record, dict) and entry is not None and record.get('archive_id') == stored_id(entry)
            and record.get('settings') == selection.settings
            # A clock that went back since would hide changes from the ctime check.
            and isinstance(record.get('since'), int) and not isinstance(record.get('since'), bool)
            and record['since'] <= int(now)):
        return record
    return None


def manifests_path(facts_file):
    """The role's manifests beside the catalog: <facts dir>/<facts file stem>_manifests.fact."""
    directory, base = os.path.split(facts_file)
    stem = base[:-len('.fact')] if base.endswith('.fact') else base
    return os.path.join(directory, stem + '_manifests.fact')


def read_json(path, what):
    """The JSON object in ``path`` as Ansible's fact gathering reads it; {} when the file is missing or empty."""
    try:
        with open(path, 'rb') as fileobj:
            raw = fileobj.read()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return {}
        raise ScanError('cannot read the %s %s: %s' % (what, path, exc.strerror or exc))
    if not raw.strip():
        return {}
    try:
        document = json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise ScanError('the %s %s is not valid JSON (%s)' % (what, path, exc))
    if not isinstance(document, dict):
        raise ScanError('the %s %s does not hold a JSON object' % (what, path))
    return document


def partition(region):
    region = region or ''
    return 'aws-cn' if region.startswith('cn-') else 'aws-us-gov' if region.startswith('us-gov-') else 'aws'


def target_arn(catalog, kind, name, region=None):
    """The catalog's key of the vault or bucket ``name``: the ARN the upload module recorded it under.

    A bucket's ARN is known without the catalog (bucket names are unique in a partition). A vault's ARN holds the
    account and region, which only AWS can tell: it is taken from the catalog when exactly one vault of that name
    (in ``region``, when given) is there, else None (the role then looks the vault up).
    """
    section = catalog.get(SECTIONS[kind])
    section = section if isinstance(section, dict) else {}
    if kind == 'bucket':
        for arn, target in sorted(section.items()):
            if isinstance(target, dict) and target.get('bucket') == name:
                return arn
        return 'arn:%s:s3:::%s' % (partition(region), name)
    found = []
    for arn in sorted(section):
        parts = arn.split(':', 5)
        if len(parts) == 6 and parts[2] == 'glacier' and parts[5] == 'vaults/' + name and (
                not region or parts[3] == region):
            found.append(arn)
    return found[0] if len(found) == 1 else None


def tar_version(run_command):
    """Refuse a tar that is not GNU tar TAR_MIN_VERSION or later, naming what the host has."""
    try:
        rc, out, err = run_command(['tar', '--version'])
    except OSError as exc:
        rc, out, err = 127, '', str(exc)
    text = (out or err or '').strip()
    first = text.splitlines()[0] if text else 'no tar'
    found = re.search(r'([0-9]+)\.([0-9]+)', out or '')
    if rc != 0 or 'GNU tar' not in (out or '') or not found or (
            int(found.group(1)), int(found.group(2))) < TAR_MIN_VERSION:
        # The same message as the role's restore entry point (tasks/preflight.yml).
        raise ScanError('coldvault.glacier.backup needs GNU tar %d.%d or later on the host (--sort=name makes the '
                        'tarballs reproducible; zstd needs 1.31 or later); the host has: %s'
                        % (TAR_MIN_VERSION + (first,)))


def file_sha256(path):
    sha = hashlib.sha256()
    try:
        with open(path, 'rb') as fileobj:
            for block in iter(lambda: fileobj.read(1024 * 1024), b''):
                sha.update(block)
    except OSError:
        return None
    return 'sha256:' + sha.hexdigest()


def path_problems(paths):
    """The paths that do not exist or cannot be looked up (lstat: a dangling symlink is still a member)."""
    problems = []
    for path in paths:
        try:
            os.lstat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                problems.append('paths: %s does not exist' % json.dumps(path, ensure_ascii=False))
            else:
                problems.append('paths: %s cannot be looked up: %s' % (json.dumps(path, ensure_ascii=False),
                                                                       exc.strerror or exc))
    return problems


def scan_set(backup_set, options, entries, records, now, run_command):
    """The decision for one set: {'name', 'status' (unchanged, changed or failed), 'reason', 'error', 'listing',
    'settings', 'entry'}."""
    selection = Selection(backup_set, options['staging_dir'], options['facts_file'], options.get('recipient'))
    entry = live_entry(entries, selection.name)
    record = counting_record(selection, entry, (records or {}).get(selection.name), now)
    result = {'name': selection.name, 'status': 'changed', 'reason': None, 'error': None, 'listing': None,
              'settings': selection.settings, 'entry': entry}
    rc, dummy, err = run_command(selection.list_argv)
    if rc not in (0, 1):
        # tar says why on stderr; a missing path is the common case, and is named as such.
        problems = path_problems(selection.paths)
        result.update(status='failed', error='; '.join(problems) if problems else
                      'paths: ' + command_error('listing the files with tar', rc, err))
        return result
    result['listing'] = file_sha256(selection.index)
    if selection.content:
        reason = 'change_detection is content'
    elif entry is None:
        reason = 'the catalog has no archive of the set'
    elif record is None:
        reason = 'no manifest is recorded with the latest archive, or the settings changed'
    elif rc != 0 or result['listing'] is None or result['listing'] != record.get('listing'):
        reason = 'files were added, removed or renamed, or their metadata changed'
    else:
        rc, out, err = run_command(selection.find_argv(record['since']))
        changed = (out or '').strip()
        if rc == 0 and not changed:
            result['status'] = 'unchanged'
            return result
        reason = ('%s changed since the latest archive (its status change time is newer)' % changed.split('\n')[0]
                  if rc == 0 else command_error('find', rc, err))
    result['reason'] = reason
    return result


def scan(options, run_command, clock=time.time):
    """Decide every set of ``options`` (sets, staging_dir, facts_file, kind, target, region, recipient).

    ``run_command(argv)`` runs a command with TZ=UTC and LC_ALL=C and returns (rc, stdout, stderr). Writes only the
    listings, in the staging directory (created with mode 0700 when missing). Raises ScanError for a problem of the
    host; a problem of one set fails that set only.
    """
    tar_version(run_command)
    catalog = read_json(options['facts_file'], 'catalog')
    manifests = read_json(manifests_path(options['facts_file']), 'manifests file')
    arn = target_arn(catalog, options['kind'], options['target'], options.get('region'))
    section = SECTIONS[options['kind']]
    target = (catalog.get(section) or {}).get(arn) if arn else None
    entries = target.get('archives') if isinstance(target, dict) else None
    records = ((manifests.get(section) or {}).get(arn) or {}) if arn else {}
    staging = options['staging_dir']
    try:
        # The listings hold the names of the backed-up files: 0700, as the tarballs later.
        os.makedirs(staging, mode=0o700, exist_ok=True)
        if os.stat(staging).st_mode & 0o7777 != 0o700:
            os.chmod(staging, 0o700)
    except OSError as exc:
        raise ScanError('cannot create the staging directory %s: %s' % (staging, exc.strerror or exc))
    # Read before the listings: a member whose status changes later has a newer ctime.
    now = int(clock())
    sets = [scan_set(s, options, entries if isinstance(entries, dict) else {}, records if isinstance(
        records, dict) else {}, now, run_command) for s in options['sets']]
    return {'target_arn': arn, 'now': now, 'sets': sets, 'manifests': manifests}
