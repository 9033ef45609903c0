from django.apps import AppConfig


class TriageConfig(AppConfig):
    name = "telederm.triage"
    label = "triage"
    verbose_name = "Triage"
