"""``facility actions`` and ``facility surveys`` as a manager scripts them.

The installed ``facility`` command runs as a subprocess against a real database (SQLite, and
PostgreSQL when ``FACILITY_TEST_DATABASE_URL`` is set) that a real API server (uvicorn on a
free port) serves at the same time: what the CLI writes, the API must read back identically,
and the next month's review must carry the action. Requesters answer surveys through the API,
as they would from the console.

Bad input (unknown site and id, malformed dates and months, empty, oversized and hostile text,
broken question files) must be one ``error:`` line on stderr, exit 1, nothing on stdout and not
one row changed; what the option parser refuses exits 2, also changing nothing. Starting the
interpreter costs about two seconds (imports), so the long tables of bad input, and the less
common steps of the happy paths, call the console script's own entry point,
``facility.app.cli.main``, in this process; a sample of each still runs as a subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from maintenance.assets.register import ensure_site
from maintenance.review.actions import create_action
from maintenance.review.surveys import create_survey
from maintenance.shared.db import connect, upgrade
from tests.e2e._cli import Outcome, run_main
from tests.integration._work_order_server import ApiServer, running_api

FACILITY = str(Path(sys.executable).with_name("facility"))
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TABLES = ("improvement_actions", "surveys", "survey_responses", "sites")

QUESTIONS_YAML = """\
questions:
  - {key: comfort, text: "How comfortable is your office?", kind: rating}
  - {key: channel, text: "How do you report a problem?", kind: choice,
     choices: [app, phone, email]}
  - {key: comment, text: "Anything else?", kind: text}
"""


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    return {**base, "FACILITY_DATA_DIR": str(data_dir), "FACILITY_DATABASE_URL": database_url}


def run(
    env: dict[str, str], *args: str | bytes, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The installed ``facility`` as a subprocess."""
    return subprocess.run(
        [FACILITY, *args], capture_output=True, timeout=120, env=env, input=stdin, check=False
    )


def json_lines(output: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in output.splitlines() if line.strip()]


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the commands could touch, to prove a refusal changed nothing."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: [
                    tuple(row)
                    for row in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
                ]
                for table in TABLES
            }
    finally:
        engine.dispose()


@dataclass
class Cli:
    """``facility`` on one database: as a subprocess (``run``, ``ok``) or in-process (``main``)."""

    url: str
    env: dict[str, str]
    dir: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def ok(self, *args: str) -> list[dict[str, Any]]:
        """Run the installed command, which must succeed; its JSON Lines."""
        result = run(self.env, *args)
        assert result.returncode == 0, result.stderr.decode()
        return json_lines(result.stdout)

    def main(self, *args: str) -> Outcome:
        """``facility.app.cli.main``, the console script's entry point, in this process."""
        return run_main(self.monkeypatch, self.capsys, self.env, *args)

    def main_ok(self, *args: str) -> list[dict[str, Any]]:
        outcome = self.main(*args)
        assert outcome.code == 0, outcome.stderr
        return json_lines(outcome.stdout)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return snapshot(self.url)


def without_state(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "state"}


# -- the happy paths, on both databases, with the API reading the same rows ----------------------
@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    """The real API over ``database_url`` with site ``hq`` on Berlin time."""
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        server.clock.now = NOW
        with server.sessions() as session:
            ensure_site(session, code="hq", name="Headquarters", timezone="Europe/Berlin")
            session.commit()
        yield server


