# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # The lock_timeout option of the modules that write the catalog.
    DOCUMENTATION = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for a lock that another run on this host holds on the catalog O(facts_file). That is the
        catalog's own lock, held for the moment of each write, and, for M(coldvault.glacier.upload), the lock of an
        O(coldvault.glacier.upload#module:name) that another run is uploading to the same vault.
      - When the time is up the task fails, naming the facts file and who holds the lock (process id, host, module
        and since when), and changes nothing.
      - V(0) gives up at once.
    type: int
    default: 60
"""
