"""A re-check's shares (``recheck --workers``): every name in exactly one share, the same one
whoever asks; the hidden ``--shard K/N`` read strictly."""

from __future__ import annotations

import pytest

from mailauth_tui.registry.shards import MAX_WORKERS, Shard


@pytest.mark.parametrize("count", [1, 2, 3, 7, MAX_WORKERS])
def test_every_name_is_in_exactly_one_share(count: int) -> None:
    names = [f"d{i:05d}.example.org" for i in range(2000)] + ["xn--bcher-kva.example"]
    shares = [Shard(n, count) for n in range(1, count + 1)]
    for name in names:
        assert sum(s.holds(name) for s in shares) == 1
    sizes = [sum(s.holds(n) for n in names) for s in shares]
    assert min(sizes) > 0.6 * len(names) / count  # shared out about evenly


@pytest.mark.parametrize(
    ("text", "shard"), [("1/1", Shard(1, 1)), (" 2/4 ", Shard(2, 4)), ("32/32", Shard(32, 32))]
)
def test_parse(text: str, shard: Shard) -> None:
    assert Shard.parse(text) == shard
    assert Shard.parse(str(shard)) == shard


@pytest.mark.parametrize("text", ["", "2", "0/2", "3/2", "1/0", "1/33", "-1/2", "1/2/3", "a/b"])
def test_bad_shares_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Shard.parse(text)