@pytest.fixture
def cli(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    data_dir = tmp_path / "data"
    return Cli(database_url, environment(database_url, data_dir), data_dir, monkeypatch, capsys)


def test_an_action_is_added_listed_and_done_and_the_next_review_shows_it_done_on_time(
    api: ApiServer, cli: Cli
) -> None:
    now = ("--now", "2026-11-25T09:00:00Z")
    [coil] = cli.ok(
        *("actions", "add", "--site", "hq", "--title", "Clean AHU-1 coil", "--owner", "tech"),
        *("--due", "2026-12-15", "--month", "2026-11", "--note", "delta-T low\nsince week 44"),
        *now,
    )
    assert coil["site"] == "hq" and coil["period"] == "2026-11" and coil["status"] == "open"
    assert coil["due_on"] == "2026-12-15" and coil["state"] == "open"
    assert coil["description"] == "delta-T low\nsince week 44" and coil["created_by"] == "cli"
    late = run(
        cli.env,
        *("actions", "add", "--site", "hq", "--title", "Relabel valves", "--owner", "tech2"),
        *("--due", "2026-11-20", "--actor", "manager", *now),
    )
    assert late.returncode == 0, late.stderr
    [valves] = json_lines(late.stdout)
    # the default month is the site's current one; a past due day is recorded, with a warning
    assert valves["period"] == "2026-11" and valves["state"] == "overdue"
    assert b"already past" in late.stderr and valves["created_by"] == "manager"

    listed = cli.ok("actions", "list", "--site", "hq", *now)
    assert [r["id"] for r in listed] == [valves["id"], coil["id"]]  # earliest due first
    with api.client("manager") as manager:
        for row in listed:
            from_api = manager.get(f"/api/v1/improvement-actions/{row['id']}")
            assert from_api.status_code == 200 and from_api.json() == without_state(row)

    [done] = cli.ok(
        "actions", "done", str(coil["id"]), "--note", "coil cleaned",
        "--now", "2026-12-10T10:00:00Z",
    )  # fmt: skip
    assert done["status"] == "done" and done["state"] == "done on time"
    assert done["outcome"] == "coil cleaned" and done["closed_at"] == "2026-12-10T10:00:00Z"
    assert [(r["id"], r["state"]) for r in cli.ok("actions", "list", "--status", "done")] == [
        (coil["id"], "done on time")
    ]

    # the rarer steps, through the same entry point in-process
    assert [r["id"] for r in cli.main_ok("actions", "list", "--overdue", *now)] == [valves["id"]]
    assert cli.main_ok("actions", "show", str(coil["id"])) == [done]
    [dropped] = cli.main_ok("actions", "drop", str(valves["id"]), "--note", "replaced", *now)
    assert dropped["status"] == "dropped" and dropped["closed_at"] is not None
    [reopened] = cli.main_ok("actions", "reopen", str(valves["id"]), *now)
    assert reopened["status"] == "open" and reopened["closed_at"] is None
    assert reopened["state"] == "overdue" and reopened["outcome"] == "replaced"
    again = cli.main("actions", "reopen", str(valves["id"]), *now)
    assert again.code == 0 and "was already open" in again.stderr
    [edited] = cli.main_ok("actions", "edit", str(valves["id"]), "--due", "2027-01-15", *now)
    assert edited["due_on"] == "2027-01-15" and edited["state"] == "open"

    # the December review carries November's decisions with their state
    api.clock.now = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
    with api.client("manager") as manager:
        review = manager.get("/api/v1/reviews/monthly", params={"site": "hq", "month": "2026-12"})
        assert review.status_code == 200, review.text
        previous = review.json()["actions"]["from_previous"]
        assert {line["action"]["id"]: line["state"] for line in previous} == {
            coil["id"]: "done on time",
            valves["id"]: "open",
        }
        from_api = manager.get(f"/api/v1/improvement-actions/{valves['id']}").json()
    assert from_api == without_state(edited)


def test_a_survey_is_created_answered_through_the_api_and_its_results_match_the_api(
    api: ApiServer, cli: Cli, tmp_path: Path
) -> None:
    questions = tmp_path / "questions.yaml"
    questions.write_text(QUESTIONS_YAML, encoding="utf-8")
    [survey] = cli.ok(
        *("surveys", "create", "--site", "hq", "--period", "2026-11", "--questions"),
        *(str(questions), "--question", "How clean are the toilets?"),
        *("--now", "2026-11-02T08:00:00Z"),
    )
    assert survey["title"] == "Satisfaction 2026-11" and survey["anonymous"] is False
    assert (survey["opens_on"], survey["closes_on"]) == ("2026-11-01", "2026-11-30")
    assert [q["key"] for q in survey["questions"]] == ["comfort", "channel", "comment", "q4"]
    assert survey["questions"][3] == {
        "key": "q4",
        "text": "How clean are the toilets?",
        "kind": "rating",
    }
    answers = {
        "requester": {"comfort": 4, "channel": "app", "comment": "Lift is slow", "q4": 2},
        "requester2": {"comfort": 5, "channel": "app"},
        "manager": {"comfort": 3, "channel": "email", "q4": 4},
    }
    for user, answer in answers.items():
        with api.client(user) as client:
            sent = client.post(
                f"/api/v1/surveys/{survey['id']}/responses", json={"answers": answer}
            )
            assert sent.status_code == 201, sent.text

    [results] = cli.ok("surveys", "results", str(survey["id"]))
    with api.client("manager") as manager:
        assert manager.get(f"/api/v1/surveys/{survey['id']}/results").json() == results
        assert manager.get(f"/api/v1/surveys/{survey['id']}").json() == survey
    by_key = {q["key"]: q for q in results["questions"]}
    assert results["responses"] == 3
    assert by_key["comfort"]["mean"] == 4.0 and by_key["comfort"]["count"] == 3
    assert by_key["comfort"]["distribution"] == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}
    assert by_key["channel"]["distribution"] == {"app": 2, "phone": 0, "email": 1}
    assert by_key["comment"]["texts"] == ["Lift is slow"]
    assert by_key["q4"]["mean"] == 3.0 and by_key["q4"]["count"] == 2

    [anonymous] = cli.main_ok(
        *("surveys", "create", "--site", "hq", "--opens", "2026-11-20", "--closes", "2026-12-05"),
        *("--title", "Heating check", "--question", "Warm enough?", "--anonymous"),
    )
    assert anonymous["anonymous"] is True and anonymous["title"] == "Heating check"
    with api.client("requester") as client:
        for _ in range(2):  # anonymous: no name stored, so a second answer is not recognised
            sent = client.post(
                f"/api/v1/surveys/{anonymous['id']}/responses", json={"answers": {"q1": 2}}
            )
            assert sent.status_code == 201, sent.text
    [heating] = cli.main_ok("surveys", "results", str(anonymous["id"]))
    assert heating["responses"] == 2 and heating["questions"][0]["mean"] == 2.0
    listed = cli.main_ok("surveys", "list", "--site", "hq")
    assert [s["id"] for s in listed] == [anonymous["id"], survey["id"]]  # newest first
    assert cli.main_ok("surveys", "show", str(survey["id"])) == [survey]


