#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: prune
short_description: Delete the Glacier archives of a name that a retention policy no longer keeps
version_added: 0.1.0
description:
  - Applies a retention policy to the archives that the catalog (the facts file written by
    M(coldvault.glacier.upload)) records for one O(name) in one vault.
  - Keeps the newest O(keep) archives, and every archive younger than O(min_age_days) days; deletes the others from
    the vault (C(DeleteArchive)) and marks them deleted in the catalog's history. The archive id itself stays in
    the history with a C(deleted_at) time. The latest archive of a name is never deleted.
  - An archive the vault no longer has is marked deleted without an error.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  vault:
    description: Name of the vault.
    type: str
    required: true
  name:
    description: Key of the file in the catalog (the O(coldvault.glacier.upload#module:name) it was uploaded with).
    type: str
    required: true
  keep:
    description: Number of newest archives to keep, at least 1.
    type: int
    required: true
  min_age_days:
    description:
      - Never delete an archive uploaded less than this many days ago, whatever O(keep) says.
      - Glacier charges for 90 days of storage of an archive deleted earlier, so 90 is a common choice.
    type: int
    default: 0
  facts_file:
    description: Path of the catalog.
    type: path
    default: /etc/ansible/facts.d/glacier.fact
  mode:
    description: Permissions of the catalog file when it is written.
    type: raw
    default: '0600'
extends_documentation_fragment:
  - coldvault.glacier.catalog_lock
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode, which reports what would be deleted and deletes nothing.
"""

EXAMPLES = r"""
- name: Keep the last 7 backups of "etc", and anything younger than 90 days
  coldvault.glacier.prune:
    vault: backups
    name: etc
    keep: 7
    min_age_days: 90
"""

RETURN = r"""
deleted:
  description: Archives deleted by this run (in check mode, that it would delete), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    archive_id:
      description: Id of the archive.
      type: str
    uploaded_at:
      description: When it was uploaded (UTC).
      type: str
    size:
      description: Size in bytes.
      type: int
    tree_hash:
      description: SHA-256 tree hash.
      type: str
kept:
  description: Live archives of the name that the policy keeps, oldest first; same fields as RV(deleted).
  returned: always
  type: list
  elements: dict
vault_arn:
  description: ARN of the vault.
  returned: success
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils.prune import run_prune


def main():
    argument_spec = dict(
        vault=dict(type='str', required=True),
        name=dict(type='str', required=True),
        keep=dict(type='int', required=True),
        min_age_days=dict(type='int', default=0),
        facts_file=dict(type='path', default='/etc/ansible/facts.d/glacier.fact'),
        lock_timeout=dict(type='int', default=60),
        mode=dict(type='raw', default='0600'),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run_prune(module))


if __name__ == '__main__':
    main()
