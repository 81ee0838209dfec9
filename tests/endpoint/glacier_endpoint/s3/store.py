"""Buckets, object versions, multipart uploads, restores and Object Lock state, persisted under <data dir>/s3.

Layout:

* ``state.json`` - buckets (settings, every version's metadata), rewritten atomically on every change.
* ``objects/<data id>/`` - an object's bytes: ``data`` for a single PUT, ``pNNNNN`` files (the parts, in
  order) for a completed multipart upload, whose directory is renamed into place (no byte is copied).
* ``uploads/<upload id>/`` - ``meta.json``, an append-only ``parts.jsonl`` journal, one file per part.
* ``tmp/`` - bodies being received; emptied at start-up.

Time-dependent state (restores finishing, restored copies expiring, retention running out) is computed from
stored timestamps when it is read, so nothing needs a timer.
"""

import calendar
import datetime
import email.utils
import json
import os
import re
import shutil
import threading
import time

from .. import ids
from ..store import atomic_write
from .errors import S3Error, invalid_argument, no_such_bucket, no_such_key, no_such_upload, no_such_version

MIB = 1024 * 1024
DEFAULT_MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10000
# S3's current maximum object size (48.8 TiB since December 2025; older documentation says 5 TiB).
MAX_OBJECT_SIZE = 50 * 1024 ** 4
COMPLETED_MEMORY_SECONDS = 3600
VERSION_ID = re.compile(r"[A-Za-z0-9._]{32}")
ARCHIVED = ("GLACIER", "DEEP_ARCHIVE")


