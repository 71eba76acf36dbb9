"""``facility actions`` and ``facility surveys``: the review's decisions and requester surveys.

These are the shell side of ``/api/v1/improvement-actions`` and ``/api/v1/surveys``: every
command calls the same service functions as the API (``maintenance.review.actions``
and ``maintenance.review.surveys``), so the rules (lengths, question kinds, who may answer when)
live in one place. What the CLI adds is only what a shell needs: dates and months checked
before the database is opened, and text that a terminal or a database would misread (control
characters, bidi overrides, bytes that are not UTF-8) refused with the option's name.

Data goes to stdout as JSON Lines in the API's shapes (``ImprovementActionPublic`` plus the
``state`` the next review will show; ``SurveyPublic``; ``SurveyResults``), so
``facility actions list --overdue > overdue.jsonl`` keeps only the data; tables and one-line
summaries go to stderr. A refused input is one ``error:`` line, exit 1, and nothing written.
"""

from __future__ import annotations

import calendar
import re
import sys
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from facility.core.errors import FacilityError
from facility.core.settings import load_settings
from maintenance.review.models import ActionStatus
from maintenance.shared.cli import NowOption, emit, err, open_database, parse_now
from maintenance.sites.models import Site

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from maintenance.review.models import ImprovementAction, Survey
    from maintenance.review.schemas import SurveyResults

__all__ = ["actions_app", "surveys_app"]

actions_app = typer.Typer(
    help="Improvement actions from the monthly review: record, list, close, reopen.",
    no_args_is_help=True,
)
surveys_app = typer.Typer(
    help="Requester satisfaction surveys: create, list, read the results.", no_args_is_help=True
)

