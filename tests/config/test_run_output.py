"""`make run`'s console: task runs and beat sends are not logged per line by default, and emails
stand out as one readable block each."""

import json
import os
import subprocess
import sys
from io import StringIO

from django.conf import settings as django_settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives

PROBE = """
import json, logging
from django.conf import settings
from config.celery import app
app.log.setup(loglevel="INFO")  # what `celery worker --loglevel=INFO` and `celery beat` do at start
print(json.dumps({
    name: logging.getLevelName(logging.getLogger(name).getEffectiveLevel())
    for name in ("celery.app.trace", "celery.worker.strategy", "celery.beat", "wallets", "accounts", "", "celery.worker.consumer")
} | {"EMAIL_BACKEND": settings.EMAIL_BACKEND, "django handlers": len(logging.getLogger("django").handlers)}))
"""


def _probe(**env_extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LOG_LEVEL", "TASK_LOG_LEVEL", "EMAIL_BACKEND", "DJANGO_SETTINGS_MODULE")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", **env_extra)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_celery_per_task_lines_are_quiet_by_default_and_our_code_logs_info():
    levels = _probe()
    assert levels == {
        "celery.app.trace": "WARNING",
        "celery.worker.strategy": "WARNING",
        "celery.beat": "WARNING",
        "wallets": "INFO",
        "accounts": "INFO",
        "": "INFO",
        "celery.worker.consumer": "INFO",
        "EMAIL_BACKEND": "config.mail.ConsoleBannerEmailBackend",
        "django handlers": 0,  # with DEBUG on, Django's own console handler printed each warning a second time
    }


def test_log_levels_are_settings():
    levels = _probe(LOG_LEVEL="warning", TASK_LOG_LEVEL="info")
    assert (levels["celery.app.trace"], levels["celery.beat"], levels["wallets"], levels[""]) == ("INFO", "INFO", "WARNING", "WARNING")


def test_console_email_is_one_framed_block_in_clear_text():
    out = StringIO()
    connection = mail.get_connection("config.mail.ConsoleBannerEmailBackend", stream=out)
    message = EmailMultiAlternatives(
        "[Agora] Bestätigen Sie Ihre E-Mail-Adresse",
        "Hallo Bob,\n\nöffnen Sie: http://127.0.0.1:8123/de/auth/confirm-email/abc/\n",
        "Agora <no-reply@agora.example>",
        ["bob@demo.test"],
        connection=connection,
    )
    message.attach_alternative("<p>Hallo</p>", "text/html")
    assert message.send() == 1
    assert out.getvalue() == (
        "\n" + "=" * 72 + "\n"
        "EMAIL to bob@demo.test\n"
        "Subject: [Agora] Bestätigen Sie Ihre E-Mail-Adresse\n"
        "From: Agora <no-reply@agora.example>  (an HTML version is attached as well; not shown here)\n" + "-" * 72 + "\n"
        "Hallo Bob,\n\nöffnen Sie: http://127.0.0.1:8123/de/auth/confirm-email/abc/\n" + "=" * 72 + "\n\n"
    )


def test_console_email_shows_the_reply_address_of_support_mail():
    out = StringIO()
    connection = mail.get_connection("config.mail.ConsoleBannerEmailBackend", stream=out)
    message = EmailMultiAlternatives(
        "[Agora] Re: Retiro [#ABC]",
        "Hola\n",
        "Agora Support <support@support.agora.example>",
        ["carmen@demo.test"],
        reply_to=["support+token@support.agora.example"],
        connection=connection,
    )
    assert message.send() == 1
    lines = out.getvalue().splitlines()
    assert lines[3:6] == [
        "Subject: [Agora] Re: Retiro [#ABC]",
        "From: Agora Support <support@support.agora.example>",
        "Reply-To: support+token@support.agora.example",
    ]
