"""``facility dashboards build`` and ``publish``: files on disk, and what grafana-client sends.

No Grafana server can be installed here, so ``publish`` talks to a small HTTP server that
answers the handful of Grafana API calls it makes (build info, folders, dashboards by uid, save)
the way Grafana documents them, and records every request: the tests then check the method,
path, authentication header and body grafana-client really put on the wire.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from dashboards import GrafanaAuth, build_dashboards, publish_dashboards
from facility.core.errors import ConfigError, FacilityError, ServiceUnavailable
from gateway.broker import free_port
from tests.integration._http import serve_http

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "glsa_test_token_0123456789"
DASHBOARDS = build_dashboards()


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class FakeGrafana:
    """State of the recording server: folders and dashboards by uid, and every request."""

    url: str = ""
    accepted: set[str] = field(default_factory=set)
    requests: list[Recorded] = field(default_factory=list)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_saves_with: int | None = None

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]


def _handler(state: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> Recorded | None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            record = Recorded(
                self.command,
                self.path,
                self.headers.get("Authorization"),
                json.loads(raw) if raw else None,
            )
            state.requests.append(record)
            if record.authorization not in state.accepted:
                self._reply(401, {"message": "Unauthorized"})
                return None
            return record

        def do_GET(self) -> None:
            if self._record() is None:
                return
            if self.path == "/api/frontend/settings":  # grafana-client's health check
                self._reply(200, {"buildInfo": {"version": "11.6.0", "edition": "Open Source"}})
            elif self.path.startswith("/api/folders/"):
                uid = self.path.rsplit("/", 1)[1]
                if uid in state.folders:
                    self._reply(200, state.folders[uid])
                else:
                    self._reply(404, {"message": "folder not found"})
            elif self.path.startswith("/api/dashboards/uid/"):
                uid = self.path.rsplit("/", 1)[1]
                if uid in state.dashboards:
                    self._reply(200, {"dashboard": state.dashboards[uid], "meta": {}})
                else:
                    self._reply(404, {"message": "Dashboard not found"})
            else:
                self._reply(404, {"message": "not found"})

        def do_POST(self) -> None:
            record = self._record()
            if record is None:
                return
            body = record.body
            if self.path == "/api/folders":
                state.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"]}
                self._reply(200, state.folders[body["uid"]])
            elif self.path == "/api/dashboards/db":
                if state.fail_saves_with:
                    self._reply(state.fail_saves_with, {"message": "database is locked"})
                    return
                uid = body["dashboard"]["uid"]
                if uid in state.dashboards and not body.get("overwrite"):
                    self._reply(
                        412,
                        {"message": "A dashboard with the same uid already exists"},
                    )
                    return
                state.dashboards[uid] = body["dashboard"]
                self._reply(
                    200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x", "version": 1}
                )
            else:
                self._reply(404, {"message": "not found"})

    return Handler


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    state = FakeGrafana(accepted={f"Bearer {TOKEN}"})
    with serve_http(_handler(state)) as url:
        state.url = url
        yield state


def _publish(grafana: FakeGrafana, **options: Any) -> list[Any]:
    options.setdefault("auth", GrafanaAuth(token=TOKEN))
    return publish_dashboards(grafana.url, DASHBOARDS, **options)


# -- publish (library) --------------------------------------------------------------------------
def test_publish_creates_the_folder_then_every_dashboard_with_the_token(
    grafana: FakeGrafana,
) -> None:
    results = _publish(grafana)
    assert [r.action for r in results] == ["created"] * len(DASHBOARDS)
    assert all(r.url and r.url.startswith(grafana.url + "/d/") for r in results)
    writes = grafana.writes()
    assert (writes[0].method, writes[0].path) == ("POST", "/api/folders")
    assert writes[0].body == {"title": "Facility", "uid": "facility"}
    saves = writes[1:]
    assert [w.path for w in saves] == ["/api/dashboards/db"] * len(DASHBOARDS)
    for save in saves:
        assert save.body["folderUid"] == "facility"
        assert save.body["overwrite"] is False
        assert save.body["dashboard"]["id"] is None
        uid = save.body["dashboard"]["uid"]
        sent = {k: v for k, v in save.body["dashboard"].items() if k != "id"}
        assert sent == DASHBOARDS[uid]
    assert {r.authorization for r in grafana.requests} == {f"Bearer {TOKEN}"}
    assert set(grafana.dashboards) == set(DASHBOARDS)


def test_publishing_again_leaves_existing_dashboards_alone_unless_told_to_overwrite(
    grafana: FakeGrafana,
) -> None:
    _publish(grafana)
    grafana.requests.clear()
    again = _publish(grafana)
    assert {r.action for r in again} == {"skipped (exists)"}
    assert grafana.writes() == []
    replaced = _publish(grafana, overwrite=True)
    assert {r.action for r in replaced} == {"updated"}
    saves = [w for w in grafana.writes() if w.path == "/api/dashboards/db"]
    assert len(saves) == len(DASHBOARDS) and all(s.body["overwrite"] is True for s in saves)
    assert not any(w.path == "/api/folders" for w in grafana.writes())


def test_a_dry_run_only_reads_and_reports_what_it_would_do(grafana: FakeGrafana) -> None:
    results = _publish(grafana, dry_run=True)
    assert {r.action for r in results} == {"would create"}
    assert grafana.requests, "a dry run still checks Grafana and the credentials"
    assert {r.method for r in grafana.requests} == {"GET"}
    assert grafana.folders == {} and grafana.dashboards == {}


def test_a_dry_run_against_existing_dashboards_says_update_only_with_overwrite(
    grafana: FakeGrafana,
) -> None:
    _publish(grafana)
    assert {r.action for r in _publish(grafana, dry_run=True)} == {"skipped (exists)"}
    assert {r.action for r in _publish(grafana, dry_run=True, overwrite=True)} == {"would update"}


def test_basic_auth_sends_user_and_password(grafana: FakeGrafana) -> None:
    expected = "Basic " + base64.b64encode(b"admin:s3cret-pass").decode()
    grafana.accepted = {expected}
    _publish(grafana, auth=GrafanaAuth(user="admin", password="s3cret-pass"), folder="Ops HVAC")
    assert {r.authorization for r in grafana.requests} == {expected}
    assert grafana.folders == {"ops-hvac": {"uid": "ops-hvac", "title": "Ops HVAC"}}


def test_refused_credentials_are_one_clear_error_and_nothing_is_written(
    grafana: FakeGrafana,
) -> None:
    with pytest.raises(ConfigError, match=r"refused the credentials .*\(401\).*GRAFANA_TOKEN"):
        _publish(grafana, auth=GrafanaAuth(token="wrong"))
    assert grafana.writes() == []


def test_a_grafana_server_error_on_save_names_the_dashboard(grafana: FakeGrafana) -> None:
    grafana.fail_saves_with = 500
    with pytest.raises(FacilityError, match=r"failed to save dashboard facility-overview \(500\)"):
        _publish(grafana)


def test_an_unreachable_grafana_is_service_unavailable_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServiceUnavailable, match=rf"cannot reach Grafana at {url}.*fix --url"):
        publish_dashboards(url, DASHBOARDS, auth=GrafanaAuth(token=TOKEN), timeout_s=2)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://grafana:3000", "not a Grafana URL"),
        ("javascript:alert(1)", "not a Grafana URL"),
        ("http://", "not a Grafana URL"),
        ("grafana:3000", "not a Grafana URL"),
        ("http://grafana:99999", "port that is not a number"),
        ("http://grafana:3000/?next=evil", "must not carry a query"),
        ("http://" + "a" * 300 + ":3000", "not a Grafana URL"),
        ("http://" + "a" * 70 + ".example:3000", "not a Grafana URL"),
        ("http://grafana/" + "x" * 5000, "characters long"),
    ],
)
def test_malformed_urls_are_refused_before_any_request(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        publish_dashboards(url, DASHBOARDS, auth=GrafanaAuth(token=TOKEN))


@pytest.mark.parametrize("folder", ["", "   ", "x" * 101, "!!!", "\x00\x01"])
def test_hostile_folder_titles_are_refused_before_any_request(
    grafana: FakeGrafana, folder: str
) -> None:
    with pytest.raises(ConfigError):
        _publish(grafana, folder=folder)
    assert grafana.requests == []


def test_credentials_in_the_url_never_appear_in_messages() -> None:
    url = f"http://admin:hunter2@127.0.0.1:{free_port()}"
    with pytest.raises(ServiceUnavailable) as caught:
        publish_dashboards(url, DASHBOARDS, auth=GrafanaAuth(), timeout_s=2)
    assert "hunter2" not in str(caught.value)


# -- the CLI ------------------------------------------------------------------------------------
def _facility(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FACILITY_", "GRAFANA_"))}
    return subprocess.run(
        [sys.executable, "-m", "facility.app.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **(env or {})},
        cwd=ROOT,
        check=False,
    )


def test_cli_build_writes_one_readable_json_file_per_dashboard(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "dashboards"
    result = _facility("dashboards", "build", "--out", str(out), "--version", "3")
    assert result.returncode == 0, result.stderr
    files = sorted(out.glob("*.json"))
    assert [f.stem for f in files] == sorted(DASHBOARDS)
    for path in files:
        model = json.loads(path.read_text())
        assert model["version"] == 3
        assert model["uid"] == path.stem
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, "Grafana runs as another user"
    assert not list(out.glob(".*.tmp")), "no temporary files are left behind"


def test_cli_build_draws_the_thresholds_of_the_given_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - {name: hot, kind: threshold, select: {metric: co2}, above: 1200}\n"
    )
    result = _facility("dashboards", "build", "--out", str(tmp_path), "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "facility-asset.json").read_text()
    assert "^.* co2$" in text and "1200" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{file}"], "is not a directory"),
        (["--out", "{tmp}", "--rules", "{tmp}/missing.yaml"], "does not exist"),
        (["--out", "{tmp}", "--rules", "{file}"], "error:"),
    ],
)
def test_cli_build_bad_input_is_one_error_line_and_exit_1(
    tmp_path: Path, args: list[str], message: str
) -> None:
    a_file = tmp_path / "not-a-dir.json"
    a_file.write_text("rules: [1, 2")
    filled = [a.format(file=a_file, tmp=tmp_path) for a in args]
    result = _facility("dashboards", "build", *filled)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_build_refuses_a_version_below_one(tmp_path: Path) -> None:
    result = _facility("dashboards", "build", "--out", str(tmp_path), "--version", "0")
    assert result.returncode == 2
    assert "--version" in result.stderr


def test_cli_publish_dry_run_reads_the_token_from_the_environment(grafana: FakeGrafana) -> None:
    result = _facility(
        "dashboards", "publish", "--url", grafana.url, "--dry-run", env={"GRAFANA_TOKEN": TOKEN}
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("would create:") == len(DASHBOARDS)
    assert {r.method for r in grafana.requests} == {"GET"}
    assert {r.authorization for r in grafana.requests} == {f"Bearer {TOKEN}"}


def test_cli_publish_then_republish_tells_the_user_about_overwrite(grafana: FakeGrafana) -> None:
    env = {"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN}
    first = _facility("dashboards", "publish", "--folder", "Facility", env=env)
    assert first.returncode == 0, first.stderr
    assert set(grafana.dashboards) == set(DASHBOARDS)
    second = _facility("dashboards", "publish", env=env)
    assert second.returncode == 0
    assert "pass --overwrite to replace them" in second.stderr


def test_cli_publish_with_bad_credentials_exits_1_with_one_line(grafana: FakeGrafana) -> None:
    result = _facility("dashboards", "publish", "--url", grafana.url, env={"GRAFANA_TOKEN": "nope"})
    assert result.returncode == 1
    assert "error:" in result.stderr and "refused the credentials" in result.stderr
    assert "Traceback" not in result.stderr and "nope" not in result.stderr


def test_cli_publish_refuses_token_and_password_together(grafana: FakeGrafana) -> None:
    result = _facility(
        "dashboards",
        "publish",
        "--url",
        grafana.url,
        "--user",
        "admin",
        env={"GRAFANA_TOKEN": TOKEN, "GRAFANA_PASSWORD": "pw"},
    )
    assert result.returncode == 1
    assert "not both" in result.stderr
    assert grafana.requests == []
