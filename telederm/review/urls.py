from django.urls import path

from telederm.review import code_views, views

app_name = "review"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("codes/", code_views.search, name="code_search"),
    path("cases/<uuid:case_uuid>/", views.case, name="case"),
    path("cases/<uuid:case_uuid>/take/", views.take, name="take"),
    path("cases/<uuid:case_uuid>/answer/", views.answer, name="answer"),
    path("cases/<uuid:case_uuid>/break-glass/", views.break_glass, name="break_glass"),
    path("cases/<uuid:case_uuid>/grants/", views.grant, name="grant"),
    path(
        "cases/<uuid:case_uuid>/grants/<uuid:grant_uuid>/revoke/",
        views.revoke_grant,
        name="revoke_grant",
    ),
]
