"""S3 buckets: creation rules and regions, the settings amazon.aws.s3_bucket reads (answered as AWS answers a new bucket),
lifecycle rules kept and returned, and amazon.aws.s3_bucket itself run against the endpoint."""

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from endpoint_helpers import make_s3_client, raw_s3, xml_error


def code_of(caught):
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_head_list_delete(s3, s3_endpoint):
    created = s3.create_bucket(Bucket="first-bucket")
    assert created["Location"] == "/first-bucket"
    # us-east-1 answers its owner 200 again (legacy); elsewhere BucketAlreadyOwnedByYou.
    s3.create_bucket(Bucket="first-bucket")
    s3.create_bucket(Bucket="euro-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(ClientError) as caught:
        s3.create_bucket(Bucket="euro-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code_of(caught) == ("BucketAlreadyOwnedByYou", 409)
    head = s3.head_bucket(Bucket="first-bucket")
    assert head["BucketRegion"] == "us-east-1" and head["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket="first-bucket")["LocationConstraint"] is None
    assert s3.get_bucket_location(Bucket="euro-bucket")["LocationConstraint"] == "eu-west-1"
    listed = s3.list_buckets()["Buckets"]
    assert [(item["Name"], item["BucketRegion"]) for item in listed] == [("euro-bucket", "eu-west-1"), ("first-bucket", "us-east-1")]
    with pytest.raises(ClientError) as caught:
        s3.head_bucket(Bucket="missing-bucket")
    assert code_of(caught) == ("404", 404)
    s3.put_object(Bucket="first-bucket", Key="k", Body=b"x")
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket="first-bucket")
    assert code_of(caught) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket="first-bucket", Key="k")
    assert s3.delete_bucket(Bucket="first-bucket")["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        s3.delete_bucket(Bucket="first-bucket")
    assert code_of(caught) == ("NoSuchBucket", 404)


def test_creation_rules(s3_endpoint, s3):
    for name in ("ab", "Upper-Case", "under_score", "a..b", "192.168.1.1", "-leading", "xn--punycode", "x" * 64):
        status, _headers, body = raw_s3(s3_endpoint, "PUT", "/" + name)
        assert status == 400 and xml_error(body)["Code"] == "InvalidBucketName", name
    document = b"<CreateBucketConfiguration><LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>"
    for region, code in ((b"us-east-1", "InvalidLocationConstraint"), (b"moon-1", "InvalidLocationConstraint")):
        status, _headers, body = raw_s3(s3_endpoint, "PUT", "/valid-name", document % region)
        assert status == 400 and xml_error(body)["Code"] == code
    status, _headers, body = raw_s3(s3_endpoint, "PUT", "/valid-name", b"<Create")
    assert status == 400 and xml_error(body)["Code"] == "MalformedXML"
    # A regional endpoint creates buckets in its own region only.
    west = make_s3_client(s3_endpoint, region="us-west-2")
    with pytest.raises(ClientError) as caught:
        west.create_bucket(Bucket="west-bucket")
    assert code_of(caught) == ("IllegalLocationConstraintException", 400)
    west.create_bucket(Bucket="west-bucket", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert west.get_bucket_location(Bucket="west-bucket")["LocationConstraint"] == "us-west-2"


def test_settings_of_a_new_bucket(s3, bucket):
    for call, code in ((s3.get_bucket_tagging, "NoSuchTagSet"), (s3.get_bucket_policy, "NoSuchBucketPolicy"),
                       (s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration"),
                       (s3.get_object_lock_configuration, "ObjectLockConfigurationNotFoundError")):
        with pytest.raises(ClientError) as caught:
            call(Bucket=bucket)
        assert code_of(caught) == (code, 404)
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule == {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Grants"] == [{"Grantee": {"ID": acl["Owner"]["ID"], "DisplayName": "coldvault-test", "Type": "CanonicalUser"},
                              "Permission": "FULL_CONTROL"}]
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=bucket)
    assert s3.list_bucket_inventory_configurations(Bucket=bucket)["IsTruncated"] is False
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert code_of(caught) == ("AccessControlListNotSupported", 400)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_cors(Bucket=bucket)
    assert code_of(caught) == ("NotImplemented", 501)


def test_settings_are_kept(s3, bucket):
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "ops"}, {"Key": "env", "Value": "test"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "ops"}, {"Key": "env", "Value": "test"}]
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})
    assert code_of(caught) == ("InvalidTag", 400)
    s3.delete_bucket_tagging(Bucket=bucket)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
                                                                "Resource": "arn:aws:s3:::%s/*" % bucket}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy)
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_policy(Bucket=bucket, Policy="not json")
    assert code_of(caught) == ("MalformedPolicy", 400)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": False})
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is False
    s3.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as caught:
        s3.get_public_access_block(Bucket=bucket)
    assert code_of(caught) == ("NoSuchPublicAccessBlockConfiguration", 404)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/backup"}, "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == "alias/backup" and rule["BucketKeyEnabled"] is True


