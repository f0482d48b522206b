"""answering-machine detection and cost-guard reservations (issue 12)

Reserved for the issue-12 work on calls; filled in by it before it lands. Until then it
changes nothing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
