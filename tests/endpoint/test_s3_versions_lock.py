"""Versioned buckets (version ids, delete markers, suspension, ListObjectVersions) and Object Lock (retention, default
retention, GOVERNANCE bypass, COMPLIANCE, legal hold)."""

import datetime

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import make_s3_client, raw_s3, xml_error


def code_of(caught):
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def days_from_now(days):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)


def test_versions_and_delete_markers(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"before versioning")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert len({first, second, "null"}) == 3 and len(first) == 32
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=first)["Body"].read() == b"one"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"before versioning"
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] not in (first, second)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="k")
    assert code_of(caught) == ("NoSuchKey", 404)
    assert caught.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="k", VersionId=deleted["VersionId"])
    assert code_of(caught) == ("MethodNotAllowed", 405)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    versions = s3.list_object_versions(Bucket=bucket)
    assert [(item["VersionId"], item["IsLatest"]) for item in versions["Versions"]] == [(second, False), (first, False), ("null", False)]
    assert [(item["VersionId"], item["IsLatest"]) for item in versions["DeleteMarkers"]] == [(deleted["VersionId"], True)]
    # Removing the delete marker brings the object back.
    removed = s3.delete_object(Bucket=bucket, Key="k", VersionId=deleted["VersionId"])
    assert removed["DeleteMarker"] is True and removed["VersionId"] == deleted["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert s3.delete_object(Bucket=bucket, Key="k", VersionId=first)["VersionId"] == first
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="k", VersionId=first)
    assert code_of(caught) == ("NoSuchVersion", 404)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="k", VersionId="not-a-version")
    assert code_of(caught) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket=bucket)
    assert code_of(caught) == ("BucketNotEmpty", 409)
    # DeleteObjects: without a version id a delete marker, with one the version itself.
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}, {"Key": "k", "VersionId": second}]})
    marked, removed = sorted(result["Deleted"], key=lambda item: "VersionId" in item)
    assert marked["DeleteMarker"] is True and len(marked["DeleteMarkerVersionId"]) == 32 and removed["VersionId"] == second
    assert [item["VersionId"] for item in s3.list_object_versions(Bucket=bucket)["Versions"]] == ["null"]


def test_suspended_versioning(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"null one")["VersionId"] == "null"
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"null two")["VersionId"] == "null"
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [item["VersionId"] for item in versions] == ["null", kept]
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] and marker["VersionId"] == "null"
    listed = s3.list_object_versions(Bucket=bucket)
    assert [item["VersionId"] for item in listed["Versions"]] == [kept] and listed["DeleteMarkers"][0]["VersionId"] == "null"
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Off"})
    assert code_of(caught) == ("MalformedXML", 400)


def test_list_object_versions_pages(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    made = []
    for key in ("a", "b", "c/d"):
        for number in range(3):
            made.append((key, s3.put_object(Bucket=bucket, Key=key, Body=b"%d" % number)["VersionId"]))
    s3.delete_object(Bucket=bucket, Key="b")
    expected = []
    for key in ("a", "b", "c/d"):
        expected += [(key, version) for name, version in reversed(made) if name == key]
    seen = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}):
        assert len(page.get("Versions", [])) + len(page.get("DeleteMarkers", [])) <= 2
        seen += [(item["Key"], item["VersionId"]) for item in page.get("Versions", [])]
    assert seen == expected
    top = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [prefix["Prefix"] for prefix in top["CommonPrefixes"]] == ["c/"]
    with pytest.raises(ClientError) as caught:
        s3.list_object_versions(Bucket=bucket, VersionIdMarker=made[0][1])
    assert code_of(caught) == ("InvalidArgument", 400)


@pytest.fixture
def locked(s3):
    s3.create_bucket(Bucket="locked-bucket", ObjectLockEnabledForBucket=True)
    return "locked-bucket"