def test_results_show_hostile_answers_escaped_on_the_terminal_and_intact_in_json(
    api: ApiServer, cli: Cli
) -> None:
    created = run(
        cli.env,
        *("surveys", "create", "--site", "hq", "--period", "2026-11", "--questions", "-"),
        stdin=b"[{key: comment, text: 'Anything else?', kind: text}]",
    )
    assert created.returncode == 0, created.stderr
    survey_id = orjson.loads(created.stdout)["id"]
    hostile = "[bold]loud[/] \x1b[2J\u202egnp.exe"
    with api.client("requester") as client:
        sent = client.post(
            f"/api/v1/surveys/{survey_id}/responses", json={"answers": {"comment": hostile}}
        )
        assert sent.status_code == 201, sent.text
    result = cli.main("surveys", "results", str(survey_id))
    assert result.code == 0, result.stderr
    assert orjson.loads(result.stdout)["questions"][0]["texts"] == [hostile]
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr
    assert "[bold]loud[/] \\u001b[2J\\u202egnp.exe" in result.stderr


# -- bad input: one error line, exit 1, nothing changed ------------------------------------------
def seed_one_of_each(url: str) -> None:
    """Site hq (Berlin time), action 1 and survey 1: what the bad input must leave alone."""
    engine, sessions = connect(url)
    upgrade(engine)
    with sessions() as session:
        ensure_site(session, code="hq", timezone="Europe/Berlin")
        session.commit()
        create_action(
            session,
            site="hq",
            period="2026-11",
            title="Clean AHU-1 coil",
            owner="tech",
            due_on=date(2026, 12, 15),
            actor="manager",
            now=NOW,
        )
        create_survey(
            session,
            site="hq",
            title="November",
            questions=[{"key": "comfort", "text": "Comfortable?", "kind": "rating"}],
            opens_on=date(2026, 11, 1),
            closes_on=date(2026, 11, 30),
            anonymous=False,
            actor="manager",
            now=NOW,
        )
    engine.dispose()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded SQLite database, built once and copied for each test."""
    path = tmp_path_factory.mktemp("improvement-template") / "facility.db"
    seed_one_of_each(f"sqlite:///{path}")
    return path


@pytest.fixture
def copy(
    template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """The CLI on this test's own copy of the seeded SQLite database."""
    shutil.copyfile(template, tmp_path / "facility.db")
    url = f"sqlite:///{tmp_path / 'facility.db'}"
    return Cli(url, environment(url, tmp_path), tmp_path, monkeypatch, capsys)


