#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Date archive records of a catalog back: how a test gets old archives without waiting for them to age.

ages FACTS ARN NAME AGES   the records of NAME, oldest first, dated AGES[i] days ago (AGES: a JSON list, one per
                           record)
ids FACTS ARN DAYS ID...   the records with these ids (a vault's archive ids, a bucket's keys) dated DAYS days ago

Prints {"ids": [...]}, the ids dated back, in the order dated. The modules take an archive's age from its record's
uploaded_at. The change goes through the collection's own catalog.update(), under the catalog's lock: the history
store's row and record, and the facts file's entry that shows the newest record, stay one consistent catalog.
"""

import datetime
import json
import os
import sys


def catalog_module():
    """The collection's catalog code, from the collections path ansible-test exports."""
    for base in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
        if os.path.isdir(os.path.join(base, 'ansible_collections', 'coldvault', 'glacier')):
            sys.path.insert(0, base)
            break
    from ansible_collections.coldvault.glacier.plugins.module_utils import catalog  # pylint: disable=import-outside-toplevel
    return catalog


def days_ago(days):
    return (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)).strftime('%Y-%m-%dT%H:%M:%SZ')


def backdate(facts, arn, choose):
    """choose(name, position, record) -> days back or None; every chosen record is rewritten."""
    catalog = catalog_module()
    field = catalog.id_field(arn)
    dated = []

    def mutate(data):
        store = data.history_store
        # pylint: disable=protected-access
        # No public call rewrites a stored record (the modules never do): the test reaches into the store's rows.
        rows = store._run('SELECT seq, name, position, record FROM records WHERE target = ? ORDER BY name, position, seq',
                          (arn,))
        names = set()
        for seq, name, position, text in rows:
            record = json.loads(text)
            days = choose(name, position, record)
            if days is None:
                continue
            record['uploaded_at'] = days_ago(days)
            store._run('UPDATE records SET uploaded_at = ?, record = ? WHERE seq = ?',
                       (record['uploaded_at'], json.dumps(record, sort_keys=True, separators=(',', ':')), seq))
            store.changed = True
            names.add(name)
            dated.append(record[field])
        for name in names:
            catalog._refresh(data, arn, name)  # the facts file's entry shows the newest record: dated too

    catalog.update(facts, mutate)
    return dated


def main(argv):
    if len(argv) == 5 and argv[0] == 'ages':
        facts, arn, wanted, ages = argv[1], argv[2], argv[3], json.loads(argv[4])
        positions = {}

        def choose(name, position, record):
            if name != wanted:
                return None
            index = positions.setdefault(name, 0)
            positions[name] += 1
            return ages[index] if index < len(ages) else None
        dated = backdate(facts, arn, choose)
        if len(dated) != len(ages):
            sys.exit('backdate: %s has %d records, %d ages given' % (wanted, len(dated), len(ages)))
    elif len(argv) >= 5 and argv[0] == 'ids':
        facts, arn, days, ids = argv[1], argv[2], int(argv[3]), set(argv[4:])
        field = catalog_module().id_field(arn)
        dated = backdate(facts, arn, lambda name, position, record: days if record.get(field) in ids else None)
        if set(dated) != ids:
            sys.exit('backdate: found %d of the %d ids' % (len(set(dated)), len(ids)))
    else:
        sys.exit(__doc__)
    print(json.dumps({'ids': dated}))


if __name__ == '__main__':
    main(sys.argv[1:])
