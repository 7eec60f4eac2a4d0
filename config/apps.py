from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project itself as an app: cross-cutting commands, template tags, health checks."""

    name = "config"
    verbose_name = "Agora platform"

    def ready(self):
        from config.embedded import embedded_dirs_create

        embedded_dirs_create()
