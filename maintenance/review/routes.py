"""``/api/v1/reviews``, ``/improvement-actions``, ``/surveys``: the monthly PDCA review.

Who may do what: admins and managers read the review (JSON or the HTML report), record and
close improvement actions, create surveys and read their results. Every signed-in user may
list open surveys and answer one (requesters above all). Errors: unknown site, survey or action
404; malformed input 422; answering twice or outside the survey's dates 409.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import HTMLResponse

from maintenance.people.deps import Caller, ContextDep, CurrentUser, SessionDep, require_roles
from maintenance.review import actions, surveys
from maintenance.review import service as reviews
from maintenance.review.models import ActionStatus, ImprovementAction, Survey, SurveyResponse
from maintenance.review.report import render_html
from maintenance.review.schemas import (
    ActionsPage,
    ImprovementActionCreate,
    ImprovementActionPublic,
    ImprovementActionUpdate,
    MonthlyReview,
    SurveyCreate,
    SurveyPublic,
    SurveyResponseCreate,
    SurveyResponsePublic,
    SurveyResults,
    SurveysPage,
)
from maintenance.shared.vocabulary import Role

router = APIRouter(tags=["reviews"])

T = TypeVar("T")
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
SiteQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
MonthQuery = Annotated[
    str, Query(min_length=7, max_length=7, description="the site's calendar month, YYYY-MM")
]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]


# -- the review ----------------------------------------------------------------------------------
def _review(
    session: SessionDep, context: ContextDep, site: str, month: str, technicians: bool
) -> MonthlyReview:
    return reviews.monthly_review(
        session,
        site=site,
        month=month,
        now=context.clock(),
        readings=context.readings,
        include_technicians=technicians,
    )


@router.get("/reviews/monthly", response_model_by_alias=True)
def get_monthly_review(
    _: Manager,
    session: SessionDep,
    context: ContextDep,
    site: Annotated[str, Query(min_length=1, max_length=64)],
    month: MonthQuery,
    technicians: Annotated[bool, Query(description="include technicians' figures")] = True,
) -> MonthlyReview:
    """The monthly review's figures as JSON: KPIs exactly as ``GET /kpis`` for the site's
    calendar month (and the previous one), targets and verdicts, faults, breaches, suppliers,
    technicians (for recognition; ``technicians=false`` leaves them out), stock, surveys and
    improvement actions."""
    return _review(session, context, site, month, technicians)


@router.get("/reviews/monthly.html", response_class=HTMLResponse)
def get_monthly_report(
    _: Manager,
    session: SessionDep,
    context: ContextDep,
    site: Annotated[str, Query(min_length=1, max_length=64)],
    month: MonthQuery,
    technicians: bool = True,
) -> HTMLResponse:
    """The same review as one self-contained HTML page (what ``facility report monthly``
    writes)."""
    review = _review(session, context, site, month, technicians)
    return HTMLResponse(render_html(review))


# -- improvement actions -------------------------------------------------------------------------
def _action(session: SessionDep, action: ImprovementAction) -> ImprovementActionPublic:
    return reviews.action_public(action, surveys.site_code(session, action.site_id))


@router.post("/improvement-actions", status_code=status.HTTP_201_CREATED)
def create_improvement_action(
    body: ImprovementActionCreate, caller: Manager, session: SessionDep, context: ContextDep
) -> ImprovementActionPublic:
    """Record an action decided in a review: what, who owns it, by when."""
    action = actions.create_action(
        session,
        site=body.site,
        period=body.period,
        title=body.title,
        description=body.description,
        owner=body.owner,
        due_on=body.due_on,
        actor=caller.username,
        now=context.clock(),
    )
    return _action(session, action)


@router.get("/improvement-actions")
def list_improvement_actions(
    _: Manager,
    session: SessionDep,
    site: SiteQuery = None,
    period: Annotated[str | None, Query(min_length=7, max_length=7)] = None,
    status_: Annotated[ActionStatus | None, Query(alias="status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ActionsPage:
    """Actions by site, review month and status, earliest due first."""
    items, total = actions.list_actions(
        session, site=site, period=period, status=status_, limit=limit, offset=offset
    )
    return ActionsPage(items=[_action(session, a) for a in items], total=total)


@router.get("/improvement-actions/{action_id}")
def get_improvement_action(
    action_id: IdPath, _: Manager, session: SessionDep
) -> ImprovementActionPublic:
    return _action(session, (actions.get_action(session, action_id=action_id)))


@router.patch("/improvement-actions/{action_id}")
def update_improvement_action(
    action_id: IdPath,
    body: ImprovementActionUpdate,
    _: Manager,
    session: SessionDep,
    context: ContextDep,
) -> ImprovementActionPublic:
    """Change an action; ``status`` done/dropped closes it (the server stamps ``closed_at``)."""
    action = actions.update_action(
        session,
        action_id=action_id,
        now=context.clock(),
        **body.model_dump(exclude_unset=True, exclude_none=True),
    )
    return _action(session, action)


# -- surveys -------------------------------------------------------------------------------------
def _survey(session: SessionDep, survey: Survey) -> SurveyPublic:
    return SurveyPublic(
        id=survey.id,
        site=surveys.site_code(session, survey.site_id),
        title=survey.title,
        questions=survey.questions,
        opens_on=survey.opens_on,
        closes_on=survey.closes_on,
        anonymous=survey.anonymous,
        created_by=survey.created_by,
        created_at=survey.created_at,
    )


@router.post("/surveys", status_code=status.HTTP_201_CREATED)
def create_survey(
    body: SurveyCreate, caller: Manager, session: SessionDep, context: ContextDep
) -> SurveyPublic:
    """A survey for a site and period: 1-20 questions of kind rating (1-5), choice or text."""
    survey = surveys.create_survey(
        session,
        site=body.site,
        title=body.title,
        questions=body.questions,
        opens_on=body.opens_on,
        closes_on=body.closes_on,
        anonymous=body.anonymous,
        actor=caller.username,
        now=context.clock(),
    )
    return _survey(session, survey)


@router.get("/surveys")
def list_surveys(
    _: CurrentUser,
    session: SessionDep,
    site: SiteQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> SurveysPage:
    """Surveys, newest first (every signed-in user: requesters look here for one to answer)."""
    items, total = surveys.list_surveys(session, site=site, limit=limit, offset=offset)
    return SurveysPage(items=[_survey(session, s) for s in items], total=total)


@router.get("/surveys/{survey_id}")
def get_survey(survey_id: IdPath, _: CurrentUser, session: SessionDep) -> SurveyPublic:
    return _survey(session, (surveys.get_survey(session, survey_id=survey_id)))


@router.post("/surveys/{survey_id}/responses", status_code=status.HTTP_201_CREATED)
def answer_survey(
    survey_id: IdPath,
    body: SurveyResponseCreate,
    caller: CurrentUser,
    session: SessionDep,
    context: ContextDep,
) -> SurveyResponsePublic:
    """Answer a survey while it is open; a named survey takes one answer per user, an
    anonymous one stores no name (and so cannot refuse a second answer)."""
    response: SurveyResponse = surveys.submit_response(
        session,
        survey_id=survey_id,
        respondent=caller.username,
        answers=body.answers,
        now=context.clock(),
    )
    return SurveyResponsePublic(
        id=response.id,
        survey_id=response.survey_id,
        anonymous=response.respondent is None,
        submitted_at=response.submitted_at,
    )


@router.get("/surveys/{survey_id}/results")
def get_survey_results(survey_id: IdPath, _: Manager, session: SessionDep) -> SurveyResults:
    """Per question: count, mean and 1-5 distribution, choice counts, or the free answers."""
    return surveys.survey_results(session, survey_id=survey_id)
