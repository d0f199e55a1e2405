"""Who may read the published data, and the IAM policies and pre-signed links that enforce it."""
