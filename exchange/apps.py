from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "exchange"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The order services wake the engine through exchange.wake; the engine registers how an
        # ENGINE_INLINE process applies commands in-process (so services never import the engine).
        from exchange import runner, wake

        wake.inline_register(runner.engine_apply_inline)
