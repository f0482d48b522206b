"""The use cases: editing alarms, claiming and firing occurrences, history and status, the keepalive."""
