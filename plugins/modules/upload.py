#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: upload
short_description: Upload a file to an Amazon Glacier vault or an S3 bucket and record it in local facts
version_added: 0.1.0
description:
  - Uploads a regular file on the managed host to an Amazon Glacier vault (the vault API, 2012-06-01) and records
    the archive id, tree hash, size and modification time in a JSON local-facts file (the catalog), so that
    C(ansible_local) shows what is stored where. See the collection's C(docs/catalog.md) for the schema.
  - Idempotent. When the catalog already records an archive of O(name) in the vault that matches the file under
    O(file_change_strategy), nothing is sent and the task reports C(ok) with that archive.
  - A file no bigger than one part goes in one C(UploadArchive) request; a bigger one is sent as a multipart
    upload whose parts go in parallel (O(concurrency) parts sent at once, the next ones hashed meanwhile). Each
    byte is read once for hashing; parts of up to 16 MiB are sent from that read, bigger parts are streamed from
    disk, so memory use does not grow with the part size.
  - Resumable. The upload id is recorded in the catalog before the first part is sent. A later run for the same
    unchanged file lists the parts the vault already holds, keeps those whose tree hash matches the local bytes,
    sends only the rest and completes the archive. An expired upload starts afresh; a changed file aborts it.
  - Retries. botocore retries throttling, 5xx, 408 and dropped connections (standard retry mode, 5 attempts per
    request unless O(aws_config) says otherwise); on top of that each part is tried up to 3 times, also when the
    service reports another tree hash than the one computed locally. When a part still fails the task fails, the
    upload stays recorded, and the next run resumes it.
  - Every archive id ever recorded stays in the catalog's history; a new version of a file adds an archive, the
    older ones stay in Glacier.
  - The default archive description is a versioned, printable-ASCII encoding of O(name), size and modification
    time (C(cvg1 <base64url JSON>), see C(docs/description.md)) from which C(coldvault.glacier.inventory) can
    rebuild a lost catalog.
  - With O(bucket) instead of O(vault), the file goes to Amazon S3 in the storage class O(storage_class)
    (C(DEEP_ARCHIVE) by default; C(GLACIER), C(GLACIER_IR), C(STANDARD)), the choice for AWS accounts that cannot
    use vaults. Every other option means the same; the same catalog records buckets beside vaults (keyed by the
    bucket's ARN) with the object's key, version id, ETag, storage class, S3 checksum and SHA-256 tree hash.
  - Each version of a file is a new object, never overwritten, at C(<prefix>/<name>/<UTC time>-<8 hex digits>),
    written conditionally (C(If-None-Match)), with the description in the user metadata
    C(coldvault-description). Up to one part it is one C(PutObject); a bigger file is a multipart upload whose
    parts carry their SHA-256 (C(ChecksumAlgorithm=SHA256), a COMPOSITE object checksum), resumed like a vault
    upload (C(ListParts)). A changed file aborts its old multipart upload, which S3 would bill until aborted.
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  vault:
    description:
      - Name of the vault. It must exist; create it with C(coldvault.glacier.vault) or the C(coldvault.glacier.backup) role.
      - 1 to 255 characters of C(a-z), C(A-Z), C(0-9), C(_), C(-) and C(.).
      - Exactly one of O(vault) and O(bucket) is required.
    type: str
  bucket:
    description:
      - Name of an S3 bucket to upload to instead of a vault. It must exist, in the region of the task.
      - Exactly one of O(vault) and O(bucket) is required.
    type: str
    version_added: 0.1.0
  prefix:
    description:
      - Start of the object keys in O(bucket), like a folder (a C(/) is added when missing). Keys are
        C(<prefix>/<name>/<UTC time>-<8 hex digits>), the leading C(/) of O(name) dropped.
      - Only with O(bucket). Like O(storage_class), it applies to new uploads; a file recorded under O(name) and
        unchanged is not uploaded again because the prefix changed (use O(file_change_strategy=force)).
    type: str
    version_added: 0.1.0
  storage_class:
    description:
      - Storage class of the objects in O(bucket). Defaults to V(DEEP_ARCHIVE) (the cheapest; a restore takes up
        to 12 hours, 48 with the bulk tier; billed for at least 180 days).
      - V(GLACIER) (Flexible Retrieval) restores in minutes to hours and is billed for at least 90 days;
        V(GLACIER_IR) (Instant Retrieval) is readable at once, billed for at least 90 days and 128 KB;
        V(STANDARD) stages or tests.
      - Only with O(bucket). Changing it makes the next upload of a file go to that class; earlier objects keep theirs.
    type: str
    choices: [DEEP_ARCHIVE, GLACIER, GLACIER_IR, STANDARD]
    version_added: 0.1.0
  src:
    description:
      - Path of a regular, non-empty file on the managed host (Glacier cannot store empty archives; a bucket
        takes empty files too).
    type: path
    required: true
  name:
    description:
      - Key of the file in the catalog. Defaults to the absolute path of O(src).
      - Use a stable name when the file's path changes from run to run (for example a dated tarball).
    type: str
  part_size:
    description:
      - Part size in MiB, a power of two from 1 to 4096, big enough to keep the file within 10,000 parts.
      - Defaults to the smallest power of two of at least 8 that keeps the file within 10,000 parts.
      - For a bucket, from 8 to 4096 (S3 parts are 5 MiB to 5 GiB).
    type: int
  concurrency:
    description:
      - Number of parts uploaded in parallel, from 1 to 64.
    type: int
    default: 4
  file_change_strategy:
    description:
      - How to tell whether O(src) differs from the archive recorded for O(name), as in C(community.aws.s3_sync).
      - V(date_size) compares size and modification time with the catalog. It reads nothing of the file.
      - V(checksum) compares size and the SHA-256 tree hash of the file (one full read) with the catalog.
      - V(force) always uploads a new archive.
    type: str
    choices: [date_size, checksum, force]
    default: date_size
  fingerprint:
    description:
      - An identity of the content computed by the caller, recorded with the archive. When given, the file counts
        as unchanged exactly when the latest recorded archive of O(name) has the same fingerprint, whatever
        O(file_change_strategy) says (except V(force)); the file itself is not compared.
      - For files whose bytes differ on every run although their content does not, such as an encrypted tarball
        (the C(coldvault.glacier.backup) role passes the SHA-256 of the plaintext).
    type: str
  description:
    description:
      - Archive description to use instead of the default structured one. At most 1024 printable ASCII characters.
      - An archive with a custom description cannot be matched to its name when a lost catalog is rebuilt.
    type: str
extends_documentation_fragment:
  - coldvault.glacier.catalog
  - coldvault.glacier.catalog.mode
  - coldvault.glacier.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
attributes:
  check_mode:
    support: full
    details:
      - Decides and reports; sends no write request and leaves the catalog alone.
  diff_mode:
    support: full
    details:
      - The catalog entry of O(name) before and after.
  idempotent:
    support: full
    details:
      - Under O(file_change_strategy=force) every run uploads a new archive, by design.
notes:
  - An incomplete multipart upload is removed by AWS after 24 hours without activity; a run after that starts afresh.
  - S3 never removes an incomplete multipart upload by itself and bills its parts until it is aborted. The module
    resumes or aborts the one it recorded; for uploads of hosts that are gone, add a lifecycle rule
    C(AbortIncompleteMultipartUpload) to the bucket (C(community.aws.s3_lifecycle)).
  - A bucket needs C(s3:ListBucket) (C(HeadBucket)) and, on its keys, C(s3:PutObject), C(s3:GetObject)
    (C(HeadObject) after an interrupted completion), C(s3:ListMultipartUploadParts) and C(s3:AbortMultipartUpload).
"""

EXAMPLES = r"""
- name: Back up a database dump (idempotent; resumes an interrupted upload)
  coldvault.glacier.upload:
    vault: backups
    src: /srv/dumps/db.sql.gz
    region: eu-west-1

- name: Upload a dated tarball under a stable catalog name, 64 MiB parts, 8 in parallel
  coldvault.glacier.upload:
    vault: backups
    src: "/var/backups/etc-{{ ansible_date_time.date }}.tar.gz"
    name: etc
    part_size: 64
    concurrency: 8
  register: etc_backup

- name: Read the catalog again (ansible_local shows the facts file as it was when facts were last gathered)
  ansible.builtin.setup:
    filter: ansible_local

- name: Show the latest archive id of "etc" from local facts
  ansible.builtin.debug:
    msg: "{{ ansible_local.glacier.vaults[etc_backup.vault_arn].archives['etc'].archive_id }}"

- name: Re-upload only when the content changed (reads the file to compute its tree hash)
  coldvault.glacier.upload:
    vault: backups
    src: /srv/data/archive.bin
    file_change_strategy: checksum

- name: Back up a database dump to an S3 bucket in Glacier Deep Archive (the default storage class)
  coldvault.glacier.upload:
    bucket: example-backups
    prefix: "{{ inventory_hostname }}"
    src: /srv/dumps/db.sql.gz
    name: db
    region: eu-west-1
  register: db_backup

- name: Read the catalog again
  ansible.builtin.setup:
    filter: ansible_local

- name: Show the key of the latest object of "db" from local facts
  ansible.builtin.debug:
    msg: "{{ ansible_local.glacier.buckets[db_backup.bucket_arn].archives['db'].key }}"

- name: Keep monthly copies readable at once (Glacier Instant Retrieval)
  coldvault.glacier.upload:
    bucket: example-backups
    prefix: monthly
    storage_class: GLACIER_IR
    src: /var/backups/monthly.tar.gz
    name: monthly
"""

RETURN = r"""
archive_id:
  description: Id of the archive that holds the file (the new one, or the recorded one when nothing changed).
  returned: success, with a vault
  type: str
tree_hash:
  description:
    - SHA-256 tree hash of the archive, hex.
    - For a bucket, the same Glacier-style tree hash of the object's content, so that copies can be compared.
  returned: success
  type: str
size:
  description: Size of the archive in bytes.
  returned: success
  type: int
vault:
  description: Name of the vault.
  returned: with a vault
  type: str
vault_arn:
  description: ARN of the vault; the key of the vault in the catalog.
  returned: success, with a vault
  type: str
  sample: arn:aws:glacier:eu-west-1:123456789012:vaults/backups
bucket:
  description: Name of the bucket.
  returned: with a bucket
  type: str
bucket_arn:
  description: ARN of the bucket; the key of the bucket in the catalog.
  returned: success, with a bucket
  type: str
  sample: arn:aws:s3:::example-backups
key:
  description: Key of the object that holds the file (the new one, or the recorded one when nothing changed).
  returned: success, with a bucket
  type: str
  sample: web1/db/20261126T042057Z-3f9c2a7e
version_id:
  description: Version id of the object; null when the bucket is not versioned.
  returned: success, with a bucket
  type: str
etag:
  description: ETag of the object as S3 returns it (quoted).
  returned: success, with a bucket
  type: str
storage_class:
  description: Storage class of the object.
  returned: success, with a bucket
  type: str
  sample: DEEP_ARCHIVE
checksum:
  description: The object's checksum as S3 returns it.
  returned: success, with a bucket
  type: dict
  contains:
    algorithm:
      description: Checksum algorithm.
      type: str
      sample: SHA256
    type:
      description: V(FULL_OBJECT) for a single request, V(COMPOSITE) for a multipart upload (the SHA-256 of the parts' SHA-256s).
      type: str
      sample: COMPOSITE
    value:
      description: Base64 checksum; a composite one ends with C(-<number of parts>).
      type: str
      sample: 2Kpb5lxoQ0PcFiOEgbKNbh2Q8b6BbL3xR3tO6qG8Rk4=-3
name:
  description: Key of the file in the catalog.
  returned: always
  type: str
location:
  description: Relative URI path of the archive.
  returned: success, with a vault
  type: str
uploaded:
  description: Whether this run sent a new archive (false when the recorded one matched, and in check mode).
  returned: success
  type: bool
resumed_parts:
  description: Parts of an earlier interrupted upload that were kept instead of sent again.
  returned: success
  type: int
upload_id:
  description: Id of the multipart upload, when one was used.
  returned: when a multipart upload was used
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
    bytes_sent:
      description: Bytes of archive data sent.
      type: int
    parts:
      description: Parts of the archive (1 for a single-request upload).
      type: int
    parts_sent:
      description: Parts sent by this run.
      type: int
    seconds:
      description: Wall time of the transfer.
      type: float
    mb_per_s:
      description: Bytes sent per second, in MB (10^6 bytes).
      type: float
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils.upload import run_upload


def main():
    argument_spec = dict(
        vault=dict(type='str'),
        bucket=dict(type='str'),
        prefix=dict(type='str'),
        storage_class=dict(type='str', choices=['DEEP_ARCHIVE', 'GLACIER', 'GLACIER_IR', 'STANDARD']),
        src=dict(type='path', required=True),
        name=dict(type='str'),
        part_size=dict(type='int'),
        concurrency=dict(type='int', default=4),
        file_change_strategy=dict(type='str', default='date_size', choices=['date_size', 'checksum', 'force']),
        description=dict(type='str'),
        fingerprint=dict(type='str'),
        **arguments.catalog(with_mode=True)
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True,
                              mutually_exclusive=[('vault', 'bucket')], required_one_of=[('vault', 'bucket')])
    module.exit_json(**run_upload(module))


if __name__ == '__main__':
    main()
