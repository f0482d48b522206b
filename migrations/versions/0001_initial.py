"""alarms, occurrences, attempts, state, idempotency

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("at", sa.DateTime),
        sa.Column("time_of_day", sa.String(5)),
        sa.Column("days", sa.String(30)),
        sa.Column("cron", sa.String(200)),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("to_ref", sa.String(100), nullable=False),
        sa.Column("then_ref", sa.String(100)),
        sa.Column("grace_seconds", sa.Integer, nullable=False),
        sa.Column("ring_seconds", sa.Integer),
        sa.Column("say", sa.Text),
        sa.Column("redial_attempts", sa.Integer),
        sa.Column("redial_interval_seconds", sa.Integer),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("paused_until", sa.DateTime),
        sa.Column("skip_instants", sa.Text, nullable=False, server_default="[]"),
        sa.Column("next_fire_at", sa.DateTime, index=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "occurrences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("claim_key", sa.String(120), nullable=False, unique=True),
        sa.Column("alarm_id", sa.Integer, sa.ForeignKey("alarms.id", ondelete="SET NULL"), index=True),
        sa.Column("alarm_name", sa.String(100)),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("to_ref", sa.String(100), nullable=False),
        sa.Column("scheduled_at", sa.DateTime, nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("owner", sa.String(120)),
        sa.Column("lease_until", sa.DateTime),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "occurrence_id",
            sa.Integer,
            sa.ForeignKey("occurrences.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("number_name", sa.String(100)),
        sa.Column("dialer", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("sid", sa.String(64), index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error_code", sa.Integer),
        sa.Column("error_message", sa.Text),
        sa.Column("permanent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("duration_seconds", sa.Integer),
    )
    op.create_table(
        "state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "idempotency",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response_body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("idempotency", "state", "attempts", "occurrences", "alarms"):
        op.drop_table(table)
