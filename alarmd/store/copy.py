"""Copy one database into another: an SQLite household growing into PostgreSQL keeps everything.

Every table of alarmd's own, rows in id order, in one transaction on the target, whose
schema is already at head. The target must hold no alarms and no history yet, so nothing
is merged or overwritten (its `state`, made by the upgrade, is replaced). PostgreSQL's id
sequences are moved past the copied ids, so a new alarm never takes an old one's id.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, insert, select, text

from alarmd.errors import BadInput
from alarmd.store.models import Base

# Parents before children, so foreign keys hold at every insert; nodes are per machine.
TABLES = ("alarms", "occurrences", "attempts", "state", "idempotency", "alarm_changes")


def copy_database(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every row; the count per table. BadInput when the target already has data."""
    tables = [Base.metadata.tables[name] for name in TABLES]
    with source.connect() as reading, target.begin() as writing:
        for table in tables:
            if table.name != "state" and writing.scalar(select(func.count()).select_from(table)):
                raise BadInput(f"the target database already has rows in {table.name}; copy into an empty one.")
        # `state` holds only what the schema's upgrade put there (the cost guard's lock row).
        writing.execute(delete(Base.metadata.tables["state"]))
        counts = {}
        for table in tables:
            rows = [dict(row._mapping) for row in reading.execute(select(table).order_by(*table.primary_key))]
            if rows:
                writing.execute(insert(table), rows)
            counts[table.name] = len(rows)
        if target.dialect.name == "postgresql":
            for table in tables:
                column = table.c.get("id")
                if column is not None and column.autoincrement is not False and counts[table.name]:
                    writing.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"))
    return counts
