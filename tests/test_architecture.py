"""The layout's promises, checked: layer contracts that fail on a wrong import, a real Scrapy
project, and index templates that a non-editable install finds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from test_classifier_model import SENTENCES, expected_tags

from vigia.config import Settings

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PACKAGES = ("vigia", "crawler", "classifiers", "index_config")


def _copy_tree(dest: Path) -> Path:
    """The packages and pyproject.toml, without the bulky training data."""
    for name in PACKAGES:
        shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(BIN / "lint-imports")], cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def test_layer_contracts_are_kept_by_the_code(tmp_path: Path) -> None:
    result = _lint_imports(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract"),
    [
        ("vigia/store/spool.py", "import vigia.cli.app", "Data flows one way"),
        ("vigia/pipeline/stages.py", "import scrapy", "never imports Scrapy"),
        ("crawler/registry.py", "import crawler.run", "No import cycles"),
        ("classifiers/infer.py", "import classifiers.training.train", "never imports the training stack"),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path: Path, module: str, wrong_import: str, contract: str) -> None:
    tree = _copy_tree(tmp_path)
    path = tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{wrong_import}  # deliberately wrong\n", encoding="utf-8")
    result = _lint_imports(tree)
    assert result.returncode == 1
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert len(broken) >= 1 and any(contract in line for line in broken), result.stdout


def test_scrapy_cfg_names_a_real_settings_module_that_lists_the_spider() -> None:
    result = subprocess.run([str(BIN / "scrapy"), "list"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["news"]


def test_a_non_editable_install_finds_the_index_templates_and_the_model(tmp_path: Path, settings: Settings) -> None:
    """Build a wheel, install it into a fresh virtualenv that sees only this environment's
    dependencies (not the source tree), create the indices from the packaged templates, and tag
    with the packaged model (no model built in its cache)."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("vigia-*.whl")
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    site = next((target / "lib").glob("python3*/site-packages"))
    # Dependencies come from this environment's site-packages; the editable finder of the
    # checkout is not loaded (a plain path entry runs no .pth files).
    deps = next(p for p in sys.path if p.endswith("site-packages"))
    (site / "deps.pth").write_text(deps + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIA_") and k != "PYTHONPATH"}
    env |= {
        "VIGIA_HOME": str(settings.home),
        "VIGIA_ENGINE__KIND": settings.engine.kind,
        "VIGIA_ENGINE__ELASTICSEARCH_PORT": str(settings.engine.elasticsearch_port),
        "VIGIA_ENGINE__OPENSEARCH_PORT": str(settings.engine.opensearch_port),
        "VIGIA_INDEX__PREFIX": settings.index.prefix,
    }
    python = target / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import index_config, vigia; print(index_config.__file__, vigia.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(REPO) not in where and str(site) in where
    result = subprocess.run(
        [str(python), "-m", "vigia", "index", "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        assert result.returncode == 0, result.stderr
        assert f"{settings.index.prefix}-articles" in result.stderr
    finally:
        from vigia.store import Store

        Store(settings).drop_indices()
    tag = (
        "import json, sys\nfrom classifiers.loader import load_tagger\nfrom classifiers.infer import SHIPPED_MODEL\n"
        "from vigia.config import Settings\n"
        f"tagger = load_tagger(Settings(cache_dir={str(tmp_path / 'cache')!r}))\n"
        "docs = json.loads(sys.stdin.read())\n"
        "print(json.dumps([str(SHIPPED_MODEL), tagger.name, [t.violence_type for t in tagger.tag(docs)]]))\n"
    )
    docs = [[title, text] for title, text, _, _ in SENTENCES]
    tagged = subprocess.run(
        [str(python), "-c", tag],
        input=json.dumps(docs),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tagged.returncode == 0, tagged.stderr
    model_dir, name, violence = json.loads(tagged.stdout)
    assert model_dir.startswith(str(site)), "the packaged model, not the checkout's"
    assert name.startswith("transformer-"), f"{name}: the wheel lacks the model (keyword fallback)"
    assert all(expected_tags(expected, got) for (_, _, expected, _), got in zip(SENTENCES, violence)), violence
