"""asset_feeds: which asset supplies which (Brick's feeds), for fault suppression downstream

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 03:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "upstream_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "downstream_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("medium", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("upstream_id", "downstream_id"),
    )
    op.create_index("ix_asset_feeds_upstream_id", "asset_feeds", ["upstream_id"])
    op.create_index("ix_asset_feeds_downstream_id", "asset_feeds", ["downstream_id"])


def downgrade() -> None:
    op.drop_index("ix_asset_feeds_downstream_id", "asset_feeds")
    op.drop_index("ix_asset_feeds_upstream_id", "asset_feeds")
    op.drop_table("asset_feeds")
