"""Events taken in from other units: received.

Revision dolmen_0003, created 2026-12-06 16:10:00.
"""

import sqlalchemy as sa
from alembic import op

revision = "dolmen_0003"
down_revision = "dolmen_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "dolmen__received",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "handler", name=op.f("pk_dolmen__received")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("dolmen__received")
