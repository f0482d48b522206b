"""web sessions (issue 15)

Placeholder on this branch for the web page's revision, which replaces it at the merge; it
changes nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