def test_lifecycle_rules_are_kept(s3, bucket):
    rules = [
        {"ID": "to-deep-archive", "Filter": {"Prefix": "backups/"}, "Status": "Enabled",
         "Transitions": [{"Days": 30, "StorageClass": "DEEP_ARCHIVE"}], "NoncurrentVersionExpiration": {"NoncurrentDays": 180}},
        {"ID": "abort-uploads", "Filter": {}, "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]
    reply = s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert reply["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert got["Rules"] == rules and got["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    for bad in ([dict(rules[0], Status="On")], [rules[0], rules[0]]):
        with pytest.raises(ClientError) as caught:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": bad})
        assert code_of(caught)[1] == 400
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code_of(caught) == ("NoSuchLifecycleConfiguration", 404)


def run_s3_bucket(endpoint, tmp_path, **params):
    """amazon.aws.s3_bucket, run by ansible against the endpoint; returns the module result."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                "ANSIBLE_STDOUT_CALLBACK": "json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_LOCALHOST_WARNING": "false",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
                "ANSIBLE_NOCOLOR": "1"})
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    arguments = json.dumps(dict(params, endpoint_url=endpoint.url))
    result = subprocess.run([ansible, "localhost", "-m", "amazon.aws.s3_bucket", "-a", arguments,
                             "-e", "ansible_python_interpreter=%s" % sys.executable], env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    output = json.loads(result.stdout)
    return output["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_amazon_aws_s3_bucket(s3_endpoint, s3, tmp_path):
    """What amazon.aws.s3_bucket calls to create a versioned, locked, tagged bucket is answered without warnings."""
    params = {"name": "ansible-made", "versioning": True, "object_lock_enabled": True, "tags": {"purpose": "backups"},
              "object_lock_default_retention": {"mode": "GOVERNANCE", "days": 7}}
    created = run_s3_bucket(s3_endpoint, tmp_path, **params)
    assert created.get("failed") is not True, created
    assert created["changed"] and not created.get("warnings"), created
    assert created["versioning"]["Versioning"] == "Enabled" and created["object_lock_enabled"] is True
    assert created["tags"] == {"purpose": "backups"} and created["encryption"]["SSEAlgorithm"] == "AES256"
    assert s3.get_object_lock_configuration(Bucket="ansible-made")["ObjectLockConfiguration"]["Rule"] == {
        "DefaultRetention": {"Mode": "GOVERNANCE", "Days": 7}}
    again = run_s3_bucket(s3_endpoint, tmp_path, **params)
    assert again.get("failed") is not True and not again["changed"], again
    s3.put_object(Bucket="ansible-made", Key="k", Body=b"x", ChecksumAlgorithm="SHA256")
    removed = run_s3_bucket(s3_endpoint, tmp_path, name="ansible-made", state="absent", force=True)
    # The object's version is under GOVERNANCE retention: the module's DeleteObjects is refused, so the bucket stays.
    assert removed.get("failed") is True and s3.head_bucket(Bucket="ansible-made")
