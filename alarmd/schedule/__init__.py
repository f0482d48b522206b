"""Pure time: schedule rules, fire times and DST, human times, durations, keepalive due dates. No I/O, no clock."""
