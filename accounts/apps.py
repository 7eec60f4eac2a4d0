from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and security"

    def ready(self):
        from accounts import receivers  # noqa: F401  (allauth signals -> services)
        from accounts.services import roles_sync

        # Permissions exist only after migrate, so roles are synced after it, every time; the other
        # apps' permissions are created first (their own post_migrate comes after ours).
        post_migrate.connect(
            lambda using="default", **kwargs: roles_sync(using=using, create_permissions=True),
            sender=self,
            weak=False,
            dispatch_uid="accounts.roles_sync",
        )
