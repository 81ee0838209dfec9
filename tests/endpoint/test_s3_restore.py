"""Archived objects (GLACIER, DEEP_ARCHIVE): refused reads, RestoreObject's answers, the x-amz-restore states, and the
control calls that complete or expire restores, so that no test waits for a clock."""

import email.utils
import time

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import Control, make_s3_client


def code_of(caught):
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def restore(s3, bucket, key, days=1, tier="Standard", **extra):
    return s3.restore_object(Bucket=bucket, Key=key, RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}}, **extra)


def expiry_of(header):
    """The expiry-date of an x-amz-restore value, as a timestamp."""
    assert header.startswith('ongoing-request="false", expiry-date="') and header.endswith('"')
    return email.utils.parsedate_to_datetime(header.split('expiry-date="')[1][:-1]).timestamp()


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
def test_restore_cycle(s3, s3_control, bucket, storage_class):
    s3.put_object(Bucket=bucket, Key="cold", Body=b"cold data", StorageClass=storage_class, Metadata={"cvg1": "d"})
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="cold")
    assert code_of(caught) == ("InvalidObjectState", 403) and caught.value.response["Error"]["StorageClass"] == storage_class
    head = s3.head_object(Bucket=bucket, Key="cold")
    assert head["StorageClass"] == storage_class and head["Metadata"] == {"cvg1": "d"} and "Restore" not in head
    assert restore(s3, bucket, "cold", days=2)["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert s3.head_object(Bucket=bucket, Key="cold")["Restore"] == 'ongoing-request="true"'
    with pytest.raises(ClientError) as caught:
        restore(s3, bucket, "cold")
    assert code_of(caught) == ("RestoreAlreadyInProgress", 409)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="cold")
    assert code_of(caught) == ("InvalidObjectState", 403)
    # Held (the endpoint runs with --hold-restores) until the control call completes it.
    before = time.time()
    assert s3_control.complete_restores(bucket=bucket, key="cold") == [{"bucket": bucket, "key": "cold", "version_id": "null"}]
    head = s3.head_object(Bucket=bucket, Key="cold")
    expiry = expiry_of(head["Restore"])
    # Two days, rounded up to the next midnight UTC, as S3 does.
    assert expiry % 86400 == 0 and before + 2 * 86400 <= expiry <= time.time() + 3 * 86400
    assert head["StorageClass"] == storage_class
    got = s3.get_object(Bucket=bucket, Key="cold")
    assert got["Body"].read() == b"cold data" and got["Restore"] == head["Restore"]
    # Restoring a restored object extends the copy: 200.
    assert restore(s3, bucket, "cold", days=5)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert expiry_of(s3.head_object(Bucket=bucket, Key="cold")["Restore"]) >= expiry + 3 * 86400
    assert s3_control.expire_restores(bucket=bucket) == [{"bucket": bucket, "key": "cold", "version_id": "null"}]
    assert "Restore" not in s3.head_object(Bucket=bucket, Key="cold")
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=bucket, Key="cold")
    assert code_of(caught) == ("InvalidObjectState", 403)
    assert restore(s3, bucket, "cold")["ResponseMetadata"]["HTTPStatusCode"] == 202


def test_restore_refusals(s3, bucket):
    s3.put_object(Bucket=bucket, Key="deep", Body=b"d", StorageClass="DEEP_ARCHIVE")
    with pytest.raises(ClientError) as caught:
        restore(s3, bucket, "deep", tier="Expedited")
    assert code_of(caught) == ("InvalidArgument", 400)
    for storage_class in ("STANDARD", "GLACIER_IR", "STANDARD_IA"):
        s3.put_object(Bucket=bucket, Key=storage_class, Body=b"warm", StorageClass=storage_class)
        with pytest.raises(ClientError) as caught:
            restore(s3, bucket, storage_class)
        assert code_of(caught) == ("InvalidObjectState", 403)
        assert s3.get_object(Bucket=bucket, Key=storage_class)["Body"].read() == b"warm"
    with pytest.raises(ClientError) as caught:
        restore(s3, bucket, "absent")
    assert code_of(caught) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as caught:
        s3.restore_object(Bucket=bucket, Key="deep", RestoreRequest={"Days": 0})
    assert code_of(caught) == ("InvalidArgument", 400)
    s3.put_object(Bucket=bucket, Key="flexible", Body=b"f", StorageClass="GLACIER")
    assert restore(s3, bucket, "flexible", tier="Expedited")["ResponseMetadata"]["HTTPStatusCode"] == 202


def test_control_selects_restores(s3, s3_control, bucket):
    s3.create_bucket(Bucket="other-bucket")
    for name, key in ((bucket, "a"), (bucket, "b"), ("other-bucket", "a")):
        s3.put_object(Bucket=name, Key=key, Body=b"x", StorageClass="GLACIER")
        restore(s3, name, key)
    assert s3_control.complete_restores(bucket=bucket, key="b") == [{"bucket": bucket, "key": "b", "version_id": "null"}]
    assert s3.head_object(Bucket=bucket, Key="a")["Restore"] == 'ongoing-request="true"'
    assert sorted((item["bucket"], item["key"]) for item in s3_control.complete_restores()) == sorted([(bucket, "a"), ("other-bucket", "a")])
    assert s3_control.complete_restores() == []
    with pytest.raises(AssertionError, match="400"):
        s3_control.call("POST", "s3/complete-restores", {"key": "a"})
    # Listings show restore states when asked for them.
    listed = s3.list_objects_v2(Bucket=bucket, OptionalObjectAttributes=["RestoreStatus"])["Contents"]
    assert all(item["RestoreStatus"]["IsRestoreInProgress"] is False and item["RestoreStatus"]["RestoreExpiryDate"] for item in listed)
    assert "RestoreStatus" not in s3.list_objects_v2(Bucket=bucket)["Contents"][0]


def test_restores_without_hold(start_endpoint):
    # No hold, no delay: a restore is done as soon as it is asked for.
    endpoint = start_endpoint()
    s3 = make_s3_client(endpoint)
    s3.create_bucket(Bucket="instant")
    s3.put_object(Bucket="instant", Key="k", Body=b"v", StorageClass="DEEP_ARCHIVE")
    assert restore(s3, "instant", "k")["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert s3.get_object(Bucket="instant", Key="k")["Body"].read() == b"v"
    # A delay far beyond any test keeps restores ongoing; the hold can also be switched on at run time.
    slow = start_endpoint("--restore-delay", "86400", name="slow")
    s3 = make_s3_client(slow)
    s3.create_bucket(Bucket="slow")
    s3.put_object(Bucket="slow", Key="k", Body=b"v", StorageClass="GLACIER")
    restore(s3, "slow", "k")
    assert s3.head_object(Bucket="slow", Key="k")["Restore"] == 'ongoing-request="true"'
    control = Control(slow.url)
    assert control.call("POST", "hold", {"restores": True}) == {"jobs": False, "restores": True}
    s3.put_object(Bucket="slow", Key="held", Body=b"h", StorageClass="GLACIER")
    restore(s3, "slow", "held")
    assert [item["key"] for item in control.complete_restores(bucket="slow")] == ["k", "held"]
    assert s3.get_object(Bucket="slow", Key="k")["Body"].read() == b"v"
