"""Feature visualization on real networks: engine, model zoo, fooling circuits, path similarity."""
