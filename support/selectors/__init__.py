"""Reads of the support desk: announcements.py (home page), access.py (who may see what),
customer.py (the customer's pages), console.py and context.py (the helpdesk console)."""
