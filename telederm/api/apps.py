from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "telederm.api"
    label = "api"
    verbose_name = "API"
