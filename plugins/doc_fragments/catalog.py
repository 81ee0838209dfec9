# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This doc fragment is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.


class ModuleDocFragment:
    # The catalog (local facts file) every module reads; its argument spec is module_utils/arguments.py.
    DOCUMENTATION = r"""
options:
  facts_file:
    description:
      - Path of the catalog, a JSON local-facts file. Under C(/etc/ansible/facts.d/) with a C(.fact) suffix it
        appears as C(ansible_local.<file stem>) after facts are gathered (see the collection's C(docs/catalog.md)).
      - A missing file is an empty catalog. When it is written, a missing parent directory is created and the file
        is replaced atomically under an exclusive lock.
    type: path
    default: /etc/ansible/facts.d/glacier.fact
  lock_timeout:
    description:
      - Seconds to wait for a lock that another run on this host holds on the catalog O(facts_file). That is the
        catalog's own lock, held for the moment of each write, and, for M(coldvault.glacier.upload), the lock of an
        O(coldvault.glacier.upload#module:name) that another run is uploading to the same target.
      - When the time is up the task fails, naming the facts file and who holds the lock (process id, host, module
        and since when), and changes nothing.
      - V(0) gives up at once.
    type: int
    default: 60
"""

    # For modules that write the catalog with permissions of the user's choosing.
    MODE = r"""
options:
  facts_file_mode:
    description:
      - Permissions of the catalog file when it is written, in octal (V('0600')) or symbolic (V(u=rw,g=,o=)) form
        as for M(ansible.builtin.file). A symbolic mode applies to the file's current permissions (none for a new
        file).
      - The alias O(mode) is deprecated and will be removed in release 0.3.0.
    type: raw
    default: '0600'
    aliases: [mode]
"""

    # For modules that wait for a Glacier job.
    WAIT = r"""
options:
  wait:
    description:
      - Wait for the job to complete and use its output. If V(false), return RV(status=pending) while the job
        runs; a later run continues with the same job, recorded in the catalog.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the job to complete. When they have passed, the task fails; the job id stays recorded,
        so a rerun continues with the same job. V(0) looks once.
    type: int
    default: 43200
  poll_interval:
    description:
      - Seconds between two looks at the job's status while waiting, at least 1.
    type: int
    default: 60
"""

    # The vault a module works on, when it must exist.
    VAULT = r"""
options:
  vault:
    description:
      - Name of the vault. 1 to 255 characters of C(a-z), C(A-Z), C(0-9), C(_), C(-) and C(.).
    type: str
    required: true
"""

    # The vault or the bucket a module works on: exactly one of them.
    TARGET = r"""
options:
  vault:
    description:
      - Name of the vault. 1 to 255 characters of C(a-z), C(A-Z), C(0-9), C(_), C(-) and C(.).
      - Exactly one of O(vault) and O(bucket) is required.
    type: str
  bucket:
    description:
      - Name of an S3 bucket instead of a vault, holding objects that M(coldvault.glacier.upload) wrote with its
        O(coldvault.glacier.upload#module:bucket) option, in the C(GLACIER), C(DEEP_ARCHIVE), C(GLACIER_IR) or
        C(STANDARD) storage class. It must exist, in the region of the task.
      - Exactly one of O(vault) and O(bucket) is required.
    type: str
    version_added: 0.1.0
"""
