"""How the network is fed on this machine's CPU, as measured (`python -m bench.training_cost --before-after`, back to
back in one process, on a 2-core machine shared at load average 10 to 15, so only large differences count):

- numpy arrays straight to `Model.fit` (Keras batches them from indices shuffled every epoch). A tf.data pipeline
  shuffling rows (`Dataset.shuffle` over the whole split, prefetched) measured from 0.4x to 1.4x the epoch time in
  four comparisons: no consistent gain, so the simpler path stays;
- no XLA (`jit_compile=True`): a CNN epoch took 3.9 to 8 times as long;
- no bfloat16 mixed precision: 1.2 times as long;
- batch 256: 1024 took as long per epoch (0.98x) with a quarter of the updates, 2048 up to 2.3 times as long;
- TensorFlow's default thread pools: one inter-op thread with intra-op threads on every core was not measurably faster.
"""

PREDICT_BATCH = 4096  # rows per prediction batch: evaluation and validation need no gradients, so bigger is cheaper
