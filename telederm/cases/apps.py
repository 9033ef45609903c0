from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "telederm.cases"
    label = "cases"
    verbose_name = "Cases"
