"""Dialers: the small interface calls go through, and its two implementations."""

from alarmd.calls.dialers.base import CallOutcome, CallRequest, Dialer, PlacedCall, RecentCall
from alarmd.config.settings import TwilioSettings


def make_dialer(settings: TwilioSettings, timeout: float | None = None) -> Dialer:
    """Twilio when it is enabled and has credentials, else the dry-run dialer."""
    if settings.dry_run_reason is None:
        from alarmd.calls.dialers.twilio import TwilioDialer

        return TwilioDialer(settings) if timeout is None else TwilioDialer(settings, timeout)
    from alarmd.calls.dialers.dryrun import DryRunDialer

    return DryRunDialer()


__all__ = ["CallOutcome", "CallRequest", "Dialer", "PlacedCall", "RecentCall", "make_dialer"]
