# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldvault.glacier.backup_scan as Ansible runs it: bad options are refused by name before anything is written, and
a run returns one decision per set."""

import json
import os
import shutil

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.coldvault.glacier.plugins.modules import backup_scan


def run_module(args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            backup_scan.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def args(tmp_path, **changes):
    base = {'vault': 'backups', 'staging_dir': str(tmp_path / 'staging'), 'facts_file': str(tmp_path / 'facts.d' / 'g.fact'),
            'sets': [{'name': 'docs', 'paths': [str(tmp_path / 'docs')]}]}
    base.update(changes)
    return base


@pytest.mark.parametrize('changes, message', [
    ({'staging_dir': 'relative/staging'}, "staging_dir: must be an absolute path, got 'relative/staging'"),
    ({'sets': [{'name': 'docs', 'paths': ['srv/docs']}]}, "sets[0] 'docs': paths: must be absolute, got 'srv/docs'"),
    ({'bucket': 'b1'}, 'parameters are mutually exclusive: vault|bucket'),
    ({'sets': [{'name': 'docs', 'paths': ['/tmp/x/facts.d/sub']}], 'facts_file': '/tmp/x/facts.d/g.fact'},
     "sets[0] 'docs': paths: '/tmp/x/facts.d/sub' is inside /tmp/x/facts.d, which is never backed up"),
    ({'sets': [{'name': 'docs', 'paths': ['/srv'], 'compression': 'rar'}]}, 'compression'),
])
def test_bad_options_are_refused_by_name_and_nothing_is_written(tmp_path, capsys, changes, message):
    code, result = run_module(args(tmp_path, **changes), capsys)
    assert code == 1 and result['failed'] and message in result['msg']
    assert not os.path.exists(tmp_path / 'staging')


@pytest.mark.skipif(not (shutil.which('tar') and shutil.which('find')), reason='needs GNU tar and find')
def test_a_run_decides_each_set_and_changes_nothing(tmp_path, capsys):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'a.txt').write_text('a')
    sets = [{'name': 'docs', 'paths': [str(tmp_path / 'docs')]}, {'name': 'gone', 'paths': [str(tmp_path / 'gone')]}]
    code, result = run_module(args(tmp_path, sets=sets, _ansible_check_mode=True), capsys)
    assert code == 0 and result['changed'] is False and result['target_arn'] is None
    assert [(s['name'], s['status']) for s in result['sets']] == [('docs', 'changed'), ('gone', 'failed')]
    assert result['sets'][1]['error'] == 'paths: "%s" does not exist' % (tmp_path / 'gone')
    assert os.path.exists(tmp_path / 'staging' / 'docs.manifest') and not os.path.exists(tmp_path / 'facts.d')