def iso(stamp):
    moment = datetime.datetime.fromtimestamp(stamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def http_date(stamp):
    return email.utils.formatdate(stamp, usegmt=True)


def next_midnight(stamp):
    """S3 rounds a restored copy's expiry up to the next midnight UTC."""
    day = datetime.datetime.fromtimestamp(stamp, tz=datetime.timezone.utc).date() + datetime.timedelta(days=1)
    return calendar.timegm(day.timetuple())


def new_version_id():
    while True:
        token = ids.token(32).replace("-", ".")
        if VERSION_ID.fullmatch(token):
            return token


def restore_state(version, now=None):
    """('ongoing' | 'restored' | None, expiry timestamp) of an archived version at time now."""
    restore = version.get("restore")
    if not restore:
        return None, None
    now = time.time() if now is None else now
    if restore["ongoing"]:
        if restore["held"] or restore["due_ts"] is None or restore["due_ts"] > now:
            return "ongoing", None
        expiry = next_midnight(restore["due_ts"] + restore["days"] * 86400)
    else:
        expiry = restore["expiry_ts"]
    if expiry <= now:
        return None, None
    return "restored", expiry


def lock_state(version, now=None):
    """(mode, until timestamp) of an active retention, else (None, None)."""
    lock = version.get("lock")
    now = time.time() if now is None else now
    if lock and lock["until_ts"] > now:
        return lock["mode"], lock["until_ts"]
    return None, None


class S3Store:
    """All S3 state. Public methods are thread-safe; bodies stream outside the lock."""

    def __init__(self, data_dir, account_id, region, min_part_size=DEFAULT_MIN_PART_SIZE, restore_delay=0.0, hold_restores=False):
        self.root = os.path.join(os.path.abspath(data_dir), "s3")
        self.account_id = account_id
        self.region = region
        self.min_part_size = int(min_part_size)
        self.restore_delay = float(restore_delay)
        self.hold_restores = bool(hold_restores)
        self.owner_id = ("%064x" % int(account_id))[-64:]
        self._lock = threading.RLock()
        self.buckets = {}
        self.uploads = {}
        self.completed = {}
        # Test knob: AccessDenied rules, {"bucket", "operations", "key_prefix"} (not persisted, like faults).
        self.deny_rules = []
        for name in ("objects", "uploads", "tmp"):
            os.makedirs(self._path(name), exist_ok=True)
        self._load()

    # -- persistence -----------------------------------------------------------------------------

    def _path(self, *parts):
        return os.path.join(self.root, *parts)

    def new_tmp_path(self):
        return self._path("tmp", "body-" + ids.new_request_id())

    def _save(self):
        state = {"version": 1, "buckets": self.buckets, "completed": self.completed}
        atomic_write(self._path("state.json"), json.dumps(state).encode("utf-8"))

    def _load(self):
        shutil.rmtree(self._path("tmp"), ignore_errors=True)
        os.makedirs(self._path("tmp"), exist_ok=True)
        if os.path.exists(self._path("state.json")):
            with open(self._path("state.json"), "rb") as handle:
                state = json.load(handle)
            self.buckets = state.get("buckets", {})
            self.completed = state.get("completed", {})
        used = set()
        for bucket in self.buckets.values():
            for versions in bucket["objects"].values():
                used.update(version["data"] for version in versions if version.get("data"))
        for data_id in os.listdir(self._path("objects")):
            if data_id not in used:
                shutil.rmtree(self._path("objects", data_id), ignore_errors=True)
        for upload_id in os.listdir(self._path("uploads")):
            upload = self._load_upload(upload_id)
            if upload is None or upload["bucket"] not in self.buckets:
                shutil.rmtree(self._path("uploads", upload_id), ignore_errors=True)
            else:
                self.uploads[upload_id] = upload

    def _load_upload(self, upload_id):
        directory = self._path("uploads", upload_id)
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
                    if os.path.exists(os.path.join(directory, part_file(entry["number"]))):
                        upload["parts"][entry["number"]] = entry
        return upload

    # -- buckets ---------------------------------------------------------------------------------

    def bucket(self, name):
        bucket = self.buckets.get(name)
        if bucket is None:
            raise no_such_bucket(name)
        return bucket

    def bucket_region(self, name):
        with self._lock:
            bucket = self.buckets.get(name)
            return bucket["region"] if bucket else None

    def create_bucket(self, name, region, object_lock, ownership):
        with self._lock:
            if name in self.buckets:
                if region == "us-east-1" and self.buckets[name]["region"] == "us-east-1":
                    return False  # legacy: us-east-1 answers 200 to its owner
                raise S3Error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.",
                              BucketName=name)
            now = time.time()
            self.buckets[name] = {
                "name": name, "created_ts": now, "region": region,
                "versioning": "Enabled" if object_lock else None, "mfa_delete": None,
                "object_lock": bool(object_lock), "lock_rule": None,
                # Settings of a new bucket as AWS sets them today (SSE-S3, public access blocked, ACLs disabled).
                "config": {"encryption": None, "public_access_block": "default", "ownership": ownership or "BucketOwnerEnforced",
                           "request_payment": "BucketOwner", "accelerate": None, "tagging": None, "policy": None, "lifecycle": None},
                "objects": {},
            }
            self._save()
            return True

    def delete_bucket(self, name):
        with self._lock:
            bucket = self.bucket(name)
            if any(bucket["objects"].values()):
                message = "The bucket you tried to delete is not empty"
                if bucket["versioning"]:
                    message += ". You must delete all versions in the bucket."
                raise S3Error(409, "BucketNotEmpty", message, BucketName=name)
            for upload_id in [key for key, upload in self.uploads.items() if upload["bucket"] == name]:
                self._drop_upload(upload_id)
            del self.buckets[name]
            self._save()

    def list_buckets(self):
        with self._lock:
            return [(name, bucket["created_ts"], bucket["region"]) for name, bucket in sorted(self.buckets.items())]

    def get_config(self, name, item):
        with self._lock:
            return self.bucket(name)["config"].get(item)

    def set_config(self, name, item, value):
        with self._lock:
            self.bucket(name)["config"][item] = value
            self._save()

    def bucket_settings(self, name):
        with self._lock:
            bucket = self.bucket(name)
            return {key: bucket[key] for key in ("region", "versioning", "mfa_delete", "object_lock", "lock_rule")}

    def set_versioning(self, name, status, mfa_delete):
        with self._lock:
            bucket = self.bucket(name)
            if bucket["object_lock"] and status != "Enabled":
                raise S3Error(409, "InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
            bucket["versioning"] = status
            if mfa_delete is not None:
                bucket["mfa_delete"] = mfa_delete
            self._save()

    def set_lock_configuration(self, name, rule):
        with self._lock:
            bucket = self.bucket(name)
            if not bucket["object_lock"] and bucket["versioning"] != "Enabled":
                raise S3Error(409, "InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
            bucket["object_lock"] = True
            bucket["lock_rule"] = rule
            self._save()

    # -- objects: reading ------------------------------------------------------------------------

    def _versions(self, bucket_name, key):
        return self.bucket(bucket_name)["objects"].get(key, [])

    def find_version(self, bucket_name, key, version_id=None):
        """The version to read: the latest (a delete marker answers 404) or the one asked for."""
        with self._lock:
            bucket = self.bucket(bucket_name)
            versions = bucket["objects"].get(key, [])
            if version_id is None:
                if not versions:
                    raise no_such_key(key)
                latest = versions[-1]
                if latest["marker"]:
                    raise no_such_key(key, headers=self.marker_headers(bucket, latest))
                return dict(latest), bucket["versioning"] is not None
            check_version_id(bucket, version_id)
            for version in versions:
                if version["id"] == version_id:
                    return dict(version), bucket["versioning"] is not None
            raise no_such_version(key, version_id)

    @staticmethod
    def marker_headers(bucket, version):
        headers = {"x-amz-delete-marker": "true"}
        if bucket["versioning"] is not None:
            headers["x-amz-version-id"] = version["id"]
        return headers

    def data_files(self, version):
        """[(path, size)] of the version's bytes in order."""
        directory = self._path("objects", version["data"])
        if version.get("parts"):
            return [(os.path.join(directory, part_file(part["number"])), part["size"]) for part in version["parts"]]
        return [(os.path.join(directory, "data"), version["size"])]

    def listing(self, bucket_name):
        """{key: [versions]} copied for a listing, with the bucket's versioning state."""
        with self._lock:
            bucket = self.bucket(bucket_name)
            return {key: list(versions) for key, versions in bucket["objects"].items() if versions}, bucket["versioning"]

    # -- objects: writing ------------------------------------------------------------------------

    def _new_version(self, bucket, fields):
        version = dict(fields)
        version.update({"id": new_version_id() if bucket["versioning"] == "Enabled" else "null", "modified_ts": time.time()})
        return version

    def _install(self, bucket, key, version):
        """Make version the current one; in an unversioned or suspended bucket it replaces the null version."""
        versions = bucket["objects"].setdefault(key, [])
        dropped = []
        if version["id"] == "null":
            dropped = [old for old in versions if old["id"] == "null"]
            versions[:] = [old for old in versions if old["id"] != "null"]
        versions.append(version)
        for old in dropped:
            self._drop_data(old)

    def _drop_data(self, version):
        if version.get("data"):
            shutil.rmtree(self._path("objects", version["data"]), ignore_errors=True)

    def check_not_exists(self, bucket_name, key):
        """If-None-Match: * - 412 when the key has a current (non delete marker) version."""
        with self._lock:
            versions = self._versions(bucket_name, key)
            if versions and not versions[-1]["marker"]:
                raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", Condition="If-None-Match")

    def check_match(self, bucket_name, key, etag):
        """If-Match on a write: 412 unless the current version has this ETag (404 when there is none)."""
        with self._lock:
            versions = self._versions(bucket_name, key)
            if not versions or versions[-1]["marker"]:
                raise no_such_key(key)
            if etag.strip() not in ("*", versions[-1]["etag"]):
                raise S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", Condition="If-Match")

    def put_object(self, bucket_name, key, body_path, fields, if_none_match=False, if_match=None):
        """Store a received single-PUT body (moved, not copied) as the key's new current version."""
        with self._lock:
            bucket = self.bucket(bucket_name)
            if if_none_match:
                self.check_not_exists(bucket_name, key)
            if if_match:
                self.check_match(bucket_name, key, if_match)
            data_id = ids.token(40)
            os.makedirs(self._path("objects", data_id))
            os.replace(body_path, self._path("objects", data_id, "data"))
            version = self._new_version(bucket, dict(fields, data=data_id, marker=False))
            self.apply_default_retention(bucket, version)
            self._install(bucket, key, version)
            self._save()
            return dict(version), bucket["versioning"] is not None

    def apply_default_retention(self, bucket, version):
        rule = bucket["lock_rule"]
        if not rule or version.get("lock"):
            return
        days = rule.get("Days") or 365 * (rule.get("Years") or 0)
        until = version["modified_ts"] + days * 86400
        version["lock"] = {"mode": rule["Mode"], "until_ts": until, "until": iso(until)}

    def delete_object(self, bucket_name, key, version_id, bypass_governance):
        """DeleteObject: returns (deleted version id or None, is_delete_marker, versioned)."""
        with self._lock:
            bucket = self.bucket(bucket_name)
            versions = bucket["objects"].get(key, [])
            versioned = bucket["versioning"] is not None
            if version_id is not None:
                check_version_id(bucket, version_id)
                for version in versions:
                    if version["id"] == version_id:
                        check_deletable(version, bypass_governance)
                        versions.remove(version)
                        self._drop_data(version)
                        if not versions:
                            bucket["objects"].pop(key, None)
                        self._save()
                        return version_id, version["marker"], versioned
                return version_id, False, versioned  # deleting a version that is not there succeeds
            if bucket["versioning"] is None:
                for version in versions:
                    self._drop_data(version)
                bucket["objects"].pop(key, None)
                self._save()
                return None, False, False
            # Versioned: a delete marker becomes the current version (a null one when suspended).
            marker = self._new_version(bucket, {"marker": True, "data": None, "size": 0})
            self._install(bucket, key, marker)
            self._save()
            return marker["id"], True, True

    def update_version(self, bucket_name, key, version_id, change):
        """Apply change(bucket, version) to one version (the latest when version_id is None), then save."""
        with self._lock:
            bucket = self.bucket(bucket_name)
            versions = bucket["objects"].get(key, [])
            if version_id is None:
                if not versions or versions[-1]["marker"]:
                    raise no_such_key(key)
                target = versions[-1]
            else:
                check_version_id(bucket, version_id)
                target = next((version for version in versions if version["id"] == version_id), None)
                if target is None:
                    raise no_such_version(key, version_id)
            result = change(bucket, target)
            self._save()
            return result

    # -- restores --------------------------------------------------------------------------------

    def restore(self, bucket_name, key, version_id, days, tier):
        """RestoreObject: 202 when a restore starts, 200 when the object is restored already (expiry extended)."""

        def change(_bucket, version):
            if version["storage_class"] not in ARCHIVED:
                raise S3Error(403, "InvalidObjectState", "Restore is not allowed for the object's current storage class",
                              StorageClass=version["storage_class"])
            if tier == "Expedited" and version["storage_class"] == "DEEP_ARCHIVE":
                # Not in AWS's documentation as an error code; modelled on S3's argument errors.
                raise invalid_argument("Expedited retrievals are not available for the DEEP_ARCHIVE storage class", "Tier", tier)
            now = time.time()
            state, _expiry = restore_state(version, now)
            if state == "ongoing":
                raise S3Error(409, "RestoreAlreadyInProgress", "Object restore is already in progress")
            if state == "restored":
                version["restore"] = {"ongoing": False, "held": False, "due_ts": None, "days": days, "tier": tier,
                                      "expiry_ts": next_midnight(now + days * 86400)}
                return 200
            held = self.hold_restores
            version["restore"] = {"ongoing": True, "held": held, "due_ts": None if held else now + self.restore_delay,
                                  "days": days, "tier": tier, "expiry_ts": None, "requested_ts": now}
            return 202

        return self.update_version(bucket_name, key, version_id, change)

    def _restores(self, selector, wanted):
        """Versions with a restore in state wanted that match selector {bucket, key, version_id} (all when empty)."""
        found = []
        for bucket_name, bucket in self.buckets.items():
            if selector.get("bucket") not in (None, bucket_name):
                continue
            for key, versions in bucket["objects"].items():
                if selector.get("key") not in (None, key):
                    continue
                for version in versions:
                    if selector.get("version_id") not in (None, version["id"]):
                        continue
                    if restore_state(version)[0] == wanted:
                        found.append((bucket_name, key, version))
        return found

    def complete_restores(self, selector):
        """Finish ongoing restores now (held or not); returns what was completed."""
        with self._lock:
            now = time.time()
            done = []
            for bucket_name, key, version in self._restores(selector, "ongoing"):
                restore = version["restore"]
                restore.update({"ongoing": False, "held": False, "due_ts": now, "expiry_ts": next_midnight(now + restore["days"] * 86400)})
                done.append({"bucket": bucket_name, "key": key, "version_id": version["id"]})
            if done:
                self._save()
            return done

    def expire_restores(self, selector):
        """Make restored copies vanish as at their expiry: the object is archived-only again."""
        with self._lock:
            gone = []
            for bucket_name, key, version in self._restores(selector, "restored"):
                version["restore"] = None
                gone.append({"bucket": bucket_name, "key": key, "version_id": version["id"]})
            if gone:
                self._save()
            return gone

    # -- multipart uploads -----------------------------------------------------------------------

    def create_upload(self, bucket_name, key, fields):
        with self._lock:
            self.bucket(bucket_name)
            upload_id = ids.token(64)
            now = time.time()
            upload = dict(fields, upload_id=upload_id, bucket=bucket_name, key=key, initiated_ts=now)
            directory = self._path("uploads", upload_id)
            os.makedirs(directory)
            atomic_write(os.path.join(directory, "meta.json"), json.dumps(upload).encode("utf-8"))
            upload["parts"] = {}
            self.uploads[upload_id] = upload
            return upload_id

    def upload(self, bucket_name, key, upload_id):
        """A copy of the upload (without its parts)."""
        with self._lock:
            upload = self._upload(bucket_name, key, upload_id)
            return {name: value for name, value in upload.items() if name != "parts"}

    def _upload(self, bucket_name, key, upload_id):
        self.bucket(bucket_name)
        upload = self.uploads.get(upload_id)
        if upload is None or upload["bucket"] != bucket_name or upload["key"] != key:
            raise no_such_upload(upload_id)
        return upload

    def commit_part(self, bucket_name, key, upload_id, number, body_path, entry):
        """Move a verified part into its upload; a part sent again replaces the earlier one."""
        with self._lock:
            upload = self._upload(bucket_name, key, upload_id)
            directory = self._path("uploads", upload_id)
            os.replace(body_path, os.path.join(directory, part_file(number)))
            entry = dict(entry, number=number, modified_ts=time.time())
            with open(os.path.join(directory, "parts.jsonl"), "ab") as handle:
                handle.write(json.dumps(entry).encode("utf-8") + b"\n")
            upload["parts"][number] = entry
            return entry

    def parts(self, bucket_name, key, upload_id):
        with self._lock:
            upload = self._upload(bucket_name, key, upload_id)
            return [dict(upload["parts"][number]) for number in sorted(upload["parts"])]

    def list_uploads(self, bucket_name):
        with self._lock:
            self.bucket(bucket_name)
            uploads = [dict((name, value) for name, value in upload.items() if name != "parts")
                       for upload in self.uploads.values() if upload["bucket"] == bucket_name]
        return sorted(uploads, key=lambda upload: (upload["key"], upload["initiated_ts"], upload["upload_id"]))

    def abort_upload(self, bucket_name, key, upload_id):
        with self._lock:
            self._upload(bucket_name, key, upload_id)
            self._drop_upload(upload_id)

    def _drop_upload(self, upload_id):
        del self.uploads[upload_id]
        shutil.rmtree(self._path("uploads", upload_id), ignore_errors=True)

    def completed_before(self, bucket_name, key, upload_id):
        """The result of an upload completed in the last hour (a repeated CompleteMultipartUpload returns it)."""
        with self._lock:
            memo = self.completed.get(upload_id)
            if memo and memo["bucket"] == bucket_name and memo["key"] == key and memo["expires"] > time.time():
                return memo["result"]
            return None

    def complete_upload(self, bucket_name, key, upload_id, chosen, fields, result, if_none_match=False, if_match=None):
        """Turn the upload into the key's new version from the parts chosen (numbers, validated by the caller)."""
        with self._lock:
            bucket = self.bucket(bucket_name)
            upload = self._upload(bucket_name, key, upload_id)
            if if_none_match:
                self.check_not_exists(bucket_name, key)
            if if_match:
                self.check_match(bucket_name, key, if_match)
            data_id = ids.token(40)
            directory = self._path("objects", data_id)
            os.rename(self._path("uploads", upload_id), directory)
            keep = {part_file(number) for number in chosen}
            for name in os.listdir(directory):
                if name not in keep:
                    os.remove(os.path.join(directory, name))
            del self.uploads[upload_id]
            version = self._new_version(bucket, dict(fields, data=data_id, marker=False))
            if upload.get("lock"):
                version["lock"] = upload["lock"]
            self.apply_default_retention(bucket, version)
            self._install(bucket, key, version)
            result = dict(result, version_id=version["id"] if bucket["versioning"] is not None else None)
            self.completed[upload_id] = {"bucket": bucket_name, "key": key, "result": result, "expires": time.time() + COMPLETED_MEMORY_SECONDS}
            self.completed = {name: memo for name, memo in self.completed.items() if memo["expires"] > time.time()}
            self._save()
            return result

    # -- access rules and debugging --------------------------------------------------------------

    def denied(self, operation, bucket_name, key):
        with self._lock:
            for rule in self.deny_rules:
                if rule["bucket"] not in ("*", bucket_name):
                    continue
                if "*" not in rule["operations"] and operation not in rule["operations"]:
                    continue
                if rule["key_prefix"] and not (key or "").startswith(rule["key_prefix"]):
                    continue
                return True
            return False

    def summary(self):
        with self._lock:
            return {
                "buckets": {
                    name: {
                        "region": bucket["region"], "versioning": bucket["versioning"], "object_lock": bucket["object_lock"],
                        "keys": sum(1 for versions in bucket["objects"].values() if versions and not versions[-1]["marker"]),
                        "versions": sum(len(versions) for versions in bucket["objects"].values()),
                        "bytes": sum(version["size"] for versions in bucket["objects"].values() for version in versions),
                    }
                    for name, bucket in sorted(self.buckets.items())
                },
                "uploads": [
                    {"bucket": upload["bucket"], "key": upload["key"], "upload_id": upload_id, "parts": len(upload["parts"]),
                     "bytes": sum(part["size"] for part in upload["parts"].values())}
                    for upload_id, upload in self.uploads.items()
                ],
                "restores": {"ongoing": len(self._restores({}, "ongoing")), "restored": len(self._restores({}, "restored")),
                             "hold": self.hold_restores, "delay": self.restore_delay},
                "min_part_size": self.min_part_size,
                "deny": list(self.deny_rules),
            }


def part_file(number):
    return "p%05d" % number


def check_version_id(bucket, version_id):
    if version_id == "null":
        return
    if bucket["versioning"] is None or not VERSION_ID.fullmatch(version_id):
        raise invalid_argument("Invalid version id specified", "versionId", version_id)


def check_deletable(version, bypass_governance):
    """Object Lock: a version under legal hold or active retention cannot be deleted (GOVERNANCE can be bypassed)."""
    if version.get("legal_hold") == "ON":
        raise S3Error(403, "AccessDenied", "Access Denied because object protected by object lock.")
    mode, _until = lock_state(version)
    if mode == "COMPLIANCE" or (mode == "GOVERNANCE" and not bypass_governance):
        raise S3Error(403, "AccessDenied", "Access Denied because object protected by object lock.")
