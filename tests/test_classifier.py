"""Tagging interface, keyword baseline, batch classify and the evaluation metric."""

import importlib.util
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import classifiers.loader as loader
from classifiers.batch import classify_file, load_gold, read_classify_input
from classifiers.corpora import DEV_CORPORA, default_shared_dir, load_dev
from classifiers.evaluate import evaluate_tagger, render, score, tags_to_labels
from classifiers.keywords import KeywordTagger
from vigia.cli import app
from vigia.config import Settings
from vigia.errors import InputError

SHARED = default_shared_dir()
needs_shared = pytest.mark.skipif(not (SHARED / "corpora").is_dir(), reason=f"{SHARED} is absent")
LONG = ("La PNC capturó a dos pandilleros acusados de extorsión en Soyapango. " * 3000).strip()


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_keyword_tagger_handles_empty_and_very_long_texts() -> None:
    empty, long = KeywordTagger().tag([("", ""), ("Capturas en Soyapango", LONG)])
    assert empty.violence_type == [] and empty.department == [] and not empty.in_el_salvador
    assert {"arrest", "extortion"} <= set(long.violence_type)
    assert long.department == ["San Salvador"] and long.in_el_salvador
    assert set(long.scores) >= {"homicide", "ms13"} and all(0.0 <= v <= 1.0 for v in long.scores.values())


@pytest.mark.parametrize(
    ("text", "homicide"),
    [
        ("Un joven fue asesinado a balazos en Soyapango.", True),
        ("La Policía descartó un homicidio: el surfista murió de muerte natural.", False),
        ("¡Ten cuidado! Estas frutas pueden matar a tu perro.", False),
    ],
)
def test_a_homicide_cue_is_cancelled_by_a_ruled_out_killing_or_an_animal(text: str, homicide: bool) -> None:
    scores = KeywordTagger().label_scores("", text)
    assert (scores["homicide"] > 0) is homicide


def test_keyword_tagger_adds_homicide_to_feminicide() -> None:
    (tags,) = KeywordTagger().tag([("Feminicidio en Apopa", "Capturan a hombre por feminicidio de su pareja.")])
    assert {"feminicide", "homicide"} <= set(tags.violence_type)


def test_a_package_missing_its_model_falls_back_to_keywords_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifiers.infer as infer

    monkeypatch.setattr(loader, "_warned", False)
    monkeypatch.setattr(infer, "SHIPPED_MODEL", tmp_path / "no-model")
    monkeypatch.setattr(loader, "SHIPPED_MODEL", tmp_path / "no-model")
    settings = Settings(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING):
        first, second = loader.load_tagger(settings), loader.load_tagger(settings)
    assert first.name == second.name == "keywords-placeholder"
    assert sum("reinstall vigia" in r.message for r in caplog.records) == 1


def test_classify_round_trips_ids(tmp_path: Path) -> None:
    rows = [
        {"id": f"doc-{i}", "title": f"Título {i}", "text": text}
        for i, text in enumerate(["Asesinan a un joven en Apopa.", "", LONG, "Lluvias en el oriente."])
    ]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    result = CliRunner().invoke(
        app, ["classify", "--input", str(source), "--output", str(tmp_path / "out.jsonl"), "--tagger", "keywords"]
    )
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == [r["id"] for r in rows]
    assert set(out[0]) == {"id", "violence_type", "actor", "department", "in_el_salvador", "scores"}
    assert "homicide" in out[0]["violence_type"] and out[1]["violence_type"] == []


