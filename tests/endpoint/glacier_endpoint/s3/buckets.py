"""Bucket operations: create, head, delete, list, location, versioning, Object Lock, lifecycle, and the settings
amazon.aws.s3_bucket reads (tagging, policy, encryption, public access block, ownership, ACL, payer, accelerate,
inventory), answered as AWS answers a new bucket."""

import json
import re

from . import xmlio
from .body import small_body
from .errors import S3Error, invalid_argument, malformed_xml
from .replies import empty_reply, owner, xml_reply
from .store import iso

BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
DEFAULT_PUBLIC_ACCESS_BLOCK = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
MAX_LIFECYCLE_RULES = 1000
MAX_BUCKET_TAGS = 50


def valid_bucket_name(name):
    """S3's general purpose bucket naming rules."""
    if not BUCKET_NAME.fullmatch(name) or ".." in name or ".-" in name or "-." in name:
        return False
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return False
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")):
        return False
    return True


def create_bucket(handler, route):
    name = route.bucket
    if not valid_bucket_name(name):
        raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=name)
    raw = small_body(handler)
    constraint = None
    if raw.strip():
        document = xmlio.parse(raw, "CreateBucketConfiguration")
        constraint = document.value("LocationConstraint")
    signed = handler.s3_region
    if constraint is not None:
        if constraint == "EU":
            constraint = "eu-west-1"
        if constraint == "us-east-1" or not REGION.fullmatch(constraint):
            raise S3Error(400, "InvalidLocationConstraint", "The specified location-constraint is not valid", LocationConstraint=constraint)
    region = constraint or "us-east-1"
    # The us-east-1 endpoint creates buckets in any region; a regional endpoint only in its own.
    if signed and signed != "us-east-1" and signed != region:
        raise S3Error(400, "IllegalLocationConstraintException",
                      "The %s location constraint is incompatible for the region specific endpoint this request was sent to."
                      % (constraint or "unspecified"))
    lock = (handler.headers.get("x-amz-bucket-object-lock-enabled") or "").strip().lower() == "true"
    ownership = handler.headers.get("x-amz-object-ownership")
    if ownership is not None and ownership not in ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"):
        raise invalid_argument("Invalid x-amz-object-ownership header: %s" % ownership, "x-amz-object-ownership", ownership)
    handler.s3.create_bucket(name, region, lock, ownership)
    location = "/" + name if region == "us-east-1" else "http://%s.s3.amazonaws.com/" % name
    empty_reply(handler, 200, {"Location": location, "x-amz-bucket-arn": "arn:aws:s3:::" + name})


def head_bucket(handler, route):
    region = handler.s3.bucket_settings(route.bucket)["region"]
    empty_reply(handler, 200, {"x-amz-bucket-region": region, "x-amz-access-point-alias": "false",
                               "x-amz-bucket-arn": "arn:aws:s3:::" + route.bucket})


def delete_bucket(handler, route):
    handler.s3.delete_bucket(route.bucket)
    empty_reply(handler, 204)


def list_buckets(handler, _route):
    buckets = handler.s3.list_buckets()
    entries = [("Bucket", [("Name", name), ("CreationDate", iso(created)), ("BucketRegion", region)]) for name, created, region in buckets]
    xml_reply(handler, "ListAllMyBucketsResult", [("Owner", owner(handler.s3)), ("Buckets", entries)])


def get_bucket_location(handler, route):
    region = handler.s3.bucket_settings(route.bucket)["region"]
    # us-east-1 is an empty LocationConstraint, for historical reasons.
    handler.respond(200, None, b'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="%s">%s</LocationConstraint>'
                    % (xmlio.NAMESPACE.encode(), b"" if region == "us-east-1" else region.encode()), content_type="application/xml")


# -- versioning and Object Lock ------------------------------------------------------------------


def get_bucket_versioning(handler, route):
    settings = handler.s3.bucket_settings(route.bucket)
    xml_reply(handler, "VersioningConfiguration", [("Status", settings["versioning"]), ("MfaDelete", settings["mfa_delete"])])


