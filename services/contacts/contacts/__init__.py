"""The contacts service: letters, telephone messages, e-mails and partner
referrals, with personal data encrypted at rest and every read of it audited."""
