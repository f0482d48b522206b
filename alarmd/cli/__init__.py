"""The `alarmd` command: click verbs loaded lazily, output formatting, the API client."""
