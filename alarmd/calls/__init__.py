"""Delivering an occurrence as phone calls: call plan, delivery loop, right of way, cost guard, dialers."""
