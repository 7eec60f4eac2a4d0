"""SLA machinery of the support desk. `calendar` is the pure business-time arithmetic (no Django)."""
