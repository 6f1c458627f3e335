"""One module per benchmark; each calls ``emotive.apps.bench.register``."""
