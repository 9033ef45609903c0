from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("photos", "0001_initial")]

    operations = [migrations.RenameField(model_name="photo", old_name="view", new_name="kind")]
