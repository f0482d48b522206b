"""Defaults as named constants."""

DEFAULT_LISTEN_HOST = "127.0.0.1"
DEFAULT_LISTEN_PORT = 8421
# NMO's own default for twilio.callingURI: Twilio's hold-music Twimlet.
DEFAULT_CALLING_URI = "http://twimlets.com/holdmusic?Bucket=com.twilio.music.ambient"
DEFAULT_GRACE_SECONDS = 600
# The cost guard (alarmd.limits.callsPerHour): call attempts per hour, all numbers together.
DEFAULT_CALLS_PER_HOUR = 20
# alarmd.heartbeat.everySeconds: healthchecks.io's own default period is a minute.
DEFAULT_HEARTBEAT_EVERY_SECONDS = 60
DEFAULT_KEEPALIVE_EVERY_DAYS = 29
DEFAULT_KEEPALIVE_AT = "12:00"
DEFAULT_KEEPALIVE_RING_SECONDS = 15
DB_FILENAME = "alarmd.db"
TOKEN_FILENAME = "api-token"
# How long shutdown waits for a call in flight before it leaves it recorded as claimed.
SHUTDOWN_WAIT_SECONDS = 3.5
# Twilio HTTP request timeout; short, because a wake-up call minutes late has failed.
TWILIO_TIMEOUT_SECONDS = 10.0
# alarmd.redial: FreePBX's wake-up calls redial 3 times; 2 minutes lets a sleeper surface.
DEFAULT_REDIAL_ATTEMPTS = 3
DEFAULT_REDIAL_INTERVAL_SECONDS = 120
# Transient Twilio failures: first retry within 10 s, doubling, at most 2 min apart.
FIRST_RETRY_SECONDS = 10.0
MAX_RETRY_SECONDS = 120.0
# Following a placed call: how often to ask for its status, and for how long past its ring time.
POLL_SECONDS = 2.0
POLL_MARGIN_SECONDS = 30.0
DEFAULT_RING_SECONDS = 60
