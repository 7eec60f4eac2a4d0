"""A customer reaches only their own tickets and files: another's by reference, by id or by
attachment link is a 404 (as if it did not exist), and no path leaks an internal note."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from support.errors import TicketRefused
from support.models import Attachment, Message, SatisfactionRating, Ticket
from support.services.attachments import attachments_add
from support.services.tickets import message_post_agent, ticket_create, ticket_status_set
from tests.factories import UserFactory
from tests.support import conftest_customer as fixtures
from tests.support.conftest_customer import PDF, note_internal, png_bytes, ticket_open, withdrawal_for
from tests.support.factories import agent_create

pytestmark = pytest.mark.django_db
desk, customer = fixtures.desk, fixtures.customer


@pytest.fixture
def agent(desk):
    return agent_create(languages=["en"])


@pytest.fixture
def theirs(desk, agent):
    """Someone else's solved ticket with a public reply, an internal note and a file on each."""
    owner = UserFactory()
    ticket = ticket_open(owner, desk, subject="Private matter", body="my secret body")
    attachments_add(message=ticket.messages.get(), files=[("passport.png", png_bytes())])
    reply = message_post_agent(ticket=ticket, agent=agent, body="public answer")
    attachments_add(message=reply, files=[("statement.pdf", PDF)])
    ticket_status_set(ticket=ticket, status=Ticket.Status.SOLVED, by=agent)
    return ticket


def test_another_customers_ticket_is_404_by_reference_on_every_page(client, customer, theirs):
    client.force_login(customer)
    ref = theirs.reference
    for url in (f"/en/support/tickets/{ref}/", f"/en/support/tickets/{ref.lower()}/", f"/en/support/tickets/{ref}/conversation/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/en/support/tickets/{ref}/", {"body": "hijack"}).status_code == 404
    assert client.post(f"/en/support/tickets/{ref}/reopen/").status_code == 404
    assert client.post(f"/en/support/tickets/{ref}/rate/", {"score": "1"}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.messages.filter(kind="customer").count(), SatisfactionRating.objects.count()) == ("solved", 1, 0)
    assert ref not in client.get("/en/support/").content.decode()


def test_a_ticket_id_is_not_a_reference(client, customer, desk):
    mine = ticket_open(customer, desk)
    client.force_login(customer)
    assert client.get(f"/en/support/tickets/{mine.pk}/").status_code == 404
    assert client.get(f"/en/support/tickets/{mine.reference}/").status_code == 200


def test_another_customers_attachments_are_404_by_id(client, customer, theirs):
    client.force_login(customer)
    ids = list(Attachment.objects.filter(message__ticket=theirs).values_list("pk", flat=True))
    assert len(ids) == 2
    for pk in ids:
        assert client.get(f"/en/support/attachments/{pk}/").status_code == 404
    client.force_login(theirs.customer)
    for pk in ids:
        assert client.get(f"/en/support/attachments/{pk}/").status_code == 200


def test_the_customer_pages_are_the_customers_even_for_an_agent(client, agent, theirs):
    # Agents work tickets in the console; the customer's pages show only tickets they opened themselves.
    client.force_login(agent)
    assert client.get(f"/en/support/tickets/{theirs.reference}/").status_code == 404


def test_internal_notes_reach_the_customer_by_no_path(client, customer, desk, agent):
    ticket = ticket_open(customer, desk)
    note = note_internal(ticket, agent, body="NOTE-7f3a: do not tell the customer")
    [secret_file] = attachments_add(message=note, files=[("NOTE-7f3a.txt", b"NOTE-7f3a contents")])
    before = ticket.last_public_reply_at
    client.force_login(customer)
    pages = [
        client.get("/en/support/"),
        client.get(f"/en/support/tickets/{ticket.reference}/"),
        client.get(f"/en/support/tickets/{ticket.reference}/conversation/"),
    ]
    for response in pages:
        assert response.status_code == 200 and "NOTE-7f3a" not in response.content.decode()
    assert client.get(f"/en/support/attachments/{secret_file.pk}/").status_code == 404
    ticket.refresh_from_db()
    assert ticket.last_public_reply_at == before  # "last reply" on the list is not moved by a note


def test_the_service_refuses_linking_another_customers_object(desk, customer):
    theirs = withdrawal_for(UserFactory())
    with pytest.raises(TicketRefused) as caught:
        ticket_create(customer=customer, subject="s", body="b", category=desk["categories"]["withdrawal"], links={"withdrawal": theirs.pk})
    assert caught.value.code == "link_not_yours" and Ticket.objects.count() == 0


def test_a_reply_cannot_carry_files_onto_another_ticket(client, customer, theirs):
    client.force_login(customer)
    response = client.post(
        f"/en/support/tickets/{theirs.reference}/", {"body": "x", "attachments": [SimpleUploadedFile("a.txt", b"hello")]}
    )
    assert response.status_code == 404
    assert not Attachment.objects.filter(original_name="a.txt").exists()
    assert Message.objects.filter(ticket=theirs, kind="customer").count() == 1
