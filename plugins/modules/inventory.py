#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: inventory
short_description: List the archives of an Amazon Glacier vault, reconcile them with the catalog, rebuild a lost one
version_added: 0.1.0
description:
  - Lists the archives of an Amazon Glacier vault (the vault API, 2012-06-01) with an inventory-retrieval job
    (JSON format) and returns them, decoding the name and modification time from the descriptions that
    M(coldvault.glacier.upload) writes (see the collection's C(docs/description.md)).
  - An inventory job takes hours and AWS refreshes a vault's inventory only about once a day. The job id is
    recorded in the catalog (the vault's C(jobs), under C(inventory)) as soon as it is started, and later runs reuse
    it while the vault knows it (its output is kept 24 hours after it completes), unless O(refresh=true).
    A recorded job that the vault no longer knows or that failed is replaced by a new one.
  - O(reconcile=true) compares the inventory with the catalog (see the collection's C(docs/catalog.md)).
  - O(rebuild=true) adds the archives that the catalog lacks, from their descriptions, as records the way
    M(coldvault.glacier.upload) writes them, so that M(coldvault.glacier.retrieve) finds them by name. Archives with
    other descriptions are reported in RV(foreign) and not added. Archive ids already in the catalog are never
    changed or dropped.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  vault:
    description:
      - Name of the vault.
      - 1 to 255 characters of C(a-z), C(A-Z), C(0-9), C(_), C(-) and C(.).
    type: str
    required: true
  refresh:
    description:
      - Start a new inventory job even if one is recorded. AWS prepares a new inventory about once a day, so a
        new job within the same day usually returns the same list.
    type: bool
    default: false
  wait:
    description:
      - Wait for the job to complete and read its output.
      - If V(false), return RV(status=pending) while the job runs; a later run reads the output.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the job to complete. When they have passed, the task fails; the job id stays
        recorded, so a rerun continues with the same job.
      - V(0) looks once.
    type: int
    default: 43200
  poll_interval:
    description:
      - Seconds between two looks at the job's status while waiting, at least 1.
    type: int
    default: 60
  reconcile:
    description:
      - Compare the inventory with the catalog and return RV(missing_in_vault), RV(not_in_inventory_yet) and
        RV(missing_in_catalog).
    type: bool
    default: false
  rebuild:
    description:
      - Add the archives of the vault that the catalog lacks to the catalog, decoding name, size, modification
        time and tree hash from their descriptions (the tree hash from the inventory when the description has
        none). Implies O(reconcile=true).
      - The records get the archive's C(CreationDate) as C(uploaded_at) and a null C(part_size); each is placed in
        its name's history by C(uploaded_at), so the latest archive of a name stays the newest one.
      - A name that was shortened to fit a description is matched to a name of the catalog with the same SHA-256;
        without one, the shortened name is used.
    type: bool
    default: false
  facts_file:
    description:
      - Path of the catalog, a JSON local-facts file (see M(coldvault.glacier.upload)).
      - A missing file is an empty catalog; O(rebuild=true) creates it.
    type: path
    default: /etc/ansible/facts.d/glacier.fact
  mode:
    description:
      - Permissions of the catalog file when it is written.
    type: raw
    default: '0600'
extends_documentation_fragment:
  - coldvault.glacier.catalog_lock
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode. It starts no job and leaves the catalog alone; it reads the output of a recorded job that
    is done, and reports what a rebuild would add.
  - C(changed) means the catalog changed, by a job started (recorded) or by archives added.
  - The module is part of the C(coldvault.glacier.aws) and C(coldvault.glacier.glacier) action groups.
seealso:
  - module: coldvault.glacier.upload
  - module: coldvault.glacier.retrieve
"""

EXAMPLES = r"""
- name: List the archives of a vault (waits for the inventory job, usually hours)
  coldvault.glacier.inventory:
    vault: backups
  register: backups_inventory

- name: Names of the archives that coldvault.glacier uploaded
  ansible.builtin.debug:
    msg: "{{ backups_inventory.archives | selectattr('name', 'defined') | map(attribute='name') | unique | list }}"

- name: Start the inventory job without waiting; a later run with the same options reads it
  coldvault.glacier.inventory:
    vault: backups
    wait: false

- name: Compare the vault with the catalog
  coldvault.glacier.inventory:
    vault: backups
    reconcile: true
  register: check
  failed_when: check.missing_in_vault | length > 0

- name: Rebuild a lost catalog from the vault, then restore from it by name
  coldvault.glacier.inventory:
    vault: backups
    rebuild: true
"""

RETURN = r"""
archives:
  description: The archives of the vault as the inventory lists them.
  returned: when the inventory job is done
  type: list
  elements: dict
  contains:
    archive_id:
      description: Id of the archive.
      type: str
    description:
      description: Archive description.
      type: str
    creation_date:
      description: When the archive was created (UTC, as AWS prints it).
      type: str
    size:
      description: Size in bytes.
      type: int
    tree_hash:
      description: SHA-256 tree hash, hex.
      type: str
    name:
      description: File name decoded from the description (shortened when RV(archives[].name_truncated)).
      type: str
      returned: when the description is a coldvault.glacier one
    mtime:
      description: Modification time of the file when uploaded (epoch seconds), decoded from the description.
      type: int
      returned: when the description is a coldvault.glacier one
    name_truncated:
      description: Whether the name was shortened to fit the description.
      type: bool
      returned: when the description is a coldvault.glacier one
inventory_date:
  description: When AWS took the inventory (UTC).
  returned: when the inventory job is done
  type: str
missing_in_vault:
  description: Catalog records of archives not deleted that the inventory does not list, though they were uploaded
    before it was taken.
  returned: with O(reconcile=true) or O(rebuild=true), when the inventory job is done
  type: list
  elements: dict
  contains:
    name:
      description: Key of the archive in the catalog.
      type: str
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
not_in_inventory_yet:
  description: Like RV(missing_in_vault), for archives uploaded after the inventory was taken.
  returned: with O(reconcile=true) or O(rebuild=true), when the inventory job is done
  type: list
  elements: dict
missing_in_catalog:
  description: Archives of the inventory (as in RV(archives)) whose id the catalog does not record for the vault.
  returned: with O(reconcile=true) or O(rebuild=true), when the inventory job is done
  type: list
  elements: dict
rebuilt:
  description: Records added to the catalog (in check mode, that would be added), each with its C(name) and the
    catalog record fields (archive_id, tree_hash, size, mtime, uploaded_at, location, description, part_size).
  returned: with O(rebuild=true), when the inventory job is done
  type: list
  elements: dict
foreign:
  description: Archives missing in the catalog whose description is not a coldvault.glacier one, so they were not
    added (as in RV(archives)).
  returned: with O(rebuild=true), when the inventory job is done
  type: list
  elements: dict
job_id:
  description: Id of the inventory job; null in check mode when a job would be started.
  returned: always
  type: str
status:
  description: V(succeeded) when the inventory was read, V(pending) while the job runs.
  returned: success
  type: str
replaced_job:
  description: Why a job recorded in the catalog was not reused but replaced by a new one.
  returned: when a recorded job was replaced
  type: str
vault:
  description: Name of the vault.
  returned: always
  type: str
vault_arn:
  description: ARN of the vault; the key of the vault in the catalog.
  returned: success
  type: str
facts_file:
  description: Path of the catalog.
  returned: always
  type: str
seconds:
  description: Wall time of the run.
  returned: success
  type: float
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils.inventory import run_inventory


def main():
    argument_spec = dict(
        vault=dict(type='str', required=True),
        refresh=dict(type='bool', default=False),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=43200),
        poll_interval=dict(type='int', default=60),
        reconcile=dict(type='bool', default=False),
        rebuild=dict(type='bool', default=False),
        facts_file=dict(type='path', default='/etc/ansible/facts.d/glacier.fact'),
        lock_timeout=dict(type='int', default=60),
        mode=dict(type='raw', default='0600'),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run_inventory(module))


if __name__ == '__main__':
    main()
