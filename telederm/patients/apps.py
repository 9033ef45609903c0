from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "telederm.patients"
    label = "patients"
    verbose_name = "Patients"
