"""`check` and `run` on config mistakes a newcomer review found silently accepted or
misplaced: duplicate keys, a string `include:`, a relative `templates_dir`, `backfill:
ALL`, `every: 0s`, no feeds, and rule errors inside block-scalar queries."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import placeholder_feeds, run_cli


@pytest.fixture(autouse=True)
def _feed_files(tmp_path: Path) -> None:
    placeholder_feeds(tmp_path, "feed.xml", "a.xml", "b.xml")


FEED = '  - {url: "file:feed.xml", name: one}\n'
CHANNELS = "channels:\n  console: {type: console}\n"
BACKFILL = "backfill is all, 0 or a duration such as 2d"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def check(path: Path, cwd: Path):
    return run_cli("check", "--config", str(path), cwd=cwd)


def test_a_second_feeds_section_is_an_error_for_check_and_run(tmp_path):
    path = write(
        tmp_path / "monitor.yaml",
        'feeds:\n  - url: "file:a.xml"\nfeeds:\n  - url: "file:b.xml"\n' + CHANNELS,
    )
    result = check(path, tmp_path)
    assert result.returncode == 1, result.stdout
    assert result.stderr.splitlines() == [f"{path}:3:1: duplicate key 'feeds' (first at line 1)"]
    run = run_cli("run", "--once", "--config", str(path), cwd=tmp_path)
    assert run.returncode == 2
    assert f"{path}:3:1: duplicate key 'feeds' (first at line 1)" in run.stderr


def test_duplicate_keys_at_any_depth_and_in_includes(tmp_path):
    write(
        tmp_path / "rules.d" / "a.yaml",
        """\
        rules:
          - name: r
            query: war
            name: r2
        """,
    )
    path = write(
        tmp_path / "monitor.yaml",
        """\
        include: [rules.d/*.yaml]
        feeds:
          - {url: "file:feed.xml", interval: 5m, interval: 1h}
        channels:
          console: {type: console}
          console: {type: console, schedule: "every: 1h"}
        """,
    )
    result = check(path, tmp_path)
    assert result.returncode == 1, result.stdout
    assert result.stderr.splitlines() == [
        f"{path}:3:42: duplicate key 'interval' (first at line 3)",
        f"{path}:6:3: duplicate key 'console' (first at line 5)",
        f"{tmp_path / 'rules.d' / 'a.yaml'}:4:5: duplicate key 'name' (first at line 2)",
    ]


def test_an_anchored_mapping_with_a_duplicate_is_reported_once(tmp_path):
    path = write(
        tmp_path / "monitor.yaml",
        "feeds:\n  - &f {url: 'file:a.xml', tags: [a], tags: [b]}\n  - *f\n" + CHANNELS,
    )
    result = check(path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("duplicate key 'tags'") == 1, result.stderr


def test_include_as_one_string_is_one_glob(tmp_path):
    write(tmp_path / "inc.d" / "a.yaml", 'feeds: [{url: "file:b.xml", name: two}]\n')
    path = write(tmp_path / "monitor.yaml", "include: inc.d/a.yaml\nfeeds:\n" + FEED + CHANNELS)
    result = check(path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok: 2 feeds" in result.stdout
    missing = write(tmp_path / "missing.yaml", "include: inc.d/nothing*.yaml\n")
    result = check(missing, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{missing}:1:10: no file matches 'inc.d/nothing*.yaml'"]


def test_an_empty_include_is_nothing_and_an_empty_glob_is_located(tmp_path):
    path = write(tmp_path / "monitor.yaml", 'include: ""\nfeeds:\n' + FEED + CHANNELS)
    result = check(path, tmp_path)
    assert result.returncode == 0, result.stderr  # include: "${EXTRA:-}" unset: nothing
    listed = write(tmp_path / "listed.yaml", 'include: [""]\nfeeds:\n' + FEED + CHANNELS)
    result = check(listed, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{listed}:1:11: an empty glob includes nothing (is its environment variable set?)"
    ]


def test_include_of_another_type_is_a_located_error(tmp_path):
    path = write(tmp_path / "monitor.yaml", "feeds:\n" + FEED + "include: {a: b.yaml}\n")
    result = check(path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}:3:10: include must be a glob or a list of globs (relative to this file),"
        " not a mapping"
    ]


def test_a_relative_templates_dir_is_relative_to_the_config_file(tmp_path):
    conf = tmp_path / "conf"
    write(conf / "tpl" / "subject.txt.j2", "{{ broken\n")
    path = write(conf / "monitor.yaml", "feeds:\n" + FEED + CHANNELS + "templates_dir: tpl\n")
    result = check(path, tmp_path)  # run from another folder than the config's
    assert result.returncode == 1
    assert f"{conf / 'tpl' / 'subject.txt.j2'}:1:1:" in result.stderr, result.stderr
    assert "templates_dir is not a directory" not in result.stderr


def test_a_template_that_fails_on_a_sparse_story_is_found_at_templates_dir(tmp_path):
    """A story without a date is ordinary (feeds omit it); a template calling
    ``published_time.strftime`` passed ``check`` and failed at send time (analyst
    trial). The trial render has such a story; the error is at the ``templates_dir``
    line, with the template's own line after it."""
    conf = tmp_path / "conf"
    line = '{% for s in stories %}{{ s.published_time.strftime("%H:%M") }} {{ s.title }}\n'
    template = write(conf / "tpl" / "digest.txt.j2", line + "{% endfor %}")
    path = write(conf / "monitor.yaml", "feeds:\n" + FEED + CHANNELS + "templates_dir: tpl\n")
    result = check(path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}:5:16: template {template}:1:1: UndefinedError: 'None' has no attribute 'strftime'"
    ]
    template.write_text(
        "{% for s in stories %}{% if s.published_time %}"
        '{{ s.published_time.strftime("%H:%M") }} {% endif %}{{ s.title }}\n{% endfor %}'
    )
    assert check(path, tmp_path).returncode == 0


def test_a_missing_templates_dir_is_reported_at_its_key_with_the_path_it_names(tmp_path):
    path = write(tmp_path / "td.yaml", "feeds:\n" + FEED + "\ntemplates_dir: nosuchdir\n")
    result = check(path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}:4:16: templates_dir nosuchdir (relative to the config file:"
        f" {tmp_path / 'nosuchdir'}) does not exist"
    ]
    (tmp_path / "afile").write_text("")
    path.write_text(f"feeds:\n{FEED}templates_dir: {tmp_path / 'afile'}\n")
    result = check(path, tmp_path)
    assert result.stderr.splitlines() == [
        f"{path}:3:16: templates_dir {tmp_path / 'afile'} is not a directory"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ALL", "invalid backfill 'ALL': backfill is all, 0 or a duration such as 2d"),
        ("10", "10 is not a duration: write 10s, 10m, 10h or 10d; " + BACKFILL),
        (
            "2 days",
            "invalid duration '2 days': use a number with a unit, e.g. 90s, 10m, 1h, 2d;"
            " backfill is all, 0 or a duration such as 2d",
        ),
    ],
)
def test_a_wrong_backfill_names_every_accepted_form(tmp_path, value, message):
    feed = f'  - {{url: "file:feed.xml", backfill: {value}}}\n'
    path = write(tmp_path / "monitor.yaml", "feeds:\n" + feed)
    result = check(path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{path}:2:38: feeds.0.backfill: {message}"]


def test_every_0s_is_an_error(tmp_path):
    channels = "channels:\n  digest: {type: console, schedule: 'every: 0s'}\n"
    path = write(tmp_path / "monitor.yaml", "feeds:\n" + FEED + channels)
    result = check(path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}:4:37: schedule 'every: 0s': every needs a duration of at least 1s;"
        " to send as soon as alerts arrive, use schedule: immediate"
    ]
    path.write_text("feeds:\n" + FEED + channels.replace("0s", "1s"))
    assert check(path, tmp_path).returncode == 0


def test_a_config_without_feeds_is_a_warning(tmp_path):
    path = write(tmp_path / "monitor.yaml", CHANNELS)
    result = check(path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:1:1: warning: no feeds configured: run would poll nothing"
    ]
    assert "1 warning(s)" in result.stdout
    path.write_text("feeds: []\n" + CHANNELS)
    result = check(path, tmp_path)
    assert result.stderr.splitlines() == [
        f"{path}:1:1: warning: no feeds configured: run would poll nothing"
    ]


@pytest.mark.parametrize("style", [">-", "|", ">", "|-"])
def test_a_rule_error_in_a_block_scalar_is_at_its_line(tmp_path, style):
    rules = f"rules:\n  - name: r\n    query: {style}\n      Kim AND\n      foo:bar\n"
    path = write(tmp_path / "bs.yaml", "feeds:\n" + FEED + rules)
    result = check(path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:7:7: rule 'r': unknown field 'foo'"), result.stderr


@pytest.mark.parametrize(
    ("query", "column"),
    [
        ('"Kim AND \\"a b\\"~x"', 28),  # each \" is two characters written, one read
        ("'Kim AND \"a b\"~x'", 26),
        ('Kim AND "a b"~x', 25),  # plain: the value's column plus the offset
    ],
)
def test_a_rule_error_in_a_one_line_query_is_at_its_column(tmp_path, query, column):
    rules = f"rules:\n  - name: r\n    query: {query}\n"
    path = write(tmp_path / "q.yaml", "feeds:\n" + FEED + rules)
    result = check(path, tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:5:{column}: rule 'r': a phrase's \"~\""), result.stderr


def test_a_rule_error_in_an_included_block_scalar_is_at_its_line(tmp_path):
    write(
        tmp_path / "rules.d" / "a.yaml",
        "rules:\n  - name: r\n    query: >\n      Kim AND\n        (Moon OR\n",
    )
    path = write(tmp_path / "monitor.yaml", "include: [rules.d/*]\nfeeds:\n" + FEED)
    result = check(path, tmp_path)
    assert result.returncode == 1
    # the query is "Kim AND\n  (Moon OR\n": its '(' (query column 11) is at 5:9
    included = tmp_path / "rules.d" / "a.yaml"
    assert result.stderr.startswith(f"{included}:5:9: rule 'r': unclosed '('"), result.stderr
