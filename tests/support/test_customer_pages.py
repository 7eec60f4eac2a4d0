"""The customer's support pages: my tickets with the SLA promise, a new ticket with only their own
objects to link, the public conversation, reopen within the period, CSAT once per solve."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from support.models import Attachment, SatisfactionRating, SlaClock, Ticket
from support.selectors.customer import promise_when
from support.services.tickets import message_post_agent, ticket_priority_set, ticket_status_set
from tests.factories import UserFactory
from tests.support import conftest_customer as fixtures
from tests.support.conftest_customer import PDF, clock_running, note_internal, png_bytes, ticket_open, withdrawal_for
from tests.support.factories import agent_create

pytestmark = pytest.mark.django_db
desk, customer = fixtures.desk, fixtures.customer
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # a Sunday


def main(response) -> str:
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def agent(desk):
    user = agent_create(languages=["en", "es"])
    user.agent.display_name = "Lucía (Agora)"
    user.agent.save()
    return user


# --- my tickets -------------------------------------------------------------------------------------


@freeze_time(NOW)
def test_my_tickets_lists_only_mine_with_status_last_reply_and_the_promise(client, desk, customer, agent):
    mine = ticket_open(customer, desk, category="withdrawal", subject="Withdrawal stuck")
    clock_running(mine, due_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC))  # Tuesday 10:00 in Madrid
    answered = ticket_open(customer, desk, subject="Fees question")
    message_post_agent(ticket=answered, agent=agent, body="Here is the fee schedule.", status=Ticket.Status.PENDING)
    other = ticket_open(UserFactory(), desk, subject="Someone else's problem")
    client.force_login(customer)
    page = main(client.get("/en/support/"))
    assert mine.reference in page and answered.reference in page
    assert other.reference not in page and "Someone else" not in page
    row = text(re.search(rf'<tr data-reference="{mine.reference}".*?</tr>', page, re.S).group(0))
    assert (
        row
        == f"#{mine.reference} Withdrawal stuck Withdrawal Open You 03/01/2026 1 p.m. We will answer by Tuesday 10:00 AM Time zone: Madrid"
    )
    row = text(re.search(rf'<tr data-reference="{answered.reference}".*?</tr>', page, re.S).group(0))
    # Waiting for the customer: no promise from us.
    assert row == f"#{answered.reference} Fees question Other Waiting for your reply Support 03/01/2026 1 p.m."


@freeze_time(NOW)
def test_the_promise_is_in_the_readers_language_and_time_zone(client, desk, customer):
    customer.time_zone = "America/New_York"
    customer.save()
    ticket = ticket_open(customer, desk)
    clock_running(ticket, due_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC))
    client.force_login(customer)
    page = text(main(client.get("/es/support/")))
    assert "martes, 4:00" in page  # Babel's Spanish weekday+time, 09:00 UTC in New York
    assert "Nueva York" in page


@freeze_time(NOW)
def test_no_promise_without_a_running_clock_and_a_late_one_says_so(client, desk, customer):
    quiet = ticket_open(customer, desk, subject="no clock running")
    SlaClock.objects.filter(ticket=quiet).delete()  # e.g. a desk with no policy for it
    late = ticket_open(customer, desk, subject="late one")
    clock_running(late, due_at=NOW - timedelta(hours=1))
    # What the sweeper leaves at the due time: breached, still ticking until the answer comes.
    breached = ticket_open(customer, desk, subject="breached one")
    clock_running(breached, due_at=NOW - timedelta(days=2))
    SlaClock.objects.filter(ticket=breached, metric="first_response").update(
        state=SlaClock.State.BREACHED, breached_at=NOW - timedelta(days=2)
    )
    solved = ticket_open(customer, desk, subject="solved one")
    clock_running(solved, due_at=NOW + timedelta(hours=1))
    Ticket.objects.filter(pk=solved.pk).update(status=Ticket.Status.SOLVED, solved_at=NOW)
    client.force_login(customer)
    page = main(client.get("/en/support/"))
    cells = {
        ref: text(re.search(rf'<tr data-reference="{ref}".*?<td class="promise-cell">(.*?)</td>', page, re.S).group(1))
        for ref in (quiet.reference, late.reference, breached.reference, solved.reference)
    }
    assert cells == {
        quiet.reference: "",
        late.reference: "Our answer is late. We are sorry; it is next in line. Time zone: Madrid",
        breached.reference: "Our answer is late. We are sorry; it is next in line. Time zone: Madrid",
        solved.reference: "",
    }


@pytest.mark.parametrize(
    "due, language, expected",
    [
        (datetime(2026, 3, 3, 9, 0, tzinfo=UTC), "en", "Tuesday 10:00 AM"),
        (datetime(2026, 3, 3, 9, 0, tzinfo=UTC), "de", "Dienstag, 10:00"),
        (datetime(2026, 3, 3, 9, 0, tzinfo=UTC), "ja", "10:00 (火曜日)"),
        (datetime(2026, 3, 3, 9, 0, tzinfo=UTC), "ar", "الثلاثاء 10:00 ص"),
        (datetime(2026, 3, 20, 9, 0, tzinfo=UTC), "en", "Fri, Mar 20, 10:00\u202fAM"),  # beyond a week: the date too
        (datetime(2026, 3, 29, 8, 0, tzinfo=UTC), "es", "dom, 29 mar, 10:00"),  # after the DST change (CEST)
    ],
)
def test_promise_when(due, language, expected):
    assert promise_when(due, zone="Europe/Madrid", now=NOW, language=language) == expected


def test_the_list_costs_the_same_queries_for_2_or_20_tickets(client, desk, customer):
    client.force_login(customer)

    def queries_for(count):
        for _ in range(count - Ticket.objects.filter(customer=customer).count()):
            clock_running(ticket_open(customer, desk), due_at=NOW + timedelta(days=1))
        client.get("/en/support/")  # warm the session
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/en/support/").status_code == 200
        sqls, inside = [], False
        for q in captured:  # allauth's user-session bookkeeping (in a savepoint, now and then) is not the page's cost
            inside = (inside or q["sql"].startswith("SAVEPOINT")) and not q["sql"].startswith("RELEASE SAVEPOINT")
            if not inside and not q["sql"].startswith("RELEASE SAVEPOINT"):
                sqls.append(q["sql"])
        return sqls

    few, many = queries_for(2), queries_for(20)
    assert len(few) == len(many) == 4, many  # session, user, the page count, the rows with their clocks
    assert many[-2].startswith('SELECT COUNT(*) AS "__count" FROM "support_ticket"')
    assert '"support_slaclock"' in many[-1] and many[-1].endswith("LIMIT 20")


# --- a new ticket -----------------------------------------------------------------------------------


def test_the_category_page_offers_the_active_categories(client, desk, customer):
    desk["categories"]["trading"].is_active = False
    desk["categories"]["trading"].save()
    client.force_login(customer)
    page = main(client.get("/en/support/new/"))
    assert re.findall(r'data-category="([a-z_]+)"', page) == ["deposit", "withdrawal", "account_security", "fund_recovery", "other"]
    assert client.get("/en/support/new/trading/").status_code == 404


def test_the_picker_shows_only_my_own_objects_of_the_categorys_kind(client, desk, customer):
    mine = withdrawal_for(customer, amount="0.5")
    theirs = withdrawal_for(UserFactory(), amount="7")
    client.force_login(customer)
    page = main(client.get("/en/support/new/withdrawal/"))
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', page)
    assert [value for value, _label in options] == ["", str(mine.pk)]
    assert "\u20660.50 BTC\u2069 · BTC" in options[1][1]  # the amount isolated left-to-right
    assert 'for="id_related">Withdrawal</label>' in page
    assert "id_related" not in main(client.get("/en/support/new/other/"))  # nothing to link
    # A deposit ticket offers deposits, not withdrawals.
    assert f'value="{mine.pk}"' not in main(client.get("/en/support/new/deposit/"))
    assert theirs.pk != mine.pk


def test_a_new_ticket_about_my_withdrawal_with_attachments(client, desk, customer):
    mine = withdrawal_for(customer)
    client.force_login(customer)
    response = client.post(
        "/en/support/new/withdrawal/",
        {
            "subject": "Not arrived",
            "body": "Sent two hours ago.",
            "related": str(mine.pk),
            "attachments": [SimpleUploadedFile("screen.png", png_bytes()), SimpleUploadedFile("bank.pdf", PDF)],
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/en/support/tickets/{ticket.reference}/"
    assert (ticket.customer, ticket.category.slug, ticket.withdrawal, ticket.subject, ticket.language) == (
        customer,
        "withdrawal",
        mine,
        "Not arrived",
        "en",
    )
    first = ticket.messages.get()
    assert (first.kind, first.body) == ("customer", "Sent two hours ago.")
    assert [(a.original_name, a.content_type) for a in first.attachments.all()] == [
        ("screen.png", "image/png"),
        ("bank.pdf", "application/pdf"),
    ]
    page = main(client.get(response["Location"]))
    assert 'id="ticket-withdrawal"><bdi dir="ltr">0.50 BTC</bdi> · BTC · Completed' in page
    assert page.count("/en/support/attachments/") == 2


def test_another_customers_withdrawal_cannot_be_linked(client, desk, customer):
    withdrawal_for(customer)
    theirs = withdrawal_for(UserFactory())
    client.force_login(customer)
    response = client.post("/en/support/new/withdrawal/", {"subject": "s", "body": "b", "related": str(theirs.pk)})
    assert response.status_code == 400 and Ticket.objects.count() == 0
    assert f"Select a valid choice. {theirs.pk} is not one of the available choices." in main(response)


def test_a_link_posted_where_the_form_offers_none_is_ignored(client, desk, customer):
    theirs = withdrawal_for(UserFactory())  # the customer has no withdrawal: the form has no picker
    client.force_login(customer)
    assert client.post("/en/support/new/withdrawal/", {"subject": "s", "body": "b", "related": str(theirs.pk)}).status_code == 302
    assert Ticket.objects.get().withdrawal is None


def test_a_refused_attachment_leaves_no_ticket(client, desk, customer):
    client.force_login(customer)
    response = client.post(
        "/en/support/new/other/",
        {"subject": "s", "body": "b", "attachments": [SimpleUploadedFile("x.png", b"<html><script>1</script></html>")]},
    )
    assert response.status_code == 400
    assert "The file x.png is not an image (PNG, JPEG, GIF, WebP), a PDF or a plain text file." in main(response)
    assert (Ticket.objects.count(), Attachment.objects.count()) == (0, 0)


def test_too_many_files_are_refused_by_the_form(client, desk, customer, settings):
    settings.SUPPORT_ATTACHMENTS_PER_MESSAGE = 1
    client.force_login(customer)
    files = [SimpleUploadedFile(f"{i}.txt", b"x") for i in range(2)]
    response = client.post("/en/support/new/other/", {"subject": "s", "body": "b", "attachments": files})
    assert response.status_code == 400 and "Attach at most 1 file." in main(response) and Ticket.objects.count() == 0


# --- the conversation -------------------------------------------------------------------------------


def test_the_conversation_shows_public_messages_only(client, desk, customer, agent):
    ticket = ticket_open(customer, desk, body="My first message")
    note_internal(ticket, agent, body="INTERNAL: check the sanctions list")
    ticket_priority_set(ticket=ticket, priority="high", by=agent)  # an internal system event
    message_post_agent(ticket=ticket, agent=agent, body="We are looking at it.")
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    client.force_login(customer)
    for url in (f"/en/support/tickets/{ticket.reference}/", f"/en/support/tickets/{ticket.reference}/conversation/"):
        page = client.get(url).content.decode()
        assert "INTERNAL" not in page and "sanctions" not in page and "high" not in page.lower().split("conversation")[-1]
        kinds = re.findall(r'data-kind="(\w+)"', page)
        assert kinds == ["customer", "agent", "system"]
        assert "Lucía (Agora)" in page and "My first message" in page and "We are looking at it." in page
        assert "We marked this ticket as solved." in page


def test_message_text_is_escaped_everywhere(client, desk, customer, agent):
    ticket = ticket_open(customer, desk, subject="<script>alert('s')</script>", body="<img src=x onerror=alert(1)>")
    message_post_agent(ticket=ticket, agent=agent, body="<b>bold</b> & <script>alert(2)</script>")
    client.force_login(customer)
    pages = [
        client.get("/en/support/").content.decode(),
        client.get(f"/en/support/tickets/{ticket.reference}/").content.decode(),
        client.get(f"/en/support/tickets/{ticket.reference}/conversation/").content.decode(),
    ]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#x27;s&#x27;)&lt;/script&gt;" in pages[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[1]
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;alert(2)&lt;/script&gt;" in pages[2]


def test_a_reply_with_an_attachment(client, desk, customer):
    ticket = ticket_open(customer, desk)
    client.force_login(customer)
    response = client.post(
        f"/en/support/tickets/{ticket.reference}/",
        {"body": "More detail", "attachments": [SimpleUploadedFile("tx.txt", b"0xabc")]},
    )
    reply = ticket.messages.order_by("-id").first()
    assert response.status_code == 302 and response["Location"] == f"/en/support/tickets/{ticket.reference}/#message-{reply.pk}"
    assert (reply.body, [a.original_name for a in reply.attachments.all()]) == ("More detail", ["tx.txt"])


def test_a_refused_reply_attachment_adds_no_message(client, desk, customer):
    ticket = ticket_open(customer, desk)
    client.force_login(customer)
    response = client.post(
        f"/en/support/tickets/{ticket.reference}/", {"body": "x", "attachments": [SimpleUploadedFile("a.png", b"MZ\x90\x00")]}
    )
    assert response.status_code == 400 and ticket.messages.count() == 1


def test_a_closed_ticket_takes_no_reply(client, desk, customer, agent):
    ticket = ticket_open(customer, desk)
    ticket_status_set(ticket=ticket, status=Ticket.Status.CLOSED, by=agent)
    client.force_login(customer)
    page = main(client.get(f"/en/support/tickets/{ticket.reference}/"))
    assert 'id="reply"' not in page and "This ticket is closed." in page
    response = client.post(f"/en/support/tickets/{ticket.reference}/", {"body": "hello?"})
    assert response.status_code == 400
    assert "This ticket is closed. Open a new ticket and we will pick it up from there." in main(response)
    assert ticket.messages.filter(kind="customer").count() == 1


# --- reopen and rate --------------------------------------------------------------------------------


def solved(customer, desk, agent, at):
    ticket = ticket_open(customer, desk)
    message_post_agent(ticket=ticket, agent=agent, body="Done.")
    with freeze_time(at):
        ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    return ticket


@pytest.mark.parametrize(
    "age, reopens",
    [(timedelta(days=7), True), (timedelta(days=7, seconds=1), False), (timedelta(days=6, hours=23), True)],
)
def test_reopen_within_support_reopen_days(client, desk, customer, agent, settings, age, reopens):
    settings.SUPPORT_REOPEN_DAYS = 7
    ticket = solved(customer, desk, agent, NOW)
    client.force_login(customer)
    with freeze_time(NOW + age):
        page = main(client.get(f"/en/support/tickets/{ticket.reference}/"))
        assert ('id="reopen"' in page, 'id="reply"' in page) == (reopens, reopens)
        response = client.post(f"/en/support/tickets/{ticket.reference}/reopen/", follow=True)
    ticket.refresh_from_db()
    if reopens:
        assert (ticket.status, ticket.reopen_count) == ("open", 1)
        assert "The ticket is open again. Tell us what is still wrong." in main(response)
        assert "The ticket was reopened." in main(response)
    else:
        assert (ticket.status, ticket.reopen_count) == ("solved", 0)
        assert "This ticket can no longer be reopened. Open a new ticket instead." in main(response)


def test_reopen_period_follows_the_setting(client, desk, customer, agent, settings):
    settings.SUPPORT_REOPEN_DAYS = 1
    ticket = solved(customer, desk, agent, NOW)
    client.force_login(customer)
    with freeze_time(NOW + timedelta(days=1, seconds=1)):
        client.post(f"/en/support/tickets/{ticket.reference}/reopen/")
    ticket.refresh_from_db()
    assert ticket.status == "solved"


def test_csat_once_per_solve(client, desk, customer, agent):
    ticket = ticket_open(customer, desk)
    client.force_login(customer)
    page = main(client.get(f"/en/support/tickets/{ticket.reference}/"))
    assert 'id="rate"' not in page  # not solved yet
    response = client.post(f"/en/support/tickets/{ticket.reference}/rate/", {"score": "5"}, follow=True)
    assert "You can rate the answer once the ticket is solved." in main(response)
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    page = main(client.get(f"/en/support/tickets/{ticket.reference}/"))
    assert 'id="rate"' in page and "<legend>How was our answer?</legend>" in page
    assert 'name="score" value="5"' in page and 'for="id_score_0"' in page
    response = client.post(f"/en/support/tickets/{ticket.reference}/rate/", {"score": "4", "comment": " quick <b>thanks</b> "}, follow=True)
    assert "Thank you for rating our answer." in main(response) and 'id="rate"' not in main(response)
    response = client.post(f"/en/support/tickets/{ticket.reference}/rate/", {"score": "1"}, follow=True)
    assert "You have already rated this answer." in main(response)
    assert list(SatisfactionRating.objects.values_list("solve_number", "score", "comment")) == [(1, 4, "quick <b>thanks</b>")]
    # Reopened and solved again: a second rating, for the second solve.
    client.post(f"/en/support/tickets/{ticket.reference}/reopen/")
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    client.post(f"/en/support/tickets/{ticket.reference}/rate/", {"score": "2"})
    assert sorted(SatisfactionRating.objects.values_list("solve_number", "score")) == [(1, 4), (2, 2)]


@pytest.mark.parametrize("score", ["0", "6", "x", ""])
def test_a_rating_outside_1_to_5_is_refused(client, desk, customer, agent, score):
    ticket = ticket_open(customer, desk)
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    client.force_login(customer)
    response = client.post(f"/en/support/tickets/{ticket.reference}/rate/", {"score": score})
    assert response.status_code == 400 and SatisfactionRating.objects.count() == 0


def test_signed_out_visitors_are_sent_to_sign_in(client, desk, customer):
    ticket = ticket_open(customer, desk)
    for url in ("/en/support/", "/en/support/new/", f"/en/support/tickets/{ticket.reference}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/en/auth/login/")


def test_the_header_links_to_support(client, customer):
    client.force_login(customer)
    assert '<li><a href="/es/support/">Soporte</a></li>' in client.get("/es/wallet/").content.decode()


def test_the_attachment_limits_are_read_with_the_field_and_say_one_file_in_the_singular(client, desk, customer, settings):
    settings.SUPPORT_ATTACHMENTS_PER_MESSAGE = 1
    client.force_login(customer)
    page = main(client.get("/en/support/new/other/"))
    field = re.search(r'<input type="file"[^>]*>', page).group(0)
    assert 'aria-describedby="id_attachments_help"' in field
    help_text = text(re.search(r'<p class="help" id="id_attachments_help">.*?</p>', page, re.S).group(0))
    assert help_text == "Up to 1 file of 10.0 MB: an image (PNG, JPEG, GIF, WebP), a PDF or plain text."
    settings.SUPPORT_ATTACHMENTS_PER_MESSAGE = 5
    page = main(client.get("/en/support/new/other/"))
    assert "Up to 5 files of 10.0 MB each" in text(page)
