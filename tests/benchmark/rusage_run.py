# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command and write its wall time and CPU time (its own and its descendants') as JSON to a file.

transfer_bench.py makes Ansible start the module's interpreter through this, so the module's process can be
told apart from the Ansible controller that runs it: rusage_run.py OUT_JSON COMMAND [ARGS...]
"""

import json
import resource
import subprocess
import sys
import time


def main():
    out = sys.argv[1]
    started = time.monotonic()
    code = subprocess.call(sys.argv[2:])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, 'w', encoding='utf-8') as fh:
        json.dump({'seconds': time.monotonic() - started, 'cpu_seconds': usage.ru_utime + usage.ru_stime,
                   'peak_rss_mib': usage.ru_maxrss / 1024.0}, fh)
    return code


if __name__ == '__main__':
    sys.exit(main())
