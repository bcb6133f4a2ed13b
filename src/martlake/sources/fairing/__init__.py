"""Fairing: post-purchase survey responses, one row per question answered for an order."""

from martlake.sources.fairing.source import FairingSource

__all__ = ["FairingSource"]
