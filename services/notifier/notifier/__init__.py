"""The notifier: SLA and centre events in, e-mails to the right staff out, once each."""
