"""Delivering an occurrence as phone calls: the call plan, the delivery loop, right of way, the cost guard, the dialers."""
