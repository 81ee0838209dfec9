"""Vaults, archives, multipart uploads and jobs, persisted under a data directory.

Layout of the data directory:

* ``state.json`` - vaults (tags, archive metadata), jobs and short-lived memos, rewritten atomically.
* ``uploads/<upload id>/`` - ``meta.json``, an append-only ``parts.jsonl`` journal (so a part upload
  never rewrites a file that grows with the part count) and one file per part, ``pNNNNN``, with the
  SHA-256 digests of its 1 MiB chunks in ``pNNNNN.sha``.
* ``archives/<archive id>/`` - the same segment files. Completing an upload renames the upload's
  directory into place, so no archive byte is ever copied.
* ``jobs/<job id>/`` - hard links to the archive's segments (the job keeps its data even if the
  archive is deleted meanwhile, still without a copy) or the inventory document.
* ``tmp/`` - bodies being received; emptied at start-up.
"""

import bisect
import datetime
import json
import os
import re
import shutil
import threading
import time

from . import ids
from .errors import GlacierError, invalid, missing, not_found
from .treehash import DIGEST_SIZE, MIB, chunk_count, is_mib_aligned, is_tree_hash_aligned, tree_hash

MAX_PARTS = 10000
MAX_VAULTS = 1000
MAX_TAGS = 10
MAX_DESCRIPTION = 1024
# How long a repeated CompleteMultipartUpload (or AbortMultipartUpload) still succeeds.
UPLOAD_MEMORY_SECONDS = 3600
# AWS keeps a completed job, and its output, for at least 24 hours.
JOB_RETENTION_SECONDS = 24 * 3600
READ_BLOCK = 1024 * 1024
VAULT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,255}")
TIERS = ("Expedited", "Standard", "Bulk")
JOB_STATUSES = ("InProgress", "Succeeded", "Failed")
PUBLIC_JOB_FIELDS = (
    "Action", "ArchiveId", "ArchiveSHA256TreeHash", "ArchiveSizeInBytes", "Completed", "CompletionDate",
    "CreationDate", "InventoryRetrievalParameters", "InventorySizeInBytes", "JobDescription", "JobId",
    "RetrievalByteRange", "SHA256TreeHash", "SNSTopic", "StatusCode", "StatusMessage", "Tier", "VaultARN",
)


