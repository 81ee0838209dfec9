# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This doc fragment is private to coldvault.glacier: it may change in any release. Do not use it elsewhere.


class ModuleDocFragment:
    # The attributes every module of the collection declares; each module sets its own support levels.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
  action_group:
    description: Use C(group/coldvault.glacier.aws) or C(group/coldvault.glacier.glacier) in C(module_defaults) to set
      defaults for this module (C(group/coldvault.glacier.aws) also covers every amazon.aws and community.aws module).
    support: full
    membership:
      - coldvault.glacier.aws
      - coldvault.glacier.glacier
"""

    # For modules that have no diff to show.
    NO_DIFF = r"""
options: {}
attributes:
  diff_mode:
    support: none
"""
