"""Ticket references: unguessable, unambiguous to read aloud, never a number to a spreadsheet."""

import re

from support.models import ticket_reference_generate


def test_references_avoid_look_alikes_and_exponent_forms():
    references = {ticket_reference_generate() for _ in range(2000)}
    assert len(references) == 2000
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{10}", ref) for ref in references)
    assert not any(set(ref) & set("01IOE") for ref in references)
