"""Alembic environment: runs on the connection hams hands it (see hams.db.migrate)."""

from alembic import context

from hams.db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
