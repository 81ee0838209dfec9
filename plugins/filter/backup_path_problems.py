# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: backup_path_problems
short_description: The paths of each backup set of the backup role that are missing
version_added: 0.1.0
author:
  - coldvault.glacier maintainers (@coldvault)
description:
  - Reads the results of an M(ansible.builtin.stat) loop over the paths of the backup sets (items
    C([set, path]), as C(subelements('paths')) makes them) and says, per set, which paths do not exist or could
    not be looked up.
  - The C(coldvault.glacier.backup) role fails such a set with this message before packing anything, and backs
    up the other sets.
options:
  _input:
    description:
      - The C(results) of the stat loop. Each has C(item) (the set and the path) and C(stat.exists), or C(msg)
        when the path could not be looked up (the loop must not fail on it, C(failed_when=false)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Look for the paths of every set
  ansible.builtin.stat:
    path: "{{ item.1 }}"
    get_checksum: false
  loop: "{{ backup_sets | subelements('paths') }}"
  register: path_stats
  failed_when: false

- name: Show the sets that cannot be backed up
  ansible.builtin.debug:
    msg: "{{ path_stats.results | coldvault.glacier.backup_path_problems }}"
"""

RETURN = r"""
_value:
  description:
    - Set name to the list of its problems, each a message that starts with C(paths) and names the path. Sets
      whose paths all exist are not in it.
  type: dict
"""

import json


def _quoted(value):
    return json.dumps(value, ensure_ascii=False)


def backup_path_problems(results):
    """{set name: [problem, ...]} for the paths that the stat results show missing or unreadable."""
    problems = {}
    for result in results or []:
        backup_set, path = result['item']
        stat = result.get('stat')
        if stat is None:
            problem = 'paths: %s cannot be looked up: %s' % (_quoted(path), result.get('msg') or 'stat failed')
        elif not stat.get('exists'):
            problem = 'paths: %s does not exist' % _quoted(path)
        else:
            continue
        problems.setdefault(backup_set['name'], []).append(problem)
    return problems


class FilterModule(object):
    """The backup_path_problems filter."""

    def filters(self):
        return {'backup_path_problems': backup_path_problems}