def iso_time(stamp=None):
    """UTC time as AWS prints it, e.g. 2012-03-20T17:03:43.221Z."""
    moment = datetime.datetime.fromtimestamp(time.time() if stamp is None else stamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def parse_iso(value):
    moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def page_by_id(items, keys, marker, limit):
    """One page of ``items`` and the marker of the next: a marker is the id (in ``keys``) of a page's first item."""
    start = 0
    if marker:
        if marker not in keys:
            raise invalid("Invalid marker: %s" % marker)
        start = keys.index(marker)
    following = keys[start + limit] if start + limit < len(keys) else None
    return items[start:start + limit], following


def atomic_write(path, data):
    temporary = "%s.tmp-%d-%d" % (path, os.getpid(), threading.get_ident())
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def valid_description(text):
    """AWS: at most 1024 characters, each printable 7-bit ASCII (0x20-0x7E)."""
    return len(text) <= MAX_DESCRIPTION and all(" " <= char <= "~" for char in text)


def segment_name(index):
    return "p%05d" % index


class JobOutput:
    """What GetJobOutput streams: an archive range (from hard-linked segments) or an inventory."""

    def __init__(self, store, job):
        self._store = store
        self._dir = store.job_dir(job["JobId"])
        self.is_archive = job["Action"] == "ArchiveRetrieval"
        self.description = job.get("archive_description") or ""
        if self.is_archive:
            self.offset, last = job["range"]
            self.size = last - self.offset + 1
            self.archive_size = job["ArchiveSizeInBytes"]
            self.segment_size = job["segment_size"]
            self.content_type = "application/octet-stream"
            self.range_aligned = is_tree_hash_aligned(self.offset, last, self.archive_size)
            self.whole_hash = job["SHA256TreeHash"]
        else:
            self.offset = 0
            self.size = job["InventorySizeInBytes"]
            self.content_type = "text/csv" if job["format"] == "CSV" else "application/json"

    def tree_hash(self, first, last):
        """x-amz-sha256-tree-hash for output bytes [first, last], or None where AWS sends none."""
        if not self.is_archive or not self.range_aligned:
            return None
        if first == 0 and last == self.size - 1:
            return self.whole_hash
        start, end = self.offset + first, self.offset + last
        if not is_tree_hash_aligned(start, end, self.archive_size):
            return None
        return tree_hash(self._store.range_digests(self._dir, self.segment_size, start, end)).hex()

    def chunks(self, first, last):
        """Output bytes [first, last], read from disk in blocks."""
        if not self.is_archive:
            yield from read_file_range(os.path.join(self._dir, "output"), first, last)
            return
        position, end = self.offset + first, self.offset + last
        while position <= end:
            index, inner = divmod(position, self.segment_size)
            stop = min(end, (index + 1) * self.segment_size - 1)
            yield from read_file_range(os.path.join(self._dir, segment_name(index)), inner, inner + stop - position)
            position = stop + 1


def read_file_range(path, first, last):
    with open(path, "rb") as handle:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            block = handle.read(min(READ_BLOCK, remaining))
            if not block:
                raise IOError("%s ends before byte %d" % (path, last))
            remaining -= len(block)
            yield block


class Store:
    """All Glacier state. Every public method is thread-safe; bodies stream outside the lock."""

    def __init__(self, data_dir, account_id, region, job_delay=0.0, logger=None, hold_jobs=False):
        self.data_dir = os.path.abspath(data_dir)
        self.account_id = account_id
        self.region = region
        self.job_delay = float(job_delay)
        # New jobs stay InProgress until complete_jobs() releases them (tests must not race a delay).
        self.hold_jobs = bool(hold_jobs)
        self._log = logger
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None
        self.vaults = {}
        self.archive_index = {}
        self.uploads = {}
        self.jobs = {}
        self.completed = {}
        self.aborted = {}
        for name in ("archives", "uploads", "jobs", "tmp"):
            os.makedirs(os.path.join(self.data_dir, name), exist_ok=True)
        self._load()

    # -- paths and persistence -------------------------------------------------------------------

    def _path(self, *parts):
        return os.path.join(self.data_dir, *parts)

    def archive_dir(self, archive_id):
        return self._path("archives", archive_id)

    def upload_dir(self, upload_id):
        return self._path("uploads", upload_id)

    def job_dir(self, job_id):
        return self._path("jobs", job_id)

    def new_tmp_path(self):
        return self._path("tmp", "body-" + ids.new_request_id())

    def vault_arn(self, name):
        return "arn:aws:glacier:%s:%s:vaults/%s" % (self.region, self.account_id, name)

    def _save(self):
        state = {"version": 1, "vaults": self.vaults, "jobs": self.jobs, "completed": self.completed, "aborted": self.aborted}
        # Key order is kept on purpose: it is the creation order of archives and jobs.
        atomic_write(self._path("state.json"), json.dumps(state).encode("utf-8"))

    def _load(self):
        shutil.rmtree(self._path("tmp"), ignore_errors=True)
        os.makedirs(self._path("tmp"), exist_ok=True)
        state_path = self._path("state.json")
        if os.path.exists(state_path):
            with open(state_path, "rb") as handle:
                state = json.load(handle)
            self.vaults = state.get("vaults", {})
            self.jobs = state.get("jobs", {})
            self.completed = state.get("completed", {})
            self.aborted = state.get("aborted", {})
        for vault_name, vault in self.vaults.items():
            for archive_id in vault["archives"]:
                self.archive_index[archive_id] = vault_name
        for upload_id in os.listdir(self._path("uploads")):
            upload = self._load_upload(upload_id)
            if upload is None or upload["vault"] not in self.vaults:
                shutil.rmtree(self.upload_dir(upload_id), ignore_errors=True)
            else:
                self.uploads[upload_id] = upload
        # A crash between moving data and saving state can leave unreferenced directories.
        for archive_id in os.listdir(self._path("archives")):
            if archive_id not in self.archive_index:
                shutil.rmtree(self.archive_dir(archive_id), ignore_errors=True)
        for job_id in os.listdir(self._path("jobs")):
            if job_id not in self.jobs:
                shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def _load_upload(self, upload_id):
        directory = self.upload_dir(upload_id)
        try:
            with open(os.path.join(directory, "meta.json"), "rb") as handle:
                upload = json.load(handle)
        except (OSError, ValueError):
            return None
        upload["parts"] = {}
        journal = os.path.join(directory, "parts.jsonl")
        if os.path.exists(journal):
            with open(journal, "rb") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue  # a torn last line from a crash
                    if os.path.exists(os.path.join(directory, segment_name(entry["index"]))):
                        upload["parts"][entry["index"]] = entry
        return upload

    # -- background job completion ---------------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self._scheduler, name="glacier-jobs", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def _scheduler(self):
        while not self._stop.is_set():
            self.run_due_jobs()
            self._purge()
            with self._lock:
                pending = [job["due_ts"] for job in self.jobs.values() if not job["Completed"] and not job.get("held")]
            timeout = 5.0 if not pending else max(0.0, min(5.0, min(pending) - time.time()))
            self._wake.wait(timeout)
            self._wake.clear()

    def run_due_jobs(self):
        with self._lock:
            now = time.time()
            due = [job for job in self.jobs.values() if not job["Completed"] and not job.get("held") and job["due_ts"] <= now]
            for job in due:
                self._complete_job(job)
            if due:
                self._save()

    def _purge(self):
        with self._lock:
            now = time.time()
            changed = False
            for memo in (self.completed, self.aborted):
                for upload_id in [key for key, value in memo.items() if value["expires"] < now]:
                    del memo[upload_id]
                    changed = True
            for job_id in [key for key, job in self.jobs.items() if job.get("purge_ts") and job["purge_ts"] < now]:
                self._drop_job(job_id)
                changed = True
            if changed:
                self._save()

    # -- vaults ----------------------------------------------------------------------------------

    def _vault(self, name):
        vault = self.vaults.get(name)
        if vault is None:
            raise not_found("Vault not found for ARN: %s" % self.vault_arn(name))
        return vault

    def create_vault(self, name):
        if not VAULT_NAME.fullmatch(name):
            raise invalid("Invalid vault name: %s" % name)
        with self._lock:
            if name in self.vaults:
                return  # CreateVault is idempotent
            if len(self.vaults) >= MAX_VAULTS:
                raise GlacierError(400, "LimitExceededException", "The vault limit of %d has been exceeded" % MAX_VAULTS)
            self.vaults[name] = {"CreationDate": iso_time(), "LastInventoryDate": None, "Tags": {}, "archives": {}}
            self._save()

    def _describe_vault(self, name):
        vault = self.vaults[name]
        return {
            "VaultARN": self.vault_arn(name),
            "VaultName": name,
            "CreationDate": vault["CreationDate"],
            "LastInventoryDate": vault["LastInventoryDate"],
            "NumberOfArchives": len(vault["archives"]),
            "SizeInBytes": sum(archive["Size"] for archive in vault["archives"].values()),
        }

    def describe_vault(self, name):
        with self._lock:
            self._vault(name)
            return self._describe_vault(name)

    def list_vaults(self, marker, limit):
        with self._lock:
            names = sorted(self.vaults)
            arns = [self.vault_arn(name) for name in names]
            # The marker is the ARN of the first vault of the next page (sorting ARNs sorts names).
            start = bisect.bisect_left(arns, marker) if marker else 0
            page = [self._describe_vault(name) for name in names[start:start + limit]]
            following = arns[start + limit] if start + limit < len(arns) else None
            return {"VaultList": page, "Marker": following}

    def delete_vault(self, name):
        with self._lock:
            vault = self._vault(name)
            if vault["archives"]:
                raise invalid("Vault not empty or recently written to: %s" % self.vault_arn(name))
            for upload_id in [key for key, upload in self.uploads.items() if upload["vault"] == name]:
                self._drop_upload(upload_id)
            for job_id in [key for key, job in self.jobs.items() if job["vault"] == name]:
                self._drop_job(job_id)
            del self.vaults[name]
            self._save()

    def add_tags(self, name, tags):
        with self._lock:
            vault = self._vault(name)
            for key, value in tags.items():
                if not isinstance(key, str) or not isinstance(value, str) or not 1 <= len(key) <= 128 or len(value) > 256:
                    raise invalid("Invalid tag: %s" % (key,))
                if key.lower().startswith("aws:"):
                    raise invalid("Tag keys starting with aws: are reserved: %s" % key)
            merged = dict(vault["Tags"], **tags)
            if len(merged) > MAX_TAGS:
                raise GlacierError(400, "LimitExceededException", "The maximum of %d tags for the vault has been exceeded" % MAX_TAGS)
            vault["Tags"] = merged
            self._save()

    def remove_tags(self, name, keys):
        with self._lock:
            vault = self._vault(name)
            for key in keys:
                vault["Tags"].pop(key, None)
            self._save()

    def list_tags(self, name):
        with self._lock:
            return dict(self._vault(name)["Tags"])

    # -- archives --------------------------------------------------------------------------------

    def check_vault(self, name):
        with self._lock:
            self._vault(name)

    def add_archive(self, vault_name, body_path, digests, size, checksum, description):
        """Store a received UploadArchive body (moved, not copied) as a one-segment archive."""
        with self._lock:
            vault = self._vault(vault_name)
            archive_id = ids.new_archive_id()
            directory = self.archive_dir(archive_id)
            os.makedirs(directory)
            os.replace(body_path, os.path.join(directory, segment_name(0)))
            with open(os.path.join(directory, segment_name(0) + ".sha"), "wb") as handle:
                handle.write(b"".join(digests))
            self._add_archive_meta(vault_name, vault, archive_id, size, checksum, description, size)
            self._save()
            return archive_id

    def _add_archive_meta(self, vault_name, vault, archive_id, size, checksum, description, segment_size):
        now = iso_time()
        vault["archives"][archive_id] = {
            "ArchiveId": archive_id, "ArchiveDescription": description or "", "CreationDate": now,
            "Size": size, "SHA256TreeHash": checksum, "segment_size": segment_size,
        }
        # Inventory is modelled as always current; see docs/endpoint.md.
        vault["LastInventoryDate"] = now
        self.archive_index[archive_id] = vault_name

    def _archive(self, vault_name, archive_id):
        vault = self._vault(vault_name)
        archive = vault["archives"].get(archive_id)
        if archive is None:
            if archive_id in self.archive_index:
                # What AWS answers for an archive id that belongs to another vault.
                raise invalid("Invalid vault name: %s" % self.vault_arn(vault_name))
            raise not_found("The archive ID was not found: %s" % archive_id)
        return vault, archive

    def delete_archive(self, vault_name, archive_id):
        with self._lock:
            vault, _archive = self._archive(vault_name, archive_id)
            del vault["archives"][archive_id]
            del self.archive_index[archive_id]
            vault["LastInventoryDate"] = iso_time()
            self._save()
            # Jobs hold hard links to the segments, so their output survives this.
            shutil.rmtree(self.archive_dir(archive_id), ignore_errors=True)

    # -- multipart uploads -----------------------------------------------------------------------

    def _upload(self, vault_name, upload_id):
        self._vault(vault_name)
        upload = self.uploads.get(upload_id)
        if upload is None or upload["vault"] != vault_name:
            raise not_found("The upload ID was not found: %s" % upload_id)
        return upload

    def initiate_upload(self, vault_name, description, part_size):
        with self._lock:
            self._vault(vault_name)
            upload_id = ids.new_upload_id()
            stamp = time.time()
            upload = {
                "vault": vault_name, "upload_id": upload_id, "description": description,
                "part_size": part_size, "created": iso_time(stamp), "created_ts": stamp,
            }
            directory = self.upload_dir(upload_id)
            os.makedirs(directory)
            atomic_write(os.path.join(directory, "meta.json"), json.dumps(upload).encode("utf-8"))
            upload["parts"] = {}
            self.uploads[upload_id] = upload
            return upload_id

    def get_upload(self, vault_name, upload_id):
        with self._lock:
            upload = self._upload(vault_name, upload_id)
            return {key: value for key, value in upload.items() if key != "parts"}

    def commit_part(self, vault_name, upload_id, index, first, last, body_path, digests, checksum):
        """Move a verified part body into its upload; a re-sent range replaces the earlier one."""
        with self._lock:
            upload = self._upload(vault_name, upload_id)
            directory = self.upload_dir(upload_id)
            name = segment_name(index)
            atomic_write(os.path.join(directory, name + ".sha"), b"".join(digests))
            os.replace(body_path, os.path.join(directory, name))
            entry = {"index": index, "first": first, "last": last, "hash": checksum}
            with open(os.path.join(directory, "parts.jsonl"), "ab") as handle:
                handle.write(json.dumps(entry).encode("utf-8") + b"\n")
            upload["parts"][index] = entry

    def _upload_summary(self, upload):
        return {
            "MultipartUploadId": upload["upload_id"],
            "VaultARN": self.vault_arn(upload["vault"]),
            "ArchiveDescription": upload["description"],
            "PartSizeInBytes": upload["part_size"],
            "CreationDate": upload["created"],
        }

    def list_parts(self, vault_name, upload_id, marker, limit):
        with self._lock:
            upload = self._upload(vault_name, upload_id)
            parts = [upload["parts"][index] for index in sorted(upload["parts"])]
            start = 0
            if marker:
                # The marker is the first byte of the next part to list.
                if not marker.isdigit():
                    raise invalid("Invalid marker: %s" % marker)
                start = bisect.bisect_left([part["first"] for part in parts], int(marker))
            page = parts[start:start + limit]
            result = self._upload_summary(upload)
            result["Parts"] = [{"RangeInBytes": "%d-%d" % (part["first"], part["last"]), "SHA256TreeHash": part["hash"]} for part in page]
            result["Marker"] = str(parts[start + limit]["first"]) if start + limit < len(parts) else None
            return result

    def list_uploads(self, vault_name, marker, limit):
        with self._lock:
            self._vault(vault_name)
            uploads = sorted((upload for upload in self.uploads.values() if upload["vault"] == vault_name),
                             key=lambda upload: (upload["created_ts"], upload["upload_id"]))
            page, following = page_by_id(uploads, [upload["upload_id"] for upload in uploads], marker, limit)
            return {"UploadsList": [self._upload_summary(upload) for upload in page], "Marker": following}

    def complete_upload(self, vault_name, upload_id, archive_size, checksum):
        checksum = checksum.strip().lower()
        with self._lock:
            vault = self._vault(vault_name)
            memo = self.completed.get(upload_id)
            if memo and memo["vault"] == vault_name and upload_id not in self.uploads:
                if memo["size"] == archive_size and memo["checksum"] == checksum:
                    return memo["archive_id"], memo["checksum"]
            upload = self._upload(vault_name, upload_id)
            part_size = upload["part_size"]
            parts = [upload["parts"][index] for index in sorted(upload["parts"])]
            for position, part in enumerate(parts):
                if part["index"] != position:
                    raise invalid("Content range missing from the multipart upload: bytes %d-%d" % (position * part_size, part["index"] * part_size - 1))
            for part in parts[:-1]:
                if part["last"] - part["first"] + 1 != part_size:
                    raise invalid("Invalid part size for range bytes %d-%d: every part except the last must be exactly %d bytes"
                                  % (part["first"], part["last"], part_size))
            total = sum(part["last"] - part["first"] + 1 for part in parts)
            if total != archive_size:
                raise invalid("Invalid x-amz-archive-size: %d. The uploaded parts add up to %d bytes." % (archive_size, total))
            computed = tree_hash([bytes.fromhex(part["hash"]) for part in parts]).hex()
            if computed != checksum:
                raise invalid("Invalid x-amz-sha256-tree-hash: %s" % checksum)
            archive_id = ids.new_archive_id()
            directory = self.archive_dir(archive_id)
            os.rename(self.upload_dir(upload_id), directory)
            for leftover in ("meta.json", "parts.jsonl"):
                os.remove(os.path.join(directory, leftover))
            self._add_archive_meta(vault_name, vault, archive_id, total, computed, upload["description"], part_size)
            del self.uploads[upload_id]
            self.completed[upload_id] = {
                "vault": vault_name, "archive_id": archive_id, "checksum": computed, "size": total,
                "expires": time.time() + UPLOAD_MEMORY_SECONDS,
            }
            self._save()
            return archive_id, computed

    def _drop_upload(self, upload_id):
        del self.uploads[upload_id]
        shutil.rmtree(self.upload_dir(upload_id), ignore_errors=True)

    def abort_upload(self, vault_name, upload_id):
        with self._lock:
            self._vault(vault_name)
            memo = self.aborted.get(upload_id)
            if upload_id not in self.uploads and memo and memo["vault"] == vault_name:
                return  # aborting an aborted upload succeeds for a while, as on AWS
            self._upload(vault_name, upload_id)
            self._drop_upload(upload_id)
            self.aborted[upload_id] = {"vault": vault_name, "expires": time.time() + UPLOAD_MEMORY_SECONDS}
            self._save()

    def expire_uploads(self, vault_name, upload_id=None, expire_all=False):
        """Forget uploads as AWS does after 24 hours without activity (no memo: later calls get 404)."""
        with self._lock:
            self._vault(vault_name)
            if expire_all:
                targets = [key for key, upload in self.uploads.items() if upload["vault"] == vault_name]
            else:
                self._upload(vault_name, upload_id)
                targets = [upload_id]
            for target in targets:
                self._drop_upload(target)
            return targets

    # -- jobs ------------------------------------------------------------------------------------

    def range_digests(self, directory, segment_size, first, last):
        """1 MiB chunk digests covering archive bytes [first, last], read from the .sha files."""
        per_segment = chunk_count(segment_size)
        digests = []
        chunk, end_chunk = first // MIB, last // MIB
        while chunk <= end_chunk:
            index, inner = divmod(chunk, per_segment)
            take = min(end_chunk - chunk + 1, per_segment - inner)
            with open(os.path.join(directory, segment_name(index) + ".sha"), "rb") as handle:
                handle.seek(inner * DIGEST_SIZE)
                data = handle.read(take * DIGEST_SIZE)
            digests.extend(data[offset:offset + DIGEST_SIZE] for offset in range(0, len(data), DIGEST_SIZE))
            chunk += take
        return digests

    def initiate_job(self, vault_name, params):
        job_type = params.get("Type")
        if not job_type:
            raise missing("Type")
        description = params.get("Description")
        if description is not None and (not isinstance(description, str) or not valid_description(description)):
            raise invalid("Invalid job description. It must be at most 1024 printable ASCII characters.")
        with self._lock:
            self._vault(vault_name)
            job_id = ids.new_job_id()
            stamp = time.time()
            job = {name: None for name in PUBLIC_JOB_FIELDS}
            job.update({
                "JobId": job_id, "JobDescription": description, "CreationDate": iso_time(stamp), "Completed": False,
                "StatusCode": "InProgress", "StatusMessage": "Operation in progress.", "VaultARN": self.vault_arn(vault_name),
                "SNSTopic": params.get("SNSTopic"), "vault": vault_name, "due_ts": stamp + self.job_delay, "held": self.hold_jobs,
            })
            if job_type == "archive-retrieval":
                self._prepare_archive_job(job, vault_name, params)
            elif job_type == "inventory-retrieval":
                self._prepare_inventory_job(job, params)
            elif job_type == "select":
                raise invalid("Select jobs are not supported by this endpoint")
            else:
                raise invalid("Invalid job type: %s" % job_type)
            self.jobs[job_id] = job
            if self.job_delay <= 0 and not job["held"]:
                self._complete_job(job)
            self._save()
        self._wake.set()
        return job_id

    def _prepare_archive_job(self, job, vault_name, params):
        archive_id = params.get("ArchiveId")
        if not archive_id:
            raise missing("ArchiveId")
        _vault, archive = self._archive(vault_name, archive_id)
        tier = params.get("Tier") or "Standard"
        if tier not in TIERS:
            raise invalid("Invalid tier: %s. Valid values are Expedited, Standard and Bulk." % tier)
        size = archive["Size"]
        requested = params.get("RetrievalByteRange")
        if requested:
            match = re.fullmatch(r"(\d+)-(\d+)", str(requested).strip())
            if not match or not is_mib_aligned(int(match.group(1)), int(match.group(2)), size):
                raise invalid("Invalid RetrievalByteRange: %s. The range must be megabyte aligned and within the archive of %d bytes."
                              % (requested, size))
            first, last = int(match.group(1)), int(match.group(2))
        else:
            first, last = 0, size - 1
        # Hard links pin the archive's data for the job without copying it.
        directory = self.job_dir(job["JobId"])
        os.makedirs(directory)
        source = self.archive_dir(archive_id)
        for name in os.listdir(source):
            try:
                os.link(os.path.join(source, name), os.path.join(directory, name))
            except OSError:
                shutil.copy2(os.path.join(source, name), os.path.join(directory, name))
        job.update({
            "Action": "ArchiveRetrieval", "ArchiveId": archive_id, "ArchiveSizeInBytes": size,
            "ArchiveSHA256TreeHash": archive["SHA256TreeHash"], "RetrievalByteRange": "%d-%d" % (first, last),
            "Tier": tier, "range": [first, last], "segment_size": archive["segment_size"],
            "archive_description": archive["ArchiveDescription"],
        })
        if (first, last) != (0, size - 1) and is_tree_hash_aligned(first, last, size):
            job["SHA256TreeHash"] = tree_hash(self.range_digests(directory, archive["segment_size"], first, last)).hex()

    def _prepare_inventory_job(self, job, params):
        if params.get("ArchiveId"):
            raise invalid("ArchiveId must not be given for an inventory-retrieval job")
        output_format = params.get("Format") or "JSON"
        if output_format not in ("JSON", "CSV"):
            raise invalid("Invalid format: %s. Valid values are JSON and CSV." % output_format)
        inventory = dict(params.get("InventoryRetrievalParameters") or {})
        try:
            for key in ("StartDate", "EndDate"):
                if inventory.get(key):
                    parse_iso(inventory[key])
            if inventory.get("Limit") is not None and int(inventory["Limit"]) < 1:
                raise ValueError(inventory["Limit"])
        except (TypeError, ValueError) as exc:
            raise invalid("Invalid InventoryRetrievalParameters: %s" % exc) from exc
        inventory["Format"] = output_format
        job.update({"Action": "InventoryRetrieval", "InventoryRetrievalParameters": inventory, "format": output_format})

    def _complete_job(self, job):
        now = time.time()
        if job["Action"] == "ArchiveRetrieval":
            if job["range"] == [0, job["ArchiveSizeInBytes"] - 1]:
                job["SHA256TreeHash"] = job["ArchiveSHA256TreeHash"]
        else:
            document = self._inventory_document(job, now)
            directory = self.job_dir(job["JobId"])
            os.makedirs(directory, exist_ok=True)
            atomic_write(os.path.join(directory, "output"), document)
            job["InventorySizeInBytes"] = len(document)
            self.vaults[job["vault"]]["LastInventoryDate"] = iso_time(now)
        job.update({
            "Completed": True, "StatusCode": "Succeeded", "StatusMessage": "Succeeded",
            "CompletionDate": iso_time(now), "purge_ts": now + JOB_RETENTION_SECONDS, "held": False,
        })

    def _inventory_document(self, job, now):
        """The vault's archives at completion time (AWS serves a snapshot up to a day old)."""
        params = job["InventoryRetrievalParameters"]
        archives = list(self.vaults[job["vault"]]["archives"].values())
        if params.get("StartDate"):
            archives = [item for item in archives if parse_iso(item["CreationDate"]) >= parse_iso(params["StartDate"])]
        if params.get("EndDate"):
            archives = [item for item in archives if parse_iso(item["CreationDate"]) < parse_iso(params["EndDate"])]
        if params.get("Marker"):
            keys = [item["ArchiveId"] for item in archives]
            archives = archives[keys.index(params["Marker"]):] if params["Marker"] in keys else []
        following = None
        if params.get("Limit") and len(archives) > int(params["Limit"]):
            following = archives[int(params["Limit"])]["ArchiveId"]
            archives = archives[:int(params["Limit"])]
        # DescribeJob reports where the next InitiateJob should continue (null when nothing is left).
        params["Marker"] = following
        fields = ("ArchiveId", "ArchiveDescription", "CreationDate", "Size", "SHA256TreeHash")
        if job["format"] == "CSV":
            lines = [",".join(fields)]
            for item in archives:
                lines.append(",".join(csv_field(item[field]) for field in fields))
            return ("\n".join(lines) + "\n").encode("utf-8")
        document = {
            "VaultARN": job["VaultARN"], "InventoryDate": iso_time(now),
            "ArchiveList": [{field: item[field] for field in fields} for item in archives],
        }
        return json.dumps(document).encode("utf-8")

    def _job(self, vault_name, job_id):
        self._vault(vault_name)
        job = self.jobs.get(job_id)
        if job is None or job["vault"] != vault_name:
            raise not_found("The job ID was not found: %s" % job_id)
        return job

    def _drop_job(self, job_id):
        del self.jobs[job_id]
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    @staticmethod
    def _public_job(job):
        return {name: job.get(name) for name in PUBLIC_JOB_FIELDS}

    def describe_job(self, vault_name, job_id):
        self.run_due_jobs()
        with self._lock:
            return self._public_job(self._job(vault_name, job_id))

    def list_jobs(self, vault_name, marker, limit, status_code, completed):
        if status_code is not None and status_code not in JOB_STATUSES:
            raise invalid("The job status code is not valid: %s" % status_code)
        if completed is not None and completed not in ("true", "false"):
            raise invalid("The completed value is not valid: %s" % completed)
        self.run_due_jobs()
        with self._lock:
            self._vault(vault_name)
            # self.jobs keeps creation order (also across restarts), which is the order AWS lists jobs in.
            jobs = [job for job in self.jobs.values() if job["vault"] == vault_name]
            if status_code is not None:
                jobs = [job for job in jobs if job["StatusCode"] == status_code]
            if completed is not None:
                jobs = [job for job in jobs if job["Completed"] == (completed == "true")]
            page, following = page_by_id(jobs, [job["JobId"] for job in jobs], marker, limit)
            return {"JobList": [self._public_job(job) for job in page], "Marker": following}

    def job_output(self, vault_name, job_id):
        self.run_due_jobs()
        with self._lock:
            job = self._job(vault_name, job_id)
            if not job["Completed"]:
                raise invalid("The job is not currently available for download: %s" % job_id)
            return JobOutput(self, job)

    def complete_jobs(self, job_id=None, vault_name=None):
        """Complete pending jobs now, held or not: all of them, one (job_id) or a vault's."""
        with self._lock:
            if job_id is not None and (job_id not in self.jobs or (vault_name and self.jobs[job_id]["vault"] != vault_name)):
                raise not_found("The job ID was not found: %s" % job_id)
            if vault_name is not None:
                self._vault(vault_name)
            pending = [job for job in self.jobs.values() if not job["Completed"] and job_id in (None, job["JobId"])
                       and vault_name in (None, job["vault"])]
            for job in pending:
                self._complete_job(job)
            if pending:
                self._save()
            return [job["JobId"] for job in pending]

    # -- debugging -------------------------------------------------------------------------------

    def summary(self):
        with self._lock:
            return {
                "vaults": {
                    name: {
                        "archives": len(vault["archives"]),
                        "size": sum(archive["Size"] for archive in vault["archives"].values()),
                        "tags": vault["Tags"],
                    }
                    for name, vault in sorted(self.vaults.items())
                },
                "uploads": [
                    {
                        "vault": upload["vault"], "upload_id": upload_id, "part_size": upload["part_size"],
                        "parts": len(upload["parts"]),
                        "bytes": sum(part["last"] - part["first"] + 1 for part in upload["parts"].values()),
                    }
                    for upload_id, upload in self.uploads.items()
                ],
                "jobs": [
                    {"vault": job["vault"], "job_id": job_id, "action": job["Action"], "status": job["StatusCode"], "held": bool(job.get("held"))}
                    for job_id, job in self.jobs.items()
                ],
                "job_delay": self.job_delay,
                "hold_jobs": self.hold_jobs,
                "data_dir": self.data_dir,
            }


def csv_field(value):
    """CSV as AWS writes inventories: quote fields with commas or quotes, backslash-escape quotes."""
    text = str(value)
    if "," in text or '"' in text:
        return '"%s"' % text.replace('"', '\\"')
    return text