def assert_refused(outcome: Outcome, message: str) -> None:
    assert outcome.code == 1, outcome.stderr
    assert outcome.stderr.startswith("error: ") and outcome.stderr.count("\n") == 1, outcome.stderr
    assert message in outcome.stderr
    assert outcome.stdout == b""


ADD = ("actions", "add", "--site", "hq", "--owner", "tech", "--due", "2026-12-15")
CREATE = ("surveys", "create", "--site", "hq", "--period", "2026-11")
LONG = "x" * 5001

BAD_INPUT: list[tuple[tuple[str, ...], str]] = [
    # actions add
    ((*ADD[:3], "nowhere", *ADD[4:], "--title", "t"), "site 'nowhere' does not exist"),
    ((*ADD[:3], "[/]", *ADD[4:], "--title", "t"), "site '[/]' does not exist"),
    ((*ADD[:3], "[bold]x", *ADD[4:], "--title", "t"), "site '[bold]x' does not exist"),
    ((*ADD[:3], "s" * 300, *ADD[4:], "--title", "t"), "does not exist"),
    ((*ADD[:3], "hq' OR '1'='1", *ADD[4:], "--title", "t"), "does not exist"),
    ((*ADD[:7], "2026-02-30", "--title", "t"), "--due '2026-02-30' is not a date YYYY-MM-DD"),
    ((*ADD[:7], "20261215", "--title", "t"), "--due '20261215' is not a date"),
    ((*ADD[:7], "next friday", "--title", "t"), "is not a date YYYY-MM-DD"),
    ((*ADD[:7], "1999-12-31", "--title", "t"), "not between 2000 and 2099"),
    ((*ADD, "--title", "t", "--month", "2026-13"), "is not YYYY-MM"),
    ((*ADD, "--title", "t", "--month", "1999-12"), "is not YYYY-MM"),
    ((*ADD, "--title", "   "), "title is empty"),
    ((*ADD, "--title", "x" * 201), "title is 201 characters; keep it to 200"),
    ((*ADD[:5], "o" * 65, *ADD[6:], "--title", "t"), "owner is 65 characters"),
    ((*ADD[:5], " ", *ADD[6:], "--title", "t"), "owner is empty"),
    ((*ADD, "--title", "t", "--note", LONG), "description is 5001 characters"),
    ((*ADD, "--title", "x\x1b[2Jy"), "--title contains the control character U+001B"),
    ((*ADD, "--title", "two\nlines"), "--title contains the control character U+000A"),
    ((*ADD, "--title", "t", "--note", "bell\x07"), "--note contains the control character U+0007"),
    ((*ADD, "--title", "t", "--note", "c1\x9b31m"), "--note contains the control character U+009B"),
    ((*ADD[:5], "evil\u202egnp", *ADD[6:], "--title", "t"), "--owner contains the control"),
    ((*ADD, "--title", "caf\udce9"), "--title is not valid UTF-8"),  # what Python makes of b"\xe9"
    ((*ADD, "--title", "t", "--actor", "a" * 65), "--actor must be 1 to 64 characters"),
    ((*ADD, "--title", "t", "--actor", "\x1b"), "--actor contains the control"),
    ((*ADD, "--title", "t", "--now", "yesterday"), "is not ISO 8601"),
    # actions list, show, done, drop, reopen, edit
    (("actions", "list", "--site", "nowhere"), "site 'nowhere' does not exist"),
    (("actions", "list", "--month", "26-11"), "is not YYYY-MM"),
    (("actions", "list", "--overdue", "--status", "done"), "--overdue lists open actions only"),
    (("actions", "show", "999"), "improvement action 999 does not exist"),
    (("actions", "done", "999"), "improvement action 999 does not exist"),
    (("actions", "drop", "999", "--note", "n"), "improvement action 999 does not exist"),
    (("actions", "reopen", "999"), "improvement action 999 does not exist"),
    (("actions", "done", "1", "--note", LONG), "outcome is 5001 characters"),
    (("actions", "done", "1", "--note", "\x1b]0;pwned\x07"), "--note contains the control"),
    (("actions", "done", "1", "--now", "2026-13-01T00:00:00Z"), "is not ISO 8601"),
    (("actions", "edit", "1"), "nothing to change"),
    (("actions", "edit", "1", "--due", "2026-1-5"), "--due '2026-1-5' is not a date"),
    (("actions", "edit", "1", "--title", ""), "title is empty"),
    (("actions", "edit", "1", "--owner", "ok", "--title", "x" * 201), "title is 201"),
    (("actions", "edit", "999", "--owner", "tech2"), "improvement action 999 does not exist"),
    # surveys create
    (("surveys", "create", "--site", "hq", "--question", "q?"), "say when the survey runs"),
    ((*CREATE, "--opens", "2026-11-01", "--question", "q?"), "not both"),
    (("surveys", "create", "--site", "hq", "--opens", "2026-11-01", "--question", "q"), "say when"),
    ((*CREATE[:5], "2026-00", "--question", "q?"), "is not YYYY-MM"),
    (
        (*CREATE[:4], "--opens", "2026-11-31", "--closes", "2026-12-01", "--question", "q"),
        "--opens '2026-11-31' is not a date",
    ),
    (
        (*CREATE[:4], "--opens", "2026-11-05", "--closes", "2026-11-01", "--question", "q"),
        "before opens_on 2026-11-05; swap them",
    ),
    (
        (*CREATE[:4], "--opens", "2026-01-01", "--closes", "2027-06-01", "--question", "q"),
        "at most a year",
    ),
    ((*CREATE[:3], "nowhere", *CREATE[4:], "--question", "q?"), "site 'nowhere' does not exist"),
    (CREATE, "give at least one --question"),
    ((*CREATE, *[a for n in range(21) for a in ("--question", f"q{n}?")]), "1 to 20 questions"),
    ((*CREATE, "--question", "q" * 301), "is 301 characters; keep it to 300"),
    ((*CREATE, "--question", "   "), "question #1 text is empty"),
    ((*CREATE, "--question", "ok", "--question", "\x1b[31m"), "--question #2 contains the control"),
    ((*CREATE, "--question", "q", "--title", "t" * 201), "title is 201 characters"),
    ((*CREATE, "--question", "q", "--title", "\x7f"), "--title contains the control"),
    ((*CREATE, "--question", "q", "--actor", ""), "--actor must be 1 to 64"),
    ((*CREATE, "--questions", "/nonexistent/q.yaml"), "cannot read questions file"),
    # surveys show, results, list
    (("surveys", "results", "999"), "survey 999 does not exist"),
    (("surveys", "show", "999"), "survey 999 does not exist"),
    (("surveys", "list", "--site", "nowhere"), "site 'nowhere' does not exist"),
]


