# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The retention policy of coldvault.glacier.prune (no network)."""

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.coldvault.glacier.plugins.module_utils.catalog import parse_time
from ansible_collections.coldvault.glacier.plugins.module_utils.prune import select_expired

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0, tzinfo=datetime.timezone.utc)


def record(n, days_ago, deleted=False):
    uploaded = (NOW - datetime.timedelta(days=days_ago)).strftime('%Y-%m-%dT%H:%M:%SZ')
    rec = {'archive_id': 'id%d' % n, 'uploaded_at': uploaded}
    if deleted:
        rec['deleted_at'] = uploaded
    return rec


def ids(records):
    return [r['archive_id'] for r in records]


def test_keeps_the_newest_n_and_deletes_older_ones():
    history = [record(i, 10 - i) for i in range(6)]  # id0 oldest ... id5 newest
    assert ids(select_expired(history, keep=2, min_age_days=0, now=NOW)) == ['id0', 'id1', 'id2', 'id3']


def test_never_deletes_an_archive_younger_than_min_age():
    history = [record(0, 100), record(1, 50), record(2, 5), record(3, 1)]
    assert ids(select_expired(history, keep=1, min_age_days=30, now=NOW)) == ['id0', 'id1']


def test_already_deleted_records_are_neither_chosen_nor_counted_as_kept():
    history = [record(0, 9), record(1, 8, deleted=True), record(2, 7), record(3, 6)]
    assert ids(select_expired(history, keep=2, min_age_days=0, now=NOW)) == ['id0']


def test_unknown_upload_time_is_kept():
    history = [{'archive_id': 'old'}, record(1, 3), record(2, 1)]
    assert ids(select_expired(history, keep=1, min_age_days=0, now=NOW)) == ['id1']


@given(ages=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=30),
       keep=st.integers(min_value=0, max_value=10), min_age=st.integers(min_value=0, max_value=200))
@settings(max_examples=300, deadline=None)
def test_latest_is_never_deleted_and_policy_holds(ages, keep, min_age):
    history = [record(i, age) for i, age in enumerate(sorted(ages, reverse=True))]
    expired = select_expired(history, keep=keep, min_age_days=min_age, now=NOW)
    assert history[-1] not in expired
    assert len(history) - len(expired) >= min(len(history), max(keep, 1))
    for rec in expired:
        assert NOW - parse_time(rec['uploaded_at']) >= datetime.timedelta(days=min_age)
