"""Anomaly detection: three layers of rules over per-member daily usage, as pure functions."""
