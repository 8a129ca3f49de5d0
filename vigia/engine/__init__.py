"""The local Elasticsearch / OpenSearch launcher (`vigia engine start|stop|status`): downloads
the engines from Maven Central and runs them without Docker. The store never imports it."""

from vigia.engine.launcher import EngineStatus, LocalEngine, local_engine

__all__ = ["EngineStatus", "LocalEngine", "local_engine"]
