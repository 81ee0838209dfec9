# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every module of the collection shares: the Glacier client, vault name rules, vault look-up, error codes."""

import re

try:
    import botocore.config
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

VAULT_NAME = re.compile(r'\A[A-Za-z0-9_.-]{1,255}\Z')
# botocore's standard mode retries throttling, 5xx, 408 and dropped connections with jittered backoff, so calls
# need no AWSRetry decorator. A user's aws_config is merged over this by AnsibleAWSModule.client().
RETRY_CONFIG = {'mode': 'standard', 'total_max_attempts': 5}  # 5 requests in all, the first included

NO_LONGER_SUPPORTED = (
    'NoLongerSupportedException: AWS closed the Glacier vault API (2012-06-01) to new AWS accounts in late 2025; '
    'only existing customers (accounts that already used Glacier vaults) keep access. Check that these credentials '
    'belong to such an account, or use the S3 Glacier storage classes of Amazon S3 instead')


def invalid_vault_name(option, name):
    """None when ``name`` is a valid vault name, else an error message that names ``option``."""
    if isinstance(name, str) and VAULT_NAME.match(name):
        return None
    return '%s: %r is not a valid vault name (1-255 characters of a-z, A-Z, 0-9, "_", "-", ".")' % (option, name)


def client(module, concurrency=1):
    """A Glacier client with the standard retry policy and a connection pool for ``concurrency`` threads."""
    config = botocore.config.Config(retries=RETRY_CONFIG, max_pool_connections=max(10, concurrency + 2))
    return module.client('glacier', config=config)


def error_code(exc):
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get('Error', {}).get('Code', '')
    return ''


def fail_aws(module, exc, msg, **result):
    """fail_json_aws, with the end of the vault API for new accounts spelled out."""
    if error_code(exc) == 'NoLongerSupportedException':
        msg = '%s: %s' % (msg, NO_LONGER_SUPPORTED)
    module.fail_json_aws(exc, msg=msg, **result)


def describe_vault(module, glacier, vault, option='vault', none_if_missing_in_check_mode=False):
    """DescribeVault, or fail saying how to create a missing vault (naming ``option``).

    With ``none_if_missing_in_check_mode``, a vault missing in check mode gives None: an earlier task of the same
    check run may be the one that would create it, so the caller reports what it would do instead of failing.
    """
    try:
        return glacier.describe_vault(vaultName=vault)
    except botocore.exceptions.ClientError as e:
        if error_code(e) == 'ResourceNotFoundException' and module.check_mode and none_if_missing_in_check_mode:
            module.warn('vault %s does not exist (yet); a real run fails unless it is created first' % vault)
            return None
        if error_code(e) == 'ResourceNotFoundException':
            module.fail_json(msg='%s: vault %s does not exist in region %s; create it with coldvault.glacier.vault '
                                 '(or the coldvault.glacier.backup role, which creates it by default)'
                                 % (option, vault, glacier.meta.region_name))
        fail_aws(module, e, '%s: cannot describe vault %s' % (option, vault))
    except botocore.exceptions.BotoCoreError as e:
        fail_aws(module, e, '%s: cannot describe vault %s' % (option, vault))
    return None


def parse_mode(value):
    """File mode from an octal string ('0600') or an int; None if it is neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= 0o7777 else None
    if isinstance(value, str) and re.match(r'\A0?[0-7]{3,4}\Z', value):
        return int(value, 8)
    return None
