# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What every backend shares about talking to AWS: the client with the retry policy, error codes, failing."""

try:
    import botocore.config
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

# botocore's standard mode retries throttling, 5xx, 408 and dropped connections with jittered backoff, so calls
# need no AWSRetry decorator. A user's aws_config is merged over this by AnsibleAWSModule.client().
RETRY_CONFIG = {'mode': 'standard', 'total_max_attempts': 5}  # 5 requests in all, the first included

NO_LONGER_SUPPORTED = (
    'NoLongerSupportedException: AWS closed the Glacier vault API (2012-06-01) to new AWS accounts in late 2025; '
    'only existing customers (accounts that already used Glacier vaults) keep access. Check that these credentials '
    'belong to such an account, or use the S3 Glacier storage classes of Amazon S3 instead')


def client(module, service, concurrency=1):
    """A ``service`` client with the standard retry policy and a connection pool for ``concurrency`` threads."""
    config = botocore.config.Config(retries=RETRY_CONFIG, max_pool_connections=max(10, concurrency + 2))
    return module.client(service, config=config)


def error_code(exc):
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get('Error', {}).get('Code', '')
    return ''


def fail_aws(module, exc, msg, **result):
    """fail_json_aws, with the end of the vault API for new accounts spelled out."""
    if error_code(exc) == 'NoLongerSupportedException':
        msg = '%s: %s' % (msg, NO_LONGER_SUPPORTED)
    module.fail_json_aws(exc, msg=msg, **result)


def botocore_cause(exc):
    """The botocore error that ``exc`` is, or that caused it (a TransferError wraps the last attempt's), or None."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
            return exc
        exc, seen = exc.__cause__, seen + 1
    return None


def fail_transfer(module, exc, msg, **result):
    """Fail with ``msg`` and the error; AWS errors (also behind a TransferError) keep their structured response.

    The message reads "<msg>: <what failed>"; for AWS errors fail_json_aws adds ``error`` and
    ``response_metadata`` to the result, as every amazon.aws module does.
    """
    cause = botocore_cause(exc)
    if cause is None:
        module.fail_json(msg='%s: %s' % (msg, exc), **result)
    elif cause is exc:
        fail_aws(module, exc, msg, **result)
    else:
        # Our message names the part or range and the attempts; fail_json_aws would print only botocore's.
        response = getattr(cause, 'response', None) or {}
        result.setdefault('error', response.get('Error'))
        result.setdefault('response_metadata', response.get('ResponseMetadata'))
        module.fail_json(msg='%s: %s' % (msg, exc), **result)
