"""field encryption: ID and phone numbers encrypted at rest, with keyed blind indexes for exact look-ups

Revision ID: 0018_field_encryption
Revises: 0017_fact_period_indexes
Create Date: 2026-12-03 14:00:00.000000

The numbers already stored are encrypted here with the application's FIELD_ENCRYPTION_KEY (or the
instance's field_key file): keep that secret safe and apart from the backups; without it they cannot be read.
"""

import contextlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0018_field_encryption"
down_revision = "0017_fact_period_indexes"
branch_labels = None
depends_on = None

BATCH = 5000
person = sa.table(
    "person",
    sa.column("id", sa.Integer),
    sa.column("id_number", sa.Text),
    sa.column("id_number_index", sa.String),
    sa.column("phone", sa.Text),
    sa.column("phone_index", sa.String),
    sa.column("phone_alt", sa.Text),
    sa.column("phone_alt_index", sa.String),
)


@contextlib.contextmanager
def _person_rewritable():
    """SQLite changes a column's type by copying the table; dropping the old copy of `person` fails while
    other tables' foreign keys point at it, and the check can only be switched off outside a transaction."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    with op.get_context().autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
        try:
            yield
        finally:
            op.execute("PRAGMA foreign_keys=ON")


def _rewrite(convert) -> None:
    """Rewrite every person's three numbers in batches, ordered by id."""
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(person.c.id, person.c.id_number, person.c.phone, person.c.phone_alt)
            .where(person.c.id > last)
            .order_by(person.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        changes = [change for change in map(convert, rows) if change is not None]
        if changes:
            connection.execute(person.update().where(person.c.id == sa.bindparam("row_id")), changes)
        last = rows[-1].id


def upgrade():
    from registry.people.protection import blind_index_of_document, blind_index_of_phone, current_keys

    with op.batch_alter_table("person") as batch_op:
        batch_op.drop_index("uq_person_id_document")
        batch_op.drop_index("ix_person_phone")
    with _person_rewritable():
        with op.batch_alter_table("person") as batch_op:
            batch_op.alter_column("id_number", type_=sa.Text(), existing_type=sa.String(length=40))
            batch_op.alter_column("phone", type_=sa.Text(), existing_type=sa.String(length=20))
            batch_op.alter_column("phone_alt", type_=sa.Text(), existing_type=sa.String(length=20))
    with op.batch_alter_table("person") as batch_op:
        batch_op.add_column(sa.Column("id_number_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("phone_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("phone_alt_index", sa.String(length=64), nullable=True))

    keys = current_keys()

    def encrypt(row):
        if row.id_number is None and row.phone is None and row.phone_alt is None:
            return None
        return {
            "row_id": row.id,
            "id_number": keys.encrypt(row.id_number) if row.id_number else None,
            "id_number_index": blind_index_of_document(row.id_number),
            "phone": keys.encrypt(row.phone) if row.phone else None,
            "phone_index": blind_index_of_phone(row.phone),
            "phone_alt": keys.encrypt(row.phone_alt) if row.phone_alt else None,
            "phone_alt_index": blind_index_of_phone(row.phone_alt),
        }

    _rewrite(encrypt)
    with op.batch_alter_table("person") as batch_op:
        batch_op.create_index(
            "uq_person_id_document",
            ["id_type", "id_number_index"],
            unique=True,
            sqlite_where=sa.text("id_number_index IS NOT NULL"),
            postgresql_where=sa.text("id_number_index IS NOT NULL"),
        )
        batch_op.create_index("ix_person_phone_index", ["phone_index"], unique=False)
        batch_op.create_index("ix_person_phone_alt_index", ["phone_alt_index"], unique=False)


def downgrade():
    from registry.people.protection import current_keys

    keys = current_keys()

    def decrypt(row):
        if row.id_number is None and row.phone is None and row.phone_alt is None:
            return None
        return {
            "row_id": row.id,
            "id_number": keys.decrypt(row.id_number) if row.id_number else None,
            "id_number_index": None,
            "phone": keys.decrypt(row.phone) if row.phone else None,
            "phone_index": None,
            "phone_alt": keys.decrypt(row.phone_alt) if row.phone_alt else None,
            "phone_alt_index": None,
        }

    with op.batch_alter_table("person") as batch_op:
        batch_op.drop_index("uq_person_id_document")
        batch_op.drop_index("ix_person_phone_index")
        batch_op.drop_index("ix_person_phone_alt_index")
    _rewrite(decrypt)
    with _person_rewritable():
        with op.batch_alter_table("person") as batch_op:
            batch_op.drop_column("phone_alt_index")
            batch_op.drop_column("phone_index")
            batch_op.drop_column("id_number_index")
            batch_op.alter_column("phone_alt", type_=sa.String(length=20), existing_type=sa.Text())
            batch_op.alter_column("phone", type_=sa.String(length=20), existing_type=sa.Text())
            batch_op.alter_column("id_number", type_=sa.String(length=40), existing_type=sa.Text())
    with op.batch_alter_table("person") as batch_op:
        batch_op.create_index("ix_person_phone", ["phone"], unique=False)
        batch_op.create_index(
            "uq_person_id_document",
            ["id_type", "id_number"],
            unique=True,
            sqlite_where=sa.text("id_number IS NOT NULL"),
            postgresql_where=sa.text("id_number IS NOT NULL"),
        )
