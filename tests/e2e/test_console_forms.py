"""Console forms over real HTTP: log-in, CSRF, reports, order actions, QR links, hostile input."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from console import sign_link
from maintenance.work_orders.models import WorkOrder, WorkOrderSource, WorkOrderStatus
from maintenance.work_orders.service import create_work_order
from tests.e2e.conftest import SECRET, ConsoleServer
from tests.e2e.console_client import browser, csrf_of, form_token, log_in


def _orders(server: ConsoleServer) -> list[WorkOrder]:
    with server.sessions() as session:
        return list(session.scalars(sa.select(WorkOrder).order_by(WorkOrder.id)).all())


# -- log-in and sessions ---------------------------------------------------------------------------
def test_log_in_sets_an_httponly_samesite_lax_session_cookie(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    token = form_token(client, "/console/login")
    response = client.post(
        "/console/login",
        data={
            "csrf": token,
            "username": "tech",
            "password": "console-pass-1",
            "next": "/console/my",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/my"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("facility_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert client.get("/console/my").status_code == 200


def test_the_session_cookie_is_the_same_token_the_api_accepts(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    log_in(client, "manager")
    token = client.cookies["facility_session"]
    api = client.get("/api/v1/work-orders", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200


def test_a_wrong_password_is_refused_with_a_message_and_no_cookie(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    token = form_token(client, "/console/login")
    response = client.post(
        "/console/login", data={"csrf": token, "username": "tech", "password": "nope-nope"}
    )
    assert response.status_code == 401
    assert "Wrong user name or password." in response.text
    assert "facility_session" not in client.cookies


def test_repeated_wrong_passwords_are_throttled_with_a_message_and_retry_after(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    answers = []
    for attempt in range(6):
        token = form_token(client, "/console/login")
        answers.append(
            client.post(
                "/console/login",
                data={"csrf": token, "username": "tech", "password": f"guess-{attempt}"},
            )
        )
    assert [a.status_code for a in answers] == [401] * 5 + [429]
    assert "Too many failed attempts" in answers[-1].text
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert "facility_session" not in client.cookies


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/api/v1/users", "/console\\@evil"]
)
def test_log_in_never_redirects_outside_the_console(
    console_server: ConsoleServer, target: str
) -> None:
    client = browser(console_server.url)
    token = form_token(client, "/console/login")
    response = client.post(
        "/console/login",
        data={"csrf": token, "username": "tech", "password": "console-pass-1", "next": target},
    )
    assert response.headers["location"] == "/console/"


def test_log_out_clears_the_session(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    log_in(client, "tech")
    token = form_token(client, "/console/my")
    assert client.post("/console/logout", data={"csrf": token}).status_code == 303
    assert client.get("/console/my").status_code == 303


# -- CSRF ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "", "0" * 40, "not-hex", "a" * 5000])
def test_a_form_post_without_the_right_csrf_token_is_refused(
    console_server: ConsoleServer, token: str | None
) -> None:
    client = browser(console_server.url)
    log_in(client, "requester")
    form = {"title": "Leak", "asset": ""}
    if token is not None:
        form["csrf"] = token
    response = client.post("/console/report", data=form)
    assert response.status_code == 403
    assert "security token" in response.text
    assert _orders(console_server) == []


def test_a_csrf_token_from_another_browser_does_not_work(console_server: ConsoleServer) -> None:
    attacker = browser(console_server.url)
    stolen = form_token(attacker, "/console/login")
    victim = browser(console_server.url)
    log_in(victim, "requester")
    response = victim.post("/console/report", data={"csrf": stolen, "title": "Forged"})
    assert response.status_code == 403
    assert _orders(console_server) == []


def test_a_post_from_another_origin_is_refused_even_with_a_token(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    log_in(client, "requester")
    token = form_token(client, "/console/report")
    response = client.post(
        "/console/report",
        data={"csrf": token, "title": "Cross-site"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


# -- reporting a problem ---------------------------------------------------------------------------
def test_a_requester_reports_a_problem_and_sees_it_among_their_requests(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    log_in(client, "requester")
    token = form_token(client, "/console/report")
    response = client.post(
        "/console/report",
        data={
            "csrf": token,
            "title": "Meeting room is hot",
            "description": "28 °C since noon",
            "asset": str(console_server.asset_ids["Room-101"]),
            "priority": "P2",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/requests?notice=reported"
    [order] = _orders(console_server)
    assert (order.title, order.source, order.created_by, order.priority.value) == (
        "Meeting room is hot",
        WorkOrderSource.REQUEST,
        "requester",
        "P2",
    )
    page = client.get(response.headers["location"]).text
    assert "Meeting room is hot" in page and "your report was received" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"title": "   "}, "This field is required."),
        ({"title": "x" * 201}, "This field is too long."),
        ({"title": "ok", "description": "d" * 2001}, "This field is too long."),
        ({"title": "bell\x07"}, "This field contains control characters."),
        ({"title": "ok", "asset": "999999"}, "Choose an asset from the list."),
        ({"title": "ok", "asset": "'; DROP TABLE assets; --"}, "This field is too long."),
        ({"title": "ok", "priority": "P1"}, "Choose an urgency from the list."),
        ({"title": "ok", "priority": "urgent!"}, "This field is too long."),
    ],
)
def test_a_bad_report_is_refused_with_the_field_marked_and_nothing_stored(
    console_server: ConsoleServer, form: dict[str, str], message: str
) -> None:
    client = browser(console_server.url)
    log_in(client, "requester")
    token = form_token(client, "/console/report")
    response = client.post("/console/report", data={"csrf": token, **form})
    assert response.status_code == 400
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert _orders(console_server) == []


def test_html_in_a_report_is_shown_as_text_never_run(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    log_in(client, "requester")
    token = form_token(client, "/console/report")
    client.post("/console/report", data={"csrf": token, "title": "<script>alert(1)</script>"})
    page = client.get("/console/requests").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_report_that_is_not_a_web_form_is_refused(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    log_in(client, "requester")
    response = client.post("/console/report", json={"title": "json"})
    assert response.status_code == 400
    response = client.post(
        "/console/report", content=b"--x\r\nbroken", headers={"Content-Type": "multipart/form-data"}
    )
    assert response.status_code == 400
    assert _orders(console_server) == []


def test_an_oversized_body_is_refused_before_it_is_read(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    log_in(client, "requester")
    token = form_token(client, "/console/report")
    response = client.post("/console/report", data={"csrf": token, "title": "x" * 2_000_000})
    assert response.status_code == 413


# -- acting on orders ------------------------------------------------------------------------------
def _new_order(server: ConsoleServer, created_by: str = "requester") -> int:
    with server.sessions() as session:
        order, _ = create_work_order(
            session,
            title="Fan noisy",
            actor=created_by,
            asset_code="AHU-1",
            source=WorkOrderSource.REQUEST,
        )
        return order.id


def _act(client_role: str, server: ConsoleServer, order_id: int, **form: str) -> tuple[int, str]:
    client = browser(server.url)
    log_in(client, client_role)
    page = client.get(f"/console/orders/{order_id}")
    token = csrf_of(page.text) if page.status_code == 200 else form_token(client, "/console/report")
    response = client.post(
        f"/console/orders/{order_id}/act",
        data={"csrf": token, "back": f"/console/orders/{order_id}", **form},
    )
    return response.status_code, response.text


def _status(server: ConsoleServer, order_id: int) -> WorkOrderStatus:
    with server.sessions() as session:
        order = session.get(WorkOrder, order_id)
        assert order is not None
        return order.status


def test_the_whole_loop_runs_through_the_console_forms(console_server: ConsoleServer) -> None:
    order_id = _new_order(console_server)
    assert _act("manager", console_server, order_id, action="assign", assignee="tech")[0] == 303
    assert _act("tech", console_server, order_id, action="start", note="on my way")[0] == 303
    assert _act("tech", console_server, order_id, action="resolve")[0] == 303
    assert _act("requester", console_server, order_id, action="verify")[0] == 303
    assert _status(console_server, order_id) is WorkOrderStatus.VERIFIED
    client = browser(console_server.url)
    log_in(client, "requester")
    page = client.get(f"/console/orders/{order_id}").text
    assert "How well was this handled?" in page
    response = client.post(
        f"/console/orders/{order_id}/rate",
        data={"csrf": csrf_of(page), "rating": "4", "comment": "quick"},
    )
    assert response.status_code == 303
    page = client.get(f"/console/orders/{order_id}").text
    assert 'id="order-rating">4 of 5' in page
    assert "How well was this handled?" not in page


def test_the_loop_and_the_board_work_on_every_work_order_database(
    console_server_any_db: ConsoleServer,
) -> None:
    server = console_server_any_db
    order_id = _new_order(server)
    assert _act("manager", server, order_id, action="assign", assignee="tech")[0] == 303
    assert _act("tech", server, order_id, action="start")[0] == 303
    client = browser(server.url)
    log_in(client, "manager")
    board = client.get("/console/board", params={"status": "in_progress", "priority": "P3"})
    assert board.status_code == 200
    assert f'data-order="{order_id}"' in board.text
    overview = client.get("/console/")
    assert 'class="badge health-warning"' in overview.text, "an open P3 order turns the asset amber"
    assert _status(server, order_id) is WorkOrderStatus.IN_PROGRESS


@pytest.mark.parametrize("rating", ["0", "6", "x", "", "44"])
def test_a_rating_outside_one_to_five_is_refused(
    console_server: ConsoleServer, rating: str
) -> None:
    order_id = _new_order(console_server)
    client = browser(console_server.url)
    log_in(client, "requester")
    token = form_token(client, f"/console/orders/{order_id}")
    response = client.post(
        f"/console/orders/{order_id}/rate", data={"csrf": token, "rating": rating}
    )
    assert response.status_code == 400


def test_an_action_the_role_may_not_take_is_refused_and_changes_nothing(
    console_server: ConsoleServer,
) -> None:
    order_id = _new_order(console_server)
    status, text = _act("requester", console_server, order_id, action="assign", assignee="tech")
    assert status == 403
    assert "Your role may not do this" in text
    assert _status(console_server, order_id) is WorkOrderStatus.NEW


def test_an_action_the_state_does_not_allow_names_the_reason(
    console_server: ConsoleServer,
) -> None:
    order_id = _new_order(console_server)
    status, text = _act("manager", console_server, order_id, action="close")
    assert status == 409
    assert "Not possible now" in text
    assert _status(console_server, order_id) is WorkOrderStatus.NEW


@pytest.mark.parametrize("action", ["explode", "", "a" * 21, "assign\x00"])
def test_an_unknown_action_is_a_clear_400(console_server: ConsoleServer, action: str) -> None:
    order_id = _new_order(console_server)
    status, _ = _act("manager", console_server, order_id, action=action)
    assert status == (422 if "\x00" in action else 400)  # NUL is refused before any route


@pytest.mark.parametrize(
    "path", ["/console/orders/0", "/console/orders/abc", "/console/orders/99999999999"]
)
def test_an_impossible_order_id_is_rejected(console_server: ConsoleServer, path: str) -> None:
    client = browser(console_server.url)
    log_in(client, "manager")
    assert client.get(path).status_code == 422


def test_board_filters_select_orders_and_unknown_values_are_reported(
    console_server: ConsoleServer,
) -> None:
    first = _new_order(console_server)
    second = _new_order(console_server)
    _act("manager", console_server, second, action="assign", assignee="tech")
    client = browser(console_server.url)
    log_in(client, "manager")
    page = client.get("/console/board", params={"assignee": "tech"}).text
    assert f'data-order="{second}"' in page and f'data-order="{first}"' not in page
    page = client.get("/console/board", params={"status": "new"}).text
    assert f'data-order="{first}"' in page and f'data-order="{second}"' not in page
    response = client.get("/console/board", params={"status": "<b>bogus</b>", "priority": "P9"})
    assert response.status_code == 400
    assert "&lt;b&gt;bogus&lt;/b&gt;" in response.text and "P9" in response.text


# -- QR report links -------------------------------------------------------------------------------
def _link(server: ConsoleServer, code: str = "AHU-1", issued_at: int | None = None) -> str:
    token = sign_link(secret=SECRET, asset_id=server.asset_ids[code], issued_at=issued_at)
    return f"/console/r/{token}"


def test_a_signed_link_opens_the_report_form_for_its_asset_without_an_account(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    link = _link(console_server)
    page = client.get(link)
    assert page.status_code == 200
    assert "Air handler 1 (AHU-1)" in page.text
    assert 'name="asset"' not in page.text, "the asset is fixed by the link"
    response = client.post(
        link,
        data={"csrf": csrf_of(page.text), "title": "Water dripping", "contact": "+86 138 0000"},
    )
    assert response.status_code == 201
    assert re.search(r"work order #\d+", response.text)
    [order] = _orders(console_server)
    assert order.source is WorkOrderSource.REQUEST
    assert order.asset_id == console_server.asset_ids["AHU-1"]
    assert "+86 138 0000" in order.description


def test_the_asset_of_a_link_cannot_be_swapped_by_the_form(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    link = _link(console_server, "AHU-1")
    token = form_token(client, link)
    client.post(
        link,
        data={"csrf": token, "title": "x", "asset": str(console_server.asset_ids["Room-101"])},
    )
    [order] = _orders(console_server)
    assert order.asset_id == console_server.asset_ids["AHU-1"]


@pytest.mark.parametrize(
    "token",
    [
        "v1.1.abc.AAAAAAAAAAAAAAAAAAAAAA",
        "v2.1.abc.AAAAAAAAAAAAAAAAAAAAAA",
        "garbage",
        "v1.zz!.1.x",
        "x" * 500,
        "v1.-1.1.AAAA",
    ],
)
def test_a_forged_or_malformed_link_is_not_found(console_server: ConsoleServer, token: str) -> None:
    client = browser(console_server.url)
    response = client.get(f"/console/r/{token}")
    assert response.status_code == 404
    assert "not valid or was withdrawn" in response.text
    assert client.post(f"/console/r/{token}", data={"title": "x"}).status_code == 404


def test_a_link_for_one_asset_does_not_verify_for_another(console_server: ConsoleServer) -> None:
    good = _link(console_server, "AHU-1").rsplit("/", 1)[1]
    version, _asset, issued, mac = good.split(".")
    other = console_server.asset_ids["Room-101"]
    forged = f"{version}.{other:x}.{issued}.{mac}"
    assert browser(console_server.url).get(f"/console/r/{forged}").status_code == 404


def test_a_revoked_link_stops_working_and_a_newly_printed_one_works(
    console_server: ConsoleServer,
) -> None:
    old = _link(console_server, issued_at=1_700_000_000)
    client = browser(console_server.url)
    assert client.get(old).status_code == 200
    console_server.state.revocations.revoke(console_server.asset_ids["AHU-1"], at=1_700_000_100)
    assert client.get(old).status_code == 404
    fresh = _link(console_server, issued_at=1_700_000_200)
    assert client.get(fresh).status_code == 200


def test_reports_through_a_link_are_rate_limited(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    link = _link(console_server)
    token = form_token(client, link)
    codes = [
        client.post(link, data={"csrf": token, "title": f"report {i}"}).status_code
        for i in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    assert len(_orders(console_server)) == 3


def test_a_link_report_needs_a_title_and_refuses_an_oversized_contact(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    link = _link(console_server)
    token = form_token(client, link)
    assert client.post(link, data={"csrf": token, "title": ""}).status_code == 400
    response = client.post(link, data={"csrf": token, "title": "ok", "contact": "c" * 201})
    assert response.status_code == 400
    assert _orders(console_server) == []
