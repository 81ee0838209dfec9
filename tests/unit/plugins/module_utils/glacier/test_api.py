# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vault API helpers every module uses: vault names and the vault look-up."""

import botocore.exceptions
import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api


class Failed(Exception):
    def __init__(self, msg, how):
        super().__init__(msg)
        self.how = how


class FakeModule:
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def fail_json(self, msg, **kwargs):
        raise Failed(msg, 'fail_json')

    def fail_json_aws(self, exc, msg, **kwargs):
        raise Failed('%s: %s' % (msg, exc), 'fail_json_aws')


class FakeGlacier:
    def __init__(self, error=None):
        self.error = error
        self.meta = type('Meta', (), {'region_name': 'eu-west-1'})()

    def describe_vault(self, vaultName):
        if self.error:
            raise botocore.exceptions.ClientError({'Error': {'Code': self.error, 'Message': 'x'}}, 'DescribeVault')
        return {'VaultARN': 'arn:aws:glacier:eu-west-1:123456789012:vaults/' + vaultName}


@pytest.mark.parametrize('name', ['backups', 'a', 'A-b_c.d', 'x' * 255])
def test_valid_vault_names(name):
    assert api.invalid_vault_name('vault', name) is None


@pytest.mark.parametrize('name', ['', 'x' * 256, 'bad name', 'b/s', 'ümlaut', None, 12])
def test_invalid_vault_names_name_the_option(name):
    assert api.invalid_vault_name('backup_config.vault', name).startswith('backup_config.vault: ')


def test_describe_vault_returns_the_description():
    assert api.describe_vault(FakeModule(), FakeGlacier(), 'v')['VaultARN'].endswith(':vaults/v')


def test_a_missing_vault_says_how_to_create_it():
    with pytest.raises(Failed, match=r'^vault: vault v does not exist in region eu-west-1; create it with coldvault'):
        api.describe_vault(FakeModule(), FakeGlacier('ResourceNotFoundException'), 'v')


def test_a_missing_vault_in_check_mode_is_a_warning_when_the_caller_can_predict():
    module = FakeModule(check_mode=True)
    assert api.describe_vault(module, FakeGlacier('ResourceNotFoundException'), 'v',
                              none_if_missing_in_check_mode=True) is None
    assert module.warnings and 'does not exist (yet)' in module.warnings[0]
    with pytest.raises(Failed):
        api.describe_vault(module, FakeGlacier('ResourceNotFoundException'), 'v')


def test_other_errors_go_through_fail_json_aws_and_explain_the_closed_api():
    with pytest.raises(Failed) as failed:
        api.describe_vault(FakeModule(), FakeGlacier('NoLongerSupportedException'), 'v', option='backup_config.vault')
    assert failed.value.how == 'fail_json_aws'
    assert failed.value.args[0].startswith('backup_config.vault: cannot describe vault v: NoLongerSupportedException')
