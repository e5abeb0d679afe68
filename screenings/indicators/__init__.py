"""Indicator facts (one row per person × program × episode) and the figures read from them."""
