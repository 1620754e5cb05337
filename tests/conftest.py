"""Shared fixtures. Real Chroma in temp dirs and the real default models wherever it takes seconds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["RAG_KEEP_WARM_S"] = "0"  # no `rag ask` of a test leaves a process behind unless it asks to

from tests.helpers import REFERENCE_VECTORS, ROOT, SAMPLE_CORPUS, SEEDS, SHARED, require_shared  # noqa: F401,E402


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return require_shared(SEEDS)


@pytest.fixture(scope="session")
def app():
    """One App over the real default models for the whole session (models load once)."""
    from rag.factory import App
    from rag.settings import load_settings

    app = App(load_settings())
    yield app
    app.close()


@pytest.fixture(scope="session")
def seeds_index(tmp_path_factory, app, seeds_dir):
    """The seed articles ingested once into a real Chroma index."""
    from tests.helpers import run

    index_dir = tmp_path_factory.mktemp("seeds-index")
    report, _ = run(app, index_dir, seeds_dir)
    assert report.count("indexed") == 5
    return index_dir


@pytest.fixture
def seeds_copy(tmp_path, seeds_dir) -> Path:
    target = tmp_path / "seeds"
    shutil.copytree(seeds_dir, target)
    for path in target.iterdir():
        path.chmod(0o644)
    target.chmod(0o755)
    return target


# Modules that load the default models, start servers or a browser, or run the CLI end to end:
# `make test` runs them, `make test-fast` (the edit-test loop) does not.
SLOW_MODULES = {
    "test_backends", "test_bench", "test_cli", "test_crash_safety", "test_doctor_check", "test_embedder",
    "test_eval_floors", "test_failures", "test_ingest", "test_models_pull", "test_scale", "test_ui_browser",
    "test_ui_server", "test_hostile_inputs", "test_news_sources", "test_ingest_progress",
    "test_summary_events",
}  # fmt: skip
SLOW_FIXTURES = {"app", "seeds_index"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in SLOW_MODULES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
