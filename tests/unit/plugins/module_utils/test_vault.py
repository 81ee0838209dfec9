# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import botocore.exceptions
import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import vault

ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/backups'


def client_error(code, message):
    return botocore.exceptions.ClientError({'Error': {'Code': code, 'Message': message}}, 'DeleteVault')


# --- names ------------------------------------------------------------------

@pytest.mark.parametrize('name', ['a', 'backups', 'Backups_2025-01.daily', '0', 'x' * 255])
def test_valid_names(name):
    assert vault.validate_name(name) is None


@pytest.mark.parametrize('name', ['', 'x' * 256, 'has space', 'slash/name', 'colon:name', 'ümlaut', 'new\nline', 'tab\t', None])
def test_invalid_names_name_the_option(name):
    msg = vault.validate_name(name)
    assert msg.startswith('name: ')
    assert 'not a valid vault name' in msg


# --- tags -------------------------------------------------------------------

def test_normalise_tags_none_leaves_tags_alone():
    assert vault.normalise_tags(None) == (None, None)


def test_normalise_tags_makes_strings():
    assert vault.normalise_tags({'n': 7, 'b': True, 's': 'x', 'e': ''}) == ({'n': '7', 'b': 'True', 's': 'x', 'e': ''}, None)


@pytest.mark.parametrize('value', [None, {'a': 1}, [1]])
def test_normalise_tags_rejects_non_scalars(value):
    tags, msg = vault.normalise_tags({'k': value})
    assert tags is None
    assert msg.startswith("tags: the value of 'k'")


def test_plan_tags_none_changes_nothing():
    assert vault.plan_tags({'a': '1'}, None, True) == ({}, [], {'a': '1'})


def test_plan_tags_same_is_empty():
    assert vault.plan_tags({'a': '1'}, {'a': '1'}, True) == ({}, [], {'a': '1'})


def test_plan_tags_add_change_and_purge():
    to_set, to_unset, after = vault.plan_tags({'a': '1', 'b': '2', 'c': '3'}, {'a': '1', 'b': 'two', 'd': '4'}, True)
    assert to_set == {'b': 'two', 'd': '4'}
    assert to_unset == ['c']
    assert after == {'a': '1', 'b': 'two', 'd': '4'}


def test_plan_tags_without_purge_keeps_others():
    to_set, to_unset, after = vault.plan_tags({'a': '1', 'c': '3'}, {'d': '4'}, False)
    assert to_set == {'d': '4'}
    assert to_unset == []
    assert after == {'a': '1', 'c': '3', 'd': '4'}


def test_plan_tags_empty_purges_all_but_aws_reserved():
    to_set, to_unset, after = vault.plan_tags({'a': '1', 'b': '2', 'aws:x': 'y'}, {}, True)
    assert to_set == {}
    assert to_unset == ['a', 'b']
    assert after == {'aws:x': 'y'}


def test_plan_tags_empty_without_purge_is_noop():
    assert vault.plan_tags({'a': '1'}, {}, False) == ({}, [], {'a': '1'})


# --- results and messages ---------------------------------------------------

def test_vault_result_from_describe():
    description = {'VaultARN': ARN, 'VaultName': 'backups', 'CreationDate': '2025-01-01T00:00:00.000Z',
                   'LastInventoryDate': None, 'NumberOfArchives': 3, 'SizeInBytes': 42}
    assert vault.vault_result('backups', description, {'a': '1'}) == {
        'name': 'backups', 'arn': ARN, 'number_of_archives': 3, 'size_in_bytes': 42,
        'creation_date': '2025-01-01T00:00:00.000Z', 'last_inventory_date': None, 'tags': {'a': '1'}}


def test_vault_result_before_first_inventory_has_null_counts():
    result = vault.vault_result('backups', {'VaultARN': ARN, 'CreationDate': 'd'}, {})
    assert result['number_of_archives'] is None
    assert result['size_in_bytes'] is None


def test_vault_result_of_vault_to_be_created():
    assert vault.vault_result('backups', None, {'a': '1'}) == {
        'name': 'backups', 'arn': None, 'number_of_archives': 0, 'size_in_bytes': 0,
        'creation_date': None, 'last_inventory_date': None, 'tags': {'a': '1'}}


def test_diff_state_of_missing_vault_has_no_tags():
    assert vault.diff_state('v', False, {'a': '1'}) == {'name': 'v', 'exists': False, 'tags': {}}
    assert vault.diff_state('v', True, {'a': '1'}) == {'name': 'v', 'exists': True, 'tags': {'a': '1'}}


def test_not_empty_message():
    msg = vault.not_empty_message('backups', 3, '2025-01-02T03:04:05Z')
    assert 'still holds 3 archives as of its last inventory (2025-01-02T03:04:05Z)' in msg
    assert 'delete the archives first' in msg
    assert 'Nothing was changed' in msg
    assert 'still holds 1 archive ' in vault.not_empty_message('backups', 1, None)


def test_not_empty_refusal_is_recognised():
    assert vault.is_not_empty_refusal(client_error('InvalidParameterValueException', 'Vault not empty or recently written to: ' + ARN))
    assert not vault.is_not_empty_refusal(client_error('InvalidParameterValueException', 'Invalid vault name: x'))
    assert not vault.is_not_empty_refusal(client_error('ResourceNotFoundException', 'Vault not empty'))
    assert not vault.is_not_empty_refusal(ValueError('Vault not empty'))


def test_refused_message_quotes_the_service():
    msg = vault.refused_message('backups', 'Vault not empty or recently written to: ' + ARN)
    assert '"Vault not empty or recently written to: %s"' % ARN in msg
    assert 'daily inventory' in msg
    assert 'Nothing was changed' in msg
