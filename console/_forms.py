"""Reading what a page is sent: form posts (CSRF-checked, every field bounded) and query
parameters, and the ways a page refuses them.

A form post is read by :func:`read_form`, which checks the CSRF token before any field is used;
a field is read by :func:`form_text` (stripped, bounded, no control characters). A bad query
parameter raises :class:`BadParameter` and is answered with 400 and the value it refused, never
a 500.

The service-management actions (approve a PM plan, book stock, move a supplier or an asset
along its status machine) post to the page's own address, so a refused form is shown again, in
place, with its message: :func:`manager_form` checks the role first (anyone else gets 403 and
nothing changes, and a technician's forged post is refused before its form is read), then the
CSRF token, then the form; a refusal is an :class:`ActionRefused` carrying the
:class:`Problem` to show, and success is a 303 back to the page with a ``notice``
(:func:`redirect`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from console._i18n import N_
from console._render import PREFIX, context_of, error_page, render, user_of
from console._session import ConsoleUser, CsrfError, check_csrf

__all__ = [
    "CSRF_MESSAGE",
    "MAX_OFFSET",
    "MAX_REASON",
    "ActionRefused",
    "BadParameter",
    "FormError",
    "Problem",
    "back_with_notice",
    "bad_form",
    "bad_parameter",
    "checked_form",
    "form_text",
    "kept",
    "manager",
    "manager_form",
    "query_choices",
    "query_int",
    "query_text",
    "read_field",
    "read_form",
    "read_status",
    "redirect",
    "safe_next",
    "service_refused",
]

T = TypeVar("T")
StatusT = TypeVar("StatusT", bound=StrEnum)
CSRF_MESSAGE = N_(
    "The form's security token is missing or out of date; reload the page and try again."
)
#: Bound of offsets and counts in query parameters (as the API bounds the same figures).
MAX_OFFSET = 2**31 - 1
#: Longest reason, as the API's request bodies bound it.
MAX_REASON = 500


# -- form posts -----------------------------------------------------------------------------------
class FormError(ValueError):
    """A form field is missing, too long or of the wrong type (message is a catalogue id)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def form_text(form: FormData, name: str, *, max_len: int, required: bool = False) -> str:
    raw = form.get(name)
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise FormError(name, N_("This field must be text."))
    value = raw.strip()
    if required and not value:
        raise FormError(name, N_("This field is required."))
    if len(value) > max_len:
        raise FormError(name, N_("This field is too long."))
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in value):
        raise FormError(name, N_("This field contains control characters."))
    return value


