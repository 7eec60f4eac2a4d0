"""The helpdesk console (agents and supervisors), mounted at console/ in every language."""

from django.urls import path

from support.views import console as views

app_name = "console"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("assign/", views.bulk_assign, name="bulk_assign"),
    path("presence/", views.presence, name="presence"),
    path("freeze-lifts/", views.freeze_lifts, name="freeze_lifts"),
    path("tickets/<str:reference>/", views.ticket_view, name="ticket"),
    path("tickets/<str:reference>/reply/", views.reply, name="reply"),
    path("tickets/<str:reference>/heartbeat/", views.heartbeat, name="heartbeat"),
    path("tickets/<str:reference>/status/", views.status_set, name="status"),
    path("tickets/<str:reference>/priority/", views.priority_set, name="priority"),
    path("tickets/<str:reference>/assign/", views.assign, name="assign"),
    path("tickets/<str:reference>/security/", views.security_action, name="security"),
    path("tickets/<str:reference>/freeze-lift/", views.freeze_lift_request, name="freeze_lift_request"),
    path("tickets/<str:reference>/freeze-lift/<int:freeze_id>/approve/", views.freeze_lift_approve, name="freeze_lift_approve"),
    path("customers/<int:pk>/", views.customer, name="customer"),
    path("objects/<str:kind>/<int:pk>/", views.linked_object, name="object"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
]
