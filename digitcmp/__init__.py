"""digitcmp: which of two MNIST digits is smaller? The study as a library (knows nothing of DVC)."""
