from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Synthetic demo data (`telederm demo`). Sits above every domain app and drives their services."""

    name = "telederm.demo"
    label = "demo"
    verbose_name = "Demo data"
