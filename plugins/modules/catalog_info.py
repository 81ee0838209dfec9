#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: catalog_info
short_description: Read the archive catalog of a host, with the full history of each name
version_added: 0.1.0
description:
  - Reads the catalog that M(coldvault.glacier.upload), M(coldvault.glacier.prune),
    M(coldvault.glacier.retrieve) and M(coldvault.glacier.inventory) write on the managed host (see the
    collection's C(docs/catalog.md)), and returns it filtered by vault or bucket, region and name.
  - The facts file (C(ansible_local)) shows only the latest archive of each name and how many there are; this
    module also returns the history, every archive ever recorded for a name, deleted ones included, from the
    history store beside the facts file.
  - Talks to no AWS service, needs no credentials, and changes nothing. A catalog still in the old format 1 is
    read as it will be migrated by the next module that writes it.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  facts_file:
    description: Path of the catalog.
    type: path
    default: /etc/ansible/facts.d/glacier.fact
  vault:
    description: Only the vaults of this name (in any region and account unless O(region) is given).
    type: str
  bucket:
    description: Only the S3 buckets of this name. Not together with O(vault).
    type: str
  region:
    description: Only vaults and buckets in this region.
    type: str
  name:
    description: Only the archives of this name (the O(coldvault.glacier.upload#module:name) they were uploaded under).
    type: str
  history:
    description: Also return every record of each archive name, oldest first, deleted ones included.
    type: bool
    default: false
notes:
  - Supports check mode. Not part of the collection's action groups, whose C(module_defaults) usually carry AWS
    options that this module does not take.
"""

EXAMPLES = r"""
- name: Every archive ever uploaded as "etc" to the vault "backups"
  coldvault.glacier.catalog_info:
    vault: backups
    name: etc
    history: true
  register: etc_archives

- name: The archive ids of "etc" still stored, oldest first
  ansible.builtin.debug:
    msg: >-
      {{ etc_archives.archives | map(attribute='history') | flatten
         | rejectattr('deleted_at', 'defined') | map(attribute='archive_id') | list }}

- name: Latest archive of every name in a catalog kept elsewhere
  coldvault.glacier.catalog_info:
    facts_file: /var/lib/backups/glacier.fact
"""

RETURN = r"""
facts_file:
  description: Path of the catalog.
  returned: always
  type: str
history_file:
  description: Path of the history store beside it, or null when there is none yet.
  returned: always
  type: str
  sample: /etc/ansible/facts.d/glacier.history.sqlite
format:
  description: Catalog format of the facts file as read (2; 1 for a file not migrated yet).
  returned: success
  type: int
records:
  description: Number of records in the whole history.
  returned: success
  type: int
archives:
  description: One item per vault or bucket and archive name that the filters keep, by target and name.
  returned: success
  type: list
  elements: dict
  contains:
    target:
      description: ARN of the vault or bucket, its key in the catalog.
      type: str
    kind:
      description: V(vault) or V(bucket).
      type: str
    vault:
      description: Name of the vault (vaults only).
      type: str
    bucket:
      description: Name of the bucket (buckets only).
      type: str
    region:
      description: Region of the vault or bucket.
      type: str
    name:
      description: Name of the archive in the catalog.
      type: str
    latest:
      description: The newest record whose archive is still stored (null when every one was deleted).
      type: dict
    versions:
      description: Number of records in its history.
      type: int
    deleted_versions:
      description: Number of them whose archive was deleted.
      type: int
    history:
      description: Every record, oldest first; a deleted archive's record has C(deleted_at).
      returned: when O(history=true)
      type: list
      elements: dict
uploads:
  description: Pending multipart uploads (with C(target) and C(name)), kept so a rerun can resume them.
  returned: success
  type: list
  elements: dict
jobs:
  description: Recorded retrieval and inventory jobs (with C(target) and C(key), the archive id or C(inventory)).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coldvault.glacier.plugins.module_utils.catalog_info import run_catalog_info


def main():
    argument_spec = dict(
        facts_file=dict(type='path', default='/etc/ansible/facts.d/glacier.fact'),
        vault=dict(type='str'),
        bucket=dict(type='str'),
        region=dict(type='str'),
        name=dict(type='str'),
        history=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('vault', 'bucket')])
    module.exit_json(**run_catalog_info(module))


if __name__ == '__main__':
    main()
