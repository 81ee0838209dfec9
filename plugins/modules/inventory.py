#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: inventory
short_description: List the archives of a Glacier vault or the objects of an S3 bucket, reconcile, rebuild a lost catalog
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
  - With O(bucket) instead of O(vault), the objects under O(prefix) are listed with C(ListObjectsV2), which is
    consistent at once and takes one request per 1,000 objects, so seconds, not the day a vault inventory takes, and
    no job to wait for (O(wait), O(wait_timeout) and O(poll_interval) do not apply). C(HeadObject) (O(concurrency)
    at a time; it needs no restore) adds the user metadata of each object the catalog does not know, where
    M(coldvault.glacier.upload) keeps the same C(cvg1) description.
  - With a bucket, O(reconcile=true) returns RV(missing_in_bucket) and RV(missing_in_catalog), compared by object
    key; O(rebuild=true) adds the objects the catalog lacks as records the way M(coldvault.glacier.upload) writes
    them (key, version id, ETag, size, modification time, C(LastModified) as C(uploaded_at), storage class, S3
    checksum, part size, and the tree hash when the description has one). Keys already in the catalog are never
    changed or dropped.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  refresh:
    description:
      - Start a new inventory job even if one is recorded. AWS prepares a new inventory about once a day, so a
        new job within the same day usually returns the same list.
      - Only with O(vault); a bucket is listed afresh on every run.
    type: bool
    default: false
  prefix:
    description:
      - With O(bucket), list only the objects whose keys start with this prefix, like a folder (a C(/) is added when
        missing), as given to M(coldvault.glacier.upload). Reconciling compares only the catalog's records under it.
      - Defaults to the whole bucket.
    type: str
    version_added: 0.1.0
  concurrency:
    description:
      - With O(bucket), how many C(HeadObject) requests run in parallel, from 1 to 64.
    type: int
    default: 4
    version_added: 0.1.0
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
extends_documentation_fragment:
  - coldvault.glacier.catalog.target
  - coldvault.glacier.catalog.wait
  - coldvault.glacier.catalog
  - coldvault.glacier.catalog.mode
  - coldvault.glacier.attributes
  - coldvault.glacier.attributes.no_diff
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - Starts no job and leaves the catalog alone; reads the output of a recorded job that is done (lists the
        bucket), and reports what a rebuild would add.
  idempotent:
    support: full
    details:
      - A rerun reuses the recorded job, and a rebuild adds nothing that is already in the catalog.
notes:
  - C(changed) means the catalog changed, by a job started (recorded) or by archives added.
  - A bucket needs C(s3:ListBucket) (C(HeadBucket), C(ListObjectsV2)) and C(s3:GetObject) (C(HeadObject)); see the
    collection's C(docs/iam.md).
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

- name: Rebuild the records of one host's objects from a bucket (seconds, not a day)
  coldvault.glacier.inventory:
    bucket: example-backups
    prefix: "{{ inventory_hostname }}"
    rebuild: true
  register: rebuilt

- name: Show the names that came back
  ansible.builtin.debug:
    msg: "{{ rebuilt.rebuilt | map(attribute='name') | unique | list }}"
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
objects:
  description: The objects of the bucket under O(prefix), in key order.
  returned: success, with a bucket
  type: list
  elements: dict
  contains:
    key:
      description: Key of the object.
      type: str
    size:
      description: Size in bytes.
      type: int
    last_modified:
      description: When the object was written (UTC).
      type: str
    storage_class:
      description: Storage class.
      type: str
    etag:
      description: ETag.
      type: str
    name:
      description: Its name in the catalog, or decoded from its description (shortened when RV(objects[].name_truncated)).
      type: str
      returned: when the catalog knows the object or its description is a coldvault.glacier one
    version_id:
      description: Version id (null in a bucket that is not versioned).
      type: str
      returned: for objects the catalog does not know
    checksum:
      description: The S3 SHA-256 checksum (C(algorithm), C(type), C(value)).
      type: dict
      returned: for objects the catalog does not know
    description:
      description: The C(coldvault-description) user metadata.
      type: str
      returned: for objects the catalog does not know
    mtime:
      description: Modification time of the file when uploaded (epoch seconds), decoded from the description.
      type: int
      returned: for objects the catalog does not know, with a coldvault.glacier description
    name_truncated:
      description: Whether the name was shortened to fit the description.
      type: bool
      returned: for objects the catalog does not know, with a coldvault.glacier description
missing_in_bucket:
  description: Catalog records under O(prefix), not deleted, whose object the bucket does not list.
  returned: with O(reconcile=true) or O(rebuild=true), with a bucket
  type: list
  elements: dict
  contains:
    name:
      description: Key of the file in the catalog.
      type: str
    key:
      description: Key of the object.
      type: str
    version_id:
      description: Version id recorded.
      type: str
    uploaded_at:
      description: When it was uploaded (UTC).
      type: str
    size:
      description: Size in bytes.
      type: int
    storage_class:
      description: Storage class recorded.
      type: str
missing_in_catalog:
  description: Archives of the inventory (as in RV(archives)) whose id the catalog does not record for the vault;
    for a bucket, objects (as in RV(objects)) whose key it does not record.
  returned: with O(reconcile=true) or O(rebuild=true), when the inventory job is done
  type: list
  elements: dict
rebuilt:
  description: Records added to the catalog (in check mode, that would be added), each with its C(name) and the
    catalog record fields (archive_id, tree_hash, size, mtime, uploaded_at, location, description, part_size; for a
    bucket key, version_id, etag, size, mtime, uploaded_at, storage_class, checksum, part_size, tree_hash,
    description).
  returned: with O(rebuild=true), when the inventory job is done
  type: list
  elements: dict
foreign:
  description: Archives (objects) missing in the catalog whose description is not a coldvault.glacier one, so they
    were not added (as in RV(archives), RV(objects)).
  returned: with O(rebuild=true), when the inventory job is done
  type: list
  elements: dict
job_id:
  description: Id of the inventory job; null in check mode when a job would be started.
  returned: always, with a vault
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
  returned: always, with a vault
  type: str
vault_arn:
  description: ARN of the vault; the key of the vault in the catalog.
  returned: success, with a vault
  type: str
bucket:
  description: Name of the bucket.
  returned: always, with a bucket
  type: str
bucket_arn:
  description: ARN of the bucket; the key of the bucket in the catalog.
  returned: success, with a bucket
  type: str
prefix:
  description: The key prefix listed (with its trailing C(/)).
  returned: always, with a bucket
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

from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils.inventory import run_inventory


def main():
    argument_spec = dict(
        refresh=dict(type='bool', default=False),
        reconcile=dict(type='bool', default=False),
        rebuild=dict(type='bool', default=False),
        prefix=dict(type='str'),
        concurrency=dict(type='int', default=4),
        **arguments.target(), **arguments.wait(), **arguments.catalog(with_mode=True)
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True, **arguments.TARGET_RULES)
    module.exit_json(**run_inventory(module))


if __name__ == '__main__':
    main()
