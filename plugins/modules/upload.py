#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: upload
short_description: Upload a file to an Amazon Glacier vault and record its archive id in local facts
version_added: 0.1.0
description:
  - Uploads a regular file on the managed host to an Amazon Glacier vault (the vault API, 2012-06-01) and records
    the archive id, tree hash, size and modification time in a JSON local-facts file (the catalog), so that
    C(ansible_local) shows what is stored where. See the collection's C(docs/catalog.md) for the schema.
  - Idempotent. When the catalog already records an archive of O(name) in the vault that matches the file under
    O(file_change_strategy), nothing is sent and the task reports C(ok) with that archive.
  - A file no bigger than one part goes in one C(UploadArchive) request; a bigger one is sent as a multipart
    upload whose parts go in parallel (O(concurrency) threads). Each byte is read once for hashing; parts of up to
    16 MiB are sent from that read, bigger parts are streamed from disk, so memory use does not grow with the
    part size.
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
author:
  - coldvault.glacier maintainers (@coldvault)
options:
  vault:
    description:
      - Name of the vault. It must exist; create it with C(coldvault.glacier.vault) or the C(coldvault.glacier.backup) role.
      - 1 to 255 characters of C(a-z), C(A-Z), C(0-9), C(_), C(-) and C(.).
    type: str
    required: true
  src:
    description:
      - Path of a regular, non-empty file on the managed host (Glacier cannot store empty archives).
    type: path
    required: true
  name:
    description:
      - Key of the file in the catalog. Defaults to the absolute path of O(src).
      - Use a stable name when the file's path changes from run to run (for example a dated tarball).
    type: str
  facts_file:
    description:
      - Path of the catalog, a JSON local-facts file. Under C(/etc/ansible/facts.d/) with a C(.fact) suffix it
        appears as C(ansible_local.<file stem>) after facts are gathered.
      - A missing parent directory is created. The file is written atomically under an exclusive lock.
    type: path
    default: /etc/ansible/facts.d/glacier.fact
  mode:
    description:
      - Permissions of the catalog file when it is written.
    type: raw
    default: '0600'
  part_size:
    description:
      - Part size in MiB, a power of two from 1 to 4096, big enough to keep the file within 10,000 parts.
      - Defaults to the smallest power of two of at least 8 that keeps the file within 10,000 parts.
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
  - coldvault.glacier.catalog_lock
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Supports check mode (decides and reports, sends no write request and leaves the catalog alone) and diff mode
    (the catalog entry before and after).
  - An incomplete multipart upload is removed by AWS after 24 hours without activity; a run after that starts afresh.
  - The module is part of the C(coldvault.glacier.aws) and C(coldvault.glacier.glacier) action groups.
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

- name: Show the latest archive id of "etc" from local facts
  ansible.builtin.debug:
    msg: "{{ ansible_local.glacier.vaults[etc_backup.vault_arn].archives['etc'].archive_id }}"

- name: Re-upload only when the content changed (reads the file to compute its tree hash)
  coldvault.glacier.upload:
    vault: backups
    src: /srv/data/archive.bin
    file_change_strategy: checksum
"""

RETURN = r"""
archive_id:
  description: Id of the archive that holds the file (the new one, or the recorded one when nothing changed).
  returned: success
  type: str
tree_hash:
  description: SHA-256 tree hash of the archive, hex.
  returned: success
  type: str
size:
  description: Size of the archive in bytes.
  returned: success
  type: int
vault:
  description: Name of the vault.
  returned: always
  type: str
vault_arn:
  description: ARN of the vault; the key of the vault in the catalog.
  returned: success
  type: str
  sample: arn:aws:glacier:eu-west-1:123456789012:vaults/backups
name:
  description: Key of the file in the catalog.
  returned: always
  type: str
location:
  description: Relative URI path of the archive.
  returned: success
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

from ansible_collections.coldvault.glacier.plugins.module_utils.upload import run_upload


def main():
    argument_spec = dict(
        vault=dict(type='str', required=True),
        src=dict(type='path', required=True),
        name=dict(type='str'),
        facts_file=dict(type='path', default='/etc/ansible/facts.d/glacier.fact'),
        lock_timeout=dict(type='int', default=60),
        mode=dict(type='raw', default='0600'),
        part_size=dict(type='int'),
        concurrency=dict(type='int', default=4),
        file_change_strategy=dict(type='str', default='date_size', choices=['date_size', 'checksum', 'force']),
        description=dict(type='str'),
        fingerprint=dict(type='str'),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    module.exit_json(**run_upload(module))


if __name__ == '__main__':
    main()
