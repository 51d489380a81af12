"""Token-by-token decoding with a KV cache, where the caller may also force text.

A hand-written loop (rather than ``model.generate``) because schema-guided JSON needs
to interleave forced syntax, sampled values and scored alternatives on one cache.
"""

from __future__ import annotations

import math

from nanoflux.errors import BackendError

from .chat import encode_text


class ContextFull(BackendError):
    cause = "context_full"


class Decoder:
    def __init__(
        self, model, tokenizer, prompt_ids: list[int], *, temperature: float, seed: int | None
    ):
        import torch

        self.torch = torch
        self.model = model
        self.tokenizer = tokenizer
        self.temperature = temperature
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(0 if seed is None else int(seed))
        self.limit = getattr(model.config, "max_position_embeddings", None) or 1 << 30
        self.cache = None
        self.logits = None
        self.length = 0
        self.prompt_tokens = len(prompt_ids)
        self.new_tokens = 0
        if not prompt_ids:
            raise BackendError("empty prompt")
        if len(prompt_ids) >= self.limit:
            raise ContextFull(f"prompt has {len(prompt_ids)} tokens; the model takes {self.limit}")
        self._feed(prompt_ids)

    @property
    def room(self) -> int:
        """How many more tokens fit in the model's context."""
        return self.limit - self.length

    def _feed(self, ids: list[int]) -> None:
        torch = self.torch
        if self.length + len(ids) > self.limit:
            raise ContextFull(f"the reply would exceed the model's {self.limit}-token context")
        device = self.model.device
        with torch.no_grad():
            out = self.model(
                input_ids=torch.tensor([ids], device=device),
                past_key_values=self.cache,
                use_cache=True,
            )
        self.cache = out.past_key_values
        self.logits = out.logits[0, -1].float()
        self.length += len(ids)

    def force(self, text: str) -> None:
        ids = encode_text(self.tokenizer, text)
        if ids:
            self._feed(ids)
            self.new_tokens += len(ids)

    def accept(self, token: int) -> None:
        self._feed([token])
        self.new_tokens += 1

    def choose(self, *, allowed: list[int] | None = None, banned: set[int] | None = None) -> int:
        torch = self.torch
        logits = self.logits.clone()
        if allowed is not None:
            mask = torch.full_like(logits, -math.inf)
            mask[allowed] = 0
            logits = logits + mask
        if banned:
            logits[list(banned)] = -math.inf
        if self.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / self.temperature, dim=-1).cpu()
        return int(torch.multinomial(probs, 1, generator=self.generator))

    def score(self, text: str) -> float:
        """Log-probability of ``text`` as the continuation; the cache is left as it was."""
        torch = self.torch
        ids = encode_text(self.tokenizer, text)
        if not ids:
            return 0.0
        saved_logits, saved_length = self.logits, self.length
        logp = float(torch.log_softmax(self.logits, -1)[ids[0]])
        if len(ids) > 1:
            with torch.no_grad():
                out = self.model(
                    input_ids=torch.tensor([ids[:-1]], device=self.model.device),
                    past_key_values=self.cache,
                    use_cache=True,
                )
            steps = torch.log_softmax(out.logits[0].float(), -1)
            logp += float(sum(steps[i, ids[i + 1]] for i in range(len(ids) - 1)))
            # negative: drop that many tokens (the form both transformers 4 and 5 accept)
            self.cache.crop(-(len(ids) - 1))
        self.logits, self.length = saved_logits, saved_length
        return logp

    def generate(self, max_new_tokens: int, stops: set[int]) -> tuple[str, str]:
        """Free text until a stop token or the limit; returns (text, finish_reason)."""
        ids: list[int] = []
        finish = "length"
        for i in range(max_new_tokens):
            token = self.choose()
            if token in stops:
                finish = "stop"
                break
            ids.append(token)
            self.new_tokens += 1
            if i + 1 == max_new_tokens or self.room <= 1:
                break
            self._feed([token])
        return self.tokenizer.decode(ids, skip_special_tokens=True), finish
