"""answering-machine detection and cost-guard reservations (issue 12 items 2 and 4, issue 13 item 2)

- alarms.require_human: ring with Twilio's answering machine detection, and count a
  machine as not answered (NULL: alarmd.redial.requireHuman decides).
- attempts.answered_by: who answered, as Twilio reports it (human, machine_start, fax,
  unknown, ...); NULL without detection.
- attempts.may_have_placed: the request may have placed a call (a SID came back, its
  answer was lost, or it is in flight); only these count for the cost guard. Rows from
  before this revision count, as they did; they leave the guard's hour within the hour.
- occurrences.reserved_at: a manual dial answered 202 holds its first attempt from then
  until that attempt's row replaces it, so the answer is never a call that will not be placed.
- the `costguard` row of `state`: the row the cost guard updates to take the write lock.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("require_human", sa.Boolean))
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("answered_by", sa.String(30)))
        batch.add_column(sa.Column("may_have_placed", sa.Boolean, nullable=False, server_default=sa.true()))
    with op.batch_alter_table("occurrences") as batch:
        batch.add_column(sa.Column("reserved_at", sa.DateTime))
        batch.create_index("ix_occurrences_reserved_at", ["reserved_at"])
    state = sa.table("state", sa.column("key", sa.String), sa.column("value", sa.Text))
    connection = op.get_bind()
    if connection.execute(sa.select(state.c.key).where(state.c.key == "costguard")).first() is None:
        op.bulk_insert(state, [{"key": "costguard", "value": ""}])


def downgrade() -> None:
    op.execute("DELETE FROM state WHERE key = 'costguard'")
    with op.batch_alter_table("occurrences") as batch:
        batch.drop_index("ix_occurrences_reserved_at")
        batch.drop_column("reserved_at")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("may_have_placed")
        batch.drop_column("answered_by")
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("require_human")
