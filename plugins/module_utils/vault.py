# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.vault does: validate, read the vault and its tags, decide, then create, tag or delete.

The pure helpers (name check, tag checks and plan, result shape, messages) take no client, so the unit tests cover
them without an endpoint. ``run_vault`` drives one module run; in check mode it reads but never writes.

Tags are checked against what AWS documents before anything is written: CreateVault takes no tags, so a vault is
tagged in a second request, and a refusal there would leave a new vault behind. When a later request still fails,
the failure says what this run had already done (``changed: true``, the vault and its ARN).
"""

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api as glacier


# Tag restrictions of the Glacier Developer Guide ("Tagging Amazon S3 Glacier Resources"). The API reference in
# botocore's service model still says 10 tags per vault, the guide and the REST API reference say 50: checking
# against the larger number never refuses tags that AWS accepts, and a lower limit still enforced by the service
# (the local endpoint enforces 10) ends in a failure that says what was already done.
MAX_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
RESERVED_PREFIX = 'aws:'


def validate_name(name):
    """None when ``name`` is a valid vault name, else the error message (which names the option)."""
    return glacier.invalid_vault_name('name', name)


def normalise_tags(tags):
    """Tags as Glacier takes them (string keys and values), or (None, error) when a value cannot be one."""
    if tags is None:
        return None, None
    result = {}
    for key, value in tags.items():
        if value is None:
            return None, 'tags: the value of %r is null; use "" for a tag without a value' % (key,)
        if isinstance(value, (dict, list)):
            return None, 'tags: the value of %r must be a string, not a %s' % (key, type(value).__name__)
        result[to_text(key)] = to_text(value)
    return result, None


def is_reserved(key):
    """Keys that begin with aws: (in any case) are AWS's: they cannot be set and do not count against the limit."""
    return key.lower().startswith(RESERVED_PREFIX)


def _shown(key):
    return repr(key if len(key) <= 40 else key[:37] + '...')


def invalid_tags(tags):
    """None when AWS accepts every tag of ``tags`` (normalised), else one message naming all problems."""
    problems = []
    for key in sorted(tags):
        value = tags[key]
        if not key:
            problems.append('a key is empty')
        elif len(key) > MAX_KEY_LENGTH:
            problems.append('key %s is %d characters long, at most %d are allowed'
                            % (_shown(key), len(key), MAX_KEY_LENGTH))
        elif is_reserved(key):
            problems.append('key %s begins with %s, which AWS reserves for its own tags'
                            % (_shown(key), RESERVED_PREFIX))
        if len(value) > MAX_VALUE_LENGTH:
            problems.append('the value of %s is %d characters long, at most %d are allowed'
                            % (_shown(key), len(value), MAX_VALUE_LENGTH))
    if len(tags) > MAX_TAGS:
        problems.append('%d tags given, a vault can have at most %d' % (len(tags), MAX_TAGS))
    if problems:
        return 'tags: %s. Nothing was changed' % '; '.join(problems)
    return None


def too_many_tags(after, desired):
    """None when a vault may hold the tags ``after`` (its tags once changed to ``desired``), else the error message."""
    counted = [key for key in after if not is_reserved(key)]
    if len(counted) <= MAX_TAGS:
        return None
    kept = [key for key in counted if key not in desired]  # on the vault, not in tags, and purge_tags is false
    return ('tags: the vault would have %d tags (%d of them already on the vault and kept because purge_tags is '
            'false), a vault can have at most %d. Nothing was changed' % (len(counted), len(kept), MAX_TAGS))


def plan_tags(current, desired, purge):
    """(tags to add or change, sorted keys to remove, tags afterwards); desired None leaves the tags alone."""
    current = dict(current or {})
    if desired is None:
        return {}, [], current
    to_set, to_unset = compare_aws_tags(current, desired, purge_tags=purge)
    after = {k: v for k, v in current.items() if k not in to_unset}
    after.update(to_set)
    return to_set, sorted(to_unset), after


def vault_result(name, description, tags):
    """The ``vault`` return value from a DescribeVault response.

    ``description`` is None for a vault that check mode would create: it would be empty, and has no ARN or dates
    yet. AWS leaves the counts out (null) until the first inventory of a vault has run.
    """
    if description is None:
        description = {'NumberOfArchives': 0, 'SizeInBytes': 0}
    return {
        'name': name,
        'arn': description.get('VaultARN'),
        'number_of_archives': description.get('NumberOfArchives'),
        'size_in_bytes': description.get('SizeInBytes'),
        'creation_date': description.get('CreationDate'),
        'last_inventory_date': description.get('LastInventoryDate'),
        'tags': dict(tags or {}),
    }


def diff_state(name, exists, tags):
    return {'name': name, 'exists': exists, 'tags': dict(tags or {}) if exists else {}}


def not_empty_message(name, count, last_inventory):
    """Refusal for a vault whose DescribeVault still counts archives."""
    as_of = 'as of its last inventory (%s)' % last_inventory if last_inventory else 'by its vault description'
    return ('vault %s was not deleted: it still holds %d archive%s %s. Glacier deletes only empty vaults: delete '
            'the archives first (an inventory job lists their ids), then run this again after the next inventory, '
            'which AWS refreshes about once a day. Nothing was changed'
            % (name, count, '' if count == 1 else 's', as_of))


def refused_message(name, service_message):
    """Refusal when DescribeVault counted no archives but the service still would not delete the vault."""
    return ('vault %s was not deleted: Glacier refused with "%s". The archive count AWS reports is only refreshed by '
            'the daily inventory, so the vault still holds archives or was written to since its last inventory. '
            'Delete its archives first, then run this again after the next inventory. Nothing was changed'
            % (name, service_message))


