"""Classifiers: `knn` (offline default), `llm` (LiteLLM), `cascade` (knn, then LLM when unsure)."""
