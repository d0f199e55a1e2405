"""Open sharing of the published releases over the Delta Sharing protocol, for recipients without
AWS accounts (pandas, Spark, Power BI, Tableau): a profile file with a bearer token, and short-lived
pre-signed URLs to the release files of the recipient's own councils.

- `server`: the protocol's REST API (FastAPI), `create_app(platform, recipients, recipient_of)`;
- `tables`: table versions from the release manifests, snapshots and the change data feed, row by row;
- `predicates`: the query's filter hints over partition values (best effort, never widening);
- `responses`: the protocol's JSON lines and the tables' Spark schemas;
- `tokens`: recipients' bearer tokens (stored hashed) and their profile files;
- `commands`: `careshare share serve | profile | revoke`.
"""
