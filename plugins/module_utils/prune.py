# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module_utils file is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.
"""What coldvault.glacier.prune does: choose the archives a retention policy lets go, delete them, mark them.

A deleted archive keeps its record (and id) in the catalog's history, with ``deleted_at``; the latest archive of
a name is never deleted, whatever the policy says.
"""

import datetime

try:
    import botocore.exceptions
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.coldvault.glacier.plugins.module_utils import catalog
from ansible_collections.coldvault.glacier.plugins.module_utils import aws
from ansible_collections.coldvault.glacier.plugins.module_utils import arguments
from ansible_collections.coldvault.glacier.plugins.module_utils.glacier import api as glacier


def select_expired(history, keep, min_age_days, now):
    """Records of ``history`` (oldest first) that the policy deletes.

    Kept: the newest ``keep`` live archives (at least one: the latest is never deleted), and any archive younger
    than ``min_age_days`` or of unknown age. Already deleted records are not chosen again.
    """
    live = [r for r in history if not r.get('deleted_at')]
    candidates = live[:-max(keep, 1)]
    cutoff = now - datetime.timedelta(days=min_age_days)
    expired = []
    for record in candidates:
        uploaded = catalog.parse_time(record.get('uploaded_at'))
        if uploaded is not None and uploaded <= cutoff:
            expired.append(record)
    return expired


def _brief(record):
    return {k: record.get(k) for k in ('archive_id', 'uploaded_at', 'size', 'tree_hash')}


def run_prune(module):
    p = module.params
    for option, value in (('vault', p['vault']),):
        problem = glacier.invalid_vault_name(option, value)
        if problem:
            module.fail_json(msg=problem)
    if p['keep'] < 1:
        module.fail_json(msg='keep: must be at least 1 (the latest archive of a name is never deleted), got %d' % p['keep'])
    if p['min_age_days'] < 0:
        module.fail_json(msg='min_age_days: must not be negative, got %d' % p['min_age_days'])
    if catalog.invalid_lock_timeout(p.get('lock_timeout')):
        module.fail_json(msg=catalog.invalid_lock_timeout(p['lock_timeout']))
    mode = arguments.facts_file_mode(module)
    result = {'changed': False, 'vault': p['vault'], 'name': p['name'], 'deleted': [], 'kept': []}
    try:
        data = catalog.read(p['facts_file'])
    except catalog.CatalogError as e:
        module.fail_json(msg='facts_file: %s' % e, **result)

    client = glacier.client(module)
    vault = glacier.describe_vault(module, client, p['vault'], none_if_missing_in_check_mode=True)
    if vault is None:  # check mode, vault not created yet: nothing to delete
        return result
    arn = vault['VaultARN']
    result['vault_arn'] = arn
    history = catalog.history(data, arn, p['name'])
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = select_expired(history, p['keep'], p['min_age_days'], now)
    expired_ids = {r['archive_id'] for r in expired}
    result['kept'] = [_brief(r) for r in history if not r.get('deleted_at') and r['archive_id'] not in expired_ids]
    result['deleted'] = [_brief(r) for r in expired]
    result['changed'] = bool(expired)
    if module.check_mode or not expired:
        return result

    for record in expired:
        try:
            client.delete_archive(vaultName=p['vault'], archiveId=record['archive_id'])
        except botocore.exceptions.ClientError as e:
            # An archive the vault no longer has is as deleted as it gets: record it so.
            if aws.error_code(e) != 'ResourceNotFoundException':
                aws.fail_aws(module, e, 'deleting archive %s of %s failed' % (record['archive_id'], p['name']))
        except botocore.exceptions.BotoCoreError as e:
            aws.fail_aws(module, e, 'deleting archive %s of %s failed' % (record['archive_id'], p['name']))
        # One catalog update per archive: an interrupted run never forgets what it already deleted.
        try:
            catalog.update(p['facts_file'], lambda d, aid=record['archive_id']: catalog.mark_deleted(d, arn, aid, name=p['name']),
                           mode=mode, atomic_move=module.atomic_move, **catalog.lock_options(module))
        except catalog.CatalogError as e:
            module.fail_json(msg='facts_file: %s (archive %s was deleted from the vault)' % (e, record['archive_id']), **result)
    return result
