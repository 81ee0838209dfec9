# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each module's argument spec, as AnsibleAWSModule receives it: required options, choices, exclusions, aliases."""

import importlib

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

MODULES = ('upload', 'vault', 'retrieve', 'inventory', 'prune', 'migrate')


class Captured(Exception):
    def __init__(self, kwargs):
        super().__init__('captured')
        self.kwargs = kwargs


def spec_of(name, monkeypatch):
    """The keyword arguments the module's main() gives AnsibleAWSModule."""
    module = importlib.import_module('ansible_collections.coldvault.glacier.plugins.modules.%s' % name)

    def capture(**kwargs):
        raise Captured(kwargs)
    monkeypatch.setattr(module, 'AnsibleAWSModule', capture)
    with pytest.raises(Captured) as captured:
        module.main()
    return captured.value.kwargs


def validate(kwargs, params):
    spec = kwargs['argument_spec']
    validator = ArgumentSpecValidator(spec, mutually_exclusive=kwargs.get('mutually_exclusive'),
                                      required_one_of=kwargs.get('required_one_of'),
                                      required_by=kwargs.get('required_by'),
                                      required_together=kwargs.get('required_together'),
                                      required_if=kwargs.get('required_if'))
    return validator.validate(params)


@pytest.mark.parametrize('name', MODULES)
def test_every_module_supports_check_mode(name, monkeypatch):
    assert spec_of(name, monkeypatch)['supports_check_mode'] is True


@pytest.mark.parametrize('name, params', [
    ('upload', {'vault': 'v', 'src': '/f'}),
    ('vault', {'name': 'v'}),
    ('retrieve', {'vault': 'v', 'name': 'n', 'dest': '/d'}),
    ('inventory', {'vault': 'v'}),
    ('prune', {'vault': 'v', 'name': 'n', 'keep': 3}),
    ('retrieve', {'bucket': 'b', 'key': 'k', 'dest': '/d'}),
    ('inventory', {'bucket': 'b'}),
    ('prune', {'bucket': 'b', 'name': 'n', 'keep': 3}),
    ('migrate', {'vault': 'v', 'bucket': 'b'}),
])
def test_the_smallest_valid_call_passes_and_facts_file_defaults(name, params, monkeypatch):
    result = validate(spec_of(name, monkeypatch), params)
    assert result.error_messages == []
    if name != 'vault':
        assert result.validated_parameters['facts_file'] == '/etc/ansible/facts.d/glacier.fact'


@pytest.mark.parametrize('name, params, message', [
    ('retrieve', {'vault': 'v', 'dest': '/d'}, 'one of the following is required: archive_id, key, name'),
    ('retrieve', {'vault': 'v', 'dest': '/d', 'name': 'n', 'archive_id': 'a'}, 'mutually exclusive: archive_id|key|name'),
    ('retrieve', {'bucket': 'b', 'dest': '/d', 'name': 'n', 'key': 'k'}, 'mutually exclusive: archive_id|key|name'),
    ('retrieve', {'vault': 'v', 'bucket': 'b', 'dest': '/d', 'name': 'n'}, 'mutually exclusive: vault|bucket'),
    ('retrieve', {'dest': '/d', 'name': 'n'}, 'one of the following is required: vault, bucket'),
    ('prune', {'vault': 'v', 'bucket': 'b', 'name': 'n', 'keep': 1}, 'mutually exclusive: vault|bucket'),
    ('prune', {'name': 'n', 'keep': 1}, 'one of the following is required: vault, bucket'),
    ('retrieve', {'vault': 'v', 'dest': '/d', 'archive_id': 'a', 'version': 1}, 'missing parameter(s) required by'),
    ('retrieve', {'vault': 'v', 'dest': '/d', 'name': 'n', 'overwrite': 'sometimes'}, 'overwrite must be one of'),
    ('upload', {'vault': 'v', 'src': '/f', 'file_change_strategy': 'mtime'}, 'file_change_strategy must be one of'),
    ('prune', {'vault': 'v', 'name': 'n'}, 'missing required arguments: keep'),
    ('inventory', {}, 'one of the following is required: vault, bucket'),
    ('migrate', {'vault': 'v'}, 'missing required arguments: bucket'),
    ('migrate', {'vault': 'v', 'bucket': 'b', 'versions': 'newest'}, 'versions must be one of'),
    ('migrate', {'vault': 'v', 'bucket': 'b', 'tier': 'Cheap'}, 'tier must be one of'),
    ('migrate', {'vault': 'v', 'bucket': 'b', 'storage_class': 'GLACIER_DEEP'}, 'storage_class must be one of'),
])
def test_bad_calls_are_refused_naming_the_option(name, params, message, monkeypatch):
    result = validate(spec_of(name, monkeypatch), params)
    assert any(message in e for e in result.error_messages), result.error_messages


@pytest.mark.parametrize('name', ['upload', 'inventory', 'prune', 'migrate'])
def test_mode_is_the_deprecated_alias_of_facts_file_mode(name, monkeypatch):
    params = {'vault': 'v', 'src': '/f', 'name': 'n', 'keep': 1}
    spec = spec_of(name, monkeypatch)['argument_spec']
    params = {k: v for k, v in params.items() if k in spec}
    if name == 'migrate':
        params['bucket'] = 'b'
    params['mode'] = '0640'
    result = validate(spec_of(name, monkeypatch), params)
    assert result.validated_parameters['facts_file_mode'] == '0640'
    assert any("'mode'" in d['msg'] for d in result._deprecations)  # pylint: disable=protected-access
