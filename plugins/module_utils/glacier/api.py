# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""The vault API (Glacier 2012-06-01) as every module uses it: the client, vault name rules, vault look-up."""

import re

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils.aws import error_code, fail_aws

VAULT_NAME = re.compile(r'\A[A-Za-z0-9_.-]{1,255}\Z')


def invalid_vault_name(option, name):
    """None when ``name`` is a valid vault name, else an error message that names ``option``."""
    if isinstance(name, str) and VAULT_NAME.match(name):
        return None
    return '%s: %r is not a valid vault name (1-255 characters of a-z, A-Z, 0-9, "_", "-", ".")' % (option, name)


def client(module, concurrency=1):
    """A Glacier client with the standard retry policy and a connection pool for ``concurrency`` threads."""
    return aws.client(module, 'glacier', concurrency)


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
