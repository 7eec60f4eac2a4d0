from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("security/", views.security, name="security"),
    path("security/anti-phishing/", views.anti_phishing_set, name="anti_phishing"),
    path("settings/", views.profile, name="profile"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("freeze/", views.freeze, name="freeze"),
    path("freeze/link/", views.freeze_link, name="freeze_link"),
    path("frozen/", views.frozen, name="frozen"),
]
