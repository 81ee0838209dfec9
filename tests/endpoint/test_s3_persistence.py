"""A restart on the same data directory keeps S3 buckets, versions, settings, open uploads, held restores and locks."""

import datetime
import os

from endpoint_helpers import S3_MIN_PART, Control, make_s3_client


def test_s3_restart_keeps_everything(start_endpoint):
    endpoint = start_endpoint("--s3-min-part-size", str(S3_MIN_PART), "--hold-restores")
    s3 = make_s3_client(endpoint)
    s3.create_bucket(Bucket="kept", ObjectLockEnabledForBucket=True)
    s3.put_bucket_lifecycle_configuration(Bucket="kept", LifecycleConfiguration={"Rules": [
        {"ID": "abort", "Filter": {}, "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    old = s3.put_object(Bucket="kept", Key="cold", Body=b"old", StorageClass="DEEP_ARCHIVE")["VersionId"]
    new = s3.put_object(Bucket="kept", Key="cold", Body=b"new", StorageClass="DEEP_ARCHIVE", ObjectLockMode="COMPLIANCE",
                        ObjectLockRetainUntilDate=until)["VersionId"]
    s3.restore_object(Bucket="kept", Key="cold", RestoreRequest={"Days": 1})
    data = os.urandom(2 * S3_MIN_PART + 5)
    upload_id = s3.create_multipart_upload(Bucket="kept", Key="resumed", ChecksumAlgorithm="SHA256")["UploadId"]
    first = s3.upload_part(Bucket="kept", Key="resumed", UploadId=upload_id, PartNumber=1, Body=data[:2 * S3_MIN_PART], ChecksumAlgorithm="SHA256")
    assert endpoint.stop() == 0

    endpoint.start()
    s3 = make_s3_client(endpoint)
    assert [version["VersionId"] for version in s3.list_object_versions(Bucket="kept")["Versions"]] == [new, old]
    assert s3.head_object(Bucket="kept", Key="cold")["Restore"] == 'ongoing-request="true"'
    assert s3.get_object_retention(Bucket="kept", Key="cold")["Retention"]["Mode"] == "COMPLIANCE"
    assert s3.get_bucket_lifecycle_configuration(Bucket="kept")["Rules"][0]["ID"] == "abort"
    parts = s3.list_parts(Bucket="kept", Key="resumed", UploadId=upload_id)["Parts"]
    assert [(part["PartNumber"], part["ETag"], part["ChecksumSHA256"]) for part in parts] == [(1, first["ETag"], first["ChecksumSHA256"])]
    last = s3.upload_part(Bucket="kept", Key="resumed", UploadId=upload_id, PartNumber=2, Body=data[2 * S3_MIN_PART:], ChecksumAlgorithm="SHA256")
    s3.complete_multipart_upload(Bucket="kept", Key="resumed", UploadId=upload_id, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first["ETag"], "ChecksumSHA256": first["ChecksumSHA256"]},
        {"PartNumber": 2, "ETag": last["ETag"], "ChecksumSHA256": last["ChecksumSHA256"]}]})
    assert Control(endpoint.url).complete_restores() == [{"bucket": "kept", "key": "cold", "version_id": new}]
    assert endpoint.stop() == 0

    endpoint.start()
    s3 = make_s3_client(endpoint)
    assert s3.get_object(Bucket="kept", Key="cold")["Body"].read() == b"new"
    assert s3.get_object(Bucket="kept", Key="resumed")["Body"].read() == data
    assert s3.list_multipart_uploads(Bucket="kept").get("Uploads", []) == []
