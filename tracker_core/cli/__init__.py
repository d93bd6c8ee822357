"""The ``cursor-tracker`` command line: ``main`` parses and dispatches, ``render`` prints."""
