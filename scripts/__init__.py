"""Scripts run as `python -m scripts.<name>` from the project root."""

# First, before a script imports torch: Ctrl-C is one line and GOMP_CPU_AFFINITY is checked (digitcmp.stage).
import digitcmp.stage  # noqa: F401
