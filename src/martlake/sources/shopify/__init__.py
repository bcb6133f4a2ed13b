"""Shopify Admin REST API: orders with their line items and refunds."""

from martlake.sources.shopify.source import ShopifySource

__all__ = ["ShopifySource"]
