from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project itself as an app: cross-cutting commands, template tags, health checks."""

    name = "config"
    verbose_name = "Agora platform"
