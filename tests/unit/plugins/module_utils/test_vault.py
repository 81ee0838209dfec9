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


# --- tag restrictions, checked before any write ----------------------------------------------

def test_invalid_tags_accepts_what_aws_documents():
    tags = {'k%02d' % i: 'v' for i in range(vault.MAX_TAGS - 2)}
    tags.update({'x' * 128: 'y' * 256, 'empty-value': ''})
    assert len(tags) == vault.MAX_TAGS == 50
    assert vault.invalid_tags(tags) is None


@pytest.mark.parametrize('tags, message', [
    ({'k%02d' % i: 'v' for i in range(51)}, '51 tags given, a vault can have at most 50'),
    ({'x' * 129: 'v'}, "key 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is 129 characters long, at most 128"),
    ({'k': 'é' * 257}, "the value of 'k' is 257 characters long, at most 256"),
    ({'aws:owner': 'me'}, "key 'aws:owner' begins with aws:, which AWS reserves"),
    ({'AWS:Owner': 'me'}, "key 'AWS:Owner' begins with aws:"),
    ({'': 'v'}, 'a key is empty'),
])
def test_invalid_tags_names_the_option_and_the_problem(tags, message):
    msg = vault.invalid_tags(tags)
    assert msg.startswith('tags: ') and msg.endswith('Nothing was changed')
    assert message in msg


def test_invalid_tags_lists_every_problem_at_once():
    msg = vault.invalid_tags({'aws:a': '1', 'b': 'v' * 300})
    assert "'aws:a' begins with aws:" in msg and "the value of 'b' is 300 characters" in msg


def test_too_many_tags_counts_kept_tags_but_not_aws_ones():
    current = {'old%02d' % i: 'v' for i in range(45)}
    current['aws:cloudformation:stack'] = 'x'
    desired = {'new%d' % i: 'v' for i in range(5)}
    dummy, dummy, after = vault.plan_tags(current, desired, purge=False)
    assert vault.too_many_tags(after, desired) is None  # 50 counted; the aws: tag does not count
    desired['new5'] = 'v'
    dummy, dummy, after = vault.plan_tags(current, desired, purge=False)
    msg = vault.too_many_tags(after, desired)
    assert msg == ('tags: the vault would have 51 tags (45 of them already on the vault and kept because purge_tags '
                   'is false), a vault can have at most 50. Nothing was changed')
    dummy, dummy, after = vault.plan_tags(current, desired, purge=True)
    assert vault.too_many_tags(after, desired) is None


# --- a run against a fake client -------------------------------------------------------------

class Exit(Exception):
    def __init__(self, failed, kwargs):
        super().__init__(kwargs.get('msg'))
        self.failed = failed
        self.kwargs = kwargs


class FakeModule:
    def __init__(self, client, **params):
        self.params = {'name': 'backups', 'state': 'present', 'tags': None, 'purge_tags': True}
        self.params.update(params)
        self.check_mode = False
        self._diff = False
        self._client = client

    def client(self, service, config=None):
        return self._client

    def fail_json(self, **kwargs):
        raise Exit(True, kwargs)

    def fail_json_aws(self, exc, msg, **kwargs):
        raise Exit(True, dict(kwargs, msg='%s: %s' % (msg, exc)))


class FakeGlacier:
    """A vault store that refuses AddTagsToVault beyond ``limit`` tags, as the service may."""

    def __init__(self, limit=50):
        self.vaults = {}
        self.limit = limit
        self.calls = []

    def _vault(self, name):
        if name not in self.vaults:
            raise botocore.exceptions.ClientError(
                {'Error': {'Code': 'ResourceNotFoundException', 'Message': 'Vault not found'}}, 'DescribeVault')
        return self.vaults[name]

    def describe_vault(self, vaultName):
        self.calls.append('DescribeVault')
        self._vault(vaultName)
        return {'VaultARN': ARN, 'VaultName': vaultName, 'CreationDate': 'd', 'NumberOfArchives': 0, 'SizeInBytes': 0}

    def list_tags_for_vault(self, vaultName):
        self.calls.append('ListTagsForVault')
        return {'Tags': dict(self._vault(vaultName))}

    def create_vault(self, vaultName):
        self.calls.append('CreateVault')
        self.vaults.setdefault(vaultName, {})

    def remove_tags_from_vault(self, vaultName, TagKeys):
        self.calls.append('RemoveTagsFromVault')
        for key in TagKeys:
            self._vault(vaultName).pop(key, None)

    def add_tags_to_vault(self, vaultName, Tags):
        self.calls.append('AddTagsToVault')
        merged = dict(self._vault(vaultName), **Tags)
        if len(merged) > self.limit:
            raise botocore.exceptions.ClientError(
                {'Error': {'Code': 'LimitExceededException', 'Message': 'The maximum of %d tags' % self.limit}},
                'AddTagsToVault')
        self.vaults[vaultName] = merged


WRITES = {'CreateVault', 'RemoveTagsFromVault', 'AddTagsToVault'}


@pytest.mark.parametrize('tags', [{'k%02d' % i: 'v' for i in range(51)}, {'aws:x': 'v'}, {'k': 'v' * 257}])
def test_bad_tags_refused_before_any_request(tags):
    fake = FakeGlacier()
    with pytest.raises(Exit) as exc:
        vault.run_vault(FakeModule(fake, tags=tags))
    assert exc.value.kwargs['msg'].startswith('tags: ')
    assert fake.calls == [] and fake.vaults == {}


def test_too_many_tags_with_kept_ones_refused_before_any_write():
    fake = FakeGlacier()
    fake.vaults['backups'] = {'old%02d' % i: 'v' for i in range(48)}
    with pytest.raises(Exit) as exc:
        vault.run_vault(FakeModule(fake, tags={'a': '1', 'b': '2', 'c': '3'}, purge_tags=False))
    assert 'would have 51 tags (48 of them already on the vault' in exc.value.kwargs['msg']
    assert exc.value.kwargs['changed'] is False
    assert not WRITES & set(fake.calls)


def test_failure_after_creating_the_vault_says_what_was_done():
    fake = FakeGlacier(limit=10)  # a service that enforces the API reference's 10 tags
    with pytest.raises(Exit) as exc:
        vault.run_vault(FakeModule(fake, tags={'k%02d' % i: 'v' for i in range(11)}))
    result = exc.value.kwargs
    assert result['changed'] is True
    assert result['vault']['arn'] == ARN and result['vault']['tags'] == {}
    assert result['msg'].startswith('cannot add tags to vault backups; this run had already created the vault '
                                    '(ARN %s), a rerun continues from there: ' % ARN)
    assert 'LimitExceededException' in result['msg']
    assert fake.vaults == {'backups': {}}


def test_failure_after_removing_tags_says_so():
    fake = FakeGlacier(limit=2)
    fake.vaults['backups'] = {'a': '1', 'b': '2'}
    with pytest.raises(Exit) as exc:
        vault.run_vault(FakeModule(fake, tags={'c': '3', 'd': '4', 'e': '5'}))
    result = exc.value.kwargs
    assert result['changed'] is True
    assert 'already removed tags a, b (ARN %s)' % ARN in result['msg']
    assert result['vault']['tags'] == {}


def test_first_write_failing_changes_nothing_and_says_nothing_was_done():
    fake = FakeGlacier(limit=1)
    fake.vaults['backups'] = {}
    with pytest.raises(Exit) as exc:
        vault.run_vault(FakeModule(fake, tags={'a': '1', 'b': '2'}))
    assert exc.value.kwargs['changed'] is False
    assert 'already' not in exc.value.kwargs['msg']
    assert 'vault' not in exc.value.kwargs
