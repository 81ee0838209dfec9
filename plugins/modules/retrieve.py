#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: retrieve
short_description: Retrieve an archive from an Amazon Glacier vault into a file, reusing recorded jobs
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
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  archive_id:
    description:
      - Id of the archive to retrieve.
      - Exactly one of O(archive_id) and O(name) is required.
    type: str
  name:
    description:
      - Key of the file in the catalog (the O(coldvault.glacier.upload#module:name) it was uploaded with).
      - Retrieves the latest archive of that name that is still in the vault, or the one O(version) chooses.
      - Exactly one of O(archive_id) and O(name) is required.
    type: str
  version:
    description:
      - With O(name), which archive of its history to retrieve.
      - An integer indexes the archives of the name still in the vault, oldest first, like a Python list
        (V(0) the oldest, V(-1) the latest, V(-2) the one before it).
      - Any other string is an archive id from the name's history.
      - Defaults to the latest archive still in the vault.
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
      - Retrieval tier of a new job; a reused job keeps the tier it was started with.
    type: str
    choices: [Expedited, Standard, Bulk]
    default: Standard
  concurrency:
    description:
      - Number of ranges downloaded in parallel, from 1 to 64.
    type: int
    default: 4
  range_size:
    description:
      - Size of a download range in MiB, a power of two from 1 to 4096.
      - Defaults to the largest power of two up to 64 MiB that gives each of the O(concurrency) threads a range.
      - A resumed download keeps the range size it was started with.
    type: int
  mode:
    description:
      - The permissions of O(dest), as in M(ansible.builtin.copy).
      - If not set, a new O(dest) gets the permissions of the umask and an existing one keeps its permissions.
      - A new O(dest) is never readable by others before O(mode) is applied.
    type: raw
extends_documentation_fragment:
  - coldvault.glacier.catalog.vault
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
      - Starts no job and writes nothing; reports C(changed) when O(dest) does not hold the archive yet, and the
        status of a recorded job.
  idempotent:
    support: full
    details:
      - A rerun reuses the recorded job; once O(dest) holds the archive, nothing is sent or written
        (unless O(overwrite=always)).
notes:
  - The catalog keeps its permissions when the job is recorded in it (0600 when this module creates it).
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
  returned: always
  type: str
status:
  description:
    - V(succeeded) when O(dest) holds the archive (or, in check mode, the job is done).
    - V(pending) while the job runs (with O(wait=false), or in check mode).
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
stats:
  description: Transfer counters of this run.
  returned: success
  type: dict
  contains:
    bytes_received:
      description: Bytes of job output received, retried ranges included.
      type: int
    ranges:
      description: Ranges downloaded and verified.
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
        name=dict(type='str'),
        version=dict(type='raw'),
        dest=dict(type='path', required=True),
        overwrite=dict(type='str', default='different', choices=['never', 'different', 'always']),
        tier=dict(type='str', default='Standard', choices=['Expedited', 'Standard', 'Bulk']),
        concurrency=dict(type='int', default=4),
        range_size=dict(type='int'),
        **arguments.vault(), **arguments.wait(), **arguments.catalog()
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True, add_file_common_args=True,
                              mutually_exclusive=[('archive_id', 'name')], required_one_of=[('archive_id', 'name')],
                              required_by={'version': 'name'})
    module.exit_json(**run_retrieve(module))


if __name__ == '__main__':
    main()
