"""Writes of the support desk. tickets.py owns tickets and messages (and moves the SLA clocks in the
same transaction); routing.py queues and assignment; the other modules are named for what they do."""
