"""Translators: ``transformers`` seq2seq MT (NLLB-200, M2M100, MADLAD-400) and ``openai`` (an LLM on any
OpenAI-compatible server, with the prompt in data/prompts/translate.yaml)."""

from __future__ import annotations

from functools import cache

from mella.errors import NamedError
from mella.ling.prompts import translate_prompt
from mella.models import GenerationError
from mella.models.openai_compat import chat_completion


class TranslationError(NamedError):
    pass


@cache
def load_seq2seq(model: str, device: str):
    """(tokenizer, model) of a seq2seq MT model, loaded once per process."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from mella.models import loaded

    pair = AutoTokenizer.from_pretrained(model), AutoModelForSeq2SeqLM.from_pretrained(model).to(device).eval()
    loaded()
    return pair


def missing_language_codes(model: str, codes: list[str]) -> list[str]:
    """The target codes ``model``'s tokenizer does not have (loads the tokenizer only, not the weights)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model))
    missing = []
    for code in codes:
        token_id = tokenizer.convert_tokens_to_ids(code)
        if token_id is None or token_id == tokenizer.unk_token_id:
            missing.append(code)
    return missing


class Seq2SeqTranslator:
    """A Hugging Face seq2seq MT model; source/target codes are FLORES-200 (``eng_Latn`` -> ``ces_Latn``),
    set as the tokenizer's ``src_lang`` and the forced first target token, as NLLB and M2M100 expect."""

    name = "transformers"

    def __init__(self, model: str, max_new_tokens: int = 400, num_beams: int = 1, device: str | None = None,
                 src_code: str = "eng_Latn"):
        try:
            import torch
        except ImportError:
            raise ImportError("the transformers translator needs: pip install 'mella[models]'") from None
        self.model_name, self.max_new_tokens, self.num_beams, self.src_code = str(model), max_new_tokens, num_beams, src_code
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")

    # loaded on first use (load_seq2seq caches per process): a run served by the cache loads nothing
    @property
    def tokenizer(self):
        return load_seq2seq(self.model_name, self.device)[0]

    @property
    def model(self):
        return load_seq2seq(self.model_name, self.device)[1]

    def params(self) -> dict:
        return {"model": self.model_name, "max_new_tokens": self.max_new_tokens, "num_beams": self.num_beams}

    def _code_id(self, code: str) -> int:
        token_id = self.tokenizer.convert_tokens_to_ids(code)
        if token_id is None or token_id == self.tokenizer.unk_token_id:
            raise TranslationError("unknown_language_code", f"{code} is not in {self.model_name}'s vocabulary")
        return token_id

    def translate(self, texts: list[str], tgt_code: str, language: str) -> list[str]:
        import torch

        if hasattr(self.tokenizer, "src_lang"):
            self.tokenizer.src_lang = self.src_code
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True).to(self.device)
        with torch.inference_mode():
            out = self.model.generate(**batch, forced_bos_token_id=self._code_id(tgt_code),
                                      max_new_tokens=self.max_new_tokens, num_beams=self.num_beams, do_sample=False)
        return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]


class LLMTranslator:
    """An instruction LLM on an OpenAI-compatible server (vLLM, SGLang...), temperature 0."""

    name = "openai"

    def __init__(self, model: str, base_url: str = "http://127.0.0.1:8000/v1", max_new_tokens: int = 600,
                 timeout: float = 120.0, retries: int = 3, backoff: float = 1.0, concurrency: int = 8):
        self.model, self.base_url, self.max_new_tokens = model, base_url.rstrip("/"), max_new_tokens
        self.timeout, self.retries, self.backoff, self.concurrency = timeout, retries, backoff, concurrency

    def params(self) -> dict:
        return {"model": self.model, "base_url": self.base_url, "max_new_tokens": self.max_new_tokens,
                "prompt_version": translate_prompt()["version"]}

    def _one(self, text: str, language: str) -> str:
        prompt = translate_prompt()
        payload = {"model": self.model, "temperature": 0, "max_tokens": self.max_new_tokens, "messages": [
            {"role": "system", "content": prompt["system"].format(language=language)},
            {"role": "user", "content": prompt["user"].format(text=text)}]}
        try:
            return chat_completion(self.base_url, payload, self.timeout, self.retries, self.backoff)
        except GenerationError as e:
            raise TranslationError(e.kind, e.detail) from None

    def translate(self, texts: list[str], tgt_code: str, language: str) -> list[str | TranslationError]:
        """Translations in order; a failed item comes back as its TranslationError."""
        from concurrent.futures import ThreadPoolExecutor

        def safe(text: str):
            try:
                return self._one(text, language)
            except TranslationError as e:
                return e

        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(texts)))) as pool:
            return list(pool.map(safe, texts))
