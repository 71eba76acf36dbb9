"""A Brick model imported into the register shows in the console: the tree and linked points."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from facility.core.types import Reading
from maintenance.assets.brick import import_brick
from maintenance.assets.lifecycle import get_asset
from tests.e2e.conftest import ConsoleServer
from tests.e2e.console_client import browser, log_in

MODEL = Path(__file__).parents[1] / "data" / "brick" / "hq-plant.ttl"


class _Tree(HTMLParser):
    """Each ``<li data-asset>`` of the register and the asset ``<li>`` it is nested in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parent: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            code = dict(attrs).get("data-asset")
            if code is not None:
                outer = next((c for c in reversed(self.stack) if c is not None), None)
                self.parent[code] = outer
            self.stack.append(code)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self.stack:
            self.stack.pop()


def test_an_imported_model_shows_as_the_tree_with_its_points_linked(
    console_server: ConsoleServer,
) -> None:
    now = datetime.now(UTC)
    with console_server.sessions() as session:
        import_brick(session, data=MODEL.read_bytes(), site="hq", actor="manager", now=now)
    with console_server.sessions() as session:
        vav_id = get_asset(session, code="VAV-301").id
    console_server.states.record(
        [Reading(device="vav-301", metric="temperature", value=21.5, unit="degC", ts=now)]
    )
    client = browser(console_server.url)
    log_in(client, "manager")
    register = client.get("/console/assets", timeout=60)
    assert register.status_code == 200
    tree = _Tree()
    tree.feed(register.text)
    chain = ["VAV-301", "zone-east", "B1-F3", "B1"]
    for child, parent in zip(chain, [*chain[1:], None], strict=True):
        assert tree.parent[child] == parent, child
    assert tree.parent["AHU-1"] == "plant-room" and tree.parent["AHU-1.SF"] == "AHU-1"

    page = client.get(f"/console/assets/{vav_id}", timeout=60)
    assert page.status_code == 200
    assert '<span class="device-id">vav-301</span>' in page.text
    assert 'data-live="vav-301|temperature"' in page.text
    ahu = client.get(f"/console/assets/{console_server.asset_ids['AHU-1']}", timeout=60).text
    assert '<span class="device-id">ahu-1</span>' in ahu
    assert '<span class="device-id">AHU-1</span>' in ahu  # the BACnet connector's device
