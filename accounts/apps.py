from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and security"

    def ready(self):
        from accounts import receivers  # noqa: F401  (allauth signals -> services)
        from accounts.services import roles_sync

        # Permissions exist only after migrate, so roles are synced after it, every time.
        post_migrate.connect(lambda **kwargs: roles_sync(), sender=self, weak=False, dispatch_uid="accounts.roles_sync")