async def read_form(request: Request) -> FormData:
    """The posted form, CSRF-checked; a broken body raises ``FormError``, a forged one
    ``CsrfError``."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        raise FormError("form", N_("Send the form as a web form."))
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception as exc:  # starlette raises several types for malformed multipart bodies
        raise FormError("form", N_("The form could not be read.")) from exc
    token = form.get("csrf")
    check_csrf(request, token if isinstance(token, str) else None, context_of(request).secret)
    return form


def safe_next(value: str | None) -> str:
    """Only same-site console paths: never an open redirect."""
    if not value or not value.startswith(f"{PREFIX}/") or value.startswith("//"):
        return f"{PREFIX}/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return f"{PREFIX}/"
    return value


def bad_form(request: Request, user: ConsoleUser | None, message: str) -> Response:
    return render(
        request,
        "error.html",
        user=user,
        status_code=400,
        title=N_("The form is not valid"),
        message=message,
    )


def back_with_notice(back: str, notice: str) -> RedirectResponse:
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}notice={notice}", status_code=303)


# -- query parameters -----------------------------------------------------------------------------
class BadParameter(ValueError):
    """A query parameter this page cannot use; shown with 400 and the refused value."""

    def __init__(self, name: str, value: str) -> None:
        super().__init__(name)
        self.detail = f"{name}={value[:40]}"


def query_int(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
        raise BadParameter(name, raw)
    value = int(text)
    if not low <= value <= high:
        raise BadParameter(name, raw)
    return value


def query_choices(request: Request, name: str, kind: Callable[[str], T]) -> frozenset[T]:
    chosen = set()
    for raw in request.query_params.getlist(name)[:20]:
        if raw == "":
            continue
        try:
            chosen.add(kind(raw))
        except ValueError:
            raise BadParameter(name, raw) from None
    return frozenset(chosen)


def query_text(request: Request, name: str, *, max_len: int) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if len(value) > max_len or any(ord(ch) < 32 for ch in value):
        raise BadParameter(name, raw)
    return value


def bad_parameter(request: Request, user: ConsoleUser, exc: BadParameter) -> Response:
    return error_page(
        request,
        user,
        400,
        N_("The address is not valid"),
        N_("This page cannot use the value given in its address:"),
        exc.detail,
    )


# -- service actions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Problem:
    """Why a form post changed nothing, shown above that form when the page is drawn again.

    ``message`` is a catalogue id; ``detail`` is the refused value or the service's own words
    (shown as code, untranslated, as the order page shows a refused transition).
    """

    form: str
    message: str
    status_code: int = 400
    detail: str | None = None
    field_name: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)


class ActionRefused(Exception):
    """A form post this page refuses; carries the :class:`Problem` to show."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def manager(request: Request) -> ConsoleUser | Response:
    """The signed-in manager or admin; else 401 (as the order forms answer) or a 403 page."""
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    if not user.can_manage:
        return error_page(
            request,
            user,
            403,
            N_("Not allowed"),
            N_("Only facility managers and admins may do this; nothing was changed."),
        )
    return user


async def checked_form(request: Request, user: ConsoleUser) -> FormData | Response:
    """The CSRF-checked form, or the 403/400 page that refuses it."""
    try:
        return await read_form(request)
    except CsrfError:
        return error_page(request, user, 403, N_("Not allowed"), CSRF_MESSAGE)
    except FormError as exc:
        return error_page(request, user, 400, N_("The form is not valid"), exc.message)


async def manager_form(request: Request) -> tuple[ConsoleUser, FormData] | Response:
    """Every service action's preamble: a manager or admin (checked first, so a technician's
    forged post is refused before its form is read), then a CSRF-checked form."""
    user = manager(request)
    if isinstance(user, Response):
        return user
    form = await checked_form(request, user)
    if isinstance(form, Response):
        return form
    return user, form


def kept(form: FormData, *names: str) -> dict[str, str]:
    """What the user typed, to fill the form in again (bounded, never trusted)."""
    kept = {}
    for name in names:
        raw = form.get(name)
        kept[name] = raw[:200] if isinstance(raw, str) else ""
    return kept


def read_field(
    form: FormData, form_name: str, values: dict[str, str], name: str, **rules: Any
) -> str:
    try:
        return form_text(form, name, **rules)
    except FormError as exc:
        problem = Problem(form_name, exc.message, field_name=name, values=values)
        raise ActionRefused(problem) from None


def read_status(
    form: FormData, form_name: str, values: dict[str, str], machine: type[StatusT]
) -> StatusT:
    """The form's ``to`` as a status of ``machine``, or a refusal naming the form."""
    raw = read_field(form, form_name, values, "to", max_len=20, required=True)
    try:
        return machine(raw)
    except ValueError:
        problem = Problem(form_name, N_("Choose a status from the list."), detail=raw)
        raise ActionRefused(problem) from None


def redirect(path: str, notice: str, **extra: Any) -> RedirectResponse:
    query = urlencode({"notice": notice, **extra}, doseq=True)
    return RedirectResponse(f"{PREFIX}{path}?{query}", status_code=303)


def service_refused(
    form_name: str, exc: Exception, values: Mapping[str, str], *, status_code: int
) -> ActionRefused:
    return ActionRefused(
        Problem(
            form_name,
            N_("Not possible now:"),
            status_code=status_code,
            detail=str(exc)[:300],
            values=values,
        )
    )
