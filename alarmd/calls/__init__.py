"""Delivering an occurrence as phone calls: call plan, delivery loop, cost guard, dialers."""
