"""SLA monitor: one working-day clock per contact; at-risk, breach and outcome
events on the sla topic; centre freshness checks; compliance reports."""
