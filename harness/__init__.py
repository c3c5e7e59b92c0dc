"""pipemap: a replication lab for "Memory mapping of pipes under Linux" (1999).

The package is laid out as the pipeline it runs:
sources -> toolchain -> kernel -> image -> vm -> guest -> bench -> report -> archive.
Each stage module takes typed inputs and returns typed outputs with their hashes;
``tasks.py`` only parses options and calls into these modules.
"""
