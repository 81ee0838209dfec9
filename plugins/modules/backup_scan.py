#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: backup_scan
short_description: Tell which backup sets changed since their latest archive, from their members' metadata
version_added: 0.1.0
description:
  - The first step of the C(coldvault.glacier.backup) role on each host, in one task. It reads the catalog and the
    role's manifests beside it, and for each set lists its members with GNU tar (to C(/dev/null), reading no file's
    content) into C(<staging_dir>/<set name>.manifest), compares the SHA-256 of that listing with the one recorded
    with the set's latest archive, and looks with C(find) for a member whose status change time (ctime) is newer
    than that record.
  - A set is V(unchanged) when everything matches; nothing needs to be packed, read or sent. Otherwise it is
    V(changed), with the reason, or V(failed) (a missing path, a listing that failed), and the other sets are still
    decided.
  - The tar selection (paths, exclude patterns, the staging directory and the catalog's directory left out) is
    exactly the one the role's tarballs use. See the collection's C(docs/backup-role.md), "How a change is
    detected".
  - Talks to no AWS service and needs no credentials. Writes only the listings, and the staging directory (mode
    0700) when it is missing; reports no change.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  sets:
    description: The backup sets, as the role's C(backup_sets) (see there for each option).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the set, its name in the catalog.
        type: str
        required: true
      paths:
        description: Absolute paths of the set's files and directories.
        type: list
        elements: str
        required: true
      exclude:
        description: GNU tar C(--exclude) patterns.
        type: list
        elements: str
        default: []
      compression:
        description: Compression of the set's tarball (part of the settings a manifest is recorded with).
        type: str
        choices: [gzip, xz, zstd, none]
        default: gzip
      change_detection:
        description: V(content) reports the set V(changed) on every run, to be decided by its tarball's content.
        type: str
        choices: [metadata, content]
        default: metadata
  vault:
    description: The Glacier vault the sets are backed up to. One of O(vault) and O(bucket) is required.
    type: str
  bucket:
    description: The S3 bucket the sets are backed up to.
    type: str
  region:
    description:
      - Region of the vault or bucket. Picks the vault among vaults of the same name in other regions in the
        catalog, and the partition of a bucket's ARN.
    type: str
  staging_dir:
    description: Directory of the listings (and of the role's tarballs). Created with mode 0700 when missing.
    type: path
    required: true
  facts_file:
    description: Path of the catalog. The role's manifests are in C(<stem>_manifests.fact) beside it.
    type: path
    default: /etc/ansible/facts.d/glacier.fact
  encryption_recipient:
    description: The GPG recipient the sets are encrypted to, if any (part of the settings a manifest is recorded with).
    type: str
notes:
  - Supports check mode, in which it does the same (it only reads, and writes its scratch listings).
  - Needs GNU tar 1.28 or later, GNU find and Python on the host; fails with what the host has otherwise.
seealso:
  - module: coldvault.glacier.upload
"""

EXAMPLES = r"""
- name: Which sets changed since their latest archive in the vault "backups"
  coldvault.glacier.backup_scan:
    vault: backups
    staging_dir: /var/backups/staging
    sets:
      - name: dumps
        paths: [/srv/dumps]
      - name: data
        paths: [/srv/data]
        exclude: ["*.tmp", cache]
  register: scan

- name: Show the sets that would be packed, and why
  ansible.builtin.debug:
    msg: "{{ scan.sets | rejectattr('status', 'equalto', 'unchanged') | items2dict(key_name='name', value_name='reason') }}"
"""

RETURN = r"""
target_arn:
  description:
    - The catalog's key of the vault or bucket. For a vault, null when the catalog does not know it (or knows vaults
      of that name in several regions or accounts and O(region) does not pick one).
  returned: success
  type: str
  sample: arn:aws:glacier:eu-west-1:123456789012:vaults/backups
now:
  description: The host's clock (epoch seconds), read before the listings.
  returned: success
  type: int
manifests:
  description: The content of the role's manifests file (empty when there is none).
  returned: success
  type: dict
sets:
  description: One item per set, in order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Name of the set.
      type: str
    status:
      description: V(unchanged), V(changed) or V(failed).
      type: str
    reason:
      description: Why a changed set has to be packed.
      type: str
      sample: files were added, removed or renamed, or their metadata changed
    error:
      description: Why the set failed, naming the option.
      type: str
      sample: 'paths: "/srv/www" does not exist'
    listing:
      description: SHA-256 of the listing (C(sha256:<hex>)), null when it failed.
      type: str
    settings:
      description: Digest of the settings a manifest is recorded with.
      type: str
    entry:
      description: The catalog's latest record of the set (null when there is none, or it was deleted).
      type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.coldvault.glacier.plugins.module_utils.backup_scan import ScanError, scan


def main():
    set_options = dict(
        name=dict(type='str', required=True),
        paths=dict(type='list', elements='str', required=True),
        exclude=dict(type='list', elements='str', default=[]),
        compression=dict(type='str', choices=['gzip', 'xz', 'zstd', 'none'], default='gzip'),
        change_detection=dict(type='str', choices=['metadata', 'content'], default='metadata'),
    )
    module = AnsibleModule(
        argument_spec=dict(
            sets=dict(type='list', elements='dict', required=True, options=set_options),
            vault=dict(type='str'),
            bucket=dict(type='str'),
            region=dict(type='str'),
            staging_dir=dict(type='path', required=True),
            facts_file=dict(type='path', default='/etc/ansible/facts.d/glacier.fact'),
            encryption_recipient=dict(type='str'),
        ),
        mutually_exclusive=[('vault', 'bucket')],
        required_one_of=[('vault', 'bucket')],
        supports_check_mode=True,
    )
    p = module.params
    for option in ('staging_dir', 'facts_file'):
        if not p[option].startswith('/'):
            module.fail_json(msg='%s: must be an absolute path, got %r' % (option, p[option]))
    # Never backed up: tar leaves them out, so a set path inside them would silently be empty.
    private = [os.path.normpath(p['staging_dir']), os.path.dirname(os.path.normpath(p['facts_file']))]
    for index, backup_set in enumerate(p['sets']):
        for path in backup_set['paths']:
            if not path.startswith('/'):
                module.fail_json(msg='sets[%d] %r: paths: must be absolute, got %r' % (index, backup_set['name'], path))
            inside = [d for d in private if (os.path.normpath(path) + '/').startswith(d.rstrip('/') + '/')]
            if inside:
                module.fail_json(msg='sets[%d] %r: paths: %r is inside %s, which is never backed up' % (
                    index, backup_set['name'], path, inside[0]))
    options = dict(sets=p['sets'], staging_dir=p['staging_dir'], facts_file=p['facts_file'], region=p['region'],
                   kind='vault' if p['vault'] else 'bucket', target=p['vault'] or p['bucket'],
                   recipient=p['encryption_recipient'] or None)

    def run_command(argv):
        # The listing's times and messages must not depend on the host's time zone or language. A missing program
        # is an exit status (scan names it), not a failure of the whole module.
        try:
            return module.run_command(argv, environ_update={'TZ': 'UTC', 'LC_ALL': 'C'}, handle_exceptions=False)
        except OSError as exc:
            return 127, '', '%s: %s' % (argv[0], exc.strerror or exc)

    try:
        result = scan(options, run_command)
    except ScanError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
