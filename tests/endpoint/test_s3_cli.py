"""Acceptance through the AWS CLI (`aws s3api`, `aws s3`): an archive's life in a DEEP_ARCHIVE bucket with Object Lock,
multipart upload with SHA-256 checksums, restore held until released, listing in pages, and the errors the CLI reports."""

import base64
import hashlib
import json
import os

from endpoint_helpers import MIB, S3_MIN_PART, cli_runner, reference_digest


def b64(raw):
    return base64.b64encode(raw).decode()


def test_archive_life_with_the_cli(s3api, s3_control, tmp_path):
    s3api("create-bucket", "--bucket", "cli-bucket", "--object-lock-enabled-for-bucket")
    assert s3api("get-bucket-versioning", "--bucket", "cli-bucket")["Status"] == "Enabled"
    data = os.urandom(3 * S3_MIN_PART + 100)
    source = tmp_path / "archive.bin"
    source.write_bytes(data)
    created = s3api("create-multipart-upload", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--storage-class", "DEEP_ARCHIVE",
                    "--checksum-algorithm", "SHA256", "--metadata", json.dumps({"cvg1": "name=etc"}))
    upload_id = created["UploadId"]
    assert created["ChecksumAlgorithm"] == "SHA256" and created["ChecksumType"] == "COMPOSITE"
    parts = []
    for number, first in enumerate(range(0, len(data), 2 * S3_MIN_PART), 1):
        piece = tmp_path / ("part%d" % number)
        piece.write_bytes(data[first:first + 2 * S3_MIN_PART])
        reply = s3api("upload-part", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--upload-id", upload_id, "--part-number", str(number),
                      "--body", str(piece), "--checksum-algorithm", "SHA256")
        assert reply["ChecksumSHA256"] == b64(hashlib.sha256(piece.read_bytes()).digest())
        parts.append({"PartNumber": number, "ETag": reply["ETag"], "ChecksumSHA256": reply["ChecksumSHA256"]})
    listed = s3api("list-parts", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--upload-id", upload_id)
    assert [part["PartNumber"] for part in listed["Parts"]] == [1, 2]
    done = s3api("complete-multipart-upload", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--upload-id", upload_id,
                 "--multipart-upload", json.dumps({"Parts": parts}))
    digests = [hashlib.sha256(data[:2 * S3_MIN_PART]).digest(), hashlib.sha256(data[2 * S3_MIN_PART:]).digest()]
    assert done["ChecksumSHA256"] == b64(hashlib.sha256(b"".join(digests)).digest()) + "-2" and done["VersionId"]
    head = s3api("head-object", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--checksum-mode", "ENABLED")
    assert head["StorageClass"] == "DEEP_ARCHIVE" and head["Metadata"] == {"cvg1": "name=etc"} and head["ChecksumSHA256"] == done["ChecksumSHA256"]
    out = tmp_path / "out.bin"
    refused = s3api("get-object", "--bucket", "cli-bucket", "--key", "host1/etc.tar", str(out), check=False)
    assert refused.returncode != 0 and "InvalidObjectState" in refused.stderr
    s3api("restore-object", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--restore-request",
          json.dumps({"Days": 3, "GlacierJobParameters": {"Tier": "Bulk"}}))
    again = s3api("restore-object", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--restore-request", json.dumps({"Days": 3}), check=False)
    assert again.returncode != 0 and "RestoreAlreadyInProgress" in again.stderr
    assert s3api("head-object", "--bucket", "cli-bucket", "--key", "host1/etc.tar")["Restore"] == 'ongoing-request="true"'
    assert len(s3_control.complete_restores(bucket="cli-bucket")) == 1
    got = s3api("get-object", "--bucket", "cli-bucket", "--key", "host1/etc.tar", str(out))
    assert out.read_bytes() == data and got["Restore"].startswith('ongoing-request="false", expiry-date=')
    # Retention protects the version; the CLI reports the refusal.
    s3api("put-object-retention", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--retention",
          json.dumps({"Mode": "COMPLIANCE", "RetainUntilDate": "2099-01-01T00:00:00Z"}))
    denied = s3api("delete-object", "--bucket", "cli-bucket", "--key", "host1/etc.tar", "--version-id", done["VersionId"], check=False)
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr
    marker = s3api("delete-object", "--bucket", "cli-bucket", "--key", "host1/etc.tar")
    assert marker["DeleteMarker"] is True
    versions = s3api("list-object-versions", "--bucket", "cli-bucket")
    assert [version["VersionId"] for version in versions["Versions"]] == [done["VersionId"]] and len(versions["DeleteMarkers"]) == 1


def test_listing_and_checksums_with_the_cli(s3api, tmp_path):
    s3api("create-bucket", "--bucket", "list-bucket")
    source = tmp_path / "small"
    source.write_bytes(b"small body")
    for number in range(7):
        s3api("put-object", "--bucket", "list-bucket", "--key", "k/%02d" % number, "--body", str(source), "--storage-class", "GLACIER")
    # The CLI's paginator walks the continuation tokens.
    listed = s3api("list-objects-v2", "--bucket", "list-bucket", "--page-size", "3")
    assert [item["Key"] for item in listed["Contents"]] == ["k/%02d" % number for number in range(7)]
    assert {item["StorageClass"] for item in listed["Contents"]} == {"GLACIER"}
    first = s3api("list-objects-v2", "--bucket", "list-bucket", "--max-items", "2")
    assert len(first["Contents"]) == 2 and first["NextToken"]
    crc = b64(reference_digest("CRC32C", b"small body"))
    put = s3api("put-object", "--bucket", "list-bucket", "--key", "crc32c", "--body", str(source), "--checksum-crc32-c", crc)
    assert put["ChecksumCRC32C"] == crc
    wrong = s3api("put-object", "--bucket", "list-bucket", "--key", "bad", "--body", str(source), "--checksum-sha256",
                  b64(hashlib.sha256(b"other").digest()), check=False)
    assert wrong.returncode != 0 and "BadDigest" in wrong.stderr
    deleted = s3api("delete-objects", "--bucket", "list-bucket", "--delete",
                    json.dumps({"Objects": [{"Key": "k/%02d" % number} for number in range(7)]}))
    assert len(deleted["Deleted"]) == 7
    missing = s3api("head-bucket", "--bucket", "nonexistent-bucket", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr


def test_high_level_s3_commands(s3_endpoint, tmp_path):
    s3 = cli_runner(s3_endpoint.url, tmp_path, "s3")
    s3api = cli_runner(s3_endpoint.url, tmp_path, "s3api")
    s3api("create-bucket", "--bucket", "cp-bucket")
    data = os.urandom(9 * MIB)
    source = tmp_path / "nine-mib.bin"
    source.write_bytes(data)
    # Above the CLI's 8 MiB threshold: a multipart upload with the CLI's own part size.
    uploaded = s3("cp", str(source), "s3://cp-bucket/backups/nine.bin", "--storage-class", "GLACIER_IR", "--only-show-errors", check=False)
    assert uploaded.returncode == 0, uploaded.stderr
    head = s3api("head-object", "--bucket", "cp-bucket", "--key", "backups/nine.bin", "--checksum-mode", "ENABLED")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-2"') and head["StorageClass"] == "GLACIER_IR"
    copy = tmp_path / "copy.bin"
    downloaded = s3("cp", "s3://cp-bucket/backups/nine.bin", str(copy), "--only-show-errors", check=False)
    assert downloaded.returncode == 0 and copy.read_bytes() == data
    listing = s3("ls", "s3://cp-bucket/backups/", check=False)
    assert listing.returncode == 0 and "nine.bin" in listing.stdout
