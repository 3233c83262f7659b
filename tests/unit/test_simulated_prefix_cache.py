"""The simulated prefix cache: exact hits for hand-made token sequences, the n − 1 rule,
eviction order, salts."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arena.agent.simulated.prefix_cache import BlockChain, PrefixCache


def chain(cache: PrefixCache, tokens: list[int], salt: str | None = None) -> BlockChain:
    built = cache.chain(salt)
    built.extend(tokens)
    return built


def test_only_full_blocks_get_keys_and_extending_continues_the_chain() -> None:
    whole = BlockChain(4)
    whole.extend(range(10))
    pieces = BlockChain(4)
    for part in (range(3), range(3, 7), range(7, 10)):
        pieces.extend(part)
    assert len(whole.keys) == 2 and whole.token_count == 10
    assert pieces.keys == whole.keys and pieces.token_count == 10


def test_a_block_matches_only_with_its_whole_prefix() -> None:
    first = BlockChain(4)
    first.extend([1, 2, 3, 4, 5, 6, 7, 8])
    other_head = BlockChain(4)
    other_head.extend([9, 2, 3, 4, 5, 6, 7, 8])
    assert first.keys[0] != other_head.keys[0]
    assert first.keys[1] != other_head.keys[1]  # same tokens, different parent


def test_a_repeated_prompt_hits_every_block_but_the_one_holding_its_last_token() -> None:
    cache = PrefixCache(capacity_blocks=100, block_size=4)
    ten = list(range(10))
    assert cache.cached_tokens(chain(cache, ten)) == 0
    cache.insert(chain(cache, ten).keys)
    assert len(cache) == 2
    assert cache.cached_tokens(chain(cache, ten)) == 8
    # exactly two blocks: the last token must be computed, so only the first block hits
    assert cache.cached_tokens(chain(cache, ten[:8])) == 4
    assert cache.cached_tokens(chain(cache, ten[:9])) == 8
    assert cache.cached_tokens(chain(cache, ten + [99] * 20)) == 8
    assert cache.cached_tokens(chain(cache, [0])) == 0
    assert cache.cached_tokens(chain(cache, [])) == 0


def test_hits_stop_at_the_first_missing_block() -> None:
    cache = PrefixCache(capacity_blocks=100, block_size=2)
    tokens = [1, 2, 3, 4, 5, 6, 7]
    keys = chain(cache, tokens).keys
    cache.insert([keys[0], keys[2]])
    assert cache.cached_tokens(chain(cache, tokens)) == 2


def test_salts_never_share_blocks() -> None:
    cache = PrefixCache(capacity_blocks=100, block_size=4)
    tokens = list(range(12))
    cache.insert(chain(cache, tokens, salt="a").keys)
    assert cache.cached_tokens(chain(cache, tokens, salt="a")) == 8
    assert cache.cached_tokens(chain(cache, tokens, salt="b")) == 0
    assert cache.cached_tokens(chain(cache, tokens)) == 0
    cache.insert(chain(cache, tokens).keys)
    assert len(cache) == 6


def test_the_least_recently_used_block_goes_first_and_a_chain_loses_its_tail_first() -> None:
    cache = PrefixCache(capacity_blocks=4, block_size=2)
    a = chain(cache, [1, 1, 2, 2, 3, 3])  # 3 blocks
    b = chain(cache, [7, 7, 8, 8, 9])  # 2 blocks
    cache.insert(a.keys)
    cache.insert(b.keys)  # 5 blocks: a's tail block goes
    assert len(cache) == 4
    assert cache.cached_tokens(chain(cache, [1, 1, 2, 2, 3, 3, 0])) == 4
    # oldest first: a2 a1 b2 b1; touching a's head makes it a2 b2 b1 a1
    cache.insert(a.keys[:1])
    cache.insert(chain(cache, [5, 5, 0]).keys)  # evicts a2
    assert cache.cached_tokens(chain(cache, [1, 1, 2, 2, 0])) == 2
    assert cache.cached_tokens(chain(cache, [7, 7, 8, 8, 0])) == 4
    assert cache.cached_tokens(chain(cache, [5, 5, 0])) == 2
    cache.insert(chain(cache, [6, 6, 0]).keys)  # evicts b2, the oldest now
    assert cache.cached_tokens(chain(cache, [7, 7, 8, 8, 0])) == 2
    assert cache.cached_tokens(chain(cache, [1, 1, 2, 2, 0])) == 2


def test_a_chain_longer_than_the_cache_keeps_its_head() -> None:
    cache = PrefixCache(capacity_blocks=3, block_size=1)
    long = chain(cache, list(range(10)))
    cache.insert(long.keys)
    assert len(cache) == 3
    assert cache.cached_tokens(chain(cache, list(range(10)))) == 3


def test_clear_empties_and_bad_sizes_are_refused() -> None:
    cache = PrefixCache(capacity_blocks=10, block_size=2)
    cache.insert(chain(cache, [1, 2, 3]).keys)
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        PrefixCache(capacity_blocks=0, block_size=2)
    with pytest.raises(ValueError):
        BlockChain(0)
    with pytest.raises(ValueError, match="block size"):
        cache.cached_tokens(BlockChain(3))


@given(
    st.lists(st.lists(st.integers(0, 2), max_size=14), min_size=1, max_size=6),
    st.integers(1, 4),
)
def test_with_room_enough_a_hit_is_the_longest_block_prefix_seen_before(
    sequences: list[list[int]], block_size: int
) -> None:
    """Reference model: the cached tokens of a prompt are its longest prefix, in whole blocks
    within its first n − 1 tokens, that some earlier inserted sequence shares."""
    cache = PrefixCache(capacity_blocks=1000, block_size=block_size)
    seen: list[list[int]] = []
    for tokens in sequences:
        lookable = max(len(tokens) - 1, 0) // block_size * block_size
        shared = max((common_prefix(tokens, earlier) for earlier in seen), default=0)
        expected = min(shared // block_size * block_size, lookable)
        assert cache.cached_tokens(chain(cache, tokens)) == expected
        cache.insert(chain(cache, tokens).keys)
        seen.append(tokens)


def common_prefix(a: list[int], b: list[int]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length
