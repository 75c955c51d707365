"""The application on top of the library: run configuration, the training run, outputs, CLI."""
