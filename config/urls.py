from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from config import views

admin.site.site_header = "Agora operations"
admin.site.site_title = "Agora admin"
admin.site.index_title = "Exchange operations"

urlpatterns = [
    path("", views.root_redirect, name="root"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/language/", views.language_set, name="language_set"),
]

urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("account/", include("accounts.urls")),
    path("wallet/", include("wallets.urls")),
    path("support/", include("support.urls")),
    path("console/", include("support.urls_console", namespace="console")),
    path("", include("exchange.urls")),
    path("auth/", include("allauth.urls")),
    prefix_default_language=True,
)
