from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "telederm.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from telederm.core import checks  # noqa: F401  (registers the deploy checks)
