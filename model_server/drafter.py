"""Drafts from the text at hand (prompt lookup): guess the next tokens by finding the last few earlier on.

A derivation's next row repeats most of the row above it and a solution repeats its equations,
so the tokens that followed the last occurrence of the sequence's last `n` tokens (prompt and
output together; `n` from MAX_NGRAM down to MIN_NGRAM, longest first) are a good guess for what
comes next, as in prompt-lookup decoding and vLLM's n-gram drafter. The model then checks every
guess in one forward pass (`output.OutputStep`); a wrong guess costs a little compute, never a
different output.

Each sequence has its own `PromptLookup` over its prompt and the list its generated tokens are
appended to. An index from every n-gram to where it last ended grows as tokens arrive, so a
step's lookup costs the tokens added since the last one, not the length of the document.
"""

from __future__ import annotations

__all__ = ["CPU_SPECULATIVE_TOKENS", "MAX_NGRAM", "MAX_SPECULATIVE_TOKENS", "MIN_NGRAM", "PromptLookup"]

MAX_NGRAM = 3  # the longest suffix looked up (longer ones matched no better in bench/speculative.py's texts)
MIN_NGRAM = 1  # a single token's last occurrence is still a better guess than none, where checking is cheap
CPU_SPECULATIVE_TOKENS = 4  # `--speculative-tokens` by default on a CPU (bench/speculative.py)
MAX_SPECULATIVE_TOKENS = 16  # `--speculative-tokens` at most: beyond, a step checks more than prompt lookup gets right


class PromptLookup:
    """N-gram drafts for one sequence: `prompt` then `output` (a list that grows as tokens are accepted)."""

    def __init__(self, prompt: list[int], output: list[int], max_ngram: int = MAX_NGRAM, min_ngram: int = MIN_NGRAM) -> None:
        self.prompt, self.output = prompt, output
        self.max_ngram, self.min_ngram = max_ngram, min_ngram
        self._ends: dict[tuple[int, ...], int] = {}  # n-gram -> where its latest occurrence ends (inclusive)
        self._indexed = 0  # n-grams ending before this position are in `_ends`

    def _window(self, start: int, end: int) -> list[int]:
        n = len(self.prompt)
        if end <= n:
            return self.prompt[start:end]
        if start >= n:
            return self.output[start - n : end - n]
        return self.prompt[start:] + self.output[: end - n]

    def propose(self, k: int) -> list[int]:
        """Up to `k` tokens that followed the latest earlier occurrence of the longest matching suffix."""
        total = len(self.prompt) + len(self.output)
        if k <= 0 or total < self.min_ngram + 1:
            return []
        start = max(0, self._indexed - self.max_ngram + 1)
        recent = self._window(start, total)  # what is not indexed yet, after the few tokens its n-grams start in
        # index the n-grams ending before the last token: the suffix must not find itself
        for end in range(self._indexed, total - 1):
            for n in range(1, min(self.max_ngram, end + 1) + 1):
                self._ends[tuple(recent[end - start - n + 1 : end - start + 1])] = end
        self._indexed = max(self._indexed, total - 1)
        for n in range(min(self.max_ngram, total - 1), self.min_ngram - 1, -1):
            found = self._ends.get(tuple(recent[len(recent) - n :]))
            if found is not None:
                return self._window(found + 1, min(found + 1 + k, total))
        return []
