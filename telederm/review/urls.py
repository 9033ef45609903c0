from django.urls import path

from telederm.review import views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("cases/<uuid:case_uuid>/", views.case, name="case"),
    path("cases/<uuid:case_uuid>/take/", views.take, name="take"),
    path("cases/<uuid:case_uuid>/answer/", views.answer, name="answer"),
]
