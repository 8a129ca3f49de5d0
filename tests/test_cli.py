"""Every `vigia` command has --help, and input errors are one clear line, never a traceback."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from vigia.cli import app

runner = CliRunner()


def command_paths(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in getattr(group, "commands", {}).items():
        paths += command_paths(command, prefix + (name,))
    return paths


ALL_COMMANDS = command_paths(typer.main.get_command(app))


def test_the_cli_has_the_foundation_commands() -> None:
    names = {" ".join(p) for p in ALL_COMMANDS}
    assert {
        "engine start",
        "engine stop",
        "engine status",
        "index init",
        "index status",
        "search",
        "demo",
        "crawl",
    } <= names


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "vigia")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--since", "2024-02-30"], "is not understood"),
        (["search", "--type", "homicidio"], "'homicidio' is not known; use one of: homicide"),
        (["search", "--department", "San Salbador"], "is not known; use one of: Ahuachapán"),
        (["engine", "start", "--engine", "solr"], "Invalid value"),
    ],
)
def test_bad_input_is_a_clear_error(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_broken_config_file_names_the_file(tmp_path, monkeypatch) -> None:
    from vigia.config import get_settings

    config = tmp_path / "config.yaml"
    config.write_text("engine: [not, a, mapping\n")
    monkeypatch.setenv("VIGIA_CONFIG", str(config))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["engine", "status"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert str(config) in result.output and "not valid YAML" in result.output
