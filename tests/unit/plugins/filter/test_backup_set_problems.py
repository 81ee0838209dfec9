# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_set_problems filter: every problem named, with its set and option."""

from ansible_collections.coldvault.glacier.plugins.filter.backup_set_problems import backup_set_problems

COMPRESSIONS = ['gzip', 'xz', 'zstd', 'none']


def problems(*sets, staging='/var/tmp/stage', facts='/etc/ansible/facts.d/glacier.fact'):
    full = [dict({'exclude': [], 'compression': 'gzip'}, **s) for s in sets]
    return backup_set_problems(full, staging_dir=staging, facts_file=facts, compressions=COMPRESSIONS)


def test_good_sets_have_no_problem():
    assert problems({'name': 'etc', 'paths': ['/etc']}, {'name': 'www_2.0-x', 'paths': ['/srv/www', '/var']},
                    {'name': 'root', 'paths': ['/']}) == []


def test_a_duplicate_name_points_at_the_first_set_of_that_name():
    assert problems({'name': 'a', 'paths': ['/a']}, {'name': 'b', 'paths': ['/b']}, {'name': 'a', 'paths': ['/c']}) == [
        'backup_sets[2] "a": name: backup_sets[0] has the same name (each set is one name in the catalog and the vault)']


def test_names_list_the_characters_that_are_not_allowed():
    allowed = 'only a-z, A-Z, 0-9, "_", "-" and "." are allowed (the name names the archives and the staged file)'
    assert problems({'name': 'a/b', 'paths': ['/a']}) == ['backup_sets[0] "a/b": name: %s, not "/"' % allowed]
    assert problems({'name': '$(rm -rf ~)', 'paths': ['/a']}) == [
        'backup_sets[0] "$(rm -rf ~)": name: %s, not "$", "(", " ", "~", ")"' % allowed]
    assert problems({'name': 'ünï', 'paths': ['/a']}) == ['backup_sets[0] "ünï": name: %s, not "ü", "ï"' % allowed]


def test_names_that_start_with_a_dot_are_empty_or_too_long():
    assert problems({'name': '.x', 'paths': ['/a']}) == ['backup_sets[0] ".x": name: must not start with "."']
    assert problems({'name': '', 'paths': ['/a']}) == ['backup_sets[0] "": name: missing']
    assert problems({'name': 'n' * 101, 'paths': ['/a']}) == [
        'backup_sets[0] "%s": name: 101 characters, at most 100 are allowed' % ('n' * 101)]
    assert problems({'name': 'n' * 100, 'paths': ['/a']}) == []


def test_paths_must_be_absolute_and_outside_the_private_directories():
    paths = ['rel/x', '', '/var/tmp/stage', '/var/tmp/stage/old/', '/var/tmp/stagex', '/etc/ansible/facts.d/other',
             '/etc/ansible', '/var/tmp//stage/../stage/y']
    found = problems({'name': 's', 'paths': paths})
    assert found == [
        'backup_sets[0] "s": paths: "rel/x" is not an absolute path',
        'backup_sets[0] "s": paths: "" is not an absolute path',
        'backup_sets[0] "s": paths: "/var/tmp/stage" is inside backup_config.staging_dir (/var/tmp/stage), which is '
        'never backed up',
        'backup_sets[0] "s": paths: "/var/tmp/stage/old/" is inside backup_config.staging_dir (/var/tmp/stage), which '
        'is never backed up',
        'backup_sets[0] "s": paths: "/etc/ansible/facts.d/other" is inside the directory of backup_config.facts_file '
        '(/etc/ansible/facts.d), which is never backed up',
        'backup_sets[0] "s": paths: "/var/tmp//stage/../stage/y" is inside backup_config.staging_dir (/var/tmp/stage), '
        'which is never backed up',
    ]
    # A trailing slash on the staging directory changes nothing.
    assert problems({'name': 's', 'paths': ['/st/a']}, staging='/st/') == [
        'backup_sets[0] "s": paths: "/st/a" is inside backup_config.staging_dir (/st), which is never backed up']


def test_no_paths_an_unknown_compression_and_an_empty_exclude():
    assert problems({'name': 's', 'paths': [], 'compression': 'bz2', 'exclude': ['*.log', '']}) == [
        'backup_sets[0] "s": paths: list at least one path',
        'backup_sets[0] "s": compression: "bz2" is not one of gzip, xz, zstd, none',
        'backup_sets[0] "s": exclude: an empty pattern',
    ]


def test_every_problem_of_every_set_in_order():
    found = problems({'name': 'a', 'paths': ['x']}, {'name': 'a/', 'paths': []}, {'name': 'a', 'paths': ['/ok']})
    assert [p.split(': ')[0] for p in found] == ['backup_sets[0] "a"', 'backup_sets[1] "a/"', 'backup_sets[1] "a/"',
                                                 'backup_sets[2] "a"']
