"""One script per DVC stage, each run as `python -m stages.<name>` from the project root,
so that it imports the checkout's own digitcmp whatever the environment's install points at."""

# First, before a stage script imports torch: Ctrl-C from here on is one line (see digitcmp.stage).
import digitcmp.stage  # noqa: F401
