"""Any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp server, OpenAI): images go as
base64 data URLs (local files) or as their http(s) URL. Standard library HTTP only."""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mella.models import GenerationError, Request

MAX_IMAGE_BYTES = 20 * 1024 * 1024


def image_url(image: str) -> str:
    if image.startswith(("http://", "https://", "data:")):
        return image
    path = Path(image)
    if not path.is_file():
        raise GenerationError("image_missing", str(path))
    if path.stat().st_size > MAX_IMAGE_BYTES:
        raise GenerationError("image_too_large", str(path))
    mime = mimetypes.guess_type(path.name)[0] or "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def chat_completion(base_url: str, payload: dict, timeout: float = 120.0, retries: int = 3, backoff: float = 1.0,
                    api_key: str = "") -> str:
    """POST ``payload`` to ``{base_url}/chat/completions``; the answer's text. 408/429/5xx, timeouts,
    connection errors, malformed and empty answers are retried with exponential backoff; what still fails
    raises GenerationError with a named kind (``http_503``, ``timeout``, ``empty_output``...)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {api_key}"} if api_key else {})}
    last = GenerationError("unknown")
    for attempt in range(retries + 1):
        try:
            req = urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(payload).encode(),
                                         headers=headers)
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                text = json.loads(resp.read())["choices"][0]["message"]["content"]
            if not isinstance(text, str) or not text.strip():
                raise GenerationError("empty_output")
            return text.strip()
        except urllib.error.HTTPError as e:
            last = GenerationError(f"http_{e.code}", e.reason if isinstance(e.reason, str) else "")
            if e.code not in (408, 429) and e.code < 500:
                raise last from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            last = GenerationError("timeout" if "timed out" in str(e) else "connection_error", str(e))
        except (KeyError, IndexError, TypeError, json.JSONDecodeError) as e:
            last = GenerationError("bad_response", str(e))
        except GenerationError as e:
            last = e
        if attempt < retries:
            time.sleep(backoff * 2**attempt)
    raise last


class OpenAICompatGenerator:
    name = "openai"
    is_dummy = False

    def __init__(self, model: str, base_url: str = "http://127.0.0.1:8000/v1", api_key: str | None = None,
                 max_new_tokens: int = 256, temperature: float = 0.0, timeout: float = 120.0, retries: int = 3,
                 concurrency: int = 8, backoff: float = 1.0):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY", "")
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.timeout, self.retries, self.concurrency, self.backoff = timeout, retries, concurrency, backoff

    def params(self) -> dict:
        return {"model": self.model, "base_url": self.base_url, "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature}

    def one(self, request: Request) -> str:
        payload = {"model": self.model, "max_tokens": self.max_new_tokens, "temperature": self.temperature,
                   "messages": [{"role": "user", "content": [
                       {"type": "image_url", "image_url": {"url": image_url(request.image)}},
                       {"type": "text", "text": request.prompt}]}]}
        return chat_completion(self.base_url, payload, self.timeout, self.retries, self.backoff, self.api_key)

    def generate(self, batch: list[Request]) -> list[str | GenerationError]:
        """Outputs in order; a failed item is returned as its GenerationError (the batch goes on)."""

        def safe(request: Request):
            try:
                return self.one(request)
            except GenerationError as e:
                return e

        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(batch)))) as pool:
            return list(pool.map(safe, batch))
