"""A deterministic DTC business and local emulators of the APIs martlake reads.

`Business` simulates a Shopify store with a Meta ad account from a `SimulatorConfig`;
`EmulatorServer` serves it over loopback HTTP with the vendors' JSON shapes, paging and errors;
`Business.truth` holds the metrics the warehouse must reproduce.
"""

from martlake.sandbox.emulators import (
    SANDBOX_META_TOKEN,
    SANDBOX_SHOPIFY_TOKEN,
    EmulatorServer,
)
from martlake.sandbox.simulator import Business, GroundTruth, SimulatorConfig

__all__ = [
    "SANDBOX_META_TOKEN",
    "SANDBOX_SHOPIFY_TOKEN",
    "Business",
    "EmulatorServer",
    "GroundTruth",
    "SimulatorConfig",
]
