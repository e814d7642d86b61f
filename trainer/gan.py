"""Conditional WGAN-GP that oversamples minority classes of encoded tabular records.

Input rows are already encoded: numeric columns in [0, 1], categorical columns one-hot.
The generator sees a class one-hot next to its noise and emits sigmoid numeric columns
and one softmax per one-hot group; the critic scores (row, class) pairs. Sampled rows are
decoded to exact one-hot groups, and each numeric value is snapped to the nearest value
that column takes in the class's real rows (so it also stays within the class's real
min/max), so they are valid, real-looking model inputs.

Only the classes that receive samples are trained on, each capped at
`max_rows_per_class` real rows drawn with the seed: classes that need no samples would
cost time and teach the generator nothing we keep, and the cap bounds a run on
NSL-KDD-sized data to a few minutes on 2 CPU cores.
"""

import math
import sys
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from preprocess.defaults import GAN_EPOCHS, GAN_SECONDS

N_CRITIC = 5  # critic updates per generator update (Gulrajani et al., 2017)
GP_WEIGHT = 10.0  # lambda of the gradient penalty
GUMBEL_TAU = 0.2  # low temperature: training outputs close to one-hot, as in CTGAN
HIDDEN_UNITS = 256
# An epoch is one critic pass over the training rows, but never fewer batches than this:
# a minority-only training set of a few hundred rows would otherwise give the GAN only a
# few hundred updates in total, far too few to learn anything.
MIN_CRITIC_BATCHES_PER_EPOCH = 50
PROGRESS_EVERY_SECONDS = 5.0
SAMPLE_CHUNK_ROWS = 4096


@dataclass(frozen=True)
class FeatureLayout:
    numeric: list[int]  # column indices of numeric features (values in [0, 1])
    onehot_groups: list[list[int]]  # each a list of column indices forming one categorical one-hot group

    def generator_order(self) -> np.ndarray:
        """Columns as the GAN sees them: numeric first, then each group contiguously."""
        return np.array([*self.numeric, *(c for group in self.onehot_groups for c in group)], dtype=np.intp)

    def check_width(self, width: int) -> None:
        if sorted(self.generator_order().tolist()) != list(range(width)):
            raise ValueError(f"layout must name each of the {width} columns exactly once")
        if any(len(group) == 0 for group in self.onehot_groups):
            raise ValueError("layout has an empty one-hot group")


@dataclass
class GanConfig:
    epochs: int = GAN_EPOCHS
    max_seconds: float = GAN_SECONDS
    batch_size: int = 256
    noise_dim: int = 32
    min_class_rows: int = 20  # classes with fewer real rows do not get GAN samples
    max_rows_per_class: int = 5000
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.max_seconds <= 0 or self.batch_size < 1 or self.noise_dim < 1 or self.max_rows_per_class < 1:
            raise ValueError(f"invalid GanConfig: {self}")


