"""A batch that fails as a whole (out of memory) is split in halves until single items; nothing is lost."""

from __future__ import annotations

from mella.models import GenerationError, Request, generate_safely


class OOMAbove2:
    def __init__(self):
        self.batches = []

    def generate(self, requests):
        self.batches.append(len(requests))
        if len(requests) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if any(r.image == "bad" for r in requests):
            raise RuntimeError("CUDA out of memory on this image")
        return [f"caption of {r.image}" for r in requests]


def test_out_of_memory_batches_are_split_and_one_bad_item_is_named():
    gen = OOMAbove2()
    requests = [Request(str(i), "p", "en") for i in range(7)] + [Request("bad", "p", "en")]
    out = generate_safely(gen, requests)
    assert [o if isinstance(o, str) else o.kind for o in out] == [f"caption of {i}" for i in range(7)] + ["out_of_memory"]
    assert gen.batches[0] == 8 and max(gen.batches[1:]) <= 4
    assert isinstance(out[-1], GenerationError)
