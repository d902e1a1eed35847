"""Images for D_know: safe HTTP fetch, bytes from the crawl's own WARC records, validation, hashes."""
