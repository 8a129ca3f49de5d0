"""`vigia serve`: the web page (search, articles, trends, departments, outlets, feeds) on loopback."""

from __future__ import annotations

import typer

from vigia.cli.app import EngineChoice, EngineOption, app, console, settings_for
from vigia.errors import InputError


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, "--host", help="Listen address (default: web.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", "-p", min=0, max=65535, help="Port (default: web.port, 8750)."),
    engine: EngineChoice | None = EngineOption,
) -> None:
    """Serve the read-only web page; basic auth when VIGIA_WEB__USERNAME and a password are set."""
    import uvicorn

    from vigia.web import create_app

    settings = settings_for(engine)
    web = settings.web.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    settings = settings.model_copy(update={"web": web})
    credentials = web.credentials()
    if web.host not in ("127.0.0.1", "::1", "localhost") and not credentials:
        raise InputError(
            f"--host {web.host} exposes the page beyond this machine without a password; set "
            "VIGIA_WEB__USERNAME and VIGIA_WEB__PASSWORD, or keep 127.0.0.1 behind a proxy"
        )
    console.print(
        f"Vigía en http://{web.host}:{web.port}/ ({settings.engine.kind}"
        f"{', con contraseña' if credentials else ''}); Ctrl-C para salir",
        highlight=False,
        markup=False,
    )
    uvicorn.run(create_app(settings), host=web.host, port=web.port, log_level="warning", server_header=False)
