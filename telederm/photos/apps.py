from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "telederm.photos"
    label = "photos"
    verbose_name = "Photos"