def test_every_bad_input_case_is_a_distinct_command_line() -> None:
    assert len({args for args, _ in BAD_INPUT}) == len(BAD_INPUT)


@pytest.mark.parametrize(("args", "message"), BAD_INPUT, ids=lambda v: repr(v)[:60])
def test_bad_input_is_one_error_line_exit_1_and_changes_nothing(
    copy: Cli, args: tuple[str, ...], message: str
) -> None:
    before = copy.snapshot()
    assert_refused(copy.main(*args), message)
    assert copy.snapshot() == before


QUESTION_FILES: list[tuple[bytes, str]] = [
    (b"- [unclosed", "line 1"),
    (b"comfort: How comfortable?", "must hold a list of questions"),
    (b"", "must hold a list of questions"),
    (b"[]", "give at least one --question"),
    (b"- {key: Comfort, text: x, kind: rating}", "key 'Comfort' must be lower-case"),
    (b"- {key: a, text: x, kind: stars}", "kind 'stars' is not one of"),
    (b"- {key: a, text: 7, kind: rating}", "question #1 text must be text, got int"),
    (b"- {key: a, text: x, kind: rating}\n- {key: a, text: y, kind: text}", "used twice"),
    (b"- {key: a, text: x, kind: choice, choices: [only]}", "2 to 10 choices"),
    (b"- {key: a, text: x, kind: choice, choices: [a, a]}", "different from each other"),
    (b"- {key: a, text: x, kind: rating, choices: [a, b]}", "only a choice question"),
    (b"- {key: a, text: x, kind: rating, weight: 3}", "unknown field(s) ['weight']"),
    (b"- just a string", "must be an object with key, text and kind"),
    (b'- {key: a, text: "x\\0y", kind: rating}', "control character U+0000"),
    (b'- {key: a, text: "x\\e[2J", kind: rating}', "control character U+001B"),
    (b'- {key: a, text: "x\\u202ey", kind: rating}', "control character U+202E"),
    (b"- {key: a, text: caf\xe9, kind: rating}", "is not UTF-8 text"),
    (b"- {key: a, text: x, kind: rating}\n" + b"#" * 64_000, "is over 64000 bytes"),
    (b"[" * 5000 + b"]" * 5000, "questions file"),
    (b"- &a {key: a, text: x, kind: rating}\n- *a", "used twice"),
    (b"- !!python/object/apply:os.system [echo pwned]", "questions file"),
]


