"""Diagnosed FDD work orders on SQLite and PostgreSQL: one order per asset for all its fault
conditions, reopened when a fault returns and verified from the data when it stays away,
``feeds`` suppression recorded and lifted, and alert storms folded into one incident order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session, sessionmaker

from facility.core.types import Alert, AlertState, Reading, Severity
from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.assets.lifecycle import status_history
from maintenance.assets.models import Asset, AssetFeed
from maintenance.assets.register import ensure_asset
from maintenance.people.users import create_user
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import fdd, service
from maintenance.work_orders.models import OPEN_STATES, WorkOrder, WorkOrderStatus
from maintenance.work_orders.service import AlertOutcome, AlertPolicy, alert_evidence, apply_alert
from maintenance.worker import MaintenanceWorker
from rules.diagnoses import ChecklistStep, Diagnosis, DiagnosisCatalogue, Text, default_catalogue

FC2 = "ahu-g36-fc2-mixed-air-too-low"
FC10 = "ahu-g36-fc10-mixed-outdoor-differ-full-economizer"
FC13 = "ahu-g36-fc13-supply-high-full-cooling"
T0 = datetime.now(UTC).replace(microsecond=0)


def fired(
    rule: str,
    asset: str = "AHU-1",
    *,
    at: datetime = T0,
    state: AlertState = AlertState.FIRING,
    severity: Severity = Severity.MINOR,
    value: float = 8.0,
) -> Alert:
    return Alert(
        rule=rule,
        device=asset.lower(),
        asset=asset,
        state=state,
        severity=severity,
        ts=at,
        value=value,
        message=f"{asset}: {rule} value {value}",
    )


def cleared(rule: str, asset: str = "AHU-1", *, at: datetime = T0) -> Alert:
    return fired(rule, asset, at=at, state=AlertState.RESOLVED)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    with factory() as session:
        create_user(session, username="tech", password="tech-password-1", role=Role.TECH)
    yield factory
    engine.dispose()


def open_orders(sessions: sessionmaker[Session], asset: str) -> list[WorkOrder]:
    with sessions() as session:
        return list(
            session.scalars(
                sa.select(WorkOrder)
                .join(Asset, WorkOrder.asset_id == Asset.id)
                .where(Asset.code == asset, WorkOrder.status.in_(OPEN_STATES))
            )
        )


def load(sessions: sessionmaker[Session], order_id: int) -> WorkOrder:
    with sessions() as session:
        return service.get_work_order(session, work_order_id=order_id)


def repair(sessions: sessionmaker[Session], order_id: int, *, at: datetime) -> None:
    """Dispatch, start, do every checklist step and resolve, as a technician would."""
    with sessions() as session:
        for action, who, role in (
            ("assign", "manager", Role.MANAGER),
            ("start", "tech", Role.TECH),
        ):
            service.transition(
                session,
                work_order_id=order_id,
                action=action,
                actor=who,
                role=role,
                assignee="tech" if action == "assign" else None,
                now=at,
            )
        order = service.get_work_order(session, work_order_id=order_id)
        for item in order.checklist:
            service.record_checklist_item(
                session,
                work_order_id=order_id,
                item_id=item.id,
                value="pass" if item.kind == "pass_fail" else 21.0,
                actor="tech",
                role=Role.TECH,
                now=at,
            )
        service.transition(
            session, work_order_id=order_id, action="resolve", actor="tech", role=Role.TECH, now=at
        )


# -- folding several fault conditions ------------------------------------------------------------
def test_several_fault_conditions_on_one_asset_fold_into_one_diagnosed_order(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    store = SqlReadingStore(make_engine(f"sqlite:///{tmp_path / 'readings.db'}"))
    store.write(
        [
            Reading("ahu-1", "mixed_air_temperature", 8.0, "degC", T0 - timedelta(minutes=2)),
            Reading("ahu-1", "return_air_temperature", 22.5, "degC", T0 - timedelta(minutes=2)),
            Reading("ahu-1", "outdoor_air_temperature", 14.0, "degC", T0 - timedelta(minutes=2)),
            Reading("ahu-1", "outdoor_air_damper", 100.0, "%", T0 - timedelta(minutes=1)),
        ]
    )
    outcomes = []
    for rule, at in ((FC2, T0), (FC10, T0 + timedelta(hours=3)), (FC2, T0 + timedelta(hours=5))):
        alert = fired(rule, at=at)
        evidence = alert_evidence(alert, condition=None, readings=store, window_s=900)
        with sessions() as session:
            outcomes.append(apply_alert(session, alert=alert, evidence=evidence, now=at))
    store.close()

    order_id = outcomes[0].work_order_id
    assert order_id is not None
    assert [o.action for o in outcomes] == ["created", "folded", "folded"]
    assert {o.work_order_id for o in outcomes} == {order_id}
    assert [o.id for o in open_orders(sessions, "AHU-1")] == [order_id]
    order = load(sessions, order_id)
    assert order.title == (
        "AHU-1: the mixed-air temperature reads too low (FC2);"
        " at 100 % outdoor air, mixed air is not outdoor air (FC10)"
    )
    assert [e.kind for e in order.events] == ["created", "fdd_fault", "refired"]
    faults = fdd.faults_of(order)
    assert [(f["fc"], f["fired"]) for f in faults] == [("FC2", 2), ("FC10", 1)]
    proof = {p["point"]: p["value"] for p in faults[0]["points"]}
    assert proof == {
        "mixed_air_temperature": 8.0,
        "return_air_temperature": 22.5,
        "outdoor_air_temperature": 14.0,
    }
    assert "Likely causes" in order.description and "FC10" in order.description
    steps = [item.template for item in order.checklist]
    catalogue = default_catalogue()
    expected = ["fdd:" + key for key, _ in catalogue.steps([FC2, FC10])]
    assert steps == expected and len(steps) == len(set(steps))
    assert steps.count("fdd:mixed-air-sensor") == 1


def test_the_worst_folded_fault_sets_the_priority(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        first = apply_alert(session, alert=fired(FC2, severity=Severity.MINOR), now=T0)
        apply_alert(session, alert=fired(FC13, severity=Severity.MAJOR), now=T0)
    assert first.work_order_id is not None
    assert load(sessions, first.work_order_id).priority is Priority.P2


def test_two_workers_racing_different_faults_of_one_asset_leave_one_order(
    sessions: sessionmaker[Session],
) -> None:
    rounds = 6
    barrier = threading.Barrier(2, timeout=60)
    outcomes: list[AlertOutcome] = []
    errors: list[BaseException] = []

    def worker(rule: str) -> None:
        try:
            for n in range(rounds):
                barrier.wait()
                with sessions() as session:
                    outcomes.append(apply_alert(session, alert=fired(rule, f"AHU-R{n}"), now=T0))
        except BaseException as exc:  # reported below, never swallowed
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(rule,)) for rule in (FC2, FC10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sorted(o.action for o in outcomes) == ["created"] * rounds + ["folded"] * rounds
    for n in range(rounds):
        orders = open_orders(sessions, f"AHU-R{n}")
        assert len(orders) == 1, f"AHU-R{n}: {[o.id for o in orders]}"
        assert sorted(fdd.fault_rules(load(sessions, orders[0].id))) == sorted([FC2, FC10])


# -- the loop: verify from data, reopen when the fault returns ----------------------------------
def test_a_fault_returning_within_the_window_reopens_the_repaired_order(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        order_id = apply_alert(session, alert=fired(FC13), now=T0).work_order_id
    assert order_id is not None
    repair(sessions, order_id, at=T0 + timedelta(hours=2))
    with sessions() as session:
        outcome = apply_alert(
            session, alert=fired(FC13, at=T0 + timedelta(hours=5)), now=T0 + timedelta(hours=5)
        )
    order = load(sessions, order_id)
    assert outcome == AlertOutcome("reopened", order_id)
    assert order.status is WorkOrderStatus.REOPENED and order.reopen_count == 1
    assert order.events[-1].kind == "fault_returned"


def test_a_repair_that_holds_is_verified_from_the_data_and_a_later_fault_opens_a_new_order(
    sessions: sessionmaker[Session],
) -> None:
    policy = AlertPolicy(fdd_window_s=6 * 3600)
    with sessions() as session:
        order_id = apply_alert(session, alert=fired(FC2), now=T0, alerts=policy).work_order_id
        apply_alert(session, alert=fired(FC10), now=T0, alerts=policy)
    assert order_id is not None
    fixed = T0 + timedelta(hours=1)
    repair(sessions, order_id, at=fixed)
    with sessions() as session:
        apply_alert(session, alert=cleared(FC2, at=fixed), now=fixed, alerts=policy)
        # one fault still firing: the data does not say it is fixed
        assert (
            service.verify_fdd_orders(session, now=fixed + timedelta(hours=7), alerts=policy) == []
        )
        apply_alert(session, alert=cleared(FC10, at=fixed), now=fixed, alerts=policy)
        assert (
            service.verify_fdd_orders(session, now=fixed + timedelta(hours=5), alerts=policy) == []
        )
        verified = service.verify_fdd_orders(session, now=fixed + timedelta(hours=7), alerts=policy)
    assert verified == [order_id]
    order = load(sessions, order_id)
    assert order.status is WorkOrderStatus.VERIFIED and order.events[-1].actor == "rules"

    later = fixed + timedelta(hours=30)
    with sessions() as session:
        outcome = apply_alert(session, alert=fired(FC2, at=later), now=later, alerts=policy)
    assert outcome.action == "created" and outcome.work_order_id != order_id
    old = load(sessions, order_id)
    assert old.status is WorkOrderStatus.CLOSED and old.idempotency_key is None
    assert [o.id for o in open_orders(sessions, "AHU-1")] == [outcome.work_order_id]


def test_closing_an_fdd_order_releases_the_asset_for_the_next_fault(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        first = apply_alert(session, alert=fired(FC2), now=T0).work_order_id
        assert first is not None
        service.transition(
            session, work_order_id=first, action="cancel", actor="manager", role=Role.MANAGER
        )
        second = apply_alert(session, alert=fired(FC2), now=T0).work_order_id
    assert second is not None and second != first
    assert load(sessions, first).idempotency_key is None


# -- feeds suppression ----------------------------------------------------------------------------
CHILLER_RULE = "chiller-chw-supply-high"


def with_chiller(catalogue: DiagnosisCatalogue) -> DiagnosisCatalogue:
    """The shipped catalogue plus a chiller diagnosis (the upstream of the AHUs' coils)."""
    step = ChecklistStep(
        kind="pass_fail",
        label=Text(
            en="Chiller: running, no alarm, set-point right",
            zh="冷水机组在运行、无报警、设定值正确",
        ),
    )
    chiller = Diagnosis(
        match=CHILLER_RULE,
        fc="CH1",
        title=Text(en="chilled water too warm", zh="冷冻水供水温度偏高"),
        diagnosis=Text(
            en="The chiller does not hold its supply temperature.",
            zh="冷水机组供水温度达不到设定值。",
        ),
        causes=[Text(en="Compressor or refrigerant fault", zh="压缩机或冷媒故障")],
        points=["supply_air_temperature"],
        checklist=["chiller"],
    )
    return DiagnosisCatalogue(
        version=1,
        point_names=dict(catalogue.point_names),
        checklist_items={**catalogue.checklist_items, "chiller": step},
        diagnoses=[*catalogue.diagnoses, chiller],
    )


def test_downstream_symptoms_are_suppressed_onto_the_upstream_order_and_lifted_when_it_ends(
    sessions: sessionmaker[Session],
) -> None:
    policy = AlertPolicy(catalogue=with_chiller(default_catalogue()))
    with sessions() as session:
        chiller = ensure_asset(session, code="CH-1", asset_type="chiller")
        for code in ("AHU-1", "AHU-2"):
            ahu = ensure_asset(session, code=code, asset_type="air_handler")
            session.add(
                AssetFeed(upstream_id=chiller.id, downstream_id=ahu.id, medium="chilled_water")
            )
        session.commit()
        upstream = apply_alert(session, alert=fired(CHILLER_RULE, "CH-1"), now=T0, alerts=policy)
        one = apply_alert(session, alert=fired(FC13, "AHU-1"), now=T0, alerts=policy)
        two = apply_alert(session, alert=fired(FC13, "AHU-2"), now=T0, alerts=policy)
        gone = apply_alert(session, alert=cleared(FC13, "AHU-2"), now=T0, alerts=policy)
    assert upstream.action == "created" and upstream.work_order_id is not None
    assert one == AlertOutcome("suppressed", upstream.work_order_id)
    assert two == AlertOutcome("suppressed", upstream.work_order_id)
    assert gone == AlertOutcome("resolved", upstream.work_order_id)
    assert open_orders(sessions, "AHU-1") == [] and open_orders(sessions, "AHU-2") == []

    order = load(sessions, upstream.work_order_id)
    notes = [e.note for e in order.events if e.kind == "fdd_suppressed"]
    assert notes == [
        "suppressed: AHU-1 FC13 — likely caused upstream",
        "suppressed: AHU-2 FC13 — likely caused upstream",
    ]
    with sessions() as session:
        ahu1 = session.scalars(sa.select(Asset).where(Asset.code == "AHU-1")).one()
        history = status_history(session, asset_id=ahu1.id)
    assert history[-1].work_order_id == upstream.work_order_id
    assert "likely caused upstream by CH-1" in history[-1].reason
    assert history[-1].from_status == history[-1].to_status  # recorded, status unchanged

    with sessions() as session:
        service.transition(
            session,
            work_order_id=upstream.work_order_id,
            action="cancel",
            actor="manager",
            role=Role.MANAGER,
            note="chiller reset",
            now=T0 + timedelta(hours=1),
        )
    lifted = open_orders(sessions, "AHU-1")
    assert len(lifted) == 1, "the still-active AHU-1 symptom gets its own order"
    assert fdd.fault_rules(load(sessions, lifted[0].id)) == [FC13]
    assert open_orders(sessions, "AHU-2") == [], "AHU-2's symptom cleared while suppressed"
    kinds = [e.kind for e in load(sessions, upstream.work_order_id).events]
    assert kinds.count("fdd_suppression_lifted") == 1


def test_a_downstream_asset_with_its_own_open_order_folds_there_instead(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        own = apply_alert(session, alert=fired(FC2, "AHU-2"), now=T0).work_order_id
        feeder = ensure_asset(session, code="AHU-1")
        fed = ensure_asset(session, code="AHU-2")
        session.add(AssetFeed(upstream_id=feeder.id, downstream_id=fed.id, medium="air"))
        session.commit()
        apply_alert(session, alert=fired(FC13, "AHU-1"), now=T0)
        outcome = apply_alert(session, alert=fired(FC10, "AHU-2"), now=T0)
    assert outcome == AlertOutcome("folded", own)


# -- alert storms ---------------------------------------------------------------------------------
def _storm_count(rule: str) -> float:
    value = REGISTRY.get_sample_value("facility_work_orders_storm_folded_total", {"rule": rule})
    return value or 0.0


def test_a_burst_of_alerts_from_many_assets_folds_into_one_incident_order(
    sessions: sessionmaker[Session],
) -> None:
    rule = "device-offline"
    policy = AlertPolicy(storm_threshold=5)
    before = _storm_count(rule)
    outcomes = []
    with sessions() as session:
        for n in range(40):
            at = T0 + timedelta(seconds=n)
            outcomes.append(
                apply_alert(
                    session, alert=fired(rule, f"SENSOR-{n:03d}", at=at), now=at, alerts=policy
                )
            )
    created = [o for o in outcomes if o.action == "created"]
    folded = [o for o in outcomes if o.action == "folded"]
    assert len(created) == 5 and len(folded) == 35
    incident_ids = {o.work_order_id for o in folded}
    assert len(incident_ids) == 1
    incident = load(sessions, incident_ids.pop() or 0)
    assert incident.title.startswith(f"rule {rule} fired on 40 assets in 1 min")
    assert "likely a common cause" in incident.title
    assert incident.asset_id is None and incident.rule == f"storm:{rule}"
    listed = [e.note for e in incident.events if e.kind == "storm_folded"]
    assert listed == [f"SENSOR-{n:03d}" for n in range(5, 40)]
    assert "#" in incident.description and "SENSOR-000" in incident.description
    assert _storm_count(rule) - before == 35
    with sessions() as session:
        rule_orders = session.scalar(
            sa.select(sa.func.count()).select_from(WorkOrder).where(WorkOrder.rule == rule)
        )
    assert rule_orders == 5

    # the storm is over once a window passes without alerts: the next fault is an order again
    calm = T0 + timedelta(minutes=5)
    with sessions() as session:
        after = apply_alert(
            session, alert=fired(rule, "SENSOR-999", at=calm), now=calm, alerts=policy
        )
    assert after.action == "created"


def test_an_fdd_storm_across_many_air_handlers_folds_too(sessions: sessionmaker[Session]) -> None:
    policy = AlertPolicy(storm_threshold=3)
    with sessions() as session:
        actions = [
            apply_alert(session, alert=fired(FC2, f"AHU-{n}"), now=T0, alerts=policy).action
            for n in range(10)
        ]
    assert actions == ["created"] * 3 + ["folded"] * 7


def test_storm_folding_can_be_switched_off(sessions: sessionmaker[Session]) -> None:
    policy = AlertPolicy(storm_threshold=0)
    with sessions() as session:
        actions = {
            apply_alert(
                session, alert=fired("device-offline", f"S-{n}"), now=T0, alerts=policy
            ).action
            for n in range(30)
        }
    assert actions == {"created"}


def test_a_tampered_suppression_record_is_skipped_and_the_good_ones_are_still_lifted(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with sessions() as session:
        feeder = ensure_asset(session, code="AHU-1")
        fed = ensure_asset(session, code="VAV-1")
        session.add(AssetFeed(upstream_id=feeder.id, downstream_id=fed.id, medium="air"))
        session.commit()
        upstream = apply_alert(session, alert=fired(FC13, "AHU-1"), now=T0).work_order_id
        assert upstream is not None
        apply_alert(session, alert=fired(FC2, "VAV-1"), now=T0)
        order = session.get(WorkOrder, upstream)
        assert order is not None
        for bad in (
            {"asset": "VAV-9", "rule": FC10, "ts": "not a time", "severity": "minor"},
            {"asset": "VAV-8", "rule": FC10, "ts": T0.isoformat(), "severity": "apocalyptic"},
            {"asset": "VAV-7"},
            {
                "asset": "../..",
                "rule": FC10,
                "ts": T0.isoformat(),
                "severity": "minor",
                "device": "x",
            },
        ):
            service.record_event(
                order, actor="rules", kind="fdd_suppressed", now=T0, data={"alert": bad}
            )
        session.commit()
        service.transition(
            session, work_order_id=upstream, action="cancel", actor="manager", role=Role.MANAGER
        )
    assert len(open_orders(sessions, "VAV-1")) == 1
    for code in ("VAV-7", "VAV-8", "VAV-9"):
        assert open_orders(sessions, code) == []
    assert caplog.text.count("cannot lift a suppression") == 4


def test_the_maintenance_worker_verifies_a_repair_that_held(
    sessions: sessionmaker[Session],
) -> None:
    policy = AlertPolicy(fdd_window_s=3600)
    with sessions() as session:
        order_id = apply_alert(session, alert=fired(FC13), now=T0, alerts=policy).work_order_id
    assert order_id is not None
    repair(sessions, order_id, at=T0 + timedelta(minutes=30))
    with sessions() as session:
        apply_alert(session, alert=cleared(FC13, at=T0 + timedelta(minutes=40)), alerts=policy)
    worker = MaintenanceWorker(sessions, alerts=policy, clock=lambda: T0 + timedelta(hours=2))
    worker.run_once()
    assert load(sessions, order_id).status is WorkOrderStatus.VERIFIED


def test_a_held_repair_hands_its_suppressed_symptoms_to_the_upstream_asset_new_order(
    sessions: sessionmaker[Session],
) -> None:
    policy = AlertPolicy(fdd_window_s=3600)
    with sessions() as session:
        feeder = ensure_asset(session, code="AHU-1")
        fed = ensure_asset(session, code="VAV-1")
        session.add(AssetFeed(upstream_id=feeder.id, downstream_id=fed.id, medium="air"))
        session.commit()
        old = apply_alert(session, alert=fired(FC13), now=T0, alerts=policy).work_order_id
        assert old is not None
        suppressed = apply_alert(session, alert=fired(FC2, "VAV-1"), now=T0, alerts=policy)
    assert suppressed == AlertOutcome("suppressed", old)
    repair(sessions, old, at=T0 + timedelta(minutes=10))
    later = T0 + timedelta(hours=3)
    with sessions() as session:
        new = apply_alert(session, alert=fired(FC10, at=later), now=later, alerts=policy)
    assert new.action == "created" and new.work_order_id not in (None, old)
    assert load(sessions, old).status is WorkOrderStatus.CLOSED
    assert [e.kind for e in load(sessions, old).events][-1] == "fdd_suppression_lifted"
    assert open_orders(sessions, "VAV-1") == []
    moved = [
        e.note for e in load(sessions, new.work_order_id or 0).events if e.kind == "fdd_suppressed"
    ]
    assert moved == ["suppressed: VAV-1 FC2 — likely caused upstream"]
