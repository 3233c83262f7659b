"""The simulated engine's prefix cache: a block-hash LRU in the manner of vLLM's automatic
prefix caching, so cache-on and cache-off runs differ deterministically.

A token sequence is cut into full blocks of ``block_size`` tokens; a trailing partial block is
never cached. A block's key hashes its parent's key with its own token ids, so a block matches
only when its whole prefix matches too. The first block's parent is the request's salt (vLLM's
``cache_salt``), or a fixed root without one: different salts never share a block.

Rules, chosen to match vLLM and stated exactly so tests can predict every hit:

* A lookup counts the leading blocks present, among the full blocks of the prompt's first
  ``n − 1`` tokens: at least the last prompt token is always computed (the model needs it to
  produce the first output token), so a prompt of exactly k blocks hits at most k − 1.
  Cached tokens are always a multiple of ``block_size``.
* Inserting a chain stores every full block of it and marks all of them used. Blocks are
  touched from the last to the first, so the first block of a chain is the most recently used:
  under pressure a chain loses its tail first and keeps its (shared) head, as vLLM frees a
  request's blocks in reverse order.
* When the cache holds more than ``capacity_blocks`` blocks, the least recently used go.
  Unlike vLLM, blocks of running requests are not pinned: the simulation has no KV memory to
  run out of, so the capacity is the only limit.
"""

import hashlib
from array import array
from collections import OrderedDict
from collections.abc import Iterable

_KEY_BYTES = 16
_UNSALTED_ROOT = bytes(_KEY_BYTES)


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_KEY_BYTES).digest()


def _root(salt: str | None) -> bytes:
    """The parent key of a chain's first block."""
    return _UNSALTED_ROOT if salt is None else _digest(b"salt\x00" + salt.encode())


class BlockChain:
    """The block keys of one growing token sequence under one salt."""

    __slots__ = ("block_size", "keys", "token_count", "_root", "_pending")

    def __init__(self, block_size: int, salt: str | None = None) -> None:
        if block_size < 1:
            raise ValueError("block_size must be at least 1")
        self.block_size = block_size
        self.keys: list[bytes] = []
        """One key per full block, in order."""
        self.token_count = 0
        self._root = _root(salt)
        self._pending: list[int] = []
        """Tokens after the last full block."""

    def extend(self, token_ids: Iterable[int]) -> None:
        """Append tokens; every block they fill gets its key."""
        tokens = self._pending + list(token_ids)
        self.token_count += len(tokens) - len(self._pending)
        full = len(tokens) - len(tokens) % self.block_size
        packed = array("I", tokens[:full]).tobytes()
        step = self.block_size * array("I").itemsize
        parent = self.keys[-1] if self.keys else self._root
        for start in range(0, len(packed), step):
            parent = _digest(parent + packed[start : start + step])
            self.keys.append(parent)
        self._pending = tokens[full:]


class PrefixCache:
    """The LRU of block keys; sizes are in blocks."""

    def __init__(self, capacity_blocks: int, block_size: int) -> None:
        if capacity_blocks < 1 or block_size < 1:
            raise ValueError("capacity_blocks and block_size must be at least 1")
        self.capacity_blocks = capacity_blocks
        self.block_size = block_size
        self._blocks: OrderedDict[bytes, None] = OrderedDict()
        """Least recently used first."""

    def __len__(self) -> int:
        return len(self._blocks)

    def chain(self, salt: str | None = None) -> BlockChain:
        """An empty chain with this cache's block size."""
        return BlockChain(self.block_size, salt)

    def cached_tokens(self, chain: BlockChain) -> int:
        """Prompt tokens of ``chain`` served from the cache (the chain is the prompt so far);
        reads only, the caller inserts the chain once it is scheduled."""
        if chain.block_size != self.block_size:
            raise ValueError("the chain was cut with another block size")
        lookable = max(chain.token_count - 1, 0) // self.block_size
        hits = 0
        for key in chain.keys[:lookable]:
            if key not in self._blocks:
                break
            hits += 1
        return hits * self.block_size

    def insert(self, keys: list[bytes]) -> None:
        """Store a chain's blocks and mark them used, the first block last (see the module)."""
        blocks = self._blocks
        for key in reversed(keys):
            if key in blocks:
                blocks.move_to_end(key)
            else:
                blocks[key] = None
                if len(blocks) > self.capacity_blocks:
                    blocks.popitem(last=False)

    def clear(self) -> None:
        self._blocks.clear()
