# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Amazon S3 as the collection uses it: the client, bucket name rules, bucket look-up, errors explained."""

import re

try:
    import botocore.config
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code

# The storage classes the collection writes: the three Glacier ones, and STANDARD to stage or test.
STORAGE_CLASSES = ('DEEP_ARCHIVE', 'GLACIER', 'GLACIER_IR', 'STANDARD')
DEFAULT_STORAGE_CLASS = 'DEEP_ARCHIVE'
MAX_KEY_BYTES = 1024

# General purpose bucket names: 3-63 of a-z, 0-9, "." and "-", starting and ending with a letter or digit.
_BUCKET_NAME = re.compile(r'\A[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z')
_IP_ADDRESS = re.compile(r'\A\d+\.\d+\.\d+\.\d+\Z')
_RESERVED_PREFIXES = ('xn--', 'sthree-', 'amzn-s3-demo-')
_RESERVED_SUFFIXES = ('-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3')

# Codes of a request signed for, or sent to, another region than the bucket's.
WRONG_REGION = ('PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', '301')
DENIED = ('AccessDenied', '403', 'AllAccessDisabled', 'InvalidAccessKeyId', 'SignatureDoesNotMatch',
          'InvalidToken', 'ExpiredToken', 'AccountProblem')


def invalid_bucket_name(option, name):
    """None when ``name`` is a valid general purpose bucket name, else an error message naming ``option``."""
    if (isinstance(name, str) and _BUCKET_NAME.match(name) and '..' not in name and not _IP_ADDRESS.match(name)
            and not name.startswith(_RESERVED_PREFIXES) and not name.endswith(_RESERVED_SUFFIXES)):
        return None
    return ('%s: %r is not a valid S3 bucket name (3-63 characters of a-z, 0-9, "." and "-", starting and ending '
            'with a letter or digit, no "..", not an IP address)' % (option, name))


def client(module, concurrency=1):
    """An S3 client with the standard retry policy and a connection pool for ``concurrency`` threads.

    Payload signing is off: every body goes with a precomputed ``x-amz-checksum-sha256`` that S3 verifies, and
    SigV4 would otherwise read each body once more to hash it (botocore signs bodies over http, and over https
    too when the checksum is set by the caller). Path-style addressing for a custom endpoint, which rarely
    serves bucket subdomains.
    """
    s3_config = {'payload_signing_enabled': False}
    if module.params.get('endpoint_url'):
        s3_config['addressing_style'] = 'path'
    config = botocore.config.Config(retries=aws.RETRY_CONFIG, max_pool_connections=max(10, concurrency + 2),
                                    s3=s3_config)
    return module.client('s3', config=config)


def bucket_arn(s3, bucket):
    """The bucket's ARN, the catalog key (bucket names are unique within a partition)."""
    partition = getattr(s3.meta, 'partition', None) or 'aws'
    return 'arn:%s:s3:::%s' % (partition, bucket)


def region_of(exc):
    """The bucket's region an S3 error names, if any."""
    response = getattr(exc, 'response', None) or {}
    headers = response.get('ResponseMetadata', {}).get('HTTPHeaders', {})
    return headers.get('x-amz-bucket-region') or response.get('Error', {}).get('Region')


def explain(exc, bucket=None, storage_class=None):
    """What the user can do about an S3 error, or '' when there is nothing more to say than the error itself."""
    code = error_code(exc)
    message = (getattr(exc, 'response', None) or {}).get('Error', {}).get('Message', '') or ''
    if 'object lock' in message.lower() or code.startswith('ObjectLock') or code == 'InvalidRetentionPeriod':
        return ('the bucket\'s Object Lock settings refused the write; the module writes each version to a new '
                'key and never overwrites one, so check the bucket\'s default retention and the policy '
                '(s3:PutObjectRetention, s3:PutObjectLegalHold) for %s' % bucket)
    if code in ('NoSuchBucket', '404'):
        return ('bucket %s does not exist (or not in this partition); create it first, for example with '
                'amazon.aws.s3_bucket' % bucket)
    if code in WRONG_REGION:
        region = region_of(exc)
        where = 'region %s' % region if region else 'another region'
        return 'bucket %s is in %s: set the region option (or AWS_REGION) to it' % (bucket, where)
    if code in DENIED:
        return ('the credentials may not do this on bucket %s (or it belongs to another account): uploading needs '
                's3:ListBucket on the bucket (HeadBucket) and s3:PutObject, s3:GetObject, '
                's3:ListMultipartUploadParts and s3:AbortMultipartUpload on its keys' % bucket)
    if code == 'InvalidStorageClass':
        return ('storage class %s is not accepted by this bucket or endpoint (some S3-compatible services and '
                'S3 on Outposts store only STANDARD); choose another storage_class' % storage_class)
    if code == 'EntityTooSmall':
        return ('S3 refused a part below its minimum (5 MiB for every part but the last): the service '
                'demands bigger parts than this module sends, raise part_size')
    if code == 'EntityTooLarge':
        return 'S3 refused the size of a request: lower part_size'
    if code == 'KeyTooLongError':
        return 'the object key is longer than S3 allows (1024 bytes): shorten prefix or name'
    if code == 'MetadataTooLarge':
        return 'the user metadata is larger than S3 allows (2 KB): shorten description'
    return ''


def fail(module, exc, msg, bucket=None, storage_class=None, result=None):
    """fail_json_aws (the structured error is kept), with what to do about it spelled out, and ``result``."""
    advice = explain(exc, bucket, storage_class)
    aws.fail_aws(module, exc, '%s: %s' % (msg, advice) if advice else msg, **(result or {}))


def locate_bucket(module, s3, bucket, option='bucket', none_if_missing_in_check_mode=False):
    """HeadBucket: dict(arn, region) of an existing bucket in the client's region, or fail saying what to do.

    With ``none_if_missing_in_check_mode``, a bucket missing in check mode gives None: an earlier task of the same
    check run may be the one that would create it, so the caller reports what it would do instead of failing.
    botocore follows a redirect to the bucket's region by itself; the module still fails then, because every
    request after would be redirected too and the catalog records the region that is asked for.
    """
    try:
        reply = s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError as e:
        if error_code(e) in ('NoSuchBucket', '404') and module.check_mode and none_if_missing_in_check_mode:
            module.warn('bucket %s does not exist (yet); a real run fails unless it is created first' % bucket)
            return None
        fail(module, e, '%s: cannot use bucket %s' % (option, bucket), bucket=bucket)
    except botocore.exceptions.BotoCoreError as e:
        fail(module, e, '%s: cannot use bucket %s' % (option, bucket), bucket=bucket)
    region = reply.get('BucketRegion') or reply.get('ResponseMetadata', {}).get('HTTPHeaders', {}).get('x-amz-bucket-region')
    asked = s3.meta.region_name
    if region and asked and region != asked:
        module.fail_json(msg='%s: bucket %s is in region %s, not %s: set the region option (or AWS_REGION) to %s'
                             % (option, bucket, region, asked, region))
    return {'arn': bucket_arn(s3, bucket), 'region': region or asked}
