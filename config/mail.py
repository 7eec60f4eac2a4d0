"""The development email backend: each email printed as one block that stands out in the mixed
console of `make run` (who it is to, the subject, the plain-text body with its links), in clear
text rather than the quoted-printable/base64 MIME source Django's console backend prints."""

from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend

BANNER = "=" * 72


class ConsoleBannerEmailBackend(ConsoleEmailBackend):
    def write_message(self, message):
        recipients = ", ".join([*message.to, *message.cc, *message.bcc])
        html = any(mimetype == "text/html" for _content, mimetype in getattr(message, "alternatives", []))
        lines = [
            "",
            BANNER,
            f"EMAIL to {recipients}",
            f"Subject: {message.subject}",
            f"From: {message.from_email}" + ("  (an HTML version is attached as well; not shown here)" if html else ""),
            # Support mail is answered by email: the signed reply address is what a reply goes to.
            *([f"Reply-To: {', '.join(message.reply_to)}"] if message.reply_to else []),
            "-" * 72,
            message.body.rstrip("\n"),
            BANNER,
            "",
        ]
        self.stream.write("\n".join(lines) + "\n")
