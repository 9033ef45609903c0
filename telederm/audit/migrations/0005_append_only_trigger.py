"""On PostgreSQL, refuse UPDATE and DELETE on the access log in the database itself (ADR 0007).

No TRUNCATE trigger: Django's test flush truncates tables on PostgreSQL. Production runs the app
as a role without TRUNCATE, UPDATE or DELETE on the table (docs/runbooks/audit-log.md).
SQLite gets no trigger (Django's test flush deletes rows there); the model refuses instead.
A later migration that must rewrite rows has to drop or disable this trigger explicitly.
"""

from django.db import migrations

FUNCTION = "audit_accessevent_append_only"
TRIGGER = "audit_accessevent_append_only"
TABLE = "audit_accessevent"

CREATE = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the access log is append-only: % on %.% is not allowed',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'Entries are only ever added; see docs/runbooks/audit-log.md.';
END;
$$;
CREATE TRIGGER {TRIGGER}
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {FUNCTION}();
"""

DROP = f"""
DROP TRIGGER IF EXISTS {TRIGGER} ON {TABLE};
DROP FUNCTION IF EXISTS {FUNCTION}();
"""


# params=None: the SQL goes to the server as written, its % signs are PL/pgSQL's, not placeholders.
def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0004_chain_constraints"),
    ]

    operations = [
        migrations.RunPython(create_trigger, drop_trigger, elidable=False),
    ]
