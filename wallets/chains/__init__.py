"""Chain adapters: the only code that talks to blockchains (see `base.ChainAdapter`).

`settings.CHAIN_ADAPTERS` maps a chain code (a Network.code such as "ERC20") to an adapter class
path; "*" is the default. The embedded default is the persistent simulated chain."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from wallets.chains.base import ChainAdapter, ChainTransfer

__all__ = ["ChainAdapter", "ChainTransfer", "chain_adapter"]


@cache
def _adapter_class(path: str) -> type[ChainAdapter]:
    return import_string(path)


def chain_adapter(chain: str) -> ChainAdapter:
    configured = settings.CHAIN_ADAPTERS
    path = configured.get(chain) or configured["*"]
    return _adapter_class(path)(chain)
