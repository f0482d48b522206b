"""several nodes on one database: timestamptz, fencing, a change log, node heartbeats (issue 16)

- On PostgreSQL every timestamp column becomes `timestamptz` (its stored values are UTC),
  so comparisons with the database's now() never depend on the session's TimeZone.
  SQLite has no zones; nothing changes there.
- occurrences.lease_epoch: bumped by every takeover; each write of a delivery checks it,
  so a node frozen past its lease can neither dial nor write over its successor.
- alarm_changes: one row per change to an alarm, its id the sequence other nodes read
  to learn what to schedule again (a counter, not a timestamp: skewed clocks and hard
  deletes slip past a time-based check).
- nodes: each node's heartbeat (host, version, clock skew, a hash of its settings).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        columns = bind.execute(sa.text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = 'timestamp without time zone'"
        )).all()
        for table, column in columns:
            op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE timestamptz '
                       f"USING \"{column}\" AT TIME ZONE 'UTC'")
    with op.batch_alter_table("occurrences") as batch:
        batch.add_column(sa.Column("lease_epoch", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "alarm_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alarm_id", sa.Integer, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_skew_ms", sa.Integer, nullable=False, server_default="0"),
        sa.Column("settings_hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("nodes")
    op.drop_table("alarm_changes")
    with op.batch_alter_table("occurrences") as batch:
        batch.drop_column("lease_epoch")
