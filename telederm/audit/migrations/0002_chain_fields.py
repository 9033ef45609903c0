"""The hash chain's columns (ADR 0007), nullable until 0003 has linked the rows already there."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="accessevent",
            name="sequence",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="accessevent",
            name="previous_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="accessevent",
            name="hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="accessevent",
            name="basis",
            field=models.CharField(
                blank=True,
                choices=[
                    ("own", "own record"),
                    ("sender", "sender of the case"),
                    ("assigned", "assigned to the case"),
                    ("pool", "clinic's shared queue"),
                    ("triage", "triage duty"),
                    ("grant", "access granted"),
                    ("break_glass", "emergency access"),
                ],
                default="",
                max_length=20,
            ),
        ),
    ]