def error_message(exc):
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get('Error', {}).get('Message', '') or ''
    return ''


def is_not_empty_refusal(exc):
    return aws.error_code(exc) == 'InvalidParameterValueException' and 'not empty' in error_message(exc).lower()


class Vault:
    """One run of the module."""

    def __init__(self, module):
        self.module = module
        p = module.params
        self.name = p['name']
        problem = validate_name(self.name)
        if problem is None:
            self.tags, problem = normalise_tags(p['tags'])
        if problem is None and self.tags is not None and p['state'] == 'present':
            problem = invalid_tags(self.tags)
        if problem:
            module.fail_json(msg=problem)
        self.purge_tags = p['purge_tags']
        self.result = {'changed': False}
        self.done = []  # what this run changed so far, for a failure of a later request
        self.client = glacier.client(module)

    def call(self, action, method, expected=(), **kwargs):
        """Call a Glacier operation; (response, None), or (None, exception) when its code is in ``expected``.

        Any other error fails the module; NoLongerSupportedException with an explanation of why, and an error after
        an earlier request of this run changed the vault with what was already done.
        """
        try:
            return getattr(self.client, method)(vaultName=self.name, **kwargs), None
        except botocore.exceptions.ClientError as e:
            if aws.error_code(e) in expected:
                return None, e
            self.fail(e, action)
        except botocore.exceptions.BotoCoreError as e:
            self.fail(e, action)
        return None, None  # not reached: fail exits

    def fail(self, exc, action):
        msg = 'cannot %s vault %s' % (action, self.name)
        self.result['changed'] = bool(self.done)
        if self.done:
            # The run changed the vault before this request failed: say so, and report the vault as it is.
            self.result['changed'] = True
            self.result['vault'] = self._vault_now()
            msg += ('; this run had already %s (ARN %s), a rerun continues from there'
                    % (' and '.join(self.done), self.result['vault'].get('arn')))
        aws.fail_aws(self.module, exc, msg, **self.result)

    def _vault_now(self):
        """The vault result, read without failing (the caller is already failing); {'name'} alone if unreadable."""
        try:
            description = self.client.describe_vault(vaultName=self.name)
            tags = self.client.list_tags_for_vault(vaultName=self.name).get('Tags') or {}
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
            return {'name': self.name, 'arn': None}
        description.pop('ResponseMetadata', None)
        return vault_result(self.name, description, tags)

    def describe(self):
        """The DescribeVault response, or None when the vault does not exist."""
        response, _missing = self.call('describe', 'describe_vault', expected=('ResourceNotFoundException',))
        if response is not None:
            response.pop('ResponseMetadata', None)
        return response

    def list_tags(self):
        response, _missing = self.call('list the tags of', 'list_tags_for_vault')
        return dict(response.get('Tags') or {})

    def run(self):
        description = self.describe()
        if self.module.params['state'] == 'absent':
            self.absent(description)
        else:
            self.present(description)
        return self.result

    def _finish(self, before, after, vault):
        self.result['vault'] = vault
        if self.module._diff:
            self.result['diff'] = {'before': before, 'after': after}

    def present(self, description):
        check = self.module.check_mode
        exists = description is not None
        current = self.list_tags() if exists else {}
        to_set, to_unset, tags_after = plan_tags(current, self.tags, self.purge_tags)
        if self.tags is not None:
            problem = too_many_tags(tags_after, self.tags)
            if problem:
                self.module.fail_json(msg=problem, **self.result)
        changed = not exists or bool(to_set) or bool(to_unset)
        if not check:
            if not exists:
                self.call('create', 'create_vault')
                self.done.append('created the vault')
            # Remove first: Glacier counts the tags of a vault against a limit, so make room before adding.
            if to_unset:
                self.call('remove tags from', 'remove_tags_from_vault', TagKeys=to_unset)
                self.done.append('removed tag%s %s' % ('' if len(to_unset) == 1 else 's', ', '.join(to_unset)))
            if to_set:
                self.call('add tags to', 'add_tags_to_vault', Tags=to_set)
                self.done.append('set tag%s %s' % ('' if len(to_set) == 1 else 's', ', '.join(sorted(to_set))))
            self.result['changed'] = changed
            if changed:
                # Report what the service holds now, not what was asked for.
                description = self.describe()
                if description is None:
                    self.module.fail_json(msg='vault %s was changed but DescribeVault no longer finds it' % self.name, **self.result)
                tags_after = self.list_tags()
        self.result['changed'] = changed
        self._finish(diff_state(self.name, exists, current), diff_state(self.name, True, tags_after),
                     vault_result(self.name, description, tags_after))

    def absent(self, description):
        if description is None:
            self._finish(diff_state(self.name, False, {}), diff_state(self.name, False, {}), {})
            return
        current = self.list_tags()
        vault = vault_result(self.name, description, current)
        count = description.get('NumberOfArchives') or 0
        if count > 0:
            self.module.fail_json(msg=not_empty_message(self.name, count, description.get('LastInventoryDate')),
                                  vault=vault, **self.result)
        if not self.module.check_mode:
            _response, refused = self.call('delete', 'delete_vault', expected=('InvalidParameterValueException',))
            if refused is not None:
                if is_not_empty_refusal(refused):
                    self.module.fail_json(msg=refused_message(self.name, error_message(refused)), vault=vault, **self.result)
                self.module.fail_json_aws(refused, msg='cannot delete vault %s' % self.name, vault=vault, **self.result)
        self.result['changed'] = True
        self._finish(diff_state(self.name, True, current), diff_state(self.name, False, {}), {})


def run_vault(module):
    return Vault(module).run()
