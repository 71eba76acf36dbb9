"""asset life cycle, suppliers, reservations, monthly review

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 11:50:49.853200
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suppliers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "supplier", "contractor", "both", name="supplier_kind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "candidate",
                "qualified",
                "suspended",
                "removed",
                name="qualification_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("contact_name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("flagged_for_review_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "improvement_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                "dropped",
                name="improvement_action_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("improvement_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_improvement_actions_period"), ["period"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_improvement_actions_site_id"), ["site_id"], unique=False
        )

    op.create_table(
        "supplier_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supplier_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_certificates_expires_on"), ["expires_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_supplier_certificates_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "supplier_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("annual_value", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("response_target_h", sa.Double(), nullable=True),
        sa.Column("resolution_target_h", sa.Double(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("supplier_contracts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_contracts_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "supplier_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier_id", "period"),
    )
    with op.batch_alter_table("supplier_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_reviews_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "supplier_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supplier_id", "period"),
    )
    with op.batch_alter_table("supplier_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_scores_period"), ["period"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supplier_scores_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "supplier_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supplier_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supplier_status_changes_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_surveys_site_id"), ["site_id"], unique=False)

    op.create_table(
        "asset_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "manual",
                "certificate",
                "drawing",
                "warranty",
                "other",
                name="asset_document_kind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stored_name"),
    )
    with op.batch_alter_table("asset_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_documents_asset_id"), ["asset_id"], unique=False)

    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("storeroom_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "received",
                "cancelled",
                name="purchase_order_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quantity_received", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["stock_items.id"],
        ),
        sa.ForeignKeyConstraint(
            ["storeroom_id"],
            ["storerooms.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_orders_supplier_id"), ["supplier_id"], unique=False
        )

    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("respondent", sa.String(length=64), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "respondent"),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_responses_survey_id"), ["survey_id"], unique=False
        )

    op.create_table(
        "asset_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "planned",
                "in_service",
                "under_repair",
                "standby",
                "decommissioned",
                name="asset_status_from",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "planned",
                "in_service",
                "under_repair",
                "standby",
                "decommissioned",
                name="asset_status_to",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("asset_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_asset_status_changes_asset_id"), ["asset_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_asset_status_changes_ts"), ["ts"], unique=False)

    op.create_table(
        "labour_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("hourly_rate", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("contractor_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("hours > 0", name="ck_labour_entries_positive"),
        sa.ForeignKeyConstraint(
            ["contractor_id"],
            ["suppliers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("labour_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_labour_entries_work_order_id"), ["work_order_id"], unique=False
        )

    op.create_table(
        "stock_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("storeroom_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "reserved",
                "consumed",
                "released",
                name="stock_reservation_status",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("movement_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["stock_items.id"],
        ),
        sa.ForeignKeyConstraint(
            ["movement_id"],
            ["stock_movements.id"],
        ),
        sa.ForeignKeyConstraint(
            ["storeroom_id"],
            ["storerooms.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stock_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stock_reservations_item_id"), ["item_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_stock_reservations_work_order_id"), ["work_order_id"], unique=False
        )

    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "level",
                sa.Enum(
                    "building",
                    "floor",
                    "zone",
                    "equipment",
                    name="asset_level",
                    native_enum=False,
                    length=20,
                ),
                server_default="equipment",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("category", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("manufacturer", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("model", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("serial_number", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("installed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("commissioned_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("warranty_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("expected_life_years", sa.Double(), nullable=True))
        batch_op.add_column(
            sa.Column("purchase_cost", sa.Numeric(precision=14, scale=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column("replacement_cost", sa.Numeric(precision=14, scale=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "criticality",
                sa.Enum("A", "B", "C", name="asset_criticality", native_enum=False, length=20),
                server_default="C",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "planned",
                    "in_service",
                    "under_repair",
                    "standby",
                    "decommissioned",
                    name="asset_status",
                    native_enum=False,
                    length=20,
                ),
                server_default="in_service",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("status_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_assets_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key("fk_assets_parent_id", "assets", ["parent_id"], ["id"])

    with op.batch_alter_table("pm_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cron", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("rule", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("parts", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("progress_value", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("progress_state", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_pm_plans_rule"), ["rule"], unique=False)

    with op.batch_alter_table("stock_balances", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reserved", sa.Numeric(precision=14, scale=3), server_default="0", nullable=False
            )
        )
        batch_op.create_check_constraint("ck_stock_balances_reserved_non_negative", "reserved >= 0")

    with op.batch_alter_table("stock_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "max_stock", sa.Numeric(precision=14, scale=3), server_default="0", nullable=False
            )
        )
        batch_op.add_column(sa.Column("preferred_supplier_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_stock_items_preferred_supplier_id"),
            ["preferred_supplier_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            "fk_stock_items_preferred_supplier_id", "suppliers", ["preferred_supplier_id"], ["id"]
        )

    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supplier_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("purchase_order_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_stock_movements_supplier_id"), ["supplier_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_stock_movements_supplier_id", "suppliers", ["supplier_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_stock_movements_purchase_order_id", "purchase_orders", ["purchase_order_id"], ["id"]
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supplier_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_users_supplier_id", "suppliers", ["supplier_id"], ["id"])

    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contractor_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_work_orders_contractor_id"), ["contractor_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_work_orders_contractor_id", "suppliers", ["contractor_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_constraint("fk_work_orders_contractor_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_work_orders_contractor_id"))
        batch_op.drop_column("contractor_id")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("fk_users_supplier_id", type_="foreignkey")
        batch_op.drop_column("supplier_id")

    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_constraint("fk_stock_movements_purchase_order_id", type_="foreignkey")
        batch_op.drop_constraint("fk_stock_movements_supplier_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_stock_movements_supplier_id"))
        batch_op.drop_column("purchase_order_id")
        batch_op.drop_column("supplier_id")

    with op.batch_alter_table("stock_items", schema=None) as batch_op:
        batch_op.drop_constraint("fk_stock_items_preferred_supplier_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_stock_items_preferred_supplier_id"))
        batch_op.drop_column("preferred_supplier_id")
        batch_op.drop_column("max_stock")

    with op.batch_alter_table("stock_balances", schema=None) as batch_op:
        batch_op.drop_constraint("ck_stock_balances_reserved_non_negative", type_="check")
        batch_op.drop_column("reserved")

    with op.batch_alter_table("pm_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pm_plans_rule"))
        batch_op.drop_column("progress_state")
        batch_op.drop_column("progress_value")
        batch_op.drop_column("progress_at")
        batch_op.drop_column("parts")
        batch_op.drop_column("rule")
        batch_op.drop_column("cron")

    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_constraint("fk_assets_parent_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_assets_parent_id"))
        batch_op.drop_column("status_since")
        batch_op.drop_column("status")
        batch_op.drop_column("criticality")
        batch_op.drop_column("replacement_cost")
        batch_op.drop_column("purchase_cost")
        batch_op.drop_column("expected_life_years")
        batch_op.drop_column("warranty_end")
        batch_op.drop_column("commissioned_on")
        batch_op.drop_column("installed_on")
        batch_op.drop_column("serial_number")
        batch_op.drop_column("model")
        batch_op.drop_column("manufacturer")
        batch_op.drop_column("category")
        batch_op.drop_column("level")
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("stock_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_reservations_work_order_id"))
        batch_op.drop_index(batch_op.f("ix_stock_reservations_item_id"))

    op.drop_table("stock_reservations")
    with op.batch_alter_table("labour_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labour_entries_work_order_id"))

    op.drop_table("labour_entries")
    with op.batch_alter_table("asset_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_status_changes_ts"))
        batch_op.drop_index(batch_op.f("ix_asset_status_changes_asset_id"))

    op.drop_table("asset_status_changes")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_responses_survey_id"))

    op.drop_table("survey_responses")
    with op.batch_alter_table("purchase_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_orders_supplier_id"))

    op.drop_table("purchase_orders")
    with op.batch_alter_table("asset_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_documents_asset_id"))

    op.drop_table("asset_documents")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_surveys_site_id"))

    op.drop_table("surveys")
    with op.batch_alter_table("supplier_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_status_changes_supplier_id"))

    op.drop_table("supplier_status_changes")
    with op.batch_alter_table("supplier_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_scores_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_supplier_scores_period"))

    op.drop_table("supplier_scores")
    with op.batch_alter_table("supplier_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_reviews_supplier_id"))

    op.drop_table("supplier_reviews")
    with op.batch_alter_table("supplier_contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_contracts_supplier_id"))

    op.drop_table("supplier_contracts")
    with op.batch_alter_table("supplier_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_certificates_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_supplier_certificates_expires_on"))

    op.drop_table("supplier_certificates")
    with op.batch_alter_table("improvement_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_improvement_actions_site_id"))
        batch_op.drop_index(batch_op.f("ix_improvement_actions_period"))

    op.drop_table("improvement_actions")
    op.drop_table("suppliers")
