"""The console's devices page: counts, one page at a time, and admitting quarantined devices."""

from __future__ import annotations

import re

import pytest

from console.pages.devices import PAGE_SIZE
from maintenance.assets.models import Device
from maintenance.assets.register import link_device
from tests.e2e.conftest import ConsoleServer
from tests.e2e.console_client import browser, form_token, log_in

QUARANTINED = PAGE_SIZE + 5


@pytest.fixture
def server(console_server: ConsoleServer) -> ConsoleServer:
    """The seeded console plus more quarantined devices than one page holds."""
    with console_server.sessions() as session:
        for n in range(QUARANTINED):
            link_device(session, device=f"flood-{n:03d}", asset=None)
        session.commit()
    return console_server


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-device="([^"]+)">', html)


def test_the_page_shows_counts_and_one_page_of_devices_with_paging(server: ConsoleServer) -> None:
    client = browser(server.url)
    log_in(client, "tech")
    first = client.get("/console/devices", params={"status": "unassigned"})
    assert first.status_code == 200
    assert re.search(r'data-count="unassigned">\s*' + str(QUARANTINED) + "<", first.text)
    assert re.search(r'data-count="total">\s*' + str(QUARANTINED + 2) + "<", first.text)
    assert len(_rows(first.text)) == PAGE_SIZE
    assert f"offset={PAGE_SIZE}&amp;status=unassigned" in first.text
    assert 'data-action="admit"' not in first.text  # technicians see, managers admit
    rest = client.get("/console/devices", params={"status": "unassigned", "offset": PAGE_SIZE})
    assert _rows(rest.text) == [f"flood-{n:03d}" for n in range(PAGE_SIZE, QUARANTINED)]
    overview = client.get("/console/")
    assert 'id="unassigned-devices"' in overview.text and "flood-000" not in overview.text


@pytest.mark.parametrize(
    "params", [{"offset": "-1"}, {"offset": "x"}, {"status": "bogus"}, {"offset": "9" * 20}]
)
def test_a_bad_address_is_a_400_naming_the_value(
    server: ConsoleServer, params: dict[str, str]
) -> None:
    client = browser(server.url)
    log_in(client, "manager")
    answer = client.get("/console/devices", params=params)
    assert answer.status_code == 400 and next(iter(params)) in answer.text


def test_a_manager_admits_a_device_and_a_refusal_is_shown_in_place(server: ConsoleServer) -> None:
    client = browser(server.url)
    log_in(client, "manager")
    token = form_token(client, "/console/devices?status=unassigned")
    missing = client.post(
        "/console/devices", data={"csrf": token, "device": "flood-001", "asset": "NOPE-9"}
    )
    assert missing.status_code == 404 and "NOPE-9" in missing.text
    admitted = client.post(
        "/console/devices", data={"csrf": token, "device": "flood-001", "asset": "AHU-1"}
    )
    assert admitted.status_code == 303, admitted.text[:300]
    shown = client.get(admitted.headers["location"])
    assert 'id="action-notice"' in shown.text and "flood-001" not in _rows(shown.text)
    with server.sessions() as session:
        row = session.get(Device, "flood-001")
        assert row is not None and row.asset is not None and row.asset.code == "AHU-1"


@pytest.mark.parametrize(
    "data",
    [
        {"device": "", "asset": "AHU-1"},
        {"device": "flood-002", "asset": ""},
        {"device": "flood-002", "asset": "A" * 201},
        {"device": "flood-002\x01", "asset": "AHU-1"},
    ],
)
def test_a_malformed_admission_changes_nothing(server: ConsoleServer, data: dict[str, str]) -> None:
    client = browser(server.url)
    log_in(client, "manager")
    token = form_token(client, "/console/devices")
    answer = client.post("/console/devices", data={"csrf": token, **data})
    assert answer.status_code == 400
    with server.sessions() as session:
        assert session.get(Device, "flood-002").asset_id is None  # type: ignore[union-attr]


def test_a_technician_or_a_forged_form_cannot_admit(server: ConsoleServer) -> None:
    tech = browser(server.url)
    log_in(tech, "tech")
    token = form_token(tech, "/console/devices")
    refused = tech.post(
        "/console/devices", data={"csrf": token, "device": "flood-003", "asset": "AHU-1"}
    )
    assert refused.status_code == 403
    manager = browser(server.url)
    log_in(manager, "manager")
    forged = manager.post(
        "/console/devices", data={"csrf": "forged", "device": "flood-003", "asset": "AHU-1"}
    )
    assert forged.status_code == 403
    with server.sessions() as session:
        assert session.get(Device, "flood-003").asset_id is None  # type: ignore[union-attr]


def test_the_page_speaks_chinese(server: ConsoleServer) -> None:
    client = browser(server.url, language="zh-Hans")
    log_in(client, "manager")
    page = client.get("/console/devices")
    assert page.status_code == 200 and "接纳" in page.text and "全部设备" in page.text
