"""The database: SQLAlchemy tables, the engine and its sessions, Alembic upgrades, JSON views of rows."""
