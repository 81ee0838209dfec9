# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare the Allow actions of each policy in docs/iam.md with the IAM actions of the operations the endpoint
counted: check_policies.py DOCS_IAM_MD PHASES_JSON. Exits 1 naming every action missing from or extra in a policy.

PHASES_JSON is a list of {"policy": "bucket-backup", "service": "s3", "requests": {operation: count},
"versioned": bool, "locked": bool}: one per scenario the integration target ran. The operations come from the
endpoint; only the operation-to-action table below is written by hand, from the AWS Service Authorization
Reference (Amazon S3 and Amazon S3 Glacier).
"""

import json
import re
import sys

# S3 operation -> the action it needs; with a version id (versioned buckets: the catalog records one and the
# modules ask for that version) -> the *Version action instead.
S3_ACTIONS = {
    'HeadBucket': ('s3:ListBucket', None),
    'ListObjectsV2': ('s3:ListBucket', None),
    'PutObject': ('s3:PutObject', None),
    'CreateMultipartUpload': ('s3:PutObject', None),
    'UploadPart': ('s3:PutObject', None),
    'CompleteMultipartUpload': ('s3:PutObject', None),
    'ListParts': ('s3:ListMultipartUploadParts', None),
    'AbortMultipartUpload': ('s3:AbortMultipartUpload', None),
    'HeadObject': ('s3:GetObject', 's3:GetObjectVersion'),
    'GetObject': ('s3:GetObject', 's3:GetObjectVersion'),
    'RestoreObject': ('s3:RestoreObject', None),
    'DeleteObject': ('s3:DeleteObject', 's3:DeleteObjectVersion'),
}
# HeadObject shows Object Lock fields only to a caller with these (prune must see them on a locked bucket).
LOCK_READERS = ('s3:GetObjectRetention', 's3:GetObjectLegalHold')
# Operations of the version-less kind even on a versioned bucket (they name no version).
VERSIONLESS_ON_VERSIONED = ('PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload')


def actions_of(phase):
    needed = set()
    for operation, count in phase['requests'].items():
        if not count:
            continue
        if phase['service'] == 'glacier':
            needed.add('glacier:%s' % operation)  # Glacier's actions are its operation names
            continue
        if operation not in S3_ACTIONS:
            raise SystemExit('check_policies.py: no IAM action known for S3 operation %s; add it to S3_ACTIONS'
                             % operation)
        plain, versioned = S3_ACTIONS[operation]
        needed.add(versioned if phase.get('versioned') and versioned and operation not in VERSIONLESS_ON_VERSIONED
                   else plain)
        if operation == 'HeadObject' and phase.get('locked'):
            needed.update(LOCK_READERS)
    return needed


def policies_in(markdown):
    """{name: set of Allow actions} of the ```json blocks that follow a <!-- policy: NAME --> comment."""
    found = {}
    for name, block in re.findall(r'<!-- policy: ([a-z-]+) -->\s*```json\n(.*?)```', markdown, re.S):
        allowed = set()
        for statement in json.loads(block)['Statement']:
            if statement['Effect'] == 'Allow':
                actions = statement['Action']
                allowed.update([actions] if isinstance(actions, str) else actions)
        found[name] = allowed
    return found


def main():
    with open(sys.argv[1], encoding='utf-8') as fh:
        policies = policies_in(fh.read())
    with open(sys.argv[2], encoding='utf-8') as fh:
        phases = json.load(fh)
    needed = {}
    for phase in phases:
        needed.setdefault(phase['policy'], set()).update(actions_of(phase))
    problems = []
    for name in sorted(set(needed) | set(policies)):
        if name not in policies:
            problems.append('%s: no such policy in docs/iam.md' % name)
            continue
        if name not in needed:
            problems.append('%s: no scenario of the target exercises it' % name)
            continue
        missing, extra = sorted(needed[name] - policies[name]), sorted(policies[name] - needed[name])
        if missing:
            problems.append('%s lacks %s, which the modules call' % (name, ', '.join(missing)))
        if extra:
            problems.append('%s allows %s, which no module call needs' % (name, ', '.join(extra)))
        print('%s: %s' % (name, ', '.join(sorted(needed[name]))))
    if problems:
        print('\n'.join(problems))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