def put_bucket_versioning(handler, route):
    handler.s3.bucket(route.bucket)
    document = xmlio.parse(small_body(handler), "VersioningConfiguration")
    status = document.value("Status")
    mfa = document.value("MfaDelete")
    if status not in ("Enabled", "Suspended") or mfa not in (None, "Enabled", "Disabled"):
        raise malformed_xml()
    if mfa == "Enabled" and not handler.headers.get("x-amz-mfa"):
        raise invalid_argument("MfaDelete requires x-amz-mfa", "x-amz-mfa")
    handler.s3.set_versioning(route.bucket, status, mfa)
    empty_reply(handler)


def get_object_lock_configuration(handler, route):
    settings = handler.s3.bucket_settings(route.bucket)
    if not settings["object_lock"]:
        raise S3Error(404, "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket",
                      BucketName=route.bucket)
    rule = settings["lock_rule"]
    children = [("ObjectLockEnabled", "Enabled")]
    if rule:
        children.append(("Rule", [("DefaultRetention", [("Mode", rule["Mode"]), ("Days", rule.get("Days")), ("Years", rule.get("Years"))])]))
    xml_reply(handler, "ObjectLockConfiguration", children)


def put_object_lock_configuration(handler, route):
    handler.s3.bucket(route.bucket)
    document = xmlio.parse(small_body(handler), "ObjectLockConfiguration")
    if document.value("ObjectLockEnabled") != "Enabled":
        raise malformed_xml()
    rule = None
    node = document.one("Rule")
    if node is not None:
        retention = node.one("DefaultRetention")
        if retention is None:
            raise malformed_xml()
        mode, days, years = retention.value("Mode"), retention.value("Days"), retention.value("Years")
        if mode not in ("GOVERNANCE", "COMPLIANCE") or (days is None) == (years is None):
            raise malformed_xml()
        count = days if days is not None else years
        if not count.isdigit() or int(count) < 1:
            raise invalid_argument("Default retention period must be a positive integer value", "Days" if days else "Years", count)
        rule = {"Mode": mode, "Days" if days is not None else "Years": int(count)}
    handler.s3.set_lock_configuration(route.bucket, rule)
    empty_reply(handler)


# -- lifecycle (stored and returned; rules are not executed) --------------------------------------


def put_bucket_lifecycle_configuration(handler, route):
    handler.s3.bucket(route.bucket)
    raw = small_body(handler)
    document = xmlio.parse(raw, "LifecycleConfiguration")
    rules = document.all("Rule")
    if not rules or len(rules) > MAX_LIFECYCLE_RULES:
        raise malformed_xml()
    ids = []
    for rule in rules:
        if rule.value("Status") not in ("Enabled", "Disabled"):
            raise malformed_xml()
        rule_id = rule.value("ID")
        if rule_id is not None:
            if len(rule_id) > 255:
                raise invalid_argument("ID length should not exceed allowed limit of 255", "ID", rule_id)
            if rule_id in ids:
                raise invalid_argument("Rule ID must be unique. Found same ID for more than one rule", "ID", rule_id)
            ids.append(rule_id)
        actions = [tag for tag in ("Expiration", "Transition", "NoncurrentVersionExpiration", "NoncurrentVersionTransition",
                                   "AbortIncompleteMultipartUpload") if rule.all(tag)]
        if not actions:
            raise malformed_xml()
    minimum = handler.headers.get("x-amz-transition-default-minimum-object-size") or "all_storage_classes_128K"
    if minimum not in ("varies_by_storage_class", "all_storage_classes_128K"):
        raise invalid_argument("Invalid x-amz-transition-default-minimum-object-size", "x-amz-transition-default-minimum-object-size", minimum)
    handler.s3.set_config(route.bucket, "lifecycle", {"xml": raw.decode("utf-8"), "minimum": minimum})
    empty_reply(handler, 200, {"x-amz-transition-default-minimum-object-size": minimum})


