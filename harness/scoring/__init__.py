"""Scoring: metrics from pooled confusion matrices, subject-bootstrap intervals, predictions validation."""
