"""Common code shared by the Children's Centres services.

Kept small on purpose: configuration, the event envelope and contracts, the bus
and store adapters, the outbox relay and consumer loop, logging, health and
metrics. Domain logic lives in the services.
"""
