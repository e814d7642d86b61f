"""Alembic environment: the service hands in its open connection (see `service.core.db.migrate`);
the `alembic` command line builds one from `NIDS_DATABASE_URL`."""

from alembic import context

from service.models import Base


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")

connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from service.core.config import Settings
    from service.core.db import create_db_engine

    with create_db_engine(Settings().database_url).connect() as connection:
        run_migrations(connection)
        connection.commit()
