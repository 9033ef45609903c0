"""Link the entries written before the chain existed, in the order they were written (by id).

Their hashes attest to their content as it is when this runs, not to their past. Runs in its own
migration (its own transaction on PostgreSQL) so that the schema changes around it do not meet
pending row events.
"""

from django.db import migrations

from telederm.audit import chain


def link_existing(apps, schema_editor):
    AccessEvent = apps.get_model("audit", "AccessEvent")
    head = None
    rows = AccessEvent.objects.using(schema_editor.connection.alias).order_by("pk")
    for row in rows.iterator(chunk_size=2000):
        link = chain.next_link(head)
        fields = {name: getattr(row, name) for name in chain.FIELDS}
        row.sequence = link.sequence
        row.previous_hash = link.previous_hash
        row.hash = chain.entry_hash(link.previous_hash, link.sequence, fields)
        row.save(update_fields=["sequence", "previous_hash", "hash"])
        head = (row.sequence, row.hash)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_chain_fields"),
    ]

    operations = [
        migrations.RunPython(link_existing, migrations.RunPython.noop, elidable=False),
    ]
