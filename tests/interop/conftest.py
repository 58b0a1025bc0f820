"""Fixtures that start real servers for tests/interop (see servers.py for where they come from)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeserver import FakeLLMServer
from tests.interop.servers import Server, free_port, program, python_for_gguf, start

MASTER = "sk-interop-master"  # the proxy's master key (general_settings.master_key); not a secret
LLAMA_KEY = "sk-llama-interop"


@pytest.fixture(scope="module")
def backend() -> Iterator[FakeLLMServer]:
    """A model server behind the proxy whose streams die after two chunks ("Echo ", "from ")."""
    srv = FakeLLMServer().start()
    srv.stall_after, srv.stall_s = 2, 0.5  # two chunks, a pause (the proxy forwards both), then the socket closes
    yield srv
    srv.close()


def litellm_config(backend: FakeLLMServer) -> dict[str, object]:
    return {
        "model_list": [
            {"model_name": "mock-gpt", "litellm_params": {
                "model": "openai/gpt-4o-mini", "api_key": "fake-key", "mock_response": "Hello from the LiteLLM mock."}},
            {"model_name": "mock-claude", "litellm_params": {
                "model": "anthropic/claude-3-5-haiku-20241022", "api_key": "fake-key",
                "mock_response": "Hi from the Claude mock."}},
            {"model_name": "dying", "litellm_params": {
                "model": "openai/gpt-4o-mini", "api_key": "fake-key", "api_base": backend.base_url}},
            {"model_name": "dying-anthropic", "litellm_params": {
                "model": "anthropic/claude-haiku-4-5", "api_key": "fake-key", "api_base": backend.root_url}},
        ],
        "litellm_settings": {"num_retries": 0},
        "general_settings": {"master_key": MASTER},
    }


@pytest.fixture(scope="module")
def litellm(backend: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A LiteLLM proxy (pip-installed in .venv-interop) with mock_response models and a master key."""
    exe = program("litellm")
    folder = tmp_path_factory.mktemp("litellm")
    config = folder / "config.yaml"
    config.write_text(json.dumps(litellm_config(backend), indent=1))  # JSON is YAML
    port = free_port()
    server = start(
        [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"],
        ready="Uvicorn running on", log=folder / "litellm.log", port=port,
        # offline: the bundled model-cost map, no remote fetch (retries would add seconds)
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_MODE": "PRODUCTION"},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess

    program("llama-server")  # the model is only for llama-server: skip before writing it when there is none
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    script = Path(__file__).with_name("tinygguf.py")
    subprocess.run([python_for_gguf(), str(script), str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def llama_server(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """llama.cpp's llama-server on the tiny model: two aliases, an API key, 2 slots of 4096 tokens (personas' prompts are long in its byte-level vocabulary)."""
    exe = program("llama-server")
    folder = tmp_path_factory.mktemp("llama-server")
    port = free_port()
    server = start(
        [str(exe), "-m", str(tiny_gguf), "--host", "127.0.0.1", "--port", str(port), "--alias", "tiny-chat,tiny",
         "-c", "8192", "-np", "2", "--api-key", LLAMA_KEY, "-t", "1"],
        ready="listening on", log=folder / "llama-server.log", port=port,
    )
    yield server
    server.stop()
