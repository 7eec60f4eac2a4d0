from django.urls import path

from wallets import views

app_name = "wallets"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("deposit/<str:symbol>/", views.deposit, name="deposit"),
    path("withdraw/<str:symbol>/", views.withdraw, name="withdraw"),
    path("withdrawals/<int:pk>/cancel/", views.withdrawal_cancel, name="withdrawal_cancel"),
    path("address-book/", views.address_book, name="address_book"),
    path("history/", views.history, name="history"),
    path("recovery/", views.recovery, name="recovery"),
]
