from django.urls import path

from telederm.photos import views

app_name = "photos"

urlpatterns = [
    path("<uuid:case_uuid>/photos/", views.manage, name="manage"),
    path("<uuid:case_uuid>/lesions/", views.add_lesion, name="add_lesion"),
    path("<uuid:case_uuid>/lesions/<uuid:lesion_uuid>/photos/", views.upload, name="upload"),
    path(
        "<uuid:case_uuid>/lesions/<uuid:lesion_uuid>/status/",
        views.lesion_status,
        name="lesion_status",
    ),
    path("<uuid:case_uuid>/lesions/<uuid:lesion_uuid>/compare/", views.compare, name="compare"),
    path("<uuid:case_uuid>/photos/<uuid:photo_uuid>/remove/", views.remove, name="remove"),
    path("<uuid:case_uuid>/messages/photos/", views.message_reply, name="message_reply"),
    path("<uuid:case_uuid>/photos/<uuid:photo_uuid>/<str:size>.jpg", views.image, name="image"),
]
