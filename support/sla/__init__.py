"""SLA machinery of the support desk: `clock` is the pure business-time arithmetic (no Django),
`engine` moves the clocks on ticket events, `sweep` fires warnings, breaches and escalations."""
