from django.urls import path

from support.views import customer

app_name = "support"
urlpatterns = [
    path("", customer.home, name="home"),
    path("new/", customer.ticket_new, name="new"),
    path("new/<slug:slug>/", customer.ticket_new_in, name="new_in"),
    path("tickets/<str:reference>/", customer.ticket_detail, name="ticket"),
    path("tickets/<str:reference>/conversation/", customer.ticket_conversation, name="conversation"),
    path("tickets/<str:reference>/reopen/", customer.ticket_reopen_view, name="reopen"),
    path("tickets/<str:reference>/rate/", customer.ticket_rate_view, name="rate"),
    path("attachments/<int:pk>/", customer.attachment, name="attachment"),
]