@pytest.mark.parametrize(("content", "message"), QUESTION_FILES, ids=lambda v: repr(v)[:40])
def test_a_bad_questions_file_is_one_error_line_and_creates_nothing(
    copy: Cli, content: bytes, message: str
) -> None:
    path = copy.dir / "questions.yaml"
    path.write_bytes(content)
    before = copy.snapshot()
    assert_refused(copy.main(*CREATE, "--questions", str(path)), message)
    assert copy.snapshot() == before


@pytest.mark.parametrize(
    "args",
    [
        ("actions", "done", "abc"),
        ("actions", "done", "0"),
        ("actions", "show", str(2**31)),
        ("actions", "show", "1.5"),
        ("actions", "drop"),
        ("actions", "add", "--site", "hq", "--title", "t"),
        ("actions", "list", "--status", "finished"),
        ("actions", "list", "--limit", "0"),
        ("actions", "list", "--limit", "many"),
        ("surveys", "results", "-5"),
        ("surveys", "results", "1", "--texts", "-1"),
        ("surveys", "list", "--limit", "10001"),
        ("surveys", "create", "--period", "2026-11", "--question", "q"),
    ],
)
def test_malformed_options_are_refused_by_the_parser_and_change_nothing(
    copy: Cli, args: tuple[str, ...]
) -> None:
    before = copy.snapshot()
    outcome = copy.main(*args)
    assert outcome.code == 2 and outcome.stdout == b"", outcome.stderr
    assert copy.snapshot() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*ADD[:3], "[/]", *ADD[4:], "--title", "t"), b"error: site '[/]' does not exist"),
        ((*ADD, "--title", b"caf\xe9"), b"error: --title is not valid UTF-8"),
        (("actions", "done", "999"), b"error: improvement action 999 does not exist"),
        (("surveys", "results", "999"), b"error: survey 999 does not exist"),
    ],
)
def test_the_installed_command_refuses_with_one_line_and_exit_1(
    copy: Cli, args: tuple[str | bytes, ...], message: bytes
) -> None:
    before = copy.snapshot()
    result = run(copy.env, *args)
    assert result.returncode == 1 and result.stdout == b"", result.stderr
    assert result.stderr.startswith(message) and result.stderr.count(b"\n") == 1
    assert copy.snapshot() == before


