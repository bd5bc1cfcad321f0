"""What decides a training's result, and nothing else: the pair sets a task fits and is
scored on (pairs, task), the models and the registry that names them (models, registry,
extras/), the training loop (train) with augmentation, precision, the fast CPU path and
the seeds; and the checks that the options use (checks), which params validation shares.

The training cache's key hashes this package's source (digitcmp.cache), and the training
stages' DVC code dependencies are this folder: an edit here retrains, an edit outside
(validation, bounds, scheduling, the cache, files, stage glue, messages) does not. So
nothing here imports the rest of digitcmp, except digitcmp.errors: an exception type
with no code, whose words a refusal carries; a refusal ends a run, it never makes a number.
"""
