"""Push the generated dashboards into a running Grafana through its HTTP API (grafana-client).

Provisioning from files (deploy/grafana) is the production path; ``publish`` is for a Grafana
that someone else runs. It is safe to repeat: dashboards keep their uid, the folder its uid
(derived from the title), and an existing dashboard is replaced only with ``overwrite``. A dry
run makes read-only requests only (health, folder, each dashboard) and reports what it would do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from facility.core.errors import ConfigError, FacilityError, ServiceUnavailable

__all__ = ["GrafanaAuth", "PublishResult", "folder_uid", "publish_dashboards"]

_MAX_FOLDER_TITLE = 100


@dataclass(frozen=True, slots=True)
class GrafanaAuth:
    """A service-account token, or a user name and password (basic auth). Never both."""

    token: str | None = None
    user: str | None = None
    password: str | None = None

    def credential(self) -> str | tuple[str, str] | None:
        if self.token and (self.user or self.password):
            raise ConfigError("give either --token or --user/--password for Grafana, not both")
        if self.token:
            return self.token
        if self.user or self.password:
            if not (self.user and self.password):
                raise ConfigError("basic auth needs both --user and --password (or use --token)")
            return (self.user, self.password)
        return None

    def __repr__(self) -> str:  # never print secrets
        kind = "token" if self.token else "basic" if self.user else "anonymous"
        return f"GrafanaAuth({kind})"


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What happened (or would happen, in a dry run) to one dashboard."""

    uid: str
    title: str
    action: str  # created | updated | would create | would update | skipped (exists)
    url: str | None = None


def folder_uid(title: str) -> str:
    """A stable folder uid from its title: lower-case slug, at most 40 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-")
    if not slug:
        raise ConfigError(f"folder title {title!r} has no letters or digits; pick a plain name")
    return slug


_MAX_URL = 2048
_MAX_HOST = 253  # RFC 1035


def _check_url(url: str) -> str:
    if len(url) > _MAX_URL:
        raise ConfigError(f"--url is {len(url)} characters long; a Grafana URL is under {_MAX_URL}")
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(parts.hostname) > _MAX_HOST
        or any(label == "" or len(label) > 63 for label in parts.hostname.split("."))
    ):
        raise ConfigError(f"--url {url!r} is not a Grafana URL; expected http(s)://host[:port]")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ConfigError(f"--url {url!r} has a port that is not a number (1-65535)") from exc
    if parts.query or parts.fragment:
        raise ConfigError(f"--url {url!r} must not carry a query or fragment")
    return url.rstrip("/")


def _shown(url: str) -> str:
    parts = urlsplit(url)
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return parts._replace(netloc=netloc).geturl()
    return url


def publish_dashboards(
    url: str,
    dashboards: Mapping[str, dict[str, Any]],
    *,
    auth: GrafanaAuth,
    folder: str = "Facility",
    overwrite: bool = False,
    dry_run: bool = False,
    timeout_s: float = 10.0,
    on_progress: Callable[[PublishResult], None] | None = None,
) -> list[PublishResult]:
    """Publish ``dashboards`` (uid → JSON model) into ``folder`` of the Grafana at ``url``.

    Raises ServiceUnavailable when Grafana cannot be reached, ConfigError for bad arguments or
    refused credentials, FacilityError when Grafana rejects a dashboard.
    """
    from grafana_client.api import GrafanaApi
    from grafana_client.client import GrafanaClientError, GrafanaException

    base = _check_url(url)
    if not folder.strip() or len(folder) > _MAX_FOLDER_TITLE:
        raise ConfigError(f"--folder must be 1-{_MAX_FOLDER_TITLE} characters, got {len(folder)}")
    uid_of_folder = folder_uid(folder)
    shown = _shown(base)
    api = GrafanaApi.from_url(base, credential=auth.credential(), timeout=timeout_s)

    def call(what: str, fn: Callable[[], Any]) -> Any:
        import niquests

        try:
            return fn()
        except GrafanaClientError as exc:
            if exc.status_code in (401, 403):
                raise ConfigError(
                    f"Grafana at {shown} refused the credentials while trying to {what} "
                    f"({exc.status_code}); check --token / GRAFANA_TOKEN or --user/--password "
                    "and that the account may edit dashboards"
                ) from exc
            raise
        except (GrafanaException, niquests.exceptions.RequestException, OSError) as exc:
            if isinstance(exc, GrafanaException) and exc.status_code >= 500:
                raise FacilityError(
                    f"Grafana at {shown} failed to {what} ({exc.status_code}): {exc.message}"[:400]
                ) from exc
            raise ServiceUnavailable(
                f"cannot reach Grafana at {shown} to {what} ({type(exc).__name__}: {exc})"[:400]
                + "; start Grafana or fix --url"
            ) from exc

    def exists(path_uid: str, getter: Callable[[str], Any], what: str) -> bool:
        try:
            call(what, lambda: getter(path_uid))
        except GrafanaClientError as exc:
            if exc.status_code == 404:
                return False
            raise FacilityError(
                f"Grafana at {shown} answered {exc.status_code} to {what}: {exc.message}"[:400]
            ) from exc
        return True

    call("check its health", api.health.check)
    folder_exists = exists(uid_of_folder, api.folder.get_folder, f"look up folder {folder!r}")
    if not folder_exists and not dry_run:
        call(
            f"create folder {folder!r}",
            lambda: api.folder.create_folder(folder, uid=uid_of_folder),
        )

    results = []
    for uid, model in dashboards.items():
        title = str(model.get("title", uid))
        present = exists(uid, api.dashboard.get_dashboard, f"look up dashboard {uid}")
        if dry_run:
            action = "would update" if present and overwrite else "would create"
            if present and not overwrite:
                action = "skipped (exists)"
            result = PublishResult(uid, title, action)
        elif present and not overwrite:
            result = PublishResult(uid, title, "skipped (exists)")
        else:
            payload = {
                "dashboard": {**model, "id": None},
                "folderUid": uid_of_folder,
                "overwrite": overwrite,
                "message": "facility dashboards publish",
            }

            def save(body: dict[str, Any] = payload) -> Any:
                return api.dashboard.update_dashboard(body)

            try:
                answer = call(f"save dashboard {uid}", save)
            except GrafanaClientError as exc:
                hint = "; pass --overwrite to replace it" if exc.status_code == 412 else ""
                raise FacilityError(
                    f"Grafana at {shown} rejected dashboard {uid} ({exc.status_code}): "
                    f"{exc.message}"[:300]
                    + hint
                ) from exc
            link = answer.get("url") if isinstance(answer, dict) else None
            result = PublishResult(
                uid, title, "updated" if present else "created", f"{shown}{link}" if link else None
            )
        results.append(result)
        if on_progress is not None:
            on_progress(result)
    return results
