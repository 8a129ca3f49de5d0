"""Scores predictions against gold labels with the product owner's metric
(``shared/tools/score_labels.py``): micro/macro F1 for violence_type and actor, macro over labels
with at least 5 gold examples, department micro-F1 on articles whose gold reports violence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from classifiers.base import Tagger, Tags
from classifiers.corpora import Example

MACRO_MIN_SUPPORT = 5
FIELDS = ("violence_type", "actor")


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def field_scores(gold: Mapping[str, Mapping], pred: Mapping[str, Mapping], field: str, ids: Iterable[str]) -> dict:
    """score_labels.py's ``field_scores``, plus per-label precision and recall."""
    tp, fp, fn, support = Counter(), Counter(), Counter(), Counter()
    for i in ids:
        g = set(gold[i].get(field) or [])
        q = set((pred.get(i) or {}).get(field) or [])
        for label in g & q:
            tp[label] += 1
        for label in q - g:
            fp[label] += 1
        for label in g - q:
            fn[label] += 1
        for label in g:
            support[label] += 1
    micro = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    labels = sorted(set(tp) | set(fp) | set(fn))
    per = {label: [round(x, 3) for x in prf(tp[label], fp[label], fn[label])] for label in labels}
    big = [label for label in support if support[label] >= MACRO_MIN_SUPPORT]
    macro = sum(prf(tp[l], fp[l], fn[l])[2] for l in big) / len(big) if big else 0.0
    return {
        "micro_p": round(micro[0], 3),
        "micro_r": round(micro[1], 3),
        "micro_f1": round(micro[2], 3),
        "macro_f1": round(macro, 3),
        "per_label": per,
        "support": dict(support),
    }


def score(gold: Mapping[str, Mapping], pred: Mapping[str, Mapping]) -> dict[str, Any]:
    """The full report for the gold ids (a missing prediction counts as no tags)."""
    ids = sorted(gold)
    out: dict[str, Any] = {"articles": len(ids), "predicted": sum(1 for i in ids if i in pred)}
    for field in FIELDS:
        out[field] = field_scores(gold, pred, field, ids)
    violent = [i for i in ids if gold[i].get("violence_type")]
    department = field_scores(gold, pred, "department", violent)
    department.pop("per_label")
    department.pop("support")
    out["department"] = department
    out["macro_f1"] = round((out["violence_type"]["macro_f1"] + out["actor"]["macro_f1"]) / 2, 3)
    return out


def tags_to_labels(tags: Tags) -> dict[str, Any]:
    return {
        "violence_type": tags.violence_type,
        "actor": tags.actor,
        "department": tags.department,
        "in_el_salvador": tags.in_el_salvador,
    }


def evaluate_tagger(tagger: Tagger, examples: Sequence[Example], batch_size: int = 32) -> dict[str, Any]:
    """Tag the examples and score them against their gold labels."""
    pred: dict[str, dict] = {}
    for start in range(0, len(examples), batch_size):
        batch = examples[start : start + batch_size]
        for example, tags in zip(batch, tagger.tag([(e.title, e.text) for e in batch])):
            pred[example.id] = tags_to_labels(tags)
    return score({e.id: e.labels() for e in examples}, pred)


def summary_row(report: Mapping[str, Any]) -> dict[str, float]:
    """The headline numbers of a report: what the model card and the comparison table show."""
    return {
        "violence_type_micro_f1": report["violence_type"]["micro_f1"],
        "violence_type_precision": report["violence_type"]["micro_p"],
        "actor_micro_f1": report["actor"]["micro_f1"],
        "department_micro_f1": report["department"]["micro_f1"],
        "macro_f1": report["macro_f1"],
    }


def render(reports: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> str:
    """Side-by-side table: rows = (model, dev set), columns = headline numbers."""
    from io import StringIO

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Dev-set evaluation (shared/tools/score_labels.py metric)")
    columns = ["violence_type micro-F1", "violence_type P", "actor micro-F1", "department micro-F1", "macro-F1"]
    table.add_column("model", overflow="fold")
    table.add_column("dev set")
    for column in columns:
        table.add_column(column, justify="right")
    for model, per_set in reports.items():
        for dev_set, report in per_set.items():
            # Variant names hold brackets ("[onnx int8, chunks, …]"): plain Text, never rich markup,
            # or the variant part vanishes and every row reads "fine-tuned-top-layers".
            table.add_row(Text(model), Text(dev_set), *(f"{v:.3f}" for v in summary_row(report).values()))
    buffer = StringIO()
    Console(file=buffer, width=140).print(table)
    return buffer.getvalue()
