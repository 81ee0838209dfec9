#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: vault
short_description: Create, tag and delete Amazon Glacier vaults
version_added: 0.1.0
description:
  - Creates or deletes an Amazon Glacier vault (the vault API, 2012-06-01) and manages its tags.
  - With O(state=present) the vault is created when it is missing, and its tags are brought in line with O(tags)
    and O(purge_tags). Idempotent; the task reports C(changed) only when something was created or retagged.
  - With O(state=absent) an empty vault is deleted. A vault that does not exist is C(ok). A vault that still
    holds archives is refused (the task fails and nothing changes); delete its archives first.
  - Glacier's archive count (C(NumberOfArchives) of C(DescribeVault)) is only refreshed by the vault inventory,
    which AWS runs about once a day, and the service also refuses to delete a vault written to since its last
    inventory. Either way the module fails with a message that says so, and the vault is left as it was.
  - AWS closed the vault API to new AWS accounts in late 2025; such accounts get C(NoLongerSupportedException),
    which the module reports with an explanation. Accounts that already had vaults keep access.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  name:
    description:
      - Name of the vault, unique per account and region.
      - 1 to 255 characters of C(a-z), C(A-Z), C(0-9), C(_), C(-) and C(.).
    type: str
    required: true
  state:
    description:
      - V(present) creates the vault if needed and manages its tags; V(absent) deletes it if it is empty.
    type: str
    choices: [present, absent]
    default: present
  tags:
    description:
      - Tags of the vault, a dictionary of keys and values (values are sent as strings).
      - If O(tags) is not set, the tags of the vault are not modified.
      - As AWS documents them, a vault has at most 50 tags (tags with a key beginning with V(aws:) do not count),
        keys have 1 to 128 characters and must not begin with V(aws:), values have at most 256 characters. Tags
        that break these rules fail the task before anything is written. If the service still refuses them after
        this run created the vault or changed its tags, the task fails with C(changed=true), RV(vault) and
        a message that says what was done.
      - Only used with O(state=present).
    type: dict
    aliases: ['resource_tags']
  purge_tags:
    description:
      - If O(purge_tags=true) and O(tags) is set, tags of the vault that are not in O(tags) are removed.
      - If O(tags) is not set, the tags are not modified, even if O(purge_tags=true).
      - Tag keys beginning with V(aws:) are reserved by Amazon and are never purged.
    type: bool
    default: true
extends_documentation_fragment:
  - coldvault.glacier.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - Reads the vault and its tags, decides and reports, sends no write request.
  diff_mode:
    support: full
    details:
      - C(name), C(exists) and C(tags) of the vault before and after.
  idempotent:
    support: full
notes:
  - botocore retries throttling, 5xx, 408 and dropped connections (standard retry mode, 5 attempts per request
    unless O(aws_config) says otherwise).
seealso:
  - module: coldvault.glacier.upload
"""

EXAMPLES = r"""
- name: Create a vault for backups, tagged
  coldvault.glacier.vault:
    name: backups
    region: eu-west-1
    tags:
      team: ops
      retention: 7y
  register: backups_vault

- name: Show its ARN
  ansible.builtin.debug:
    msg: "{{ backups_vault.vault.arn }}"

- name: Add a tag and keep the others
  coldvault.glacier.vault:
    name: backups
    tags:
      cost-centre: "4711"
    purge_tags: false

- name: Remove every tag
  coldvault.glacier.vault:
    name: backups
    tags: {}

- name: Delete the vault (fails, changing nothing, while it still holds archives)
  coldvault.glacier.vault:
    name: backups
    state: absent
"""

RETURN = r"""
vault:
  description:
    - The vault after the task; an empty dictionary when it does not exist (O(state=absent)).
    - In check mode, for a vault that would be created, RV(vault.arn), RV(vault.creation_date) and
      RV(vault.last_inventory_date) are null.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the vault.
      type: str
      sample: backups
    arn:
      description: ARN of the vault.
      type: str
      sample: arn:aws:glacier:eu-west-1:123456789012:vaults/backups
    number_of_archives:
      description: Archives in the vault as of its last inventory (null before the first inventory).
      type: int
      sample: 0
    size_in_bytes:
      description: Total size of those archives in bytes, as of the last inventory (null before the first inventory).
      type: int
      sample: 0
    creation_date:
      description: When the vault was created, ISO 8601 in UTC.
      type: str
      sample: "2025-01-31T12:00:00.000Z"
    last_inventory_date:
      description: When AWS last completed an inventory of the vault, ISO 8601 in UTC; null before the first.
      type: str
      sample: "2025-02-01T03:04:05.000Z"
    tags:
      description: Tags of the vault.
      type: dict
      sample: {"team": "ops"}
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils.vault import run_vault


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        tags=dict(type='dict', aliases=['resource_tags']),
        purge_tags=dict(type='bool', default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run_vault(module))


if __name__ == '__main__':
    main()
