"""Conversation exports with images beside them: LLaVA JSON, ShareGPT for LLaMA-Factory, ms-swift JSONL.

- LLaVA: ``<split>.json``, a list of ``{"id", "image", "conversations": [{"from": "human", "value":
  "<image>\\n..."}, {"from": "gpt", "value": ...}]}`` (the LLaVA-1.5 / LLaVA-NeXT training format).
- LLaMA-Factory: ``mella_<split>.json``, a list of ``{"messages": [{"role": "user", "content":
  "<image>..."}, {"role": "assistant", ...}], "images": [...]}`` and ``dataset_info.json`` declaring them
  (``formatting: sharegpt``, ``columns``, role ``tags``); image paths resolve from the folder, which is
  LLaMA-Factory's ``dataset_dir``.
- ms-swift: ``<split>.jsonl``, one ``{"messages": [...], "images": [...]}`` per line.
Every row also carries mella's ``id``, ``source`` and ``lang`` (the consumers ignore extra keys).
"""

from __future__ import annotations

from pathlib import Path

from mella.export.common import image_relpath, place_images, user_turn, with_images, write_json

SHAREGPT_TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}


def _by_split(samples: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for s in samples:
        out.setdefault(s["split"], []).append(s)
    return out


def _messages(s: dict) -> list[dict]:
    return [{"role": "user", "content": user_turn(s, newline=False)},
            {"role": "assistant", "content": s["response"]}]


def _prepare(ds, samples, out: Path):
    usable, skipped = with_images(ds, samples)
    out.mkdir(parents=True, exist_ok=True)
    place_images(ds, usable, out)
    return usable, skipped


def export_llava(ds, samples: list[dict], out: Path) -> dict:
    usable, skipped = _prepare(ds, samples, out)
    files = {}
    for split, rows in _by_split(usable).items():
        data = [{"id": s["sample_id"], "image": image_relpath(s),
                 "conversations": [{"from": "human", "value": user_turn(s)}, {"from": "gpt", "value": s["response"]}],
                 "source": s["source"], "lang": s["lang"]} for s in rows]
        write_json(out / f"{split}.json", data)
        files[split] = f"{split}.json"
    return {"files": files, "samples": len(usable), "skipped_no_image": skipped}


def export_sharegpt(ds, samples: list[dict], out: Path) -> dict:
    usable, skipped = _prepare(ds, samples, out)
    info, files = {}, {}
    for split, rows in _by_split(usable).items():
        name = f"mella_{split}"
        data = [{"messages": _messages(s), "images": [image_relpath(s)], "id": s["sample_id"], "source": s["source"],
                 "lang": s["lang"]} for s in rows]
        write_json(out / f"{name}.json", data)
        info[name] = {"file_name": f"{name}.json", "formatting": "sharegpt",
                      "columns": {"messages": "messages", "images": "images"}, "tags": dict(SHAREGPT_TAGS)}
        files[split] = f"{name}.json"
    write_json(out / "dataset_info.json", info)
    return {"files": files, "samples": len(usable), "skipped_no_image": skipped, "dataset_info": "dataset_info.json"}


def export_swift(ds, samples: list[dict], out: Path) -> dict:
    usable, skipped = _prepare(ds, samples, out)
    files = {}
    for split, rows in _by_split(usable).items():
        data = [{"messages": _messages(s), "images": [image_relpath(s)], "id": s["sample_id"], "source": s["source"],
                 "lang": s["lang"]} for s in rows]
        write_json(out / f"{split}.jsonl", data, lines=True)
        files[split] = f"{split}.jsonl"
    return {"files": files, "samples": len(usable), "skipped_no_image": skipped}
