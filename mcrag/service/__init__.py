"""The HTTP service: SPARQL 1.1 Protocol endpoint plus the REST API and web UI of later areas."""
