"""Development support that is no part of the product: the in-process DAG runner of the demo, the
benchmark and the integration tests."""
