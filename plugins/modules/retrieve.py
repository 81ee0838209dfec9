#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: retrieve
short_description: Retrieve an archive from a Glacier vault or an object from an S3 bucket into a file
version_added: 0.1.0
description:
  - Retrieves an archive of an Amazon Glacier vault (the vault API, 2012-06-01) into O(dest) on the managed host.
    The archive is named by O(archive_id), or by the O(name) it was uploaded under with
    M(coldvault.glacier.upload), looked up in the catalog (the facts file, see the collection's C(docs/catalog.md)).
  - Glacier serves an archive only through an archive-retrieval job, which takes minutes (V(Expedited)) to hours
    (V(Standard) 3-5 hours, V(Bulk) 5-12 hours) and is billed. The job id is recorded in the catalog (the vault's
    C(jobs), keyed by archive id) as soon as the job is started, so a later run reuses the job instead of starting
    and paying for another. A recorded job that the vault no longer knows (its output is kept 24 hours after it
    completes) or that failed is replaced by a new one.
  - Idempotent. When O(dest) already holds the archive (same size and SHA-256 tree hash as the catalog records),
    no job is started, nothing is downloaded and the task reports C(ok). For an O(archive_id) the catalog does not
    know, the size and hash come from a recorded job of that archive, if there is one.
  - With O(wait=true) the task polls the job every O(poll_interval) seconds until it completes, then downloads.
    With O(wait=false) it returns RV(status=pending) while the job runs; run it again (for example in an
    C(until) loop, or a later play) to download once the job is done.
  - The job output is downloaded in parallel ranges (O(concurrency) threads) of a power-of-two number of MiB, so
    that the service sends the tree hash of each range. Each range is checked against it while it is streamed to
    disk in 1 MiB blocks, and fetched again when it does not match. The archive's tree hash, combined from the
    range hashes without a second read, must match the catalog's and the job's.
  - Retries. botocore retries throttling, 5xx, 408 and dropped connections (standard retry mode, 5 attempts per
    request unless O(aws_config) says otherwise); on top of that each range is tried up to 4 times, also when its
    body is cut off or does not match its tree hash.
  - The archive is written to a hidden temporary file next to O(dest), C(.NAME.ID.cvg-part) (mode 0600 from the
    start; C(ID) names the archive), fsynced, and moved into place in one rename once the whole archive's tree hash
    matched. O(dest) never holds a partial file.
  - Resumable. Beside the temporary file, C(.NAME.ID.cvg-part.jsonl) records each range once it was verified and
    written to disk. A run that is killed or fails keeps both, and the next run for the same archive and O(dest)
    fetches only the ranges not recorded, with the same job or, once the job output has expired, a new one. The
    ranges recorded are read back and checked against their recorded tree hash first (one that differs is fetched
    again), and the download keeps the range size it started with. Temporary files of other archives for the same
    O(dest), and those of earlier versions of the collection, are removed; two runs for the same O(dest) and
    archive never write the file at once (it is locked).
  - With O(bucket) instead of O(vault), an object of an S3 bucket is retrieved, named by O(key) or by O(name)
    and O(version) in the catalog. C(GLACIER_IR) and C(STANDARD) objects are downloaded at once. C(GLACIER) and
    C(DEEP_ARCHIVE) objects need a restore first, and C(HeadObject) tells its state (C(x-amz-restore)). When there is no
    restored copy, C(RestoreObject) is sent with O(tier) and O(restore_days), and the request is recorded in the
    catalog (the bucket's C(jobs), keyed by the object key) at once. A rerun that finds the restore ongoing or
    done sends no second request (a restore is billed); one that finds the restored copy expired restores it again
    and says why in RV(restored_again). S3's C(409 RestoreAlreadyInProgress) is not an error.
  - O(tier=Expedited) for a C(DEEP_ARCHIVE) object, which has no such tier, fails naming O(tier) before anything is
    sent (before any request when the catalog knows the object's storage class).
  - An object is downloaded part by part in parallel (C(GetObject) with C(PartNumber), O(concurrency) threads), so
    that S3 sends each part's SHA-256 with it. Each part is checked while it is streamed to disk and fetched again
    when it does not match. The SHA-256 of the part checksums must equal the object's COMPOSITE SHA-256 the catalog
    records, and the SHA-256 tree hash of the whole (combined from the parts') the recorded tree hash, when there
    is one. An object uploaded in one request is one range, checked against its SHA-256. Temporary file, journal,
    resume and the final rename are as for a vault.
  - When O(dest) already holds the object (same size and tree hash, or S3 checksum when no tree hash is recorded)
    and the catalog knows the object, nothing at all is sent to AWS. For an O(key) the catalog does not know, one
    C(HeadBucket) and one C(HeadObject) tell what to compare.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  archive_id:
    description:
      - Id of the archive to retrieve, with O(vault).
      - Exactly one of O(archive_id), O(key) and O(name) is required.
    type: str
  key:
    description:
      - Key of the object to retrieve, with O(bucket); the version the catalog records for the key, else the
        current version.
      - Exactly one of O(archive_id), O(key) and O(name) is required.
    type: str
    version_added: 0.1.0
  name:
    description:
      - Key of the file in the catalog (the O(coldvault.glacier.upload#module:name) it was uploaded with).
      - Retrieves the latest archive (object) of that name that is still in the vault (bucket), or the one
        O(version) chooses.
      - Exactly one of O(archive_id), O(key) and O(name) is required.
    type: str
  version:
    description:
      - With O(name), which archive (object) of its history to retrieve.
      - An integer indexes the archives of the name still in the vault (bucket), oldest first, like a Python list
        (V(0) the oldest, V(-1) the latest, V(-2) the one before it).
      - Any other string is an archive id (an object key) from the name's history.
      - Defaults to the latest archive still in the vault (bucket).
    type: raw
  dest:
    description:
      - Path of the file to write. Its directory must exist.
      - An existing file is replaced (in one rename) as O(overwrite) says.
    type: path
    required: true
  overwrite:
    description:
      - What to do when O(dest) exists, as in M(amazon.aws.s3_object).
      - V(different) replaces it unless it already holds the archive (same size and SHA-256 tree hash); checking
        reads the whole file once.
      - V(never) leaves an existing O(dest) alone, whatever it holds, and starts no job.
      - V(always) retrieves and replaces it even when it already holds the archive.
    type: str
    choices: [never, different, always]
    default: different
  tier:
    description:
      - Retrieval tier of a new job (restore); a reused job (an ongoing restore) keeps the tier it was started with.
      - C(DEEP_ARCHIVE) objects have no V(Expedited) tier (V(Standard) restores within 12 hours, V(Bulk) within 48).
    type: str
    choices: [Expedited, Standard, Bulk]
    default: Standard
  restore_days:
    description:
      - With O(bucket), how many days the restored copy of a C(GLACIER) or C(DEEP_ARCHIVE) object stays readable,
        from 1 to 30000 (S3 rounds its expiry up to the next midnight UTC). The copy is billed as C(STANDARD)
        storage meanwhile.
      - Defaults to 3, long enough for a rerun after O(wait=false) or after a failed download to find the copy.
      - Applies to a new restore only; a copy already restored keeps its expiry.
    type: int
    version_added: 0.1.0
  concurrency:
    description:
      - Number of ranges (of an object, parts) downloaded in parallel, from 1 to 64.
    type: int
    default: 4
  range_size:
    description:
      - Size of a download range in MiB, a power of two from 1 to 4096.
      - Defaults to the largest power of two up to 64 MiB that gives each of the O(concurrency) threads a range.
      - A resumed download keeps the range size it was started with.
      - Only with O(vault); an object is downloaded in the part size it was uploaded with.
    type: int
  mode:
    description:
      - The permissions of O(dest), as in M(ansible.builtin.copy).
      - If not set, a new O(dest) gets the permissions of the umask and an existing one keeps its permissions.
      - A new O(dest) is never readable by others before O(mode) is applied.
    type: raw
extends_documentation_fragment:
  - coldvault.glacier.catalog.target
  - coldvault.glacier.catalog.wait
  - coldvault.glacier.catalog
  - coldvault.glacier.attributes
  - coldvault.glacier.attributes.no_diff
  - ansible.builtin.files
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - Starts no job (requests no restore) and writes nothing; reports C(changed) when O(dest) does not hold the
        archive yet, and the status of a recorded job (of the object's restore).
  idempotent:
    support: full
    details:
      - A rerun reuses the recorded job (waits for the restore already requested); once O(dest) holds the archive,
        nothing is sent or written (unless O(overwrite=always)).
notes:
  - The catalog keeps its permissions when the job is recorded in it (0600 when this module creates it).
  - A bucket needs C(s3:ListBucket) (C(HeadBucket)), C(s3:GetObject) (C(HeadObject), C(GetObject)) and
    C(s3:RestoreObject); on a versioned bucket C(s3:GetObjectVersion) and C(s3:RestoreObject) on versions. See the
    collection's C(docs/iam.md).
seealso:
  - module: coldvault.glacier.upload
  - module: coldvault.glacier.inventory
"""

EXAMPLES = r"""
- name: Restore the latest backup of a database dump (waits for the job, hours with the Standard tier)
  coldvault.glacier.retrieve:
    vault: backups
    name: /srv/dumps/db.sql.gz
    dest: /srv/restore/db.sql.gz
    tier: Expedited
    mode: '0600'

- name: Start the job now and come back for the file later
  coldvault.glacier.retrieve:
    vault: backups
    name: etc
    dest: /srv/restore/etc.tar.gz
    wait: false
  register: etc_job

- name: Later (another play, or after other work), download it once the job is done
  coldvault.glacier.retrieve:
    vault: backups
    name: etc
    dest: /srv/restore/etc.tar.gz
    wait: false
  register: etc_restore
  until: etc_restore.status == 'succeeded'
  retries: 60
  delay: 600

- name: Retrieve the archive before the latest one of "etc"
  coldvault.glacier.retrieve:
    vault: backups
    name: etc
    version: -2
    dest: /srv/restore/etc-previous.tar.gz

- name: Restore the latest DEEP_ARCHIVE object of "db" from a bucket (Bulk, within 48 hours, the cheapest tier)
  coldvault.glacier.retrieve:
    bucket: example-backups
    name: db
    dest: /srv/restore/db-from-bucket.sql.gz
    tier: Bulk
    restore_days: 7
    wait: false
  register: db_from_bucket

- name: Retrieve an object by its key, here the one local facts show for "monthly" (GLACIER_IR, downloaded at once)
  coldvault.glacier.retrieve:
    bucket: example-backups
    key: "{{ ansible_local.glacier.buckets['arn:aws:s3:::example-backups'].archives['monthly'].key }}"
    dest: /srv/restore/monthly.tar.gz
    concurrency: 8

- name: Retrieve an archive by id, 8 ranges of 16 MiB at a time
  coldvault.glacier.retrieve:
    vault: backups
    archive_id: "{{ archive_id }}"
    dest: /srv/restore/archive.bin
    concurrency: 8
    range_size: 16
"""

RETURN = r"""
dest:
  description: Path of the file written.
  returned: always
  type: str
archive_id:
  description: Id of the archive.
  returned: success
  type: str
name:
  description: Key of the archive in the catalog, when the catalog knows it.
  returned: success
  type: str
size:
  description: Size of the archive in bytes, when known (from the catalog or the job).
  returned: success
  type: int
tree_hash:
  description: SHA-256 tree hash of the archive, hex; the hash of the bytes received when it was downloaded.
  returned: success
  type: str
job_id:
  description: Id of the retrieval job used; null when none was needed (O(dest) already held the archive) or in check
    mode when a job would be started.
  returned: always, with a vault
  type: str
status:
  description:
    - V(succeeded) when O(dest) holds the archive (or, in check mode, the job is done).
    - V(pending) while the job (the restore) runs (with O(wait=false), or in check mode).
    - V(kept) when O(dest) exists and O(overwrite=never) (nothing was retrieved).
  returned: success
  type: str
  sample: succeeded
downloaded:
  description: Whether this run downloaded the archive.
  returned: success
  type: bool
tier:
  description: Tier of the job used.
  returned: when a job was used
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
  sample: arn:aws:s3:::example-backups
key:
  description: Key of the object.
  returned: success, with a bucket
  type: str
  sample: host1/etc/20261126T042057Z-0badcafe
version_id:
  description: Version id of the object; null in a bucket that is not versioned.
  returned: success, with a bucket
  type: str
storage_class:
  description: Storage class of the object.
  returned: success, with a bucket
  type: str
  sample: DEEP_ARCHIVE
checksum:
  description: The object's SHA-256 checksum as S3 keeps it (COMPOSITE for a multipart object).
  returned: success, with a bucket
  type: dict
  contains:
    algorithm:
      description: V(SHA256).
      type: str
    type:
      description: V(COMPOSITE) or V(FULL_OBJECT).
      type: str
    value:
      description: Base64 of the checksum, with C(-<parts>) for a COMPOSITE one.
      type: str
      sample: 3LJZD5DxRX8pVJoEQ249XTaBYxYTcOkqmmmGsLFsVNk=-4
restore:
  description: The restore of the object; only C(needed) when its storage class is readable at once.
  returned: with a bucket, once the object was looked at
  type: dict
  contains:
    needed:
      description: Whether the storage class needs a restore (C(GLACIER), C(DEEP_ARCHIVE)).
      type: bool
    state:
      description: V(ongoing), or V(available) once a restored copy is readable.
      type: str
    requested:
      description: Whether this run requested the restore (in check mode, would request it).
      type: bool
    answer:
      description: What S3 answered this run's request, V(started), V(in-progress) (C(409 RestoreAlreadyInProgress))
        or V(already-restored); null when none was sent.
      type: str
    tier:
      description: Tier of the recorded restore.
      type: str
    days:
      description: Days the recorded restore keeps the copy.
      type: int
    started_at:
      description: When the recorded restore was requested (UTC).
      type: str
    expiry_date:
      description: When the restored copy expires (UTC), once S3 shows it.
      type: str
restored_again:
  description: Why a restore recorded in the catalog was not enough and a new one was requested (its copy expired).
  returned: when a recorded restore was requested again
  type: str
facts_file:
  description: Path of the catalog.
  returned: always
  type: str
stats:
  description: Transfer counters of this run.
  returned: success
  type: dict
  contains:
    bytes_received:
      description: Bytes of job output (of the object) received, retried ranges included.
      type: int
    ranges:
      description: Ranges (of an object, parts) downloaded and verified.
      type: int
    range_retries:
      description: Ranges fetched again after an error or a tree hash mismatch.
      type: int
    bytes_resumed:
      description: Bytes that an earlier, interrupted run had downloaded, verified on disk instead of fetched again.
      type: int
    ranges_resumed:
      description: Ranges that an earlier, interrupted run had downloaded, verified on disk instead of fetched again.
      type: int
    seconds:
      description: Wall time of the download.
      type: float
    mb_per_s:
      description: Bytes received per second, in MB (10^6 bytes).
      type: float
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils.retrieve import run_retrieve


def main():
    argument_spec = dict(
        archive_id=dict(type='str'),
        key=dict(type='str', no_log=False),
        name=dict(type='str'),
        version=dict(type='raw'),
        dest=dict(type='path', required=True),
        overwrite=dict(type='str', default='different', choices=['never', 'different', 'always']),
        tier=dict(type='str', default='Standard', choices=['Expedited', 'Standard', 'Bulk']),
        concurrency=dict(type='int', default=4),
        range_size=dict(type='int'),
        restore_days=dict(type='int'),
        **arguments.target(), **arguments.wait(), **arguments.catalog()
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True, add_file_common_args=True,
                              mutually_exclusive=[('archive_id', 'key', 'name'), ('vault', 'bucket')],
                              required_one_of=[('archive_id', 'key', 'name'), ('vault', 'bucket')],
                              required_by={'version': 'name'})
    module.exit_json(**run_retrieve(module))


if __name__ == '__main__':
    main()
