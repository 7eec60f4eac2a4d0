from django.urls import path

from exchange import views

app_name = "exchange"
urlpatterns = [
    path("markets/", views.markets, name="markets"),
    path("fees/", views.fees, name="fees"),
    path("fees/token/", views.fee_token_choice, name="fee_token_choice"),
]
