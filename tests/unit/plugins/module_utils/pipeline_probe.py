# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A probe for the engines' part pipeline (transfer.run_pipeline): counts the parts hashed, holds every send."""

import threading


class HeldSends:
    """Wraps a hash function and a send function: every send waits until run_until() has seen what it waits for."""

    def __init__(self):
        self.changed = threading.Condition()
        self.hashed = []
        self.sending = 0
        self.most_sending = 0
        self._release = threading.Event()

    def counting(self, real_hash):
        def counted(*args):
            digest = real_hash(*args)
            with self.changed:
                self.hashed.append(args[1])  # the offset
                self.changed.notify_all()
            return digest
        return counted

    def held(self, real_send):
        def held_send(**kwargs):
            with self.changed:
                self.sending += 1
                self.most_sending = max(self.most_sending, self.sending)
                self.changed.notify_all()
            self._release.wait()  # set by run_until, also when its check fails
            try:
                return real_send(**kwargs)
            finally:
                with self.changed:
                    self.sending -= 1
        return held_send

    def run_until(self, upload, hashed, sending):
        """Run ``upload()`` in a thread until ``hashed`` parts are hashed while ``sending`` sends are held, then let
        every send go; returns what ``upload()`` returned. The sends are held, so that state lasts: no clock races."""
        result = []
        worker = threading.Thread(target=lambda: result.append(upload()))
        worker.start()
        try:
            with self.changed:
                assert self.changed.wait_for(lambda: len(self.hashed) == hashed and self.sending == sending, 60), (
                    self.hashed, self.sending)
        finally:
            self._release.set()
        worker.join(60)
        assert not worker.is_alive(), 'the upload did not end once its sends were let go'
        return result[0]
