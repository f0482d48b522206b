"""`alarmd run`: wiring, APScheduler, supervision (sd_notify, watchdog), logging."""
