# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.catalog_info does: read the catalog (facts file and history) and report it, filtered.

Reads only; talks to no AWS service. The history comes from the history store (catalog_history.py), one query
per name, so a filtered call stays cheap however long the history is.
"""

import os

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog


def _targets(data, p):
    """(kind, arn, entry) of the targets the filters keep, by kind and ARN."""
    for kind, section in sorted(catalog.SECTIONS.items(), reverse=True):  # vaults first
        if p['vault'] is not None and kind != 'vault' or p['bucket'] is not None and kind != 'bucket':
            continue
        for arn, entry in sorted(data.get(section, {}).items()):
            wanted = p['vault'] if kind == 'vault' else p['bucket']
            if wanted is not None and entry.get(kind) != wanted:
                continue
            if p['region'] is not None and entry.get('region') != p['region']:
                continue
            yield kind, arn, entry


def _archive(data, kind, arn, target, name, shown, with_history):
    item = {'target': arn, 'kind': kind, kind: target.get(kind), 'region': target.get('region'), 'name': name,
            'latest': catalog.latest(data, arn, name),
            'versions': shown.get('versions'), 'deleted_versions': shown.get('deleted_versions')}
    if with_history:
        item['history'] = catalog.history(data, arn, name)
    return item


def run_catalog_info(module):
    p = module.params
    facts_file = os.path.abspath(p['facts_file'])
    result = {'changed': False, 'facts_file': facts_file, 'history_file': None, 'format': None, 'records': 0,
              'archives': [], 'uploads': [], 'jobs': []}
    if os.path.isdir(facts_file):
        module.fail_json(msg='facts_file: %s is a directory' % facts_file, **result)
    try:
        data = catalog.read(facts_file)
    except catalog.CatalogError as e:
        module.fail_json(msg='facts_file: %s' % e, **result)
    history = catalog.history_file(facts_file, data)
    result.update(history_file=history if os.path.exists(history) else None, format=data['format'],
                  records=(data.get('history') or {}).get('records', 0))
    if not result['records'] and data.history_store is not None:
        result['records'] = data.history_store.count()  # a format-1 file, not migrated yet
    for kind, arn, target in _targets(data, p):
        archives = target.get('archives') or {}
        names = [p['name']] if p['name'] is not None else sorted(archives)
        for name in names:
            if name in archives:
                result['archives'].append(_archive(data, kind, arn, target, name, archives[name], p['history']))
        for key in ('uploads', 'jobs'):
            for name, value in sorted((target.get(key) or {}).items()):
                if key == 'uploads' and p['name'] is not None and name != p['name']:
                    continue
                result[key].append(dict(value, target=arn, **({'name': name} if key == 'uploads' else {'key': name})))
    return result
