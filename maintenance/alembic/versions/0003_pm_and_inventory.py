"""pm and inventory: preventive-maintenance plans and occurrences, the spare-parts ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stock_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "spare_part",
                "consumable",
                "office_supply",
                name="stock_category",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("reorder_point", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("reorder_qty", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku"),
    )
    op.create_table(
        "pm_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("asset_codes", sa.JSON(), nullable=False),
        sa.Column("asset_type", sa.String(length=64), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("checklist_template_id", sa.Integer(), nullable=True),
        sa.Column("estimated_labour_h", sa.Double(), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum(
                "calendar", "runtime", "meter", name="pm_trigger_kind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("interval", sa.Double(), nullable=False),
        sa.Column(
            "unit",
            sa.Enum("day", "week", "month", name="pm_time_unit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column(
            "mode",
            sa.Enum("fixed", "floating", name="pm_schedule_mode", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("anchor_local", sa.String(length=32), nullable=True),
        sa.Column("device", sa.String(length=200), nullable=True),
        sa.Column("metric", sa.String(length=64), nullable=True),
        sa.Column("max_gap_s", sa.Double(), nullable=False),
        sa.Column("lead", sa.Double(), nullable=False),
        sa.Column("grace_h", sa.Double(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_template_id"],
            ["checklist_templates.id"],
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "storerooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "stock_balances",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("storeroom_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("last_movement_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("on_hand >= 0", name="ck_stock_balances_non_negative"),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["stock_items.id"],
        ),
        sa.ForeignKeyConstraint(
            ["storeroom_id"],
            ["storerooms.id"],
        ),
        sa.PrimaryKeyConstraint("item_id", "storeroom_id"),
    )
    op.create_table(
        "pm_occurrences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_key", sa.String(length=200), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["pm_plans.id"],
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "occurrence_key", name="uq_pm_occurrences_plan_key"),
    )
    op.create_index(op.f("ix_pm_occurrences_due_at"), "pm_occurrences", ["due_at"], unique=False)
    op.create_index(op.f("ix_pm_occurrences_plan_id"), "pm_occurrences", ["plan_id"], unique=False)
    op.create_index(
        op.f("ix_pm_occurrences_work_order_id"), "pm_occurrences", ["work_order_id"], unique=False
    )
    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "receipt",
                "issue",
                "return",
                "adjustment",
                "transfer_out",
                "transfer_in",
                name="stock_movement_kind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("storeroom_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["stock_items.id"],
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
    op.create_index(
        op.f("ix_stock_movements_item_id"), "stock_movements", ["item_id"], unique=False
    )
    op.create_index(op.f("ix_stock_movements_ts"), "stock_movements", ["ts"], unique=False)
    op.create_index(
        op.f("ix_stock_movements_work_order_id"), "stock_movements", ["work_order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_stock_movements_work_order_id"), table_name="stock_movements")
    op.drop_index(op.f("ix_stock_movements_ts"), table_name="stock_movements")
    op.drop_index(op.f("ix_stock_movements_item_id"), table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_index(op.f("ix_pm_occurrences_work_order_id"), table_name="pm_occurrences")
    op.drop_index(op.f("ix_pm_occurrences_plan_id"), table_name="pm_occurrences")
    op.drop_index(op.f("ix_pm_occurrences_due_at"), table_name="pm_occurrences")
    op.drop_table("pm_occurrences")
    op.drop_table("stock_balances")
    op.drop_table("storerooms")
    op.drop_table("pm_plans")
    op.drop_table("stock_items")
