"""numbers pinned by name, ids never reused, secret recorded on each attempt (issues 12 and 13)

Reserved for the issue-12/13 work on numbers and stored data; filled in by it before it
lands. Until then it changes nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
