"""The `alarmd` command: the entry point, the quick verbs, the click verbs, output formatting, the API client."""