#: A questions file holds at most 20 short questions; anything bigger is a mistake.
MAX_QUESTIONS_BYTES = 64_000
#: ``created_by`` is a 64-character column; PostgreSQL refuses longer, SQLite would keep it.
MAX_ACTOR = 64
#: The same range ``parse_month`` accepts for review months.
YEARS = range(2000, 2100)
#: Bidirectional overrides and isolates: they make a terminal show text in another order.
_BIDI = frozenset([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

IdArgument = Annotated[int, typer.Argument(min=1, max=2**31 - 1, metavar="ID", show_default=False)]
ActorOption = Annotated[
    str, typer.Option("--actor", help="Recorded as who did it (created_by), up to 64 characters.")
]
SiteFilter = Annotated[str | None, typer.Option("--site", help="Only this site (its code).")]
LimitOption = Annotated[int, typer.Option(min=1, max=10_000, help="Show at most this many.")]


# -- input checks --------------------------------------------------------------------------------
def _checked(value: str, option: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or a FacilityError naming the option and the offending character.

    The services refuse NUL only (the API's JSON cannot carry raw bytes); from a shell, escape
    sequences or bidi overrides would rewrite the next terminal that lists the action, and
    bytes that are not UTF-8 (kept by Python as lone surrogates) would fail deep in the driver.
    """
    for position, char in enumerate(value, start=1):
        if multiline and char in "\n\t":
            continue
        code = ord(char)
        category = unicodedata.category(char)
        if category == "Cs":
            raise FacilityError(
                f"{option} is not valid UTF-8 (at character {position}); "
                "retype it or fix the terminal's encoding"
            )
        if category == "Cc" or code in _BIDI:
            raise FacilityError(
                f"{option} contains the control character U+{code:04X} at character "
                f"{position}; remove it"
            )
    return value


def _actor(value: str) -> str:
    text = _checked(value, "--actor").strip()
    if not text or len(text) > MAX_ACTOR:
        raise FacilityError(f"--actor must be 1 to {MAX_ACTOR} characters, got {len(text)}")
    return text


def _day(value: str, option: str) -> date:
    """``YYYY-MM-DD`` (and nothing looser, such as ``20261215``) between 2000 and 2099."""
    text = value.strip()
    try:
        if not _DAY.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise FacilityError(
            f"{option} {value[:40]!r} is not a date YYYY-MM-DD; e.g. 2026-12-15"
        ) from None
    if day.year not in YEARS:
        raise FacilityError(f"{option} {day} is not between 2000 and 2099; check the year")
    return day


def _month(value: str, option: str) -> str:
    from maintenance.review.service import parse_month

    _checked(value, option)
    parse_month(value.strip())
    return value.strip()


def _shown(value: str) -> Text:
    """Text for a table cell: control characters (stored through the API) shown as escapes."""
    out = []
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs") or ord(char) in _BIDI:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return Text("".join(out))


# -- sites ---------------------------------------------------------------------------------------
class _Sites:
    """Each site's code and calendar, looked up once per command.

    An action is due on a day of its site's calendar (``action_state`` judges it there), so
    "today" is the site's today, UTC for organisation-wide rows.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._by_id: dict[int | None, tuple[str | None, ZoneInfo]] = {None: (None, ZoneInfo("UTC"))}

    def of(self, site_id: int | None) -> tuple[str | None, ZoneInfo]:
        if site_id not in self._by_id:
            row = self._session.execute(
                sa.select(Site.code, Site.timezone).where(Site.id == site_id)
            ).one_or_none()
            code, zone_name = (row[0], row[1]) if row is not None else (None, "UTC")
            self._by_id[site_id] = (code, _zone(zone_name))
        return self._by_id[site_id]

    def require(self, code: str) -> int:
        """The id of site ``code``; an unknown code is an error rather than an empty list."""
        site_id = self._session.scalar(sa.select(Site.id).where(Site.code == code))
        if site_id is None:
            raise FacilityError(
                f"site {code[:64]!r} does not exist; check the code or create the site first"
            )
        return site_id


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# -- improvement actions -------------------------------------------------------------------------
def _action_row(sites: _Sites, action: ImprovementAction, now: datetime) -> dict[str, Any]:
    """The API's ``ImprovementActionPublic`` plus ``state`` as the next review will show it."""
    from maintenance.review.service import action_public, action_state

    code, zone = sites.of(action.site_id)
    public = action_public(action, code)
    state = action_state(action, now.astimezone(zone).date(), zone)
    return {**public.model_dump(mode="json"), "state": state}


def _actions_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("id", "site", "month", "title", "owner", "due", "state"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for row in rows:
        table.add_row(
            str(row["id"]),
            _shown(row["site"] or "-"),
            row["period"],
            _shown(row["title"]),
            _shown(row["owner"]),
            row["due_on"],
            row["state"],
        )
    return table


@actions_app.command("add")
def add_command(
    site: Annotated[str, typer.Option(help="Site code (the review is per site).")],
    title: Annotated[str, typer.Option(help="What is to be done, up to 200 characters.")],
    owner: Annotated[str, typer.Option(help="Who answers for it, up to 64 characters.")],
    due: Annotated[str, typer.Option(help="Due day in the site's calendar, YYYY-MM-DD.")],
    month: Annotated[
        str | None,
        typer.Option(help="The review month that decided it, YYYY-MM; default this month."),
    ] = None,
    note: Annotated[
        str,
        typer.Option("--note", "--description", help="Why and how, up to 5000 characters."),
    ] = "",
    actor: ActorOption = "cli",
    now: NowOption = None,
) -> None:
    """Record an action decided in a monthly review: what, who owns it, by when.

    The next month's review shows it as done on time, done late, open, overdue or dropped.

    Example: facility actions add --site hq --title "Clean AHU-1 coil" --owner tech \\
             --due 2026-12-15 --month 2026-11
    """
    from maintenance.review.actions import create_action

    _checked(site, "--site")
    _checked(title, "--title")
    _checked(owner, "--owner")
    _checked(note, "--note", multiline=True)
    due_on = _day(due, "--due")
    period = _month(month, "--month") if month is not None else None
    by = _actor(actor)
    at = parse_now(now)
    with open_database(load_settings()) as session:
        sites = _Sites(session)
        _, zone = sites.of(sites.require(site))
        today = at.astimezone(zone).date()
        action = create_action(
            session,
            site=site,
            period=period or f"{today:%Y-%m}",
            title=title,
            description=note,
            owner=owner,
            due_on=due_on,
            actor=by,
            now=at,
        )
        row = _action_row(sites, action, at)
    emit(row)
    if due_on < today:
        err.print(
            f"[yellow]![/] due {due_on} is already past (today is {today} at {escape(site)}); "
            "recorded anyway, it shows as overdue"
        )
    err.print(
        f"[green]✓[/] action {row['id']} recorded for {escape(site)} ({row['period']}), "
        f"due {due_on}"
    )


@actions_app.command("list")
def list_command(
    site: SiteFilter = None,
    month: Annotated[
        str | None, typer.Option(help="Only actions decided in this review month, YYYY-MM.")
    ] = None,
    status: Annotated[ActionStatus | None, typer.Option(help="Only this status.")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open actions past their due day.")
    ] = False,
    limit: LimitOption = 100,
    now: NowOption = None,
) -> None:
    """List actions, earliest due first, as JSON Lines (a table on stderr).

    Each line is what GET /api/v1/improvement-actions/{id} returns plus "state" (done on time,
    done late, open, overdue, dropped), judged in the site's calendar at --now.

    Example: facility actions list --site hq --overdue
    """
    from maintenance.review.actions import list_actions

    if site is not None:
        _checked(site, "--site")
    period = _month(month, "--month") if month is not None else None
    if overdue and status not in (None, ActionStatus.OPEN):
        raise FacilityError("--overdue lists open actions only; leave out --status")
    at = parse_now(now)
    with open_database(load_settings()) as session:
        sites = _Sites(session)
        if site is not None:
            sites.require(site)
        if overdue:
            # open actions are few; "overdue" depends on each site's today, so filter here
            found, _ = list_actions(
                session, site=site, period=period, status=ActionStatus.OPEN, limit=100_000
            )
            every = [_action_row(sites, a, at) for a in found]
            late = [row for row in every if row["state"] == "overdue"]
            rows, total = late[:limit], len(late)
        else:
            found, total = list_actions(
                session, site=site, period=period, status=status, limit=limit
            )
            rows = [_action_row(sites, a, at) for a in found]
    for row in rows:
        emit(row)
    if rows:
        err.print(_actions_table(rows, "Overdue actions" if overdue else "Improvement actions"))
    err.print(f"{len(rows)} of {total} action(s)")


@actions_app.command("show")
def show_command(action_id: IdArgument, now: NowOption = None) -> None:
    """Print one action as a JSON line, with its state as the next review will show it.

    Example: facility actions show 7
    """
    from maintenance.review.actions import get_action

    at = parse_now(now)
    with open_database(load_settings()) as session:
        row = _action_row(_Sites(session), get_action(session, action_id=action_id), at)
    emit(row)


NoteOption = Annotated[
    str | None,
    typer.Option("--note", help="The outcome: what was done or why not, up to 5000 characters."),
]


def _change(action_id: int, now: str | None, **changes: Any) -> tuple[ActionStatus, dict[str, Any]]:
    """Apply ``changes`` through ``update_action``; the status before, and the action after."""
    from maintenance.review.actions import get_action, update_action

    at = parse_now(now)
    with open_database(load_settings()) as session:
        before = get_action(session, action_id=action_id).status
        action = update_action(session, action_id=action_id, now=at, **changes)
        row = _action_row(_Sites(session), action, at)
    return before, row


def _close(action_id: int, status: ActionStatus, note: str | None, now: str | None) -> None:
    """Done, dropped or open again; ``update_action`` stamps or clears ``closed_at``."""
    changes: dict[str, Any] = {"status": status}
    if note is not None:
        changes["outcome"] = _checked(note, "--note", multiline=True)
    before, row = _change(action_id, now, **changes)
    emit(row)
    if before is status:
        err.print(f"action {action_id} was already {status.value}; its state is unchanged")
    else:
        err.print(f"[green]✓[/] action {action_id} is {status.value} ({row['state']})")


@actions_app.command("done")
def done_command(action_id: IdArgument, note: NoteOption = None, now: NowOption = None) -> None:
    """Mark an action done; the time is stamped now and judged against its due day.

    Example: facility actions done 7 --note "coil cleaned, delta-T back to 8 K"
    """
    _close(action_id, ActionStatus.DONE, note, now)


@actions_app.command("drop")
def drop_command(action_id: IdArgument, note: NoteOption = None, now: NowOption = None) -> None:
    """Drop (cancel) an action that will not be done; the review lists it as dropped.

    Example: facility actions drop 7 --note "AHU-1 is being replaced in January"
    """
    _close(action_id, ActionStatus.DROPPED, note, now)


@actions_app.command("reopen")
def reopen_command(action_id: IdArgument, note: NoteOption = None, now: NowOption = None) -> None:
    """Reopen a done or dropped action; its closing time is cleared.

    Example: facility actions reopen 7 --note "the coil fouled again within a week"
    """
    _close(action_id, ActionStatus.OPEN, note, now)


@actions_app.command("edit")
def edit_command(
    action_id: IdArgument,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    owner: Annotated[str | None, typer.Option(help="New owner.")] = None,
    due: Annotated[str | None, typer.Option(help="New due day, YYYY-MM-DD.")] = None,
    note: Annotated[
        str | None, typer.Option("--note", "--description", help="New description.")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="New outcome text.")] = None,
    now: NowOption = None,
) -> None:
    """Change an action's title, owner, due day, description or outcome (not its status).

    Example: facility actions edit 7 --owner tech2 --due 2027-01-15
    """
    changes: dict[str, Any] = {}
    for option, name, value in (
        ("--title", "title", title),
        ("--owner", "owner", owner),
        ("--note", "description", note),
        ("--outcome", "outcome", outcome),
    ):
        if value is not None:
            changes[name] = _checked(value, option, multiline=name in ("description", "outcome"))
    if due is not None:
        changes["due_on"] = _day(due, "--due")
    if not changes:
        raise FacilityError("nothing to change; give --title, --owner, --due, --note or --outcome")

    _, row = _change(action_id, now, **changes)
    emit(row)
    err.print(f"[green]✓[/] action {action_id} changed: {', '.join(sorted(changes))}")


# -- surveys -------------------------------------------------------------------------------------
def _survey_row(sites: _Sites, survey: Survey) -> dict[str, Any]:
    """What GET /api/v1/surveys/{id} returns."""
    from maintenance.review.schemas import SurveyPublic

    public = SurveyPublic(
        id=survey.id,
        site=sites.of(survey.site_id)[0],
        title=survey.title,
        questions=survey.questions,
        opens_on=survey.opens_on,
        closes_on=survey.closes_on,
        anonymous=survey.anonymous,
        created_by=survey.created_by,
        created_at=survey.created_at,
    )
    return public.model_dump(mode="json")


def _read_questions(source: str) -> list[Any]:
    """Questions from a YAML/JSON file (or ``-`` for stdin): a list, or ``{questions: [...]}``."""
    import yaml

    name = "stdin" if source == "-" else repr(source[:200])
    try:
        if source == "-":
            raw = sys.stdin.buffer.read(MAX_QUESTIONS_BYTES + 1)
        else:
            with Path(source).open("rb") as file:
                raw = file.read(MAX_QUESTIONS_BYTES + 1)
    except OSError as exc:
        raise FacilityError(
            f"cannot read questions file {name}: {exc.strerror}; check the path"
        ) from None
    if len(raw) > MAX_QUESTIONS_BYTES:
        raise FacilityError(
            f"questions file {name} is over {MAX_QUESTIONS_BYTES} bytes; a survey has at "
            "most 20 short questions"
        )
    try:
        data = yaml.safe_load(raw.decode("utf-8")) if raw.strip() else None
    except UnicodeDecodeError:
        raise FacilityError(f"questions file {name} is not UTF-8 text; save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "not valid YAML/JSON"
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FacilityError(f"questions file {name}: {problem}{where}") from None
    except RecursionError:
        raise FacilityError(f"questions file {name} is nested too deeply") from None
    if isinstance(data, dict) and set(data) == {"questions"}:
        data = data["questions"]
    if not isinstance(data, list):
        raise FacilityError(
            f"questions file {name} must hold a list of questions (key, text, kind and "
            "choices for kind choice), or {questions: [...]}; see docs/review.md"
        )
    for index, question in enumerate(data, start=1):
        for text in _strings(question):
            _checked(text, f"question #{index} in {name}")
    return data


def _strings(value: object) -> Iterator[str]:
    """Every string in a parsed question (keys too), without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _survey_dates(
    period: str | None, opens: str | None, closes: str | None
) -> tuple[date, date, str]:
    """``--period`` (a whole month) or ``--opens`` and ``--closes``; and a default title."""
    if period is not None:
        if opens is not None or closes is not None:
            raise FacilityError("give --period, or --opens and --closes, not both")
        month = _month(period, "--period")
        year, number = int(month[:4]), int(month[5:])
        days = calendar.monthrange(year, number)[1]
        return date(year, number, 1), date(year, number, days), month
    if opens is None or closes is None:
        raise FacilityError(
            "say when the survey runs: --period 2026-11, or --opens 2026-11-01 --closes 2026-11-30"
        )
    first, last = _day(opens, "--opens"), _day(closes, "--closes")
    return first, last, f"{first} to {last}"


@surveys_app.command("create")
def create_command(
    site: Annotated[str, typer.Option(help="Site code.")],
    question: Annotated[
        list[str] | None,
        typer.Option(help="A 1-5 rating question (repeatable); keys q1, q2, … in order."),
    ] = None,
    questions: Annotated[
        str | None,
        typer.Option(
            help="YAML/JSON file (or - for stdin) of typed questions: key, text, "
            "kind rating|choice|text, choices."
        ),
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Run it for this whole month, YYYY-MM.")
    ] = None,
    opens: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (with --closes).")
    ] = None,
    closes: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (with --opens).")] = None,
    title: Annotated[
        str | None,
        typer.Option(help="Title, up to 200 characters; default 'Satisfaction <period>'."),
    ] = None,
    anonymous: Annotated[
        bool,
        typer.Option(
            "--anonymous", help="Store no respondent (and so accept more than one answer each)."
        ),
    ] = False,
    actor: ActorOption = "cli",
    now: NowOption = None,
) -> None:
    """Create a satisfaction survey for a site; requesters answer it in the console or the API.

    The file form gives choice and free-text questions too:
      - {key: comfort, text: "How comfortable is your office?", kind: rating}
      - {key: channel, text: "How do you report a problem?", kind: choice, choices: \\[app, phone]}
      - {key: comment, text: "Anything else?", kind: text}

    Example: facility surveys create --site hq --period 2026-11 --anonymous \\
             --question "How clean are the toilets?" --question "How warm is your office?"
    """
    from maintenance.review.surveys import create_survey

    _checked(site, "--site")
    if title is not None:
        _checked(title, "--title")
    opens_on, closes_on, span = _survey_dates(period, opens, closes)
    by = _actor(actor)
    at = parse_now(now)
    raw: list[Any] = _read_questions(questions) if questions is not None else []
    for number, text in enumerate(question or [], start=1):
        _checked(text, f"--question #{number}")
        raw.append({"key": f"q{len(raw) + 1}", "text": text, "kind": "rating"})
    if not raw:
        raise FacilityError(
            'give at least one --question "…" or --questions FILE; a survey needs a question'
        )
    with open_database(load_settings()) as session:
        sites = _Sites(session)
        _, zone = sites.of(sites.require(site))
        survey = create_survey(
            session,
            site=site,
            title=title if title is not None else f"Satisfaction {span}",
            questions=raw,
            opens_on=opens_on,
            closes_on=closes_on,
            anonymous=anonymous,
            actor=by,
            now=at,
        )
        row = _survey_row(sites, survey)
    emit(row)
    today = at.astimezone(zone).date()
    if closes_on < today:
        err.print(f"[yellow]![/] it closed on {closes_on} (today is {today}); nobody can answer")
    kind = "anonymous" if anonymous else "named"
    err.print(
        f"[green]✓[/] survey {row['id']} created for {escape(site)}: {len(row['questions'])} "
        f"question(s), {kind}, open {opens_on} to {closes_on}"
    )


@surveys_app.command("list")
def surveys_list_command(site: SiteFilter = None, limit: LimitOption = 100) -> None:
    """List surveys, newest first, as JSON Lines (a table on stderr).

    Example: facility surveys list --site hq
    """
    from maintenance.review.surveys import list_surveys

    if site is not None:
        _checked(site, "--site")
    with open_database(load_settings()) as session:
        sites = _Sites(session)
        if site is not None:
            sites.require(site)
        found, total = list_surveys(session, site=site, limit=limit)
        rows = [_survey_row(sites, survey) for survey in found]
    for row in rows:
        emit(row)
    if rows:
        table = Table(title="Surveys")
        for column in ("id", "site", "title", "opens", "closes", "anonymous", "questions"):
            table.add_column(column, justify="right" if column in ("id", "questions") else "left")
        for row in rows:
            table.add_row(
                str(row["id"]),
                _shown(row["site"] or "-"),
                _shown(row["title"]),
                row["opens_on"],
                row["closes_on"],
                "yes" if row["anonymous"] else "",
                str(len(row["questions"])),
            )
        err.print(table)
    err.print(f"{len(rows)} of {total} survey(s)")


@surveys_app.command("show")
def surveys_show_command(survey_id: IdArgument) -> None:
    """Print one survey with its questions (their keys are what answers use) as a JSON line.

    Example: facility surveys show 3
    """
    from maintenance.review.surveys import get_survey

    with open_database(load_settings()) as session:
        row = _survey_row(_Sites(session), get_survey(session, survey_id=survey_id))
    emit(row)


def _results_table(results: SurveyResults, texts: int) -> Table:
    table = Table(title=Text(f"Survey {results.survey_id}: {_shown(results.title)}"))
    for column in ("question", "kind", "answers", "mean", "distribution"):
        table.add_column(column, justify="right" if column in ("answers", "mean") else "left")
    for q in results.questions:
        spread = (
            "  ".join(f"{_shown(k)}: {v}" for k, v in q.distribution.items())
            if q.kind != "text"
            else ("(below)" if q.texts and texts else "")
        )
        table.add_row(
            _shown(q.key),
            q.kind,
            str(q.count),
            "" if q.mean is None else f"{q.mean:.2f}",
            Text(spread),
        )
    return table


@surveys_app.command("results")
def results_command(
    survey_id: IdArgument,
    texts: Annotated[
        int, typer.Option(min=0, max=200, help="Free-text answers to show per question on stderr.")
    ] = 10,
) -> None:
    """Print a survey's results as one JSON line: what GET /api/v1/surveys/{id}/results returns.

    Per question: the count, the mean and 1-5 distribution (rating), the count per choice, or
    the free answers (text). A table and the first free answers go to stderr.

    Example: facility surveys results 3 > results.json
    """
    from maintenance.review.surveys import survey_results

    with open_database(load_settings()) as session:
        results = survey_results(session, survey_id=survey_id)
    emit(results.model_dump(mode="json"))
    err.print(_results_table(results, texts))
    for q in results.questions:
        for answer in q.texts[:texts]:
            err.print(Text.assemble(f"{q.key}: ", _shown(answer)))
    err.print(f"{results.responses} response(s)")