def test_object_lock_bucket(s3, locked):
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Suspended"})
    assert code_of(caught) == ("InvalidBucketState", 409)
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 3}}})
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]["Rule"] == {
        "DefaultRetention": {"Mode": "GOVERNANCE", "Days": 3}}
    for rule in ({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, {"Mode": "FOREVER", "Days": 1}):
        with pytest.raises(ClientError) as caught:
            s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": rule}})
        assert code_of(caught) == ("MalformedXML", 400)
    s3.create_bucket(Bucket="plain-bucket")
    with pytest.raises(ClientError) as caught:
        s3.get_object_lock_configuration(Bucket="plain-bucket")
    assert code_of(caught) == ("ObjectLockConfigurationNotFoundError", 404)
    # Object Lock can be turned on for a bucket that is versioned, not for one that is not.
    with pytest.raises(ClientError) as caught:
        s3.put_object_lock_configuration(Bucket="plain-bucket", ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert code_of(caught) == ("InvalidBucketState", 409)
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="plain-bucket", Key="k", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=days_from_now(1))
    assert code_of(caught) == ("InvalidRequest", 400)


def test_default_retention_and_governance(s3, locked):
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    version = s3.put_object(Bucket=locked, Key="k", Body=b"protected")["VersionId"]
    retention = s3.get_object_retention(Bucket=locked, Key="k")["Retention"]
    assert retention["Mode"] == "GOVERNANCE" and days_from_now(0.99) < retention["RetainUntilDate"] <= days_from_now(1)
    head = s3.head_object(Bucket=locked, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE" and head["ObjectLockRetainUntilDate"] == retention["RetainUntilDate"]
    # Without a version id a delete only adds a delete marker, which Object Lock allows.
    assert s3.delete_object(Bucket=locked, Key="k")["DeleteMarker"] is True
    with pytest.raises(ClientError) as caught:
        s3.delete_object(Bucket=locked, Key="k", VersionId=version)
    assert code_of(caught) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as caught:
        s3.put_object_retention(Bucket=locked, Key="k", VersionId=version, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": days_from_now(0.5)})
    assert code_of(caught) == ("AccessDenied", 403)
    s3.put_object_retention(Bucket=locked, Key="k", VersionId=version, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": days_from_now(2)})
    result = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "k", "VersionId": version}]})
    assert result["Errors"][0]["Code"] == "AccessDenied" and "Deleted" not in result
    assert s3.delete_object(Bucket=locked, Key="k", VersionId=version, BypassGovernanceRetention=True)["VersionId"] == version


def test_compliance_and_legal_hold(s3, locked):
    version = s3.put_object(Bucket=locked, Key="c", Body=b"x", ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=days_from_now(1))["VersionId"]
    for retention in ({"Mode": "GOVERNANCE", "RetainUntilDate": days_from_now(3)}, {"Mode": "COMPLIANCE", "RetainUntilDate": days_from_now(0.5)}):
        with pytest.raises(ClientError) as caught:
            s3.put_object_retention(Bucket=locked, Key="c", VersionId=version, Retention=retention, BypassGovernanceRetention=True)
        assert code_of(caught) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as caught:
        s3.delete_object(Bucket=locked, Key="c", VersionId=version, BypassGovernanceRetention=True)
    assert code_of(caught) == ("AccessDenied", 403)
    s3.put_object_retention(Bucket=locked, Key="c", VersionId=version, Retention={"Mode": "COMPLIANCE", "RetainUntilDate": days_from_now(2)})
    held = s3.put_object(Bucket=locked, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")["VersionId"]
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"] == {"Status": "ON"}
    with pytest.raises(ClientError) as caught:
        s3.delete_object(Bucket=locked, Key="h", VersionId=held, BypassGovernanceRetention=True)
    assert code_of(caught) == ("AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=locked, Key="h", VersionId=held, LegalHold={"Status": "OFF"})
    assert s3.delete_object(Bucket=locked, Key="h", VersionId=held)["VersionId"] == held
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=locked, Key="p", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=days_from_now(-1))
    assert code_of(caught) == ("InvalidArgument", 400)
    s3.put_object(Bucket=locked, Key="free", Body=b"y")
    with pytest.raises(ClientError) as caught:
        s3.get_object_retention(Bucket=locked, Key="free")
    assert code_of(caught) == ("NoSuchObjectLockConfiguration", 404)


def test_lock_needs_an_integrity_header(s3_endpoint, locked):
    # Object Lock uploads need Content-MD5 or a checksum; botocore adds a CRC32 unless told only to when required.
    quiet = make_s3_client(s3_endpoint, request_checksum_calculation="when_required")
    with pytest.raises(ClientError) as caught:
        quiet.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=days_from_now(1))
    assert code_of(caught) == ("InvalidRequest", 400)
    status, _headers, body = raw_s3(s3_endpoint, "PUT", "/%s?object-lock" % locked,
                                    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>")
    assert status == 400 and xml_error(body)["Message"] == "Missing required header for this request: Content-MD5"
