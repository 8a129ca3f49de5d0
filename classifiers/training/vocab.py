"""Trim the encoder's 250k-piece vocabulary to the pieces Spanish news uses.

The XLM-R vocabulary covers a hundred languages; on our corpora about 25k pieces occur. Its
embedding matrix is most of the model's weights (250k × 384), so keeping only the used pieces
shrinks the shipped model several-fold without touching the transformer layers.

Why tokenisation does not change: a Unigram tokenizer picks the segmentation with the highest
total score. Keeping a subset of the pieces with their original scores leaves every text whose
best segmentation uses only kept pieces segmented exactly as before (any rival segmentation was
already available and lost); other words are re-segmented into smaller kept pieces, down to
single characters, which are all kept for the scripts Spanish text uses.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Scripts Spanish news is written in (Latin, Latin-1, Latin Extended, IPA, spacing modifiers,
# Greek for the odd symbol, general punctuation, currency): every single-character piece in
# them is kept, so no word of those scripts becomes <unk>.
_KEPT_CHARACTER_RANGES = ((0x20, 0x3FF), (0x2000, 0x20CF))
COMMON_PIECES = 5000  # the base vocabulary's most probable Latin-script pieces, for unseen words


def _latin(piece: str) -> bool:
    text = piece.replace("▁", "")
    return bool(text) and all(any(lo <= ord(c) <= hi for lo, hi in _KEPT_CHARACTER_RANGES) for c in text)


def used_pieces(tokenizer: Any, texts: Iterable[str], batch: int = 256) -> Counter[int]:
    """How often each piece id occurs when ``tokenizer`` reads ``texts``."""
    counts: Counter[int] = Counter()
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == batch:
            counts.update(i for encoding in tokenizer.encode_batch(chunk) for i in encoding.ids)
            chunk = []
    counts.update(i for encoding in tokenizer.encode_batch(chunk) for i in encoding.ids)
    return counts


def kept_ids(vocab: list[list[Any]], used: Iterable[int], special: Iterable[int]) -> list[int]:
    """Old ids to keep, ascending (so the specials 0–3 keep their ids): the specials, every used
    piece, every single character of the kept scripts and the ``COMMON_PIECES`` best-scored
    Latin-script pieces of the base vocabulary."""
    keep = set(special) | set(used)
    keep |= {i for i, (piece, _) in enumerate(vocab) if len(piece.replace("▁", "")) == 1 and _latin(piece)}
    latin = sorted((i for i, (piece, _) in enumerate(vocab) if _latin(piece)), key=lambda i: -vocab[i][1])
    keep |= set(latin[:COMMON_PIECES])
    return sorted(keep)


def trim_tokenizer_json(tokenizer: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """A ``tokenizers`` JSON document whose Unigram model holds only the ``keep`` pieces, with
    every id the document names (unknown token, added tokens) renumbered."""
    model = tokenizer["model"]
    if model.get("type") != "Unigram":
        raise ValueError(f"vocabulary trimming supports Unigram tokenizers, not {model.get('type')!r}")
    new_id = {old: new for new, old in enumerate(keep)}
    missing = [t["content"] for t in tokenizer.get("added_tokens", []) if t["id"] not in new_id]
    if missing or model["unk_id"] not in new_id:
        raise ValueError(f"the kept ids must include every special token; missing {missing or ['<unk>']}")
    trimmed = json.loads(json.dumps(tokenizer))
    trimmed["model"]["vocab"] = [model["vocab"][old] for old in keep]
    trimmed["model"]["unk_id"] = new_id[model["unk_id"]]
    for token in trimmed.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    processor = trimmed.get("post_processor") or {}
    for token in (processor.get("special_tokens") or {}).values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    return trimmed


def vocabulary_key(keep: list[int]) -> str:
    return hashlib.sha256(json.dumps(keep).encode()).hexdigest()[:12]


def trim_encoder(base_dir: Path, out_dir: Path, keep: list[int]) -> None:
    """Write a copy of the base encoder (``config.json``, weights, ``tokenizer.json``) whose
    vocabulary is ``keep``: the embedding matrix keeps those rows, in that order."""
    import torch
    from transformers import BertModel

    model = BertModel.from_pretrained(base_dir, add_pooling_layer=False)
    rows = torch.tensor(keep, dtype=torch.long)
    old = model.get_input_embeddings().weight.data
    embedding = torch.nn.Embedding(len(keep), old.shape[1], padding_idx=model.config.pad_token_id)
    embedding.weight.data.copy_(old[rows])
    model.set_input_embeddings(embedding)
    model.config.vocab_size = len(keep)
    tokenizer = json.loads((base_dir / "tokenizer.json").read_text(encoding="utf-8"))
    partial = out_dir.with_name(out_dir.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(partial)
    (partial / "tokenizer.json").write_text(
        json.dumps(trim_tokenizer_json(tokenizer, keep), ensure_ascii=False), encoding="utf-8"
    )
    partial.rename(out_dir)


def trimmed_encoder(base_dir: Path, texts: Iterable[str]) -> tuple[Path, int]:
    """The base encoder trimmed to the pieces of ``texts`` (cached next to the base, keyed by
    the kept ids), and its vocabulary size."""
    from classifiers.infer import window_tokenizer

    tokenizer_json = json.loads((base_dir / "tokenizer.json").read_text(encoding="utf-8"))
    special = [t["id"] for t in tokenizer_json.get("added_tokens", [])]
    keep = kept_ids(
        tokenizer_json["model"]["vocab"], used_pieces(window_tokenizer(base_dir / "tokenizer.json"), texts), special
    )
    out_dir = base_dir.with_name(f"{base_dir.name}-vocab{len(keep)}-{vocabulary_key(keep)}")
    if not (out_dir / "tokenizer.json").is_file():
        log.info("trimming the vocabulary of %s to %d pieces", base_dir.name, len(keep))
        trim_encoder(base_dir, out_dir, keep)
    return out_dir, len(keep)