def test_the_installed_command_exits_2_on_a_malformed_id(copy: Cli) -> None:
    before = copy.snapshot()
    result = run(copy.env, "actions", "done", "abc")
    assert result.returncode == 2 and result.stdout == b"" and b"Invalid value" in result.stderr
    assert copy.snapshot() == before


def test_oversized_and_hostile_input_changes_nothing_on_either_database(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Where the database type matters (PostgreSQL refuses over-long values and huge ids
    instead of storing them), every refusal is still ours: one line, exit 1."""
    seed_one_of_each(database_url)
    cli = Cli(database_url, environment(database_url, tmp_path), tmp_path, monkeypatch, capsys)
    before = cli.snapshot()
    cases = [
        ((*ADD, "--title", "t", "--actor", "a" * 65), "--actor must be 1 to 64"),
        ((*ADD[:3], "s" * 300, *ADD[4:], "--title", "t"), "does not exist"),
        ((*ADD[:5], "o" * 65, *ADD[6:], "--title", "t"), "owner is 65 characters"),
        ((*ADD, "--title", "x" * 201), "title is 201 characters"),
        ((*ADD, "--title", "t\x00"), "U+0000"),
        (("actions", "done", str(2**31 - 1)), f"improvement action {2**31 - 1} does not exist"),
        (("actions", "list", "--site", "s" * 300), "does not exist"),
        ((*CREATE, "--question", "q", "--title", "t" * 201), "title is 201 characters"),
        ((*CREATE, "--question", "q", "--actor", "a" * 65), "--actor must be 1 to 64"),
        (("surveys", "results", str(2**31 - 1)), "does not exist"),
    ]
    for args, message in cases:
        assert_refused(cli.main(*args), message)
    assert cli.snapshot() == before


@pytest.mark.parametrize(
    "command",
    [
        ("actions", "add"),
        ("actions", "list"),
        ("actions", "show"),
        ("actions", "done"),
        ("actions", "drop"),
        ("actions", "reopen"),
        ("actions", "edit"),
        ("surveys", "create"),
        ("surveys", "list"),
        ("surveys", "show"),
        ("surveys", "results"),
    ],
)
def test_every_command_has_help_with_an_example(
    command: tuple[str, str], copy: Cli, tmp_path: Path
) -> None:
    copy.env["FACILITY_DATABASE_URL"] = f"sqlite:///{tmp_path / 'untouched.db'}"
    outcome = copy.main(*command, "--help")
    assert outcome.code == 0
    assert b"Example: facility " + " ".join(command).encode() in outcome.stdout
    assert not (tmp_path / "untouched.db").exists()  # --help opens no database
