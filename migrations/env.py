"""Alembic environment: alarmd passes its own connection (alarmd.store.db.upgrade)."""

from alembic import context
from sqlalchemy import create_engine

from alarmd.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        # `alembic` run by hand from a checkout: sqlalchemy.url must be given.
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
        with engine.begin() as conn:
            _migrate(conn)
        return
    _migrate(connection)


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    # render_as_batch: SQLite can only change a table by copying it.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
