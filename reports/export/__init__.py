"""Getting reports out: CSV per section, subscriber email, and the monthly gzip archive."""
