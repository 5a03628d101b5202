"""The directory service: up-to-date public information on every children's centre."""
