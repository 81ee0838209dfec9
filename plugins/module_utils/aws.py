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
