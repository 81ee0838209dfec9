#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: prune
short_description: Delete the Glacier archives or S3 objects of a name that a retention policy no longer keeps
version_added: 0.1.0
description:
  - Applies a retention policy to the archives that the catalog (the facts file written by
    M(coldvault.glacier.upload)) records for one O(name) in one vault.
  - Keeps the newest O(keep) archives, and every archive younger than O(min_age_days) days; deletes the others from
    the vault (C(DeleteArchive)) and marks them deleted in the catalog's history. The archive id itself stays in
    the history with a C(deleted_at) time. The latest archive of a name is never deleted.
  - An archive the vault no longer has is marked deleted without an error.
  - With O(bucket) instead of O(vault), the objects of the name in the bucket, with the same policy. An object's age
    is S3's C(LastModified) (C(HeadObject)), the date S3 bills by, not the catalog's C(uploaded_at).
  - On top of the policy, an object younger than the minimum storage duration of its class (90 days for
    C(GLACIER_IR) and C(GLACIER), 180 for C(DEEP_ARCHIVE)) is kept, because S3 bills an earlier deletion as if the
    object stayed the whole minimum, unless O(allow_early_deletion=true); then RV(deleted[].early_deletion) states
    the days billed anyway and a warning says so.
  - An object under an Object Lock retention (C(GOVERNANCE) or C(COMPLIANCE)) that has not expired, or under a legal
    hold, is never sent a C(DeleteObject); it is reported in RV(kept) with its retain-until date. Governance
    retention is never bypassed.
  - Objects are deleted by version id when the bucket gives one, so on a versioned bucket the version goes for
    good instead of hiding behind a delete marker while it is still billed.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
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
      - For a bucket, the age is the object's C(LastModified); the minimum storage duration applies whatever this says.
    type: int
    default: 0
  allow_early_deletion:
    description:
      - With O(bucket), delete objects the policy lets go even before the minimum storage duration of their class
        ended, and pay for the rest of it (RV(deleted[].early_deletion) says how many days).
    type: bool
    default: false
    version_added: 0.1.0
extends_documentation_fragment:
  - coldvault.glacier.catalog.target
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
      - Reports what would be deleted and deletes nothing. It cannot count an archive that an earlier task of the
        same check run would upload, so it may predict one deletion fewer than the real run.
      - For a bucket it sends C(HeadObject) requests (read only) to judge each object as a real run does.
  idempotent:
    support: full
notes:
  - A bucket needs C(s3:ListBucket) (C(HeadBucket)), C(s3:GetObject) and C(s3:GetObjectVersion) (C(HeadObject)),
    C(s3:GetObjectRetention) and C(s3:GetObjectLegalHold) (without them C(HeadObject) hides the lock fields), and
    C(s3:DeleteObject) and C(s3:DeleteObjectVersion). See the collection's C(docs/iam.md).
"""

EXAMPLES = r"""
- name: Keep the last 7 backups of "etc", and anything younger than 90 days
  coldvault.glacier.prune:
    vault: backups
    name: etc
    keep: 7
    min_age_days: 90

- name: Keep the last 3 objects of "db" in a DEEP_ARCHIVE bucket (objects younger than 180 days stay anyway)
  coldvault.glacier.prune:
    bucket: example-backups
    name: db
    keep: 3
  register: pruned

- name: Show what Object Lock or the minimum storage duration kept
  ansible.builtin.debug:
    msg: "{{ pruned.kept | selectattr('kept_because', 'defined') | map(attribute='kept_because') | list }}"
"""

RETURN = r"""
deleted:
  description: Archives (objects) deleted by this run (in check mode, that it would delete), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    archive_id:
      description: Id of the archive.
      type: str
      returned: with a vault
    key:
      description: Key of the object.
      type: str
      returned: with a bucket
    version_id:
      description: Version id of the object deleted (null in a bucket that is not versioned).
      type: str
      returned: with a bucket
    storage_class:
      description: Storage class of the object.
      type: str
      returned: with a bucket
    last_modified:
      description: The object's C(LastModified) (UTC), from which its age is counted.
      type: str
      returned: with a bucket
    age_days:
      description: Age of the object in days.
      type: float
      returned: with a bucket
    already_gone:
      description: The object was not in the bucket any more; its record is marked deleted.
      type: bool
      returned: with a bucket, for such objects
    early_deletion:
      description: The charge of deleting before the minimum storage duration ended (with O(allow_early_deletion)).
      type: dict
      returned: with a bucket, for objects deleted early
      contains:
        minimum_days:
          description: Minimum storage duration of the class.
          type: int
        billed_days:
          description: Days of the minimum left, billed although the object is deleted.
          type: int
        minimum_ends:
          description: When the minimum would have ended (UTC).
          type: str
        message:
          description: The same in words.
          type: str
    uploaded_at:
      description: When it was uploaded (UTC).
      type: str
      sample: '2026-11-26T04:20:57Z'
    size:
      description: Size in bytes.
      type: int
      sample: 52428800
    tree_hash:
      description: SHA-256 tree hash.
      type: str
      sample: 8b65cb7daa4a9d7a61d0656a495114bcf7c1e53d7284c0beff0b144f0fb37611
kept:
  description: Live archives (objects) of the name that the policy keeps, oldest first; same fields as RV(deleted).
  returned: always
  type: list
  elements: dict
  contains:
    kept_because:
      description:
        - With a bucket, why the object stays, one or more of V(keep) (one of the newest O(keep)), V(min_age_days),
          V(object_lock), V(legal_hold), V(minimum_storage_duration).
      type: list
      elements: str
      returned: with a bucket
    lock_mode:
      description: V(GOVERNANCE) or V(COMPLIANCE), for an object under a retention not yet expired.
      type: str
      returned: with a bucket, for objects kept by Object Lock
    retain_until:
      description: When the Object Lock retention ends (UTC).
      type: str
      returned: with a bucket, for objects kept by Object Lock
    legal_hold:
      description: Whether a legal hold is on.
      type: bool
      returned: with a bucket, for objects under a legal hold
    minimum_storage_duration:
      description: For objects kept because their class's minimum storage duration has not ended.
      type: dict
      returned: with a bucket, for such objects
      contains:
        minimum_days:
          description: Minimum storage duration of the class.
          type: int
        minimum_ends:
          description: When it ends (UTC).
          type: str
        days_left:
          description: Days until then, rounded up.
          type: int
vault:
  description: Name of the vault.
  returned: always, with a vault
  type: str
  sample: backups
vault_arn:
  description: ARN of the vault; the key of the vault in the catalog.
  returned: success, with a vault
  type: str
  sample: arn:aws:glacier:eu-west-1:123456789012:vaults/backups
bucket:
  description: Name of the bucket.
  returned: always, with a bucket
  type: str
bucket_arn:
  description: ARN of the bucket; the key of the bucket in the catalog.
  returned: success, with a bucket
  type: str
name:
  description: Key of the file in the catalog.
  returned: always
  type: str
  sample: etc
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils.prune import run_prune


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        keep=dict(type='int', required=True),
        min_age_days=dict(type='int', default=0),
        allow_early_deletion=dict(type='bool', default=False),
        **arguments.target(), **arguments.catalog(with_mode=True)
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True, **arguments.TARGET_RULES)
    module.exit_json(**run_prune(module))


if __name__ == '__main__':
    main()
