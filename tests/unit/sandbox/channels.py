"""The spine's channel rules, written independently of the simulator, to check its truth."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit


def channel_of(landing_site: str | None, referring_site: str | None) -> tuple[str, str | None]:
    query = parse_qs(urlsplit(landing_site or "").query)

    def param(name: str) -> str:
        return (query.get(name, [""])[0]).strip().lower()

    source, medium = param("utm_source"), param("utm_medium")
    campaign = param("utm_id") or None
    if source in ("facebook", "fb", "instagram", "ig", "meta") or (not source and param("fbclid")):
        return "meta", campaign
    if source in ("google", "adwords", "youtube") or (not source and param("gclid")):
        return "google", campaign
    if source == "tiktok" or (not source and param("ttclid")):
        return "tiktok", campaign
    if medium == "email" or source in ("klaviyo", "newsletter", "email"):
        return "email", None
    if source:
        return "other", None
    if (referring_site or "").strip():
        return "referral", None
    return "direct", None
