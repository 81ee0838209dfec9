# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: backup_set_problems
short_description: Everything wrong with the backup sets of the backup role, each problem named
version_added: 0.1.0
author:
  - coldvault.glacier maintainers (@coldvault)
description:
  - Checks the backup sets of the C(coldvault.glacier.backup) role (its O(_input) is C(backup_sets) completed with
    the defaults of a set) for what its argument spec cannot express, and lists every problem found. Each starts
    with the index and name of its set, C(backup_sets[1] "docs"), then names the option and says what is wrong.
  - A set name is 1-100 characters of C(a-z), C(A-Z), C(0-9), C(_), C(-) and C(.), not starting with C(.), and
    unique. Paths are absolute and outside the staging directory and the directory of the facts file, which are
    never backed up. The compression is known, and no exclude pattern is empty.
  - The role fails with all of them in one message before it reads, builds or sends anything.
options:
  _input:
    description: The backup sets, dicts with C(name), C(paths), C(exclude) and C(compression).
    type: list
    elements: dict
    required: true
  staging_dir:
    description: The staging directory of the backups (C(backup_config.staging_dir)).
    type: str
    required: true
  facts_file:
    description: The catalog (C(backup_config.facts_file)); its directory is never backed up.
    type: str
    required: true
  compressions:
    description: The names of the known compressions.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Check every backup set at once
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "coldvault.glacier.backup: {{ problems | join('; ') }}"
    quiet: true
  vars:
    problems: >-
      {{ backup_sets | coldvault.glacier.backup_set_problems(staging_dir='/var/tmp/backup',
         facts_file='/etc/ansible/facts.d/glacier.fact', compressions=['gzip', 'xz', 'zstd', 'none']) }}
"""

RETURN = r"""
_value:
  description: The problems, in the order of the sets; empty when there is none.
  type: list
  elements: str
"""

import json
import posixpath
import re

NAME_CHARACTERS = re.compile(r'[A-Za-z0-9_.-]')
NAME_LIMIT = 100


def quoted(value):
    """A value as JSON shows it, so that spaces, quotes and empty strings are visible in a message."""
    return json.dumps(value, ensure_ascii=False)


def name_problems(name):
    if not isinstance(name, str) or not name:
        return ['name: missing']
    problems = []
    bad = []
    for character in name:
        if not NAME_CHARACTERS.match(character) and character not in bad:
            bad.append(character)
    if bad:
        problems.append('name: only a-z, A-Z, 0-9, "_", "-" and "." are allowed (the name names the archives and the '
                        'staged file), not %s' % ', '.join(quoted(c) for c in bad))
    if name.startswith('.'):
        problems.append('name: must not start with "."')
    if len(name) > NAME_LIMIT:
        problems.append('name: %d characters, at most %d are allowed' % (len(name), NAME_LIMIT))
    return problems


def _private(staging_dir, facts_file):
    """The directories that are never backed up, with the option that names each."""
    facts_dir = posixpath.dirname(facts_file.rstrip('/'))
    return [(posixpath.normpath(staging_dir), 'backup_config.staging_dir'),
            (posixpath.normpath(facts_dir), 'the directory of backup_config.facts_file')]


def path_problems(paths, private):
    if not paths:
        return ['paths: list at least one path']
    problems = []
    for path in paths:
        if not isinstance(path, str) or not path.startswith('/'):
            problems.append('paths: %s is not an absolute path' % quoted(path))
            continue
        normal = posixpath.normpath(path)
        for directory, option in private:
            if normal == directory or normal.startswith(directory.rstrip('/') + '/'):
                problems.append('paths: %s is inside %s (%s), which is never backed up'
                                % (quoted(path), option, directory))
    return problems


def backup_set_problems(sets, staging_dir, facts_file, compressions):
    """Every problem of ``sets``, each prefixed with the set's index and name."""
    private = _private(staging_dir, facts_file)
    first = {}
    problems = []
    for index, backup_set in enumerate(sets or []):
        name = backup_set.get('name')
        found = name_problems(name)
        if isinstance(name, str):
            if name in first:
                found.append('name: backup_sets[%d] has the same name (each set is one name in the catalog and the '
                             'vault)' % first[name])
            first.setdefault(name, index)
        found += path_problems(backup_set.get('paths'), private)
        if backup_set.get('compression') not in compressions:
            found.append('compression: %s is not one of %s' % (quoted(backup_set.get('compression')), ', '.join(compressions)))
        if backup_set.get('change_detection', 'metadata') not in ('metadata', 'content'):
            found.append('change_detection: %s is not one of metadata, content' % quoted(backup_set.get('change_detection')))
        if any(not pattern for pattern in backup_set.get('exclude') or []):
            found.append('exclude: an empty pattern')
        problems += ['backup_sets[%d] %s: %s' % (index, quoted(name), problem) for problem in found]
    return problems


class FilterModule(object):
    """The backup_set_problems filter."""

    def filters(self):
        return {'backup_set_problems': backup_set_problems}
