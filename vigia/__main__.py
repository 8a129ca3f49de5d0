from vigia.cli import app

app(prog_name="vigia")
