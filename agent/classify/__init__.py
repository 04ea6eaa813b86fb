"""Classifiers: `knn` (offline default), `llm` (LiteLLM), `cascade` (knn, then LLM when unsure).

Each kind registers once in `agent.classify.kinds` (see :mod:`agent.classify.registry`).
"""
