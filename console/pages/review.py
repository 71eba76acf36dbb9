"""The monthly review: choose a site and month, and read the report ``facility report monthly``
writes, shown in a frame.

For managers and admins. The report carries its own inline styles and charts, which the
console's policy forbids on its own pages, so it is served from its own address with its own
Content-Security-Policy (:data:`REVIEW_CSP`) and framed by the review page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from console import _service_data as sdata
from console._forms import BadParameter, bad_parameter, query_text
from console._i18n import N_
from console._labels import page
from console._render import PREFIX, context_of, error_page, gate
from console._session import ConsoleUser
from maintenance.review import service as reviews
from maintenance.review.report import render_html

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: The report's own policy: inline styles and charts only, shown in the console's frame.
REVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'"
)


def _review_choice(request: Request, user: ConsoleUser) -> sdata.ReviewChoice | Response:
    try:
        site = query_text(request, "site", max_len=64)
        month = query_text(request, "month", max_len=7)
    except BadParameter as exc:
        return bad_parameter(request, user, exc)
    context = context_of(request)
    try:
        with context.sessions() as session:
            return sdata.review_choice(session, site=site, month=month, now=context.clock())
    except reviews.ReviewError:
        return bad_parameter(request, user, BadParameter("month", month or ""))
    except LookupError:
        return error_page(
            request,
            user,
            404,
            N_("Not found"),
            N_("There is no such site."),
            (site or "")[:64],
        )


@router.get("/review")
async def review_page(request: Request) -> Response:
    """Choose a site and month; the review itself is the report ``facility report monthly``
    writes, shown in a frame (it carries its own inline styles, which the console's policy
    forbids on its own pages)."""
    checked = gate(request, managers_only=True)
    if isinstance(checked, Response):
        return checked
    user = checked
    choice = await run_in_threadpool(_review_choice, request, user)
    if isinstance(choice, Response):
        return choice
    return page(request, "review.html", user, choice=choice)


@router.get("/review/monthly.html")
async def review_report(request: Request) -> Response:
    """The monthly review as the self-contained HTML the report module renders."""
    checked = gate(request, managers_only=True)
    if isinstance(checked, Response):
        return checked
    user = checked
    choice = await run_in_threadpool(_review_choice, request, user)
    if isinstance(choice, Response):
        return choice
    if choice.site is None:
        return error_page(request, user, 404, N_("Not found"), N_("There is no such site."))
    context = context_of(request)
    site, month = choice.site, choice.month

    def load() -> str:
        with context.sessions() as session:
            made = reviews.monthly_review(
                session, site=site, month=month, now=context.clock(), readings=context.readings
            )
        return render_html(made)

    try:
        html = await run_in_threadpool(load)
    except reviews.ReviewError as exc:
        return error_page(
            request,
            user,
            422,
            N_("The review could not be made"),
            N_("Not possible now:"),
            str(exc)[:300],
        )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": REVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
