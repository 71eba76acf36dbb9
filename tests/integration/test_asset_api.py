"""The asset register over HTTP: roles, life cycle, figures, CSV and documents, hostile input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from maintenance.assets.register import ensure_asset
from tests.integration._work_order_server import ApiServer, running_api

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        yield server


def _codes(client: httpx.Client) -> list[str]:
    return [a["code"] for a in client.get("/api/v1/assets").json()]


def _tree(client: httpx.Client) -> None:
    for body in (
        {"code": "B1", "name": "Main building", "level": "building", "site": "HQ"},
        {"code": "F1", "name": "Ground floor", "level": "floor", "parent": "B1"},
        {
            "code": "PUMP-1",
            "name": "Chilled water pump",
            "parent": "F1",
            "manufacturer": "Grundfos",
            "commissioned_on": "2012-03-01",
            "expected_life_years": 15,
            "purchase_cost": "4200.00",
            "replacement_cost": "5000.00",
            "criticality": "A",
        },
    ):
        response = client.post("/api/v1/assets", json=body)
        assert response.status_code == 201, response.text


# -- roles ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/assets"),
        ("PATCH", "/api/v1/assets/AHU-1"),
        ("POST", "/api/v1/assets/AHU-1/status"),
        ("POST", "/api/v1/assets/import"),
        ("POST", "/api/v1/assets/AHU-1/documents"),
        ("GET", "/api/v1/assets/AHU-1"),
        ("GET", "/api/v1/assets/export.csv"),
    ],
)
def test_anonymous_requests_are_refused_with_401(api: ApiServer, method: str, path: str) -> None:
    assert httpx.request(method, f"{api.url}{path}", json={}, timeout=30).status_code == 401


def test_only_managers_and_admins_change_assets_but_everyone_reads(api: ApiServer) -> None:
    body = {"code": "FAN-1", "name": "Fan"}
    for user in ("tech", "requester"):
        with api.client(user) as client:
            assert client.post("/api/v1/assets", json=body).status_code == 403
            assert client.patch("/api/v1/assets/AHU-1", json={"name": "x"}).status_code == 403
            move = {"to": "standby", "reason": "test"}
            assert client.post("/api/v1/assets/AHU-1/status", json=move).status_code == 403
            assert (
                client.post("/api/v1/assets/import", content=b"code,name\nX,y\n").status_code == 403
            )
            assert client.get("/api/v1/assets/AHU-1").status_code == 200
            assert client.get("/api/v1/assets/AHU-1/figures").status_code == 200
    with api.client("manager") as manager:
        assert manager.post("/api/v1/assets", json=body).status_code == 201
    with api.client("requester") as requester:
        assert "FAN-1" in _codes(requester)


# -- life cycle -----------------------------------------------------------------------------------
def test_an_asset_is_created_edited_moved_and_its_history_kept(api: ApiServer) -> None:
    with api.client("manager") as manager:
        _tree(manager)
        pump = manager.get("/api/v1/assets/PUMP-1").json()
        assert (pump["parent"], pump["site"], pump["status"]) == ("F1", "HQ", "in_service")
        patched = manager.patch("/api/v1/assets/PUMP-1", json={"serial_number": "SN-9"})
        assert patched.json()["serial_number"] == "SN-9"
        api.clock.advance(days=1)
        moved = manager.post(
            "/api/v1/assets/PUMP-1/status", json={"to": "under_repair", "reason": "seal leak"}
        )
        assert moved.status_code == 201
        assert (moved.json()["from_status"], moved.json()["actor"]) == ("in_service", "manager")
        api.clock.advance(days=1)
        back = {"to": "in_service", "reason": "seal replaced"}
        assert manager.post("/api/v1/assets/PUMP-1/status", json=back).status_code == 201
        history = manager.get("/api/v1/assets/PUMP-1/history").json()
        assert [c["to_status"] for c in history["status_changes"]] == [
            "in_service",
            "under_repair",
            "in_service",
        ]
        figures = manager.get("/api/v1/assets/PUMP-1/figures").json()
        assert figures["under_repair_s"] == 86400
        assert figures["availability"] == pytest.approx(0.5)  # one day of two since creation
        decommission = {"to": "decommissioned", "reason": "replaced by PUMP-2"}
        assert manager.post("/api/v1/assets/PUMP-1/status", json=decommission).status_code == 201
        again = manager.post("/api/v1/assets/PUMP-1/status", json=back)
        assert again.status_code == 409
        assert "decommissioned is final" in again.json()["detail"]


def test_the_tree_the_list_filters_and_the_replacement_plan(api: ApiServer) -> None:
    with api.client("manager") as manager:
        _tree(manager)
        tree = manager.get("/api/v1/assets/tree", params={"site": "HQ"}).json()
        assert tree[0]["code"] == "B1"
        assert tree[0]["children"][0]["children"][0]["code"] == "PUMP-1"
        listed = manager.get("/api/v1/assets", params={"level": "equipment", "limit": 2})
        assert listed.headers["X-Total-Count"] == "3"  # AHU-1, CH-1, PUMP-1
        assert [a["code"] for a in listed.json()] == ["AHU-1", "CH-1"]
        assert set(listed.json()[0]) >= {"id", "code", "name", "asset_type", "location", "devices"}
        found = manager.get("/api/v1/assets", params={"q": "grundfos"}).json()
        assert [a["code"] for a in found] == ["PUMP-1"]
        assert manager.get("/api/v1/assets", params={"q": "%"}).json() == []
        plan = manager.get("/api/v1/assets/replacement-plan").json()
        assert plan[0]["code"] == "PUMP-1"  # old and critical; the others have no data
        assert plan[0]["score"] > plan[1]["score"]
        assert "missing" in plan[1] and plan[1]["missing"]


def test_replacement_weights_can_be_chosen_per_request(api: ApiServer) -> None:
    """Only criticality counts: PUMP-1 (A) first with score 100; only age: still PUMP-1,
    and the components are unchanged while the score follows the weights."""
    with api.client("manager") as manager:
        _tree(manager)
        url = "/api/v1/assets/replacement-plan"
        default = {c["code"]: c for c in manager.get(url).json()}
        only_criticality = manager.get(
            url, params={"weight": ["age=0", "repair=0", "failures=0", "criticality=1"]}
        ).json()
        assert only_criticality[0]["code"] == "PUMP-1" and only_criticality[0]["score"] == 100
        relative = manager.get(url, params={"weight": ["age=70", "repair=60"]}).json()
        pump = next(c for c in relative if c["code"] == "PUMP-1")
        assert pump["components"] == default["PUMP-1"]["components"]
        parts = pump["components"]
        total = 70 + 60 + 20 + 15  # the defaults of the other two, in the same hundredths
        expected = 100 * (
            70 * parts["age"] + 60 * parts["repair"] + 20 * parts["failures"]
            + 15 * parts["criticality"]
        ) / total  # fmt: skip
        assert pump["score"] == pytest.approx(expected, abs=0.05)
        for bad in (
            ["speed=1"],
            ["age=-1"],
            ["age=nan"],
            ["age=inf"],
            ["age"],
            ["age=lots"],
            ["age=0", "repair=0", "failures=0", "criticality=0"],
            ["age=1"] * 5,
            ["age=" + "9" * 100],
        ):
            response = manager.get(url, params={"weight": bad})
            assert response.status_code == 422, (bad, response.text)


@pytest.mark.parametrize(
    "body",
    [
        {"code": "X-1"},
        {"code": "X-1", "name": "n", "colour": "red"},
        {"code": "a/b", "name": "n"},
        {"code": "../../etc", "name": "n"},
        {"code": "X" * 201, "name": "n"},
        {"code": "X-1", "name": "n" * 201},
        {"code": "X-1", "name": "n", "purchase_cost": "abc"},
        {"code": "X-1", "name": "n", "purchase_cost": "-1"},
        {"code": "X-1", "name": "n", "purchase_cost": "1.001"},
        {"code": "X-1", "name": "n", "purchase_cost": "1e20"},
        {"code": "X-1", "name": "n", "expected_life_years": "NaN"},
        {"code": "X-1", "name": "n", "installed_on": "2020-02-30"},
        {"code": "X-1", "name": "n", "level": "galaxy"},
        {"code": "X-1", "name": "n", "criticality": "Z"},
        {"code": "X-1", "name": "n", "parent": "NOPE"},
        {"code": "X-1", "name": "n", "site": "bad site"},
        {"code": "X-1", "name": "n", "manufacturer": "\x00"},
        {"code": "X-1", "name": "n", "installed_on": "2020-01-02", "commissioned_on": "2020-01-01"},
        {"code": "AHU-1", "name": "duplicate"},
        [],
        "not an object",
    ],
)
def test_malformed_assets_are_4xx_and_nothing_is_added(api: ApiServer, body: object) -> None:
    with api.client("admin") as admin:
        before = _codes(admin)
        response = admin.post("/api/v1/assets", json=body)
        assert response.status_code in (409, 422), response.text
        assert response.json()["detail"]
        assert _codes(admin) == before


def test_hostile_paths_and_updates_are_clean_errors(api: ApiServer) -> None:
    with api.client("admin") as admin:
        assert admin.get("/api/v1/assets/NOPE").status_code == 404
        assert admin.get("/api/v1/assets/" + "x" * 300).status_code == 422
        assert admin.get("/api/v1/assets/%2e%2e%2fetc").status_code == 404
        assert admin.patch("/api/v1/assets/AHU-1", json={"status": "standby"}).status_code == 422
        assert admin.patch("/api/v1/assets/AHU-1", json={"name": None}).status_code == 422
        assert admin.patch("/api/v1/assets/AHU-1", json={"parent": "AHU-1"}).status_code == 422
        bad = {"to": "flying", "reason": "x"}
        assert admin.post("/api/v1/assets/AHU-1/status", json=bad).status_code == 422
        silent = {"to": "standby", "reason": ""}
        assert admin.post("/api/v1/assets/AHU-1/status", json=silent).status_code == 422
        order = {"to": "standby", "reason": "r", "work_order_id": 999999}
        assert admin.post("/api/v1/assets/AHU-1/status", json=order).status_code == 422
        window = {"availability_from": "yesterday"}
        assert admin.get("/api/v1/assets/AHU-1/figures", params=window).status_code == 422
        assert admin.get("/api/v1/assets", params={"limit": 0}).status_code == 422
        assert admin.get("/api/v1/assets/AHU-1").json()["status"] == "in_service"


def test_an_asset_named_after_a_device_channel_is_reachable_by_its_code(api: ApiServer) -> None:
    """A Shelly channel is its own device and asset (``plug-7/switch:1``): the "/" is no wall."""
    with api.sessions() as session:
        ensure_asset(session, code="plug-7/switch:1", asset_type="plug", location="Kitchen")
        session.commit()
    base = "/api/v1/assets/plug-7/switch:1"
    with api.client("admin") as admin:
        shown = admin.get(base)
        assert shown.status_code == 200, shown.text
        assert shown.json()["code"] == "plug-7/switch:1"
        assert admin.get(base.replace("/switch", "%2Fswitch")).json()["code"] == "plug-7/switch:1"
        renamed = admin.patch(base, json={"name": "Kitchen kettle plug"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "Kitchen kettle plug"
        moved = admin.post(f"{base}/status", json={"to": "standby", "reason": "spare"})
        assert moved.status_code == 201, moved.text
        history = admin.get(f"{base}/history").json()
        assert history["code"] == "plug-7/switch:1"
        assert [c["to_status"] for c in history["status_changes"]][-1] == "standby"
        assert admin.get(f"{base}/figures").json()["code"] == "plug-7/switch:1"
        assert admin.get(f"{base}/documents").json() == []
        assert admin.get("/api/v1/assets/plug-7").status_code == 404
        assert admin.get("/api/v1/assets/plug-7/switch:2/history").status_code == 404


# -- CSV ------------------------------------------------------------------------------------------
def _csv(*rows: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


HEADER = ["code", "name", "level", "parent", "manufacturer", "purchase_cost", "installed_on"]


def test_hostile_csv_rows_are_all_reported_and_nothing_is_imported(api: ApiServer) -> None:
    data = _csv(
        HEADER,
        ["B1", "Building", "building", "", "", "", ""],  # fine
        ["P1", "Pump", "equipment", "B1", FORMULA, "lots", "2020-01-01"],  # wrong type
        ["P2", "Pump 2", "equipment", "GHOST", "", "", "01/02/2020"],  # unknown parent, bad date
        ["C1", "Loop 1", "zone", "C2", "", "", ""],  # cycle C1 → C2 → C1
        ["C2", "Loop 2", "zone", "C1", "", "", ""],
        ["H1", "x" * 5000, "equipment", "", "", "", ""],  # huge field
        ["B1", "Again", "building", "", "", "", ""],  # duplicate code
    )
    with api.client("manager") as manager:
        before = _codes(manager)
        response = manager.post(
            "/api/v1/assets/import", content=data, headers={"Content-Type": "text/csv"}
        )
        assert response.status_code == 422
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        where = {(e["line"], e["column"]) for e in problem["errors"]}
        assert where == {
            (3, "purchase_cost"),
            (4, "parent"),
            (4, "installed_on"),
            (5, "parent"),
            (7, "name"),
            (8, "code"),
        }
        assert all(e["reason"] for e in problem["errors"])
        assert "nothing imported" in problem["detail"]
        assert _codes(manager) == before


def test_a_clean_csv_imports_by_multipart_and_the_export_defuses_formulas(api: ApiServer) -> None:
    data = _csv(
        HEADER,
        ["P1", '=HYPERLINK("http://evil")', "equipment", "B1", FORMULA, "10.50", ""],
        ["B1", "Building", "building", "", "+1+1", "", ""],
        ["AHU-1", "Air handler one", "equipment", "B1", "@SUM(A1)", "", "2015-06-01"],
    )
    with api.client("admin") as admin:
        response = admin.post(
            "/api/v1/assets/import", files={"file": ("register.csv", data, "text/csv")}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"created": 2, "updated": 1, "status_changes": 0}
        assert admin.get("/api/v1/assets/P1").json()["manufacturer"] == FORMULA  # kept as text
        exported = admin.get("/api/v1/assets/export.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text)))
        cells = [cell for row in rows[1:] for cell in row]
        for cell in cells:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert "'" + FORMULA in cells and "'+1+1" in cells
        again = admin.post("/api/v1/assets/import", content=exported.content)
        assert again.json() == {"created": 0, "updated": len(rows) - 1, "status_changes": 0}
        assert admin.get("/api/v1/assets/P1").json()["manufacturer"] == FORMULA


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01\x02",
        b"\xff\xfe\x00c\x00o",
        b'code,name\nA,"unterminated\n',
        b"just one column\n",
        b"code,name\n" + b"A,b\n" * 300_000,  # over the 1 MiB body limit
    ],
)
def test_broken_csv_files_are_4xx_with_a_reason(api: ApiServer, data: bytes) -> None:
    with api.client("admin") as admin:
        before = _codes(admin)
        response = admin.post("/api/v1/assets/import", content=data)
        assert response.status_code in (413, 422), response.text
        assert response.json()["detail"]
        assert _codes(admin) == before


# -- documents ------------------------------------------------------------------------------------
def test_documents_are_stored_listed_and_served_with_their_sniffed_type(api: ApiServer) -> None:
    with api.client("manager") as manager:
        response = manager.post(
            "/api/v1/assets/AHU-1/documents",
            files={"file": ("manual.pdf", PDF, "image/png")},  # the claimed type is ignored
            data={"kind": "manual", "title": "O&M manual", "valid_until": "2030-01-01"},
        )
        assert response.status_code == 201, response.text
        document = response.json()
        assert (document["content_type"], document["size_bytes"]) == ("application/pdf", len(PDF))
    with api.client("requester") as requester:
        listed = requester.get("/api/v1/assets/AHU-1/documents").json()
        assert [d["title"] for d in listed] == ["O&M manual"]
        download = requester.get(f"/api/v1/assets/AHU-1/documents/{document['id']}")
        assert download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["x-content-type-options"] == "nosniff"
        other = requester.get(f"/api/v1/assets/CH-1/documents/{document['id']}")
        assert other.status_code == 404
        upload = requester.post(
            "/api/v1/assets/AHU-1/documents", files={"file": ("a.pdf", PDF, "application/pdf")}
        )
        assert upload.status_code == 403
    stored = list((api.context.attachments_dir or Path("/nonexistent")).rglob("*.pdf"))
    assert len(stored) == 1 and stored[0].name != "manual.pdf"


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("../../etc/passwd", PDF, 422),
        ("..\\..\\boot.ini", PDF, 422),
        ("manual.pdf\x00.exe", PDF, 422),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 10, 415),
        ("page.html", b"<html><script>alert(1)</script>\x00", 415),
        ("empty.pdf", b"", 422),
        ("big.pdf", b"%PDF-" + b"0" * (6 * 1024 * 1024), 413),
    ],
)
def test_hostile_documents_are_refused_and_nothing_is_stored(
    api: ApiServer, filename: str, content: bytes, expected: int
) -> None:
    with api.client("admin") as admin:
        response = admin.post(
            "/api/v1/assets/AHU-1/documents",
            files={"file": ("upload", content, "application/pdf")},
            data={"filename": filename, "kind": "manual"},
        )
        assert response.status_code == expected, response.text
        assert admin.get("/api/v1/assets/AHU-1/documents").json() == []
    root = api.context.attachments_dir
    assert root is None or not list(root.rglob("*.*"))


def test_a_document_larger_than_an_ordinary_request_body_is_accepted(api: ApiServer) -> None:
    manual = PDF + b"0" * (2 * 1024 * 1024)  # a scanned manual: past the 1 MiB JSON body limit
    with api.client("admin") as admin:
        response = admin.post(
            "/api/v1/assets/AHU-1/documents",
            files={"file": ("scan.pdf", manual, "application/pdf")},
            data={"kind": "manual"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["size_bytes"] == len(manual)


def test_a_photo_and_plain_text_are_accepted_documents(api: ApiServer) -> None:
    with api.client("admin") as admin:
        for name, content, kind in (
            ("plate.png", PNG, "certificate"),
            ("notes.txt", "Prüfung: Filter getauscht\n".encode(), "other"),
        ):
            response = admin.post(
                "/api/v1/assets/AHU-1/documents",
                files={"file": (name, content, "application/octet-stream")},
                data={"kind": kind},
            )
            assert response.status_code == 201, response.text
        types = [d["content_type"] for d in admin.get("/api/v1/assets/AHU-1/documents").json()]
        assert types == ["image/png", "text/plain"]
        bad_kind = admin.post(
            "/api/v1/assets/AHU-1/documents",
            files={"file": ("a.pdf", PDF, "application/pdf")},
            data={"kind": "virus"},
        )
        assert bad_kind.status_code == 422


def test_a_move_takes_the_new_parents_site_and_view_names_are_not_codes(api: ApiServer) -> None:
    with api.client("manager") as manager:
        _tree(manager)
        lab = {"code": "LAB-1", "name": "Lab", "level": "building", "site": "LAB"}
        assert manager.post("/api/v1/assets", json=lab).status_code == 201
        moved = manager.patch("/api/v1/assets/PUMP-1", json={"parent": "LAB-1"})
        assert (moved.json()["parent"], moved.json()["site"]) == ("LAB-1", "LAB")
        upward = manager.patch("/api/v1/assets/LAB-1", json={"parent": "PUMP-1"})
        assert upward.status_code == 422 and "cycle" in upward.json()["detail"]
        for view in ("tree", "import", "export.csv", "replacement-plan"):
            response = manager.post("/api/v1/assets", json={"code": view, "name": "x"})
            assert response.status_code == 422, view
            assert "reserved" in response.json()["detail"]