def get_bucket_lifecycle_configuration(handler, route):
    stored = handler.s3.get_config(route.bucket, "lifecycle")
    if not stored:
        raise S3Error(404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", BucketName=route.bucket)
    rules = xmlio.parse(stored["xml"].encode("utf-8"), "LifecycleConfiguration")
    # The rules as sent, in a document of S3's own (so the namespace and declaration are S3's).
    body = b"".join(xmlio.ET.tostring(rule.element, encoding="unicode").encode("utf-8") for rule in rules.all("Rule"))
    document = b'<?xml version="1.0" encoding="UTF-8"?>\n<LifecycleConfiguration xmlns="%s">%s</LifecycleConfiguration>' % (
        xmlio.NAMESPACE.encode(), body)
    handler.respond(200, {"x-amz-transition-default-minimum-object-size": stored["minimum"]}, document, content_type="application/xml")


def delete_bucket_lifecycle(handler, route):
    handler.s3.set_config(route.bucket, "lifecycle", None)
    empty_reply(handler, 204)


# -- settings amazon.aws.s3_bucket reads ---------------------------------------------------------


def get_bucket_tagging(handler, route):
    tags = handler.s3.get_config(route.bucket, "tagging")
    if not tags:
        raise S3Error(404, "NoSuchTagSet", "The TagSet does not exist", BucketName=route.bucket)
    xml_reply(handler, "Tagging", [("TagSet", [("Tag", [("Key", key), ("Value", value)]) for key, value in tags])])


def parse_tag_set(document, maximum):
    tag_set = document.one("TagSet")
    if tag_set is None:
        raise malformed_xml()
    tags = []
    for tag in tag_set.all("Tag"):
        key, value = tag.value("Key"), tag.value("Value")
        if key is None or value is None:
            raise malformed_xml()
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise S3Error(400, "InvalidTag", "The TagKey you have provided is invalid", TagKey=key)
        if key.lower().startswith("aws:"):
            raise S3Error(400, "InvalidTag", "System tags cannot be added/updated by requester", TagKey=key)
        if key in [existing for existing, _value in tags]:
            raise S3Error(400, "InvalidTag", "Cannot provide multiple Tags with the same key", TagKey=key)
        tags.append((key, value))
    if len(tags) > maximum:
        what = "Object tags" if maximum == 10 else "Bucket tag count"
        raise S3Error(400, "BadRequest", "%s cannot be greater than %d" % (what, maximum))
    return tags


def put_bucket_tagging(handler, route):
    handler.s3.bucket(route.bucket)
    document = xmlio.parse(small_body(handler), "Tagging")
    handler.s3.set_config(route.bucket, "tagging", parse_tag_set(document, MAX_BUCKET_TAGS))
    empty_reply(handler, 204)


def delete_bucket_tagging(handler, route):
    handler.s3.set_config(route.bucket, "tagging", None)
    empty_reply(handler, 204)


def get_bucket_policy(handler, route):
    policy = handler.s3.get_config(route.bucket, "policy")
    if not policy:
        raise S3Error(404, "NoSuchBucketPolicy", "The bucket policy does not exist", BucketName=route.bucket)
    handler.respond(200, None, policy.encode("utf-8"), content_type="application/json")


def put_bucket_policy(handler, route):
    handler.s3.bucket(route.bucket)
    raw = small_body(handler, limit=20 * 1024)
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict) or not raw.lstrip().startswith(b"{") or "Statement" not in document:
        raise S3Error(400, "MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
    handler.s3.set_config(route.bucket, "policy", raw.decode("utf-8"))
    empty_reply(handler, 204)


def delete_bucket_policy(handler, route):
    handler.s3.set_config(route.bucket, "policy", None)
    empty_reply(handler, 204)


def get_bucket_encryption(handler, route):
    stored = handler.s3.get_config(route.bucket, "encryption")
    # Since January 2023 every bucket has SSE-S3 unless configured otherwise; deleting the configuration restores it.
    rule = stored or {"SSEAlgorithm": "AES256", "KMSMasterKeyID": None, "BucketKeyEnabled": False}
    xml_reply(handler, "ServerSideEncryptionConfiguration", [("Rule", [
        ("ApplyServerSideEncryptionByDefault", [("SSEAlgorithm", rule["SSEAlgorithm"]), ("KMSMasterKeyID", rule["KMSMasterKeyID"])]),
        ("BucketKeyEnabled", rule["BucketKeyEnabled"]),
    ])])


def put_bucket_encryption(handler, route):
    handler.s3.bucket(route.bucket)
    document = xmlio.parse(small_body(handler), "ServerSideEncryptionConfiguration")
    rule = document.one("Rule")
    default = rule.one("ApplyServerSideEncryptionByDefault") if rule is not None else None
    algorithm = default.value("SSEAlgorithm") if default is not None else None
    if algorithm not in ("AES256", "aws:kms", "aws:kms:dsse"):
        raise malformed_xml()
    key_id = default.value("KMSMasterKeyID")
    if key_id and algorithm == "AES256":
        raise invalid_argument("a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
                               "ApplyServerSideEncryptionByDefault")
    handler.s3.set_config(route.bucket, "encryption", {"SSEAlgorithm": algorithm, "KMSMasterKeyID": key_id,
                                                       "BucketKeyEnabled": rule.value("BucketKeyEnabled") == "true"})
    empty_reply(handler)


def delete_bucket_encryption(handler, route):
    handler.s3.set_config(route.bucket, "encryption", None)
    empty_reply(handler, 204)


def get_public_access_block(handler, route):
    stored = handler.s3.get_config(route.bucket, "public_access_block")
    if stored is None:
        raise S3Error(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found",
                      BucketName=route.bucket)
    settings = DEFAULT_PUBLIC_ACCESS_BLOCK if stored == "default" else stored
    xml_reply(handler, "PublicAccessBlockConfiguration", [(name, settings.get(name, False)) for name in DEFAULT_PUBLIC_ACCESS_BLOCK])


def put_public_access_block(handler, route):
    handler.s3.bucket(route.bucket)
    document = xmlio.parse(small_body(handler), "PublicAccessBlockConfiguration")
    settings = {}
    for name in DEFAULT_PUBLIC_ACCESS_BLOCK:
        value = document.value(name)
        if value not in (None, "true", "false"):
            raise malformed_xml()
        settings[name] = value == "true"
    handler.s3.set_config(route.bucket, "public_access_block", settings)
    empty_reply(handler)


def delete_public_access_block(handler, route):
    handler.s3.set_config(route.bucket, "public_access_block", None)
    empty_reply(handler, 204)


def get_bucket_ownership_controls(handler, route):
    ownership = handler.s3.get_config(route.bucket, "ownership")
    if not ownership:
        raise S3Error(404, "OwnershipControlsNotFoundError", "The bucket ownership controls were not found", BucketName=route.bucket)
    xml_reply(handler, "OwnershipControls", [("Rule", [("ObjectOwnership", ownership)])])


def put_bucket_ownership_controls(handler, route):
    handler.s3.bucket(route.bucket)
    document = xmlio.parse(small_body(handler), "OwnershipControls")
    rule = document.one("Rule")
    ownership = rule.value("ObjectOwnership") if rule is not None else None
    if ownership not in ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"):
        raise malformed_xml()
    handler.s3.set_config(route.bucket, "ownership", ownership)
    empty_reply(handler)


def delete_bucket_ownership_controls(handler, route):
    handler.s3.set_config(route.bucket, "ownership", None)
    empty_reply(handler, 204)


def get_bucket_acl(handler, route):
    handler.s3.bucket(route.bucket)
    grantee = [("ID", handler.s3.owner_id), ("DisplayName", "coldvault-test")]
    handler.respond(200, None, xmlio.document("AccessControlPolicy", [
        ("Owner", owner(handler.s3)),
        ("AccessControlList", [("Grant", [("Grantee", grantee), ("Permission", "FULL_CONTROL")])]),
    ]).replace(b"<Grantee>", b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'),
        content_type="application/xml")


def put_bucket_acl(handler, route):
    handler.s3.bucket(route.bucket)
    small_body(handler)
    if handler.s3.get_config(route.bucket, "ownership") == "BucketOwnerEnforced":
        raise S3Error(400, "AccessControlListNotSupported", "The bucket does not allow ACLs")
    if (handler.headers.get("x-amz-acl") or "private") != "private":
        raise S3Error(403, "AccessDenied", "Access Denied")
    empty_reply(handler)


def get_bucket_request_payment(handler, route):
    xml_reply(handler, "RequestPaymentConfiguration", [("Payer", handler.s3.get_config(route.bucket, "request_payment"))])


def put_bucket_request_payment(handler, route):
    handler.s3.bucket(route.bucket)
    payer = xmlio.parse(small_body(handler), "RequestPaymentConfiguration").value("Payer")
    if payer not in ("Requester", "BucketOwner"):
        raise malformed_xml()
    handler.s3.set_config(route.bucket, "request_payment", payer)
    empty_reply(handler)


def get_bucket_accelerate_configuration(handler, route):
    xml_reply(handler, "AccelerateConfiguration", [("Status", handler.s3.get_config(route.bucket, "accelerate"))])


def put_bucket_accelerate_configuration(handler, route):
    handler.s3.bucket(route.bucket)
    status = xmlio.parse(small_body(handler), "AccelerateConfiguration").value("Status")
    if status not in ("Enabled", "Suspended"):
        raise malformed_xml()
    if "." in route.bucket:
        raise S3Error(400, "InvalidRequest", "S3 Transfer Acceleration is not supported for buckets with periods (.) in their names")
    handler.s3.set_config(route.bucket, "accelerate", status)
    empty_reply(handler)


def list_bucket_inventory_configurations(handler, route):
    handler.s3.bucket(route.bucket)
    xml_reply(handler, "ListInventoryConfigurationsResult", [("IsTruncated", False)])


OPERATIONS = {
    "CreateBucket": create_bucket,
    "HeadBucket": head_bucket,
    "DeleteBucket": delete_bucket,
    "ListBuckets": list_buckets,
    "GetBucketLocation": get_bucket_location,
    "GetBucketVersioning": get_bucket_versioning,
    "PutBucketVersioning": put_bucket_versioning,
    "GetObjectLockConfiguration": get_object_lock_configuration,
    "PutObjectLockConfiguration": put_object_lock_configuration,
    "GetBucketLifecycleConfiguration": get_bucket_lifecycle_configuration,
    "PutBucketLifecycleConfiguration": put_bucket_lifecycle_configuration,
    "DeleteBucketLifecycle": delete_bucket_lifecycle,
    "GetBucketTagging": get_bucket_tagging,
    "PutBucketTagging": put_bucket_tagging,
    "DeleteBucketTagging": delete_bucket_tagging,
    "GetBucketPolicy": get_bucket_policy,
    "PutBucketPolicy": put_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "GetBucketEncryption": get_bucket_encryption,
    "PutBucketEncryption": put_bucket_encryption,
    "DeleteBucketEncryption": delete_bucket_encryption,
    "GetPublicAccessBlock": get_public_access_block,
    "PutPublicAccessBlock": put_public_access_block,
    "DeletePublicAccessBlock": delete_public_access_block,
    "GetBucketOwnershipControls": get_bucket_ownership_controls,
    "PutBucketOwnershipControls": put_bucket_ownership_controls,
    "DeleteBucketOwnershipControls": delete_bucket_ownership_controls,
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetBucketRequestPayment": get_bucket_request_payment,
    "PutBucketRequestPayment": put_bucket_request_payment,
    "GetBucketAccelerateConfiguration": get_bucket_accelerate_configuration,
    "PutBucketAccelerateConfiguration": put_bucket_accelerate_configuration,
    "ListBucketInventoryConfigurations": list_bucket_inventory_configurations,
}
