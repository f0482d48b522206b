"""Dialers: the small interface calls go through, and its two implementations."""

from alarmd.config import TwilioSettings
from alarmd.dialers.base import CallOutcome, CallRequest, Dialer, PlacedCall, RecentCall


def make_dialer(settings: TwilioSettings, timeout: float | None = None) -> Dialer:
    """Twilio when it is enabled and has credentials, else the dry-run dialer."""
    if settings.dry_run_reason is None:
        from alarmd.dialers.twilio import TwilioDialer

        return TwilioDialer(settings) if timeout is None else TwilioDialer(settings, timeout)
    from alarmd.dialers.dryrun import DryRunDialer

    return DryRunDialer()


__all__ = ["CallOutcome", "CallRequest", "Dialer", "PlacedCall", "RecentCall", "make_dialer"]
