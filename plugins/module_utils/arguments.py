# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""Argument specs shared by several modules; their documentation is plugins/doc_fragments/catalog.py."""

import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.coldvault.glacier.plugins.module_utils.files import parse_mode

DEFAULT_FACTS_FILE = '/etc/ansible/facts.d/glacier.fact'


def catalog(with_mode=False):
    """facts_file and lock_timeout, and facts_file_mode (``mode`` its deprecated alias) for modules that set it."""
    spec = {'facts_file': dict(type='path', default=DEFAULT_FACTS_FILE), 'lock_timeout': dict(type='int', default=60)}
    if with_mode:
        spec['facts_file_mode'] = dict(type='raw', default='0600', aliases=['mode'], deprecated_aliases=[
            dict(name='mode', version='0.3.0', collection_name='coldvault.glacier')])
    return spec


def vault():
    return {'vault': dict(type='str', required=True)}


def target():
    """vault or bucket; pass TARGET_RULES to AnsibleAWSModule with it."""
    return {'vault': dict(type='str'), 'bucket': dict(type='str')}


TARGET_RULES = {'mutually_exclusive': [('vault', 'bucket')], 'required_one_of': [('vault', 'bucket')]}


def wait():
    return {
        'wait': dict(type='bool', default=True),
        'wait_timeout': dict(type='int', default=43200),
        'poll_interval': dict(type='int', default=60),
    }


def validate_wait(params):
    """An error message naming the wait option that is out of range, or None."""
    if params['wait_timeout'] < 0:
        return 'wait_timeout: must not be negative, got %d' % params['wait_timeout']
    if params['poll_interval'] < 1:
        return 'poll_interval: must be at least 1 second, got %d' % params['poll_interval']
    return None


class _NewFile:
    st_mode = stat.S_IFREG


def facts_file_mode(module):
    """The catalog's permissions from facts_file_mode (octal or symbolic); fail naming the option if invalid."""
    value = module.params['facts_file_mode']
    mode = parse_mode(value)
    if mode is not None:
        return mode
    if isinstance(value, str) and value and not value.isdigit():
        try:
            path_stat = os.stat(module.params['facts_file'])
        except OSError:
            path_stat = _NewFile()
        try:
            # ansible.builtin.file's own parser of chmod's symbolic modes.
            return AnsibleModule._symbolic_mode_to_octal(path_stat, value)  # pylint: disable=protected-access
        except ValueError:
            pass
    module.fail_json(msg='facts_file_mode: %r is not a file mode in octal ("0600") or symbolic ("u=rw,g=,o=") form'
                         % (value,))
    return None
