"""Routing agent: API, graph, classifiers, embeddings, data access."""
