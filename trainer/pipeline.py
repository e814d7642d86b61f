"""How the network is fed on this machine's CPU, as measured (bench/training_cost.py and its notes):

- numpy arrays straight to `Model.fit` (Keras batches them from indices shuffled every epoch): a tf.data pipeline
  that shuffles rows (`Dataset.shuffle` over the whole split) was no faster per epoch, and up to 40 % slower;
- no XLA (`jit_compile=True`): a CNN epoch took about eight times as long;
- no bfloat16 mixed precision: no faster;
- batch 256: 512 to 2048 took as long per epoch or longer, with fewer updates per epoch;
- TensorFlow's default thread pools: one inter-op thread with intra-op threads on every core was not measurably faster.
"""

PREDICT_BATCH = 4096  # rows per prediction batch: evaluation and validation need no gradients, so bigger is cheaper
