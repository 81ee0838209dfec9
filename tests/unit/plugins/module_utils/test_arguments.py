# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared argument specs: the catalog's mode in octal or symbolic form, the wait options, the deprecated alias."""

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.coldvault.glacier.plugins.module_utils import arguments


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = params

    def fail_json(self, msg, **kwargs):
        raise Failed(msg)


@pytest.mark.parametrize('value, expected', [('0600', 0o600), ('640', 0o640), (0o644, 0o644), ('u=rw,g=,o=', 0o600),
                                             ('u=rw,g=r', 0o640), ('a=r', 0o444)])
def test_facts_file_mode_accepts_octal_and_symbolic(tmp_path, value, expected):
    module = FakeModule(facts_file_mode=value, facts_file=str(tmp_path / 'new.fact'))
    assert arguments.facts_file_mode(module) == expected


def test_symbolic_mode_applies_to_an_existing_catalog(tmp_path):
    path = tmp_path / 'c.fact'
    path.write_text('{}')
    path.chmod(0o640)
    assert arguments.facts_file_mode(FakeModule(facts_file_mode='g-r', facts_file=str(path))) == 0o600


@pytest.mark.parametrize('value', ['rw-all', 'u=rwz', '0800', '', True, 99999, 'x=r'])
def test_bad_facts_file_mode_names_the_option(tmp_path, value):
    with pytest.raises(Failed, match='^facts_file_mode: '):
        arguments.facts_file_mode(FakeModule(facts_file_mode=value, facts_file=str(tmp_path / 'c.fact')))


def test_mode_is_a_deprecated_alias_of_facts_file_mode():
    result = ArgumentSpecValidator(arguments.catalog(with_mode=True)).validate({'mode': '0640'})
    assert result.validated_parameters['facts_file_mode'] == '0640'
    deprecations = result._deprecations  # pylint: disable=protected-access
    assert len(deprecations) == 1 and "'mode'" in deprecations[0]['msg'] and deprecations[0]['version'] == '0.3.0'
    assert 'facts_file_mode' not in arguments.catalog()


@pytest.mark.parametrize('params, expected', [
    ({'wait_timeout': 0, 'poll_interval': 1}, None),
    ({'wait_timeout': -1, 'poll_interval': 1}, 'wait_timeout: '),
    ({'wait_timeout': 10, 'poll_interval': 0}, 'poll_interval: '),
])
def test_validate_wait(params, expected):
    problem = arguments.validate_wait(params)
    assert (problem is None) if expected is None else problem.startswith(expected)
