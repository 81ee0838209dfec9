#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: migrate
short_description: Copy the archives of an Amazon Glacier vault into an S3 bucket, verified byte for byte
version_added: 0.1.0
description:
  - Copies the archives that the catalog (the facts file that M(coldvault.glacier.upload) writes) records in a
    Glacier vault (the vault API, 2012-06-01) into an S3 bucket in a Glacier storage class, the move AWS asks vault
    customers to make. See the collection's C(docs/migrate.md) for the runbook of a whole vault.
  - For each archive, the module reuses the retrieval job recorded in the catalog or starts one (O(tier), V(Bulk) by
    default, the cheapest) and records it at once. Once the job is done, its output is streamed range by range
    straight into the parts of an S3 multipart upload (one C(PutObject) for an archive of one part), with no local
    copy of the archive. Memory holds at most 2 x O(concurrency) parts.
  - Every range is checked against the SHA-256 tree hash that Glacier sends with it and fetched again when it
    differs. The tree hash of all the bytes streamed must equal the vault's (and the catalog's) before the upload
    is completed; otherwise the upload is aborted and the archive reported in RV(failed). Each part carries its
    SHA-256, which S3 checks, and the object's COMPOSITE checksum is compared with the one computed here.
  - The object goes to C(<prefix>/<name>/<upload time>-<8 hex digits>), a key that depends only on the archive, and
    is written conditionally (C(If-None-Match)), so nothing is ever overwritten. Its user metadata carries the
    archive's description (C(coldvault-description)), the vault's ARN and the archive id.
  - The catalog records the object under the same name as the archive, as M(coldvault.glacier.upload) records an
    object (key, version id, ETag, storage class, checksum, tree hash...), with C(migrated_from) (the vault's ARN,
    the archive id and tree hash, the archive's upload time) and C(migrated_at). Its C(uploaded_at) and C(mtime)
    are the archive's, so the name's history stays in the order of the backups. The vault's history stays as it is.
  - Idempotent and resumable. An archive whose copy the catalog records is skipped without a request. The upload
    id is recorded before the first part (the bucket's C(migrations) in the catalog), and every part stored is
    noted with its tree hash in a journal beside the catalog (C(<catalog stem>.migrate/)). A run that is killed or
    fails resumes with the recorded job and upload, sends only the parts the bucket lacks and starts no new job
    while the recorded one is usable.
  - With O(wait=false) the module starts or checks the jobs, copies the archives whose job is done and returns the
    others in RV(pending); a playbook run every few hours (from cron or CI) finishes the migration.
  - With O(delete_source=true) an archive is deleted from the vault once its copy is verified (C(HeadObject) shows the
    recorded size and checksum) and the archive is at least 90 days old by the catalog's
    C(uploaded_at) (Glacier bills an archive deleted earlier as if it had stayed 90 days), unless
    O(allow_early_deletion=true). Its record stays in the vault's history with C(deleted_at) and C(migrated_to),
    the object's bucket ARN, key and version id.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  bucket:
    description:
      - Name of the S3 bucket to copy into. It must exist, in the region of the task (the vault's region).
    type: str
    required: true
  prefix:
    description:
      - Start of the object keys in O(bucket), like a folder (a C(/) is added when missing), as for
        M(coldvault.glacier.upload).
    type: str
    default: ''
  storage_class:
    description:
      - Storage class of the copies. V(DEEP_ARCHIVE) is the cheapest (billed for at least 180 days, restores in up
        to 12 hours, 48 with the bulk tier); V(GLACIER) and V(GLACIER_IR) are billed for at least 90 days.
    type: str
    choices: [DEEP_ARCHIVE, GLACIER, GLACIER_IR, STANDARD]
    default: DEEP_ARCHIVE
  names:
    description:
      - Names (catalog keys) whose archives to copy. Default, every name the catalog records in the vault.
      - A name the catalog does not record fails the task before anything is sent.
    type: list
    elements: str
  versions:
    description:
      - V(latest) copies the newest archive of each name; V(all) every archive of it still in the vault, oldest
        first.
    type: str
    choices: [latest, all]
    default: latest
  tier:
    description:
      - Retrieval tier of the jobs that are started. V(Bulk) (5-12 hours) costs least; V(Standard) takes 3-5 hours,
        V(Expedited) minutes (and needs capacity). A recorded job is reused whatever its tier.
    type: str
    choices: [Expedited, Standard, Bulk]
    default: Bulk
  max_jobs:
    description:
      - At most this many archives have a retrieval job at once (in progress, or done and not copied yet); the
        others wait for a later run, or for a slot while this run goes on (O(wait=true)). Default, no limit.
      - Job output is kept only 24 hours after the job completes, so set it to what can be copied in a day.
    type: int
  concurrency:
    description:
      - Number of parts downloaded from the vault, and of parts uploaded to the bucket, at the same time, from 1 to
        32. Memory holds at most 2 x O(concurrency) parts.
    type: int
    default: 4
  part_size:
    description:
      - Part size in MiB, a power of two from 8 to 4096, big enough to keep each archive within 10,000 parts (so
        that every range is a node of the archive's tree hash). Defaults, per archive, to the smallest power of two
        of at least 8 that keeps it within 10,000 parts.
    type: int
  delete_source:
    description:
      - Delete each archive from the vault once its copy is verified and the archive is at least 90 days old.
    type: bool
    default: false
  allow_early_deletion:
    description:
      - With O(delete_source=true), also delete archives younger than 90 days (Glacier bills the rest of the
        90 days at once).
    type: bool
    default: false
extends_documentation_fragment:
  - coldvault.glacier.catalog.vault
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
      - Returns the plan (RV(plan)) from the catalog and the recorded jobs (C(DescribeJob)); starts no job, sends
        no data, deletes nothing and leaves the catalog alone.
  idempotent:
    support: full
    details:
      - A rerun skips every archive already copied, without a request for it.
notes:
  - C(changed) means a job was started, an archive copied, or an archive deleted from the vault.
  - The task fails when an archive could not be copied (RV(failed) says why; the others are copied and recorded),
    and when O(wait_timeout) passes with jobs still running (their ids stay recorded).
  - Archives the catalog does not know are not copied; rebuild the catalog from the vault's inventory first
    (M(coldvault.glacier.inventory) with O(coldvault.glacier.inventory#module:rebuild=true)).
  - What a migration costs (retrieval per GB and per request by tier, S3 requests and storage, early deletion) is
    described in the collection's C(docs/migrate.md).
seealso:
  - module: coldvault.glacier.upload
  - module: coldvault.glacier.retrieve
  - module: coldvault.glacier.inventory
"""

EXAMPLES = r"""
- name: Copy the latest archive of every name of a vault into a bucket (waits for the jobs, usually hours)
  coldvault.glacier.migrate:
    vault: backups
    bucket: example-backups-archive

- name: Start the jobs and copy what is ready, without waiting; rerun until finished
  coldvault.glacier.migrate:
    vault: backups
    bucket: example-backups-archive
    versions: all
    wait: false
  register: migration

- name: Say what is left
  ansible.builtin.debug:
    msg: "{{ migration.counts.pending + migration.counts.waiting }} archive(s) still to copy"
  when: not migration.finished

- name: Copy two names and delete their archives from the vault once copied and 90 days old
  coldvault.glacier.migrate:
    vault: backups
    bucket: example-backups-archive
    prefix: from-vault
    storage_class: GLACIER
    names:
      - /srv/dumps/db.sql.gz
      - etc
    delete_source: true
"""

RETURN = r"""
archives:
  description: Every archive selected, in order, with what this run did about it.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Key of the archive in the catalog (the name of its copy too).
      type: str
    archive_id:
      description: Id of the archive in the vault.
      type: str
    size:
      description: Size in bytes, as the catalog records it.
      type: int
    status:
      description:
        - V(done) copied by an earlier run (nothing sent), V(migrated) copied by this run, V(pending) its job is
          in progress, V(waiting) no job yet (O(max_jobs)), V(failed) (see RV(failed)), V(planned) in check mode.
      type: str
    job_id:
      description: Id of the retrieval job used; null in check mode when one would be started.
      type: str
      returned: when a job was reused or started
    job_started:
      description: Whether this run started (in check mode, would start) the job.
      type: bool
      returned: when a job was reused or started
    key:
      description: Key of the copy in the bucket.
      type: str
      returned: when copied
    version_id:
      description: Version id of the copy (null in an unversioned bucket).
      type: str
      returned: when copied
    deleted:
      description: Whether the archive is deleted from the vault.
      type: bool
      returned: with O(delete_source=true), when copied
    msg:
      description: Why the archive failed.
      type: str
      returned: when failed
counts:
  description: How many archives were selected and how many of them have each status, and how many were deleted.
  returned: always
  type: dict
  sample: {selected: 3, done: 1, migrated: 1, pending: 1, waiting: 0, failed: 0, planned: 0, deleted: 0}
finished:
  description: Whether every selected archive is copied (by this run or an earlier one).
  returned: always
  type: bool
status:
  description: V(finished) when every selected archive is copied, else V(pending) (archives wait for their job,
    failed, or would be copied in check mode).
  returned: always
  type: str
pending:
  description: The archives whose job is in progress or not started yet (name, archive_id, job_id, status).
  returned: always
  type: list
  elements: dict
failed:
  description: The archives that could not be copied (name, archive_id, msg); a rerun tries them again.
  returned: always
  type: list
  elements: dict
deleted:
  description: The archives deleted from the vault by this run (in check mode, that would be), with the copy's key.
  returned: always
  type: list
  elements: dict
kept_in_vault:
  description: With O(delete_source=true), the copied archives left in the vault, with the reason (too young, copy
    not verified).
  returned: always
  type: list
  elements: dict
plan:
  description: Check mode only. What a run would do.
  returned: in check mode
  type: dict
  contains:
    archives:
      description: Archives to copy.
      type: int
    bytes_to_retrieve:
      description: Their size in bytes, as the catalog records it (what the retrieval is billed on).
      type: int
    jobs_to_start:
      description: Retrieval jobs that would be started (each one is billed as a request).
      type: int
    jobs_to_reuse:
      description: Recorded jobs that would be reused.
      type: int
    ready_to_copy:
      description: Archives whose job is done, that a run would copy at once.
      type: int
    to_delete:
      description: Archive ids that would be deleted from the vault.
      type: list
      elements: str
stats:
  description: What this run moved.
  returned: always
  type: dict
  contains:
    bytes_received:
      description: Bytes of job output downloaded.
      type: int
    ranges:
      description: Ranges downloaded and verified.
      type: int
    range_retries:
      description: Ranges fetched again (cut off, or bytes that did not match the tree hash Glacier sent).
      type: int
    bytes_sent:
      description: Bytes uploaded to the bucket.
      type: int
    parts_sent:
      description: Parts (or single objects) uploaded.
      type: int
    parts_kept:
      description: Parts an earlier run had stored, not sent again.
      type: int
    jobs_started:
      description: Retrieval jobs started.
      type: int
    seconds:
      description: Wall time of the run.
      type: float
    mb_per_s:
      description: Bytes uploaded per second, in MB (10^6).
      type: float
vault:
  description: Name of the vault.
  returned: always
  type: str
vault_arn:
  description: ARN of the vault; its key in the catalog.
  returned: success
  type: str
bucket:
  description: Name of the bucket.
  returned: always
  type: str
bucket_arn:
  description: ARN of the bucket; its key in the catalog.
  returned: success
  type: str
facts_file:
  description: Path of the catalog.
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils.migrate import DEFAULT_TIER, VERSIONS, run_migrate
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier.jobs import TIERS
from ansible_collections.coldvault.glacier.plugins.module_utils.s3.api import DEFAULT_STORAGE_CLASS, STORAGE_CLASSES


def main():
    argument_spec = dict(
        bucket=dict(type='str', required=True),
        prefix=dict(type='str', default=''),
        storage_class=dict(type='str', choices=list(STORAGE_CLASSES), default=DEFAULT_STORAGE_CLASS),
        names=dict(type='list', elements='str'),
        versions=dict(type='str', choices=list(VERSIONS), default='latest'),
        tier=dict(type='str', choices=list(TIERS), default=DEFAULT_TIER),
        max_jobs=dict(type='int'),
        concurrency=dict(type='int', default=4),
        part_size=dict(type='int'),
        delete_source=dict(type='bool', default=False),
        allow_early_deletion=dict(type='bool', default=False),
        **arguments.vault(), **arguments.wait(), **arguments.catalog(with_mode=True)
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run_migrate(module))


if __name__ == '__main__':
    main()