def test_classify_reads_a_null_title_as_empty(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "title": null, "text": "Capturan a dos pandilleros."}\n', encoding="utf-8")
    assert list(read_classify_input(source)) == [("a", "", "Capturan a dos pandilleros.")]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"id": "a", "title": "t", "text": "x"}', '{"id": "b", "title": "t"}'],
            "in.jsonl:2: missing field(s) ['text']",
        ),
        (['{"id": "a", "title": "t", "text": 3}'], "in.jsonl:1: field(s) ['text'] must be strings"),
        (['{"id": "a", "title": "t", "text": "x"}', "not json"], "in.jsonl:2: not valid JSON"),
        (['{"id": "a", "title": null, "text": null}'], "in.jsonl:1: field(s) ['text'] must be strings"),
        (['{"id": "a", "title": "t", "text": "x"}', '{"id": "a", "title": "t", "text": "y"}'], "duplicate id 'a'"),
    ],
)
def test_classify_rejects_bad_input_with_line_and_field(tmp_path: Path, lines: list[str], message: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        list(read_classify_input(source))
    assert message in str(error.value)
    result = CliRunner().invoke(app, ["classify", "--input", str(source), "--output", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and not (tmp_path / "o.jsonl").exists()


def test_score_follows_the_product_owners_definitions() -> None:
    gold = {
        "a": {"violence_type": ["homicide"], "actor": ["police"], "department": ["La Paz"]},
        "b": {"violence_type": [], "actor": [], "department": []},
    }
    pred = {
        "a": {"violence_type": ["homicide", "arrest"], "actor": [], "department": ["La Paz", "San Salvador"]},
        "b": {"violence_type": ["arrest"], "actor": [], "department": ["Cabañas"]},
    }
    report = score(gold, pred)
    assert report["violence_type"]["micro_p"] == pytest.approx(1 / 3, abs=1e-3)
    assert report["violence_type"]["micro_r"] == 1.0
    assert report["actor"]["micro_f1"] == 0.0
    assert report["department"]["micro_p"] == 0.5  # only article a reports violence
    assert report["violence_type"]["macro_f1"] == 0.0  # no label has 5 gold examples


def test_the_training_comparison_names_every_variant() -> None:
    """`vigia train` printed a dozen rows all named "fine-tuned-top-layers": the bracketed variant
    part was read as rich markup and vanished."""
    gold = {"a": {"violence_type": ["homicide"], "actor": [], "department": ["La Paz"]}}
    report = score(gold, gold)
    variants = [
        f"fine-tuned-top-layers [onnx int8, {w}, keyword weight {k}]" for w in ("head", "chunks") for k in (0.0, 0.5)
    ]
    table = render({name: {"sv-news-2024": report} for name in variants})  # long names fold over lines
    assert table.count("fine-tuned-top-layers [onnx") == 4
    assert table.count("head,") == table.count("chunks,") == 2
    assert table.count("0.0]") == table.count("0.5]") == 2


@needs_shared
@pytest.mark.parametrize("corpus", DEV_CORPORA)
def test_evaluation_equals_the_shared_scorer(tmp_path: Path, corpus: str) -> None:
    dev = load_dev(SHARED, corpus)
    tags = KeywordTagger().tag([(e.title, e.text) for e in dev])
    pred = write_jsonl(tmp_path / "pred.jsonl", [{"id": e.id, **tags_to_labels(t)} for e, t in zip(dev, tags)])
    gold = SHARED / "corpora" / corpus / "dev_labels.jsonl"
    theirs = json.loads(
        subprocess.run(
            [sys.executable, str(SHARED / "tools" / "score_labels.py"), str(gold), str(pred)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    ours = evaluate_tagger(KeywordTagger(), load_gold(gold, None))
    for field in ("violence_type", "actor", "department"):
        for key in ("micro_p", "micro_r", "micro_f1", "macro_f1"):
            assert ours[field][key] == theirs[field][key], (field, key)
    assert {k: v[2] for k, v in ours["violence_type"]["per_label"].items()} == theirs["violence_type"]["per_label"]


@needs_shared
def test_evaluate_command_prints_per_label_scores() -> None:
    labels = SHARED / "corpora" / DEV_CORPORA[0] / "dev_labels.jsonl"
    result = CliRunner().invoke(app, ["evaluate", "--labels", str(labels), "--tagger", "keywords", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["articles"] == 90 and "homicide" in report["violence_type"]["per_label"]


def test_classify_file_writes_one_line_per_article(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "title": "", "text": "x"} for i in range(70)])
    out = tmp_path / "out.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        assert classify_file(KeywordTagger(), source, handle, batch_size=32) == 70
    assert len(out.read_text(encoding="utf-8").splitlines()) == 70


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed: the smoke run trains")
def test_train_without_torch_says_how_to_install_it() -> None:
    result = CliRunner().invoke(app, ["train", "--quiet"])
    assert result.exit_code == 2 and "pip install 'vigia[train]'" in result.output
