"""LiteLLM takes seconds to import: processes that never call a model do not import it, and a
process that loads a model-calling version imports it in the background before the first call."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_the_cli_and_the_api_app_start_without_importing_litellm() -> None:
    out = _run(
        """
        import sys
        import agent.cli, agent.api.app, agent.services.versions, agent.runtime
        agent.cli._register_plugins()  # monitor, review UI and evals command groups
        print(sorted(m for m in sys.modules if m.split(".")[0] == "litellm"))
        """
    )
    assert out == "[]"


def test_a_gateway_imports_litellm_in_the_background_with_the_offline_price_map() -> None:
    out = _run(
        """
        import os, sys, threading
        from agent.llm import ModelEndpoint, ModelGateway
        assert "litellm" not in sys.modules
        ModelGateway(primary=ModelEndpoint(model="openai/any"))
        loader = next((t for t in threading.enumerate() if t.name == "litellm-import"), None)
        if loader is not None:  # else it has already finished
            loader.join(timeout=240)
        import litellm
        print(os.environ["LITELLM_LOCAL_MODEL_COST_MAP"], litellm.suppress_debug_info)
        """
    )
    assert out == "True True"
