"""What a process imports at start-up. LiteLLM takes seconds: processes that never call a model do
not import it, and a process that loads a model-calling version imports it in the background
before the first call. A core command (``serve``, ``migrate``) skips the plugins' command groups."""

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


def test_a_core_command_starts_without_the_plugins_command_groups() -> None:
    out = _run(
        """
        import sys
        from agent.cli import _is_core_command
        core = [a for a in ("serve", "migrate", "services", "versions", "load-history")
                if _is_core_command(["ticketwatch", a])]
        plugin = [a for a in ("worker", "monitor", "demo", "bench", "users", "--help")
                  if _is_core_command(["ticketwatch", a])]
        print(len(core), plugin, "evals.cli" in sys.modules, "monitor.cli" in sys.modules)
        """
    )
    assert out == "5 [] False False"
