# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""coldvault.glacier.catalog_info: the latest archives and the history, filtered, from a migrated fixture."""

import os
import shutil

import pytest

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils.catalog_info import run_catalog_info

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'format1.fact')
ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/fixture-backups'
WEST = 'arn:aws:glacier:eu-west-1:123456789012:vaults/fixture-backups'
OTHER = 'arn:aws:glacier:us-east-1:123456789012:vaults/fixture-other'
BUCKET = 'arn:aws:s3:::fixture-bucket'


class Failed(Exception):
    pass


class Module:
    def __init__(self, **params):
        self.params = dict({'facts_file': None, 'vault': None, 'bucket': None, 'region': None, 'name': None,
                            'history': False}, **params)

    def fail_json(self, msg, **result):
        raise Failed(msg)


@pytest.fixture
def facts(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    shutil.copy(FIXTURE, path)
    catalog.update(path, lambda d: None)  # migrated
    return path


def listed(result):
    return [(a['target'], a['name']) for a in result['archives']]


def test_everything_latest_only(facts, tmp_path):
    result = run_catalog_info(Module(facts_file=facts))
    assert result['format'] == 2 and result['records'] == 13 and not result['changed']
    assert result['history_file'] == str(tmp_path / 'glacier.history.sqlite')
    assert listed(result)[:2] == [(WEST, '/srv/db.tar.gz'), (ARN, '/tmp/cat-fixture/w/db.dump')]
    assert (BUCKET, 'etc') in listed(result) and len(listed(result)) == 7
    assert all('history' not in a for a in result['archives'])
    gone = next(a for a in result['archives'] if a['target'] == OTHER and a['name'] == 'gone')
    assert gone['latest'] is None and (gone['versions'], gone['deleted_versions']) == (2, 2)
    assert [u['name'] for u in result['uploads']] == ['/tmp/cat-fixture/w/big.img']
    assert sorted(j['key'] for j in result['jobs'])[0] == 'inventory' and len(result['jobs']) == 2


def test_filters_and_history(facts):
    result = run_catalog_info(Module(facts_file=facts, vault='fixture-backups', name='etc', history=True))
    assert listed(result) == [(ARN, 'etc')]
    etc = result['archives'][0]
    assert [bool(r.get('deleted_at')) for r in etc['history']] == [True, True, False]
    assert etc['latest'] == etc['history'][-1] and etc['latest']['fingerprint'] == 'fp-1'
    assert result['uploads'] == []  # only uploads of that name
    assert listed(run_catalog_info(Module(facts_file=facts, vault='fixture-backups', region='eu-west-1'))) == [
        (WEST, '/srv/db.tar.gz')]
    bucket = run_catalog_info(Module(facts_file=facts, bucket='fixture-bucket', history=True))
    assert listed(bucket) == [(BUCKET, 'etc')] and len(bucket['archives'][0]['history']) == 3
    assert bucket['archives'][0]['bucket'] == 'fixture-bucket' and bucket['archives'][0]['kind'] == 'bucket'
    assert run_catalog_info(Module(facts_file=facts, vault='nope'))['archives'] == []


def test_a_format_1_file_is_read_without_being_written(tmp_path):
    path = str(tmp_path / 'glacier.fact')
    shutil.copy(FIXTURE, path)
    result = run_catalog_info(Module(facts_file=path, name='etc', history=True))
    assert result['format'] == 2 and result['records'] == 13 and result['history_file'] is None
    assert len(result['archives'][0]['history']) == 3
    assert os.listdir(str(tmp_path)) == ['glacier.fact']


def test_errors_name_the_option(tmp_path):
    with pytest.raises(Failed, match='facts_file: .* is a directory'):
        run_catalog_info(Module(facts_file=str(tmp_path)))
    bad = tmp_path / 'bad.fact'
    bad.write_text('{"format": 9}')
    with pytest.raises(Failed, match='facts_file: .*written by a newer coldvault.glacier'):
        run_catalog_info(Module(facts_file=str(bad)))
    missing = run_catalog_info(Module(facts_file=str(tmp_path / 'none.fact')))
    assert missing['archives'] == [] and missing['records'] == 0 and missing['history_file'] is None
