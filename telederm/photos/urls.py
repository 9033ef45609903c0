from django.urls import path

from telederm.photos import views

app_name = "photos"

urlpatterns = [
    path("<uuid:case_uuid>/photos/", views.manage, name="manage"),
    path("<uuid:case_uuid>/photos/<uuid:photo_uuid>/remove/", views.remove, name="remove"),
    path("<uuid:case_uuid>/photos/<uuid:photo_uuid>/<str:size>.jpg", views.image, name="image"),
]