def gan_oversample(
    X: np.ndarray, y: np.ndarray, targets: dict[str, int], layout: FeatureLayout, config: GanConfig
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Return only the NEW synthetic rows (X_new float32, y_new labels) so that count(y)+count(y_new) == targets[c]
    for every class c in targets whose real count is below its target and which has >= min_class_rows rows.
    The dict report: {"trained_seconds", "epochs_run", "final_d_loss", "final_g_loss",
    "generated": {class: n}, "skipped_small_classes": {class: n_real_rows}} — the caller sends skipped classes to
    SMOTE/ROS and the report says so.

    The losses are means over the last epoch (the critic's includes the gradient penalty). Labels are
    compared as strings. Seeds Keras, NumPy and TensorFlow globally (keras.utils.set_random_seed).
    """
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    labels = y.astype(str)  # targets are keyed by class name
    layout.check_width(X.shape[1])
    needed, skipped = _plan(labels, targets, config.min_class_rows)
    report = {
        "trained_seconds": 0.0,
        "epochs_run": 0,
        "final_d_loss": None,
        "final_g_loss": None,
        "generated": needed,
        "skipped_small_classes": skipped,
    }
    if not needed:
        return np.zeros((0, X.shape[1]), dtype=np.float32), y[:0].copy(), report

    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    classes = sorted(needed)
    order = layout.generator_order()
    pools = [_capped_rows(X[labels == c][:, order], config.max_rows_per_class, rng) for c in classes]
    group_sizes = [len(group) for group in layout.onehot_groups]
    gan = _ConditionalWgan(len(layout.numeric), group_sizes, len(classes), config)
    report.update(_train(gan, pools, config, rng))

    X_new = np.empty((sum(needed.values()), X.shape[1]), dtype=np.float32)
    X_new[:, order] = np.concatenate(
        [_sample_class(gan, i, needed[c], _column_values(X[labels == c], layout), rng) for i, c in enumerate(classes)]
    )
    y_new = np.repeat(np.array(classes, dtype=y.dtype), [needed[c] for c in classes])
    return X_new, y_new, report


def _plan(labels: np.ndarray, targets: dict[str, int], min_class_rows: int) -> tuple[dict[str, int], dict[str, int]]:
    """Rows to generate per class, and the classes below target that are too small for a GAN (or absent)."""
    names, counts = np.unique(labels, return_counts=True)
    real = dict(zip(names.tolist(), counts.tolist(), strict=False))
    needed, skipped = {}, {}
    for c, target in targets.items():
        n_real = real.get(str(c), 0)
        if n_real >= target:
            continue
        if n_real < max(min_class_rows, 1):
            skipped[str(c)] = n_real
        else:
            needed[str(c)] = int(target) - n_real
    return needed, skipped


def _capped_rows(rows: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= cap:
        return rows
    return rows[np.sort(rng.choice(len(rows), size=cap, replace=False))]


def _column_values(rows: np.ndarray, layout: FeatureLayout) -> list[np.ndarray]:
    """Sorted distinct values of each numeric column in a class's real rows (all of them, not the capped pool)."""
    return [np.unique(rows[:, j]) for j in layout.numeric]


class _ConditionalWgan:
    """Generator, critic, their optimizers and the compiled training step, in generator column order."""

    def __init__(self, n_numeric: int, group_sizes: list[int], n_classes: int, config: GanConfig):
        self.n_numeric = n_numeric
        self.group_sizes = group_sizes
        self.n_classes = n_classes
        self.noise_dim = config.noise_dim
        width = n_numeric + sum(group_sizes)
        self.generator = _mlp(config.noise_dim + n_classes, width, keras.layers.ReLU, "generator")
        self.critic = _mlp(width + n_classes, 1, lambda: keras.layers.LeakyReLU(0.2), "critic")
        self.g_opt = keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.5, beta_2=0.9)
        self.d_opt = keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.5, beta_2=0.9)
        # Built here so that no optimizer variable is created inside the tf.function.
        self.g_opt.build(self.generator.trainable_variables)
        self.d_opt.build(self.critic.trainable_variables)
        self.noise = tf.random.Generator.from_seed(config.seed)

    def activate(self, logits: tf.Tensor) -> tf.Tensor:
        """Sigmoid for numeric columns; Gumbel-softmax per one-hot group.

        Gumbel-softmax rather than a plain softmax: real groups are exact one-hots, and a
        critic shown smooth softmax vectors beside them separates real from fake by that
        alone, which starves the generator of useful gradient. At a low temperature the
        outputs are nearly one-hot yet still differentiable.
        """
        parts = tf.split(logits, [self.n_numeric, *self.group_sizes], axis=1)
        out = [tf.sigmoid(parts[0])]
        for group_logits in parts[1:]:
            uniform = self.noise.uniform(tf.shape(group_logits), minval=1e-20, maxval=1.0)
            gumbel = -tf.math.log(-tf.math.log(uniform))
            out.append(tf.nn.softmax((group_logits + gumbel) / GUMBEL_TAU, axis=1))
        return tf.concat(out, axis=1)

    def fake(self, cond: tf.Tensor) -> tf.Tensor:
        z = self.noise.normal([tf.shape(cond)[0], self.noise_dim])
        return self.activate(self.generator(tf.concat([z, cond], axis=1), training=True))

    def score(self, rows: tf.Tensor, cond: tf.Tensor) -> tf.Tensor:
        return self.critic(tf.concat([rows, cond], axis=1), training=True)

    def gradient_penalty(self, real: tf.Tensor, fake: tf.Tensor, cond: tf.Tensor) -> tf.Tensor:
        """Penalise the critic's gradient norm away from 1 on points between real and fake rows."""
        alpha = self.noise.uniform([tf.shape(real)[0], 1])
        mixed = alpha * real + (1.0 - alpha) * fake
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            scores = self.score(mixed, cond)
        grads = tape.gradient(scores, mixed)
        norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
        return tf.reduce_mean(tf.square(norms - 1.0))

    def critic_step(self, real: tf.Tensor, cond: tf.Tensor) -> tf.Tensor:
        fake = self.fake(cond)
        with tf.GradientTape() as tape:
            wasserstein = tf.reduce_mean(self.score(fake, cond)) - tf.reduce_mean(self.score(real, cond))
            loss = wasserstein + GP_WEIGHT * self.gradient_penalty(real, fake, cond)
        variables = self.critic.trainable_variables
        self.d_opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=False))
        return loss

    def generator_step(self, cond: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(self.score(self.fake(cond), cond))
        variables = self.generator.trainable_variables
        self.g_opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=False))
        return loss

    @tf.function
    def train_step(self, real: tf.Tensor, cond: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """N_CRITIC critic updates (one real batch each, real[i]) then one generator update."""
        for i in range(N_CRITIC):
            d_loss = self.critic_step(real[i], cond[i])
        return d_loss, self.generator_step(cond[-1])


def _mlp(n_in: int, n_out: int, activation, name: str) -> keras.Model:
    """Two hidden layers; no batch normalisation, which would break the critic's per-sample gradient penalty."""
    inputs = keras.Input(shape=(n_in,))
    h = inputs
    for _ in range(2):
        h = activation()(keras.layers.Dense(HIDDEN_UNITS)(h))
    return keras.Model(inputs, keras.layers.Dense(n_out)(h), name=name)


def _train(gan: _ConditionalWgan, pools: list[np.ndarray], config: GanConfig, rng: np.random.Generator) -> dict:
    """Run epochs until `config.epochs` or `config.max_seconds`, whichever comes first.

    Each batch draws its classes uniformly, not in proportion to their row counts: a
    50-row class needs a generator as good as a 5,000-row class, so it gets as many updates
    (its real rows are simply repeated more often).
    """
    rows = np.concatenate(pools)
    counts = np.array([len(p) for p in pools])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    class_eye = np.eye(len(pools), dtype=np.float32)
    critic_batches = max(math.ceil(len(rows) / config.batch_size), MIN_CRITIC_BATCHES_PER_EPOCH)
    steps_per_epoch = math.ceil(critic_batches / N_CRITIC)

    started = time.monotonic()
    last_print = started
    epoch, d_loss, g_loss = 0, float("nan"), float("nan")
    while epoch < config.epochs and time.monotonic() - started < config.max_seconds:
        epoch += 1
        d_sum = g_sum = 0.0
        for step in range(1, steps_per_epoch + 1):  # noqa: B007 (the average below divides by the steps taken)
            cls = rng.integers(len(pools), size=(N_CRITIC, config.batch_size))
            picked = starts[cls] + rng.integers(0, counts[cls])
            d, g = gan.train_step(tf.constant(rows[picked]), tf.constant(class_eye[cls]))
            d_sum, g_sum = d_sum + float(d), g_sum + float(g)
            if time.monotonic() - started >= config.max_seconds:
                break
        d_loss, g_loss = d_sum / step, g_sum / step
        now = time.monotonic()
        if now - last_print >= PROGRESS_EVERY_SECONDS:
            _progress(epoch, config.epochs, d_loss, g_loss, now - started)
            last_print = now
    seconds = time.monotonic() - started
    _progress(epoch, config.epochs, d_loss, g_loss, seconds)
    # epochs_run counts the last epoch even when max_seconds cut it short.
    return {"trained_seconds": round(seconds, 3), "epochs_run": epoch, "final_d_loss": d_loss, "final_g_loss": g_loss}


def _progress(epoch: int, epochs: int, d_loss: float, g_loss: float, seconds: float) -> None:
    print(f"gan: epoch {epoch}/{epochs} d_loss={d_loss:.4f} g_loss={g_loss:.4f} {seconds:.0f}s", file=sys.stderr, flush=True)


def _sample_class(
    gan: _ConditionalWgan, class_index: int, n: int, column_values: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """n decoded rows of one class, in generator column order."""
    cond = np.zeros((n, gan.n_classes), dtype=np.float32)
    cond[:, class_index] = 1.0
    z = rng.standard_normal((n, gan.noise_dim), dtype=np.float32)
    logits = np.concatenate(
        [
            gan.generator(np.concatenate([z[i : i + SAMPLE_CHUNK_ROWS], cond[i : i + SAMPLE_CHUNK_ROWS]], axis=1)).numpy()
            for i in range(0, n, SAMPLE_CHUNK_ROWS)
        ]
    )
    return _decode(logits, gan.n_numeric, gan.group_sizes, column_values, rng)


def _decode(
    logits: np.ndarray, n_numeric: int, group_sizes: list[int], column_values: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Numeric columns: sigmoid snapped to the class's real values. Groups: exact one-hot.

    Snapping matters because real columns are spiky: most NSL-KDD numeric columns are
    exactly 0 (or 1) in most rows, counts are integers and rates have two decimals. A
    sigmoid never reaches 0 or 1, and the Lipschitz critic barely notices 0.003 against 0,
    but a decision tree splits on exactly that and learns "synthetic" instead of the class.

    A group's category is the argmax of Gumbel-perturbed logits, i.e. a draw from the
    softmax the critic was trained against, rather than always its most likely category.
    """
    out = np.zeros_like(logits, dtype=np.float32)
    sigmoid = 0.5 * (1.0 + np.tanh(0.5 * logits[:, :n_numeric]))  # the overflow-free form of 1 / (1 + e^-x)
    for j, values in enumerate(column_values):
        out[:, j] = _nearest(values, sigmoid[:, j])
    start = n_numeric
    for size in group_sizes:
        gumbel = -np.log(-np.log(rng.uniform(1e-20, 1.0, size=(len(logits), size))))
        chosen = np.argmax(logits[:, start : start + size] + gumbel, axis=1)
        out[np.arange(len(logits)), start + chosen] = 1.0
        start += size
    return out


def _nearest(support: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value replaced by the closest element of the sorted, non-empty array `support`."""
    upper = np.minimum(np.searchsorted(support, values), len(support) - 1)
    lower = np.maximum(upper - 1, 0)
    return np.where(values - support[lower] <= support[upper] - values, support[lower], support[upper])
