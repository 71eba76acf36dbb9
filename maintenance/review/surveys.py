"""Requester satisfaction surveys: questions checked going in, answers aggregated going out.

A per-order rating says how one job went; a survey per site and period asks how the service
feels overall (cleanliness, comfort, how easy it is to report a problem). Managers choose the
questions, within limits that keep a survey short enough to be answered.

Anonymous surveys store no respondent at all (``respondent`` is NULL), so they cannot stop one
person from answering twice: remembering who answered, even as a hash, would let anyone with
the database and a list of users tell who took part. Anonymous responses are therefore **not
deduplicated**; named responses are, by a unique constraint on ``(survey_id, respondent)``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facility.core.errors import Conflict, Invalid, NotFound
from maintenance.review.models import Survey, SurveyResponse
from maintenance.review.schemas import QuestionResult, SurveyResults
from maintenance.sites.models import Site

__all__ = [
    "MAX_CHOICES",
    "MAX_QUESTIONS",
    "MAX_TEXT_ANSWER",
    "SurveyClosed",
    "SurveyError",
    "SurveyNotFound",
    "aggregate",
    "create_survey",
    "get_survey",
    "list_surveys",
    "site_code",
    "submit_response",
    "survey_results",
    "surveys_overlapping",
    "validate_answers",
    "validate_questions",
]

MAX_QUESTIONS = 20
MAX_QUESTION_TEXT = 300
MAX_CHOICES = 10
MAX_CHOICE_TEXT = 100
MAX_TEXT_ANSWER = 1000
#: Free-text answers listed per question in results (the newest first would need a timestamp
#: per answer; they are listed in submission order instead).
MAX_TEXTS_LISTED = 200
KINDS = ("rating", "choice", "text")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class SurveyError(Invalid):
    """A survey or an answer is malformed; the message names the question and what to send."""


class SurveyNotFound(SurveyError, NotFound):
    """No survey with that id."""


class SurveyClosed(SurveyError, Conflict):
    """The survey is not open on the day of the answer, or this user already answered."""


def _clean_text(value: object, where: str, limit: int) -> str:
    if not isinstance(value, str):
        raise SurveyError(f"{where} must be text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise SurveyError(f"{where} is empty; write something")
    if len(text) > limit:
        raise SurveyError(f"{where} is {len(text)} characters; keep it to {limit}")
    if "\x00" in text:
        raise SurveyError(f"{where} contains a NUL character; remove it")
    return text


def validate_questions(raw: Sequence[object]) -> list[dict[str, Any]]:
    """Normalised questions, or ``SurveyError`` naming the first bad one.

    Each question is ``{"key", "text", "kind"}`` plus ``"choices"`` for ``choice``: a rating
    is 1-5, a choice one of 2-10 given options, a text a short free answer.
    """
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise SurveyError("questions must be a list of objects")
    if not 1 <= len(raw) <= MAX_QUESTIONS:
        raise SurveyError(f"a survey has 1 to {MAX_QUESTIONS} questions, got {len(raw)}")
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for index, question in enumerate(raw):
        where = f"question #{index + 1}"
        if not isinstance(question, dict):
            raise SurveyError(f"{where} must be an object with key, text and kind")
        unknown = set(question) - {"key", "text", "kind", "choices"}
        if unknown:
            raise SurveyError(f"{where} has unknown field(s) {sorted(unknown)[:5]}")
        key = question.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            raise SurveyError(
                f"{where}: key {str(key)[:50]!r} must be lower-case letters, digits and _ "
                "(at most 40, starting with a letter), e.g. 'comfort'"
            )
        if key in seen:
            raise SurveyError(f"{where}: key {key!r} is used twice; keys must be unique")
        seen.add(key)
        text = _clean_text(question.get("text"), f"{where} text", MAX_QUESTION_TEXT)
        kind = question.get("kind")
        if kind not in KINDS:
            raise SurveyError(f"{where}: kind {str(kind)[:20]!r} is not one of {', '.join(KINDS)}")
        item: dict[str, Any] = {"key": key, "text": text, "kind": kind}
        if kind == "choice":
            choices = question.get("choices")
            if not isinstance(choices, list) or not 2 <= len(choices) <= MAX_CHOICES:
                raise SurveyError(f"{where}: a choice question needs 2 to {MAX_CHOICES} choices")
            cleaned = [
                _clean_text(c, f"{where} choice #{n + 1}", MAX_CHOICE_TEXT)
                for n, c in enumerate(choices)
            ]
            if len(set(cleaned)) != len(cleaned):
                raise SurveyError(f"{where}: choices must be different from each other")
            item["choices"] = cleaned
        elif "choices" in question:
            raise SurveyError(f"{where}: only a choice question has choices")
        out.append(item)
    return out


def validate_answers(questions: Sequence[dict[str, Any]], answers: object) -> dict[str, Any]:
    """The answers checked against the questions; unanswered questions are simply left out."""
    if not isinstance(answers, dict):
        raise SurveyError("answers must be an object of question key → answer")
    by_key = {q["key"]: q for q in questions}
    unknown = [str(k)[:40] for k in answers if k not in by_key]
    if unknown:
        raise SurveyError(f"unknown question key(s) {unknown[:5]}; use {sorted(by_key)}")
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if value is None:
            continue
        question = by_key[key]
        kind = question["kind"]
        if kind == "rating":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise SurveyError(
                    f"answer to {key!r} must be a whole number 1-5, got {value!r:.40}"
                )
            out[key] = value
        elif kind == "choice":
            if value not in question["choices"]:
                raise SurveyError(
                    f"answer to {key!r} must be one of {question['choices']}, got {value!r:.60}"
                )
            out[key] = value
        else:
            out[key] = _clean_text(value, f"answer to {key!r}", MAX_TEXT_ANSWER)
    if not out:
        raise SurveyError("no question answered; answer at least one")
    return out


def aggregate(
    questions: Sequence[dict[str, Any]], answers: Iterable[dict[str, Any]]
) -> list[QuestionResult]:
    """Per question: count and mean and 1-5 distribution (rating), counts per choice (choice),
    the answers themselves (text). Answers to questions no longer asked are ignored."""
    collected: dict[str, list[Any]] = {q["key"]: [] for q in questions}
    for answer in answers:
        for key, value in answer.items():
            if key in collected and value is not None:
                collected[key].append(value)
    results = []
    for question in questions:
        values = collected[question["key"]]
        kind = question["kind"]
        if kind == "rating":
            ratings = [int(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
            counts = Counter(ratings)
            results.append(
                QuestionResult(
                    key=question["key"],
                    text=question["text"],
                    kind="rating",
                    count=len(ratings),
                    mean=round(fmean(ratings), 2) if ratings else None,
                    distribution={str(n): counts.get(n, 0) for n in range(1, 6)},
                )
            )
        elif kind == "choice":
            chosen = Counter(str(v) for v in values)
            results.append(
                QuestionResult(
                    key=question["key"],
                    text=question["text"],
                    kind="choice",
                    count=len(values),
                    distribution={c: chosen.get(c, 0) for c in question.get("choices", [])},
                )
            )
        else:
            texts = [str(v) for v in values]
            results.append(
                QuestionResult(
                    key=question["key"],
                    text=question["text"],
                    kind="text",
                    count=len(texts),
                    texts=texts[:MAX_TEXTS_LISTED],
                )
            )
    return results


def _site(session: Session, code: str | None) -> Site | None:
    if code is None:
        return None
    site = session.scalar(sa.select(Site).where(Site.code == code))
    if site is None:
        raise SurveyError(f"site {code[:64]!r} does not exist; list sites or create it first")
    return site


def create_survey(
    session: Session,
    *,
    site: str | None,
    title: str,
    questions: Sequence[object],
    opens_on: date,
    closes_on: date,
    anonymous: bool,
    actor: str,
    now: datetime,
) -> Survey:
    """Store a survey with validated questions (admins and managers, checked by the caller)."""
    clean_title = _clean_text(title, "title", 200)
    clean = validate_questions(questions)
    if closes_on < opens_on:
        raise SurveyError(f"closes_on {closes_on} is before opens_on {opens_on}; swap them")
    if (closes_on - opens_on).days > 366:
        raise SurveyError("a survey runs for at most a year; choose a shorter period")
    where = _site(session, site)
    survey = Survey(
        site_id=where.id if where else None,
        title=clean_title,
        questions=clean,
        opens_on=opens_on,
        closes_on=closes_on,
        anonymous=anonymous,
        created_by=actor,
        created_at=now,
    )
    session.add(survey)
    session.commit()
    return survey


def get_survey(session: Session, *, survey_id: int) -> Survey:
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise SurveyNotFound(f"survey {survey_id} does not exist; list /surveys for the ids")
    return survey


def site_code(session: Session, site_id: int | None) -> str | None:
    """The code of the survey's (or action's) site, for the public schemas."""
    if site_id is None:
        return None
    return session.scalar(sa.select(Site.code).where(Site.id == site_id))


def list_surveys(
    session: Session, *, site: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[Survey], int]:
    query = sa.select(Survey)
    if site is not None:
        query = query.join(Site, Site.id == Survey.site_id).where(Site.code == site)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Survey.id.desc()).limit(limit).offset(offset))
    return list(items), total


def _today(session: Session, survey: Survey, now: datetime) -> date:
    """The survey's site's calendar day at ``now`` (UTC without a site)."""
    zone_name = (
        session.scalar(sa.select(Site.timezone).where(Site.id == survey.site_id))
        if survey.site_id is not None
        else None
    )
    try:
        zone = ZoneInfo(zone_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def submit_response(
    session: Session, *, survey_id: int, respondent: str, answers: object, now: datetime
) -> SurveyResponse:
    """Record one user's answers while the survey is open (from opens_on to closes_on).

    A named survey takes one response per user (``SurveyClosed`` on the second); an anonymous
    survey stores no name and so cannot tell a second response from a first.
    """
    survey = get_survey(session, survey_id=survey_id)
    clean = validate_answers(survey.questions, answers)
    today = _today(session, survey, now)
    if not survey.opens_on <= today <= survey.closes_on:
        raise SurveyClosed(
            f"survey {survey.id} is open from {survey.opens_on} to {survey.closes_on}, "
            f"not on {today}"
        )
    name = None if survey.anonymous else respondent
    if name is not None and session.scalar(
        sa.select(SurveyResponse.id).where(
            SurveyResponse.survey_id == survey.id, SurveyResponse.respondent == name
        )
    ):
        raise SurveyClosed(f"{name!r} has already answered survey {survey.id}")
    response = SurveyResponse(survey_id=survey.id, respondent=name, answers=clean, submitted_at=now)
    session.add(response)
    try:
        session.commit()
    except IntegrityError as exc:  # a racing second submission by the same user
        session.rollback()
        raise SurveyClosed(f"{name!r} has already answered survey {survey.id}") from exc
    return response


def survey_results(session: Session, *, survey_id: int) -> SurveyResults:
    survey = get_survey(session, survey_id=survey_id)
    return _results(session, survey)


def _results(session: Session, survey: Survey) -> SurveyResults:
    answers: list[dict[str, Any]] = list(
        session.scalars(
            sa.select(SurveyResponse.answers)
            .where(SurveyResponse.survey_id == survey.id)
            .order_by(SurveyResponse.id)
        )
    )
    return SurveyResults(
        survey_id=survey.id,
        title=survey.title,
        site=site_code(session, survey.site_id),
        opens_on=survey.opens_on,
        closes_on=survey.closes_on,
        anonymous=survey.anonymous,
        responses=len(answers),
        questions=aggregate(survey.questions, answers),
    )


def surveys_overlapping(
    session: Session, *, site_id: int, first: date, last: date
) -> list[SurveyResults]:
    """Results of the site's surveys that were open on any day from ``first`` to ``last``."""
    surveys = session.scalars(
        sa.select(Survey)
        .where(
            Survey.site_id == site_id,
            Survey.opens_on <= last,
            Survey.closes_on >= first,
        )
        .order_by(Survey.opens_on, Survey.id)
    )
    return [_results(session, survey) for survey in surveys]
