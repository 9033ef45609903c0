"""Every entry now has its place and hash: make them required and unique; order by the chain."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_link_existing_entries"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accessevent",
            name="sequence",
            field=models.PositiveBigIntegerField(unique=True),
        ),
        migrations.AlterField(
            model_name="accessevent",
            name="hash",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AlterModelOptions(
            name="accessevent",
            options={"ordering": ["sequence"]},
        ),
    ]
