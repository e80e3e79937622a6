"""Datasets (built-in digits, MNIST IDX files) and a batching DataLoader.

Datasets hold host NumPy arrays; only the DataLoader turns batches into gpugrad
Tensors on the current backend, so one copy per batch crosses to the device.
"""
import gzip
import math
import os
import zlib
from importlib import resources

import numpy as np

import gpugrad  # only gpugrad.tensor is used, at iteration time (no import cycle)

__all__ = ["ArrayDataset", "DataLoader", "load_digits", "load_mnist", "read_idx"]


class ArrayDataset:
    """Pairs of samples held as two NumPy arrays with the same first dimension.

    ``dataset[i]`` returns ``(x[i], y[i])``; ``dataset[index_array]`` returns a whole
    batch with one fancy-index per array, which is what DataLoader relies on.
    """

    def __init__(self, x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
            raise ValueError(
                f"ArrayDataset needs x and y with the same first dimension, "
                f"got shapes {x.shape} and {y.shape}")
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], self.y[index]

    def __repr__(self):
        return f"ArrayDataset(x={self.x.shape} {self.x.dtype}, y={self.y.shape} {self.y.dtype})"


# ----------------------------------------------------------------------------- digits

def load_digits(split=None, test_fraction=0.2, seed=0, normalize=True, flatten=True):
    """The 1,797 8x8 handwritten digits (UCI), shipped with gpugrad (no download).

    Features are float32, shape (N, 64), or (N, 1, 8, 8) with ``flatten=False`` (for
    Conv2d); scaled to [0, 1] with ``normalize=True``, else raw counts 0..16.
    Labels are int64 in 0..9.

    The split is stratified by class and depends only on ``seed`` and
    ``test_fraction``, so the same arguments always give the same disjoint split.
    ``split=None`` returns ``(train, test)``; ``"train"`` or ``"test"`` returns one.
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be None, 'train' or 'test', got {split!r}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")

    with resources.files("gpugrad").joinpath("datasets/digits.npz").open("rb") as f:
        with np.load(f) as archive:
            images, labels = archive["images"], archive["labels"]
    x = images.astype(np.float32)
    if normalize:
        x /= 16.0  # pixel values are counts of on-pixels in a 4x4 block: 0..16
    x = x.reshape(len(x), 64) if flatten else x.reshape(len(x), 1, 8, 8)
    y = labels.astype(np.int64)

    # Stratify so both sides keep the class balance even for small test fractions.
    rng = np.random.default_rng(seed)
    test_parts = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        n_test = int(round(len(members) * test_fraction))
        test_parts.append(rng.permutation(members)[:n_test])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[np.concatenate(test_parts)] = True
    # Keep the original order inside each side; the DataLoader shuffles.
    train = ArrayDataset(x[~is_test], y[~is_test])
    test = ArrayDataset(x[is_test], y[is_test])
    return {"train": train, "test": test, None: (train, test)}[split]


# ----------------------------------------------------------------------------- MNIST

# IDX type codes (third magic byte) -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Read one IDX file (plain, or gzip if the name ends in ``.gz``) into a NumPy array.

    Raises ValueError naming the file when the magic number, dimensions or size are wrong.
    """
    path = os.fspath(path)
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"IDX file not found: {path}") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        # A truncated or corrupt .gz stream only fails while decompressing.
        raise ValueError(f"{path}: truncated or corrupt gzip data ({err})") from None

    if len(raw) < 4:
        raise ValueError(f"{path}: truncated IDX file ({len(raw)} bytes, no header)")
    zero0, zero1, type_code, ndim = raw[:4]
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (not an IDX file?)")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: truncated IDX header (needs {header_size} bytes, "
                         f"file has {len(raw)})")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = header_size + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "has trailing bytes"
        raise ValueError(f"{path}: {problem}: dims {dims} need {expected} bytes, "
                         f"file has {len(raw)}")
    data = np.frombuffer(raw, dtype, offset=header_size).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # native byte order, writable copy


def _find_idx(directory, stem):
    # Official names use '-idx3-ubyte'; some mirrors use '.idx3-ubyte'. Either may be gzipped.
    candidates = [stem, stem.replace("-idx", ".idx")]
    for name in candidates:
        for suffix in ("", ".gz"):
            path = os.path.join(directory, name + suffix)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(
        f"MNIST file {stem}[.gz] not found in {os.fspath(directory)!r}")


def load_mnist(directory, split="train", normalize=True, flatten=True):
    """MNIST from the original IDX files in ``directory`` (plain or ``.gz``).

    ``split="train"`` reads ``train-images-idx3-ubyte``/``train-labels-idx1-ubyte``,
    ``"test"`` reads the ``t10k-`` pair. Features are float32, shape (N, 784) or
    (N, 1, 28, 28) with ``flatten=False``, scaled to [0, 1] with ``normalize=True``;
    labels int64. Returns an ArrayDataset.
    """
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"MNIST directory not found: {os.fspath(directory)!r}")
    images_path = _find_idx(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = _find_idx(directory, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path), read_idx(labels_path)

    # IDX itself allows any type and rank; MNIST's files are uint8 with fixed ranks.
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{images_path}: expected uint8 images of rank 3, "
                         f"got {images.dtype} with shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected uint8 labels of rank 1, "
                         f"got {labels.dtype} with shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"count mismatch: {images_path} has {len(images)} images but "
                         f"{labels_path} has {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: label {labels.max()} is out of range 0..9")

    x = images.astype(np.float32)
    if normalize:
        x /= 255.0
    n, height, width = images.shape
    x = x.reshape(n, height * width) if flatten else x.reshape(n, 1, height, width)
    return ArrayDataset(x, labels.astype(np.int64))


# ----------------------------------------------------------------------------- loader

def _check_int(name, value, minimum):
    # bool is an int subclass; DataLoader(ds, True) is a bug, not batch_size=1.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over a dataset in batches of gpugrad Tensors ``(x, y)``.

    ``dataset`` needs ``len()`` and ``dataset[index_array] -> (x_batch, y_batch)``
    (ArrayDataset does this), so a batch is gathered by one fancy-index, not a
    Python loop over samples.

    Shuffling draws from ``numpy.random.default_rng([seed, epoch])``: a run with a
    fixed ``seed`` is reproducible, and each ``iter()`` advances the epoch so
    successive epochs see different orders. ``set_epoch(n)`` picks the epoch of the
    next ``iter()`` (as with PyTorch's DistributedSampler, e.g. when resuming).
    ``seed=None`` picks a random seed once per loader (with ``world_size > 1`` it
    defaults to 0 instead, because every rank must draw the same permutation).

    With ``world_size > 1`` rank ``r`` takes every ``world_size``-th index of the
    (shuffled) order starting at ``r``; the order is first padded by wrapping around
    to a multiple of ``world_size`` so every rank gets the same number of samples
    (PyTorch's DistributedSampler does the same).
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, seed=None,
                 rank=0, world_size=1):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"dataset must support len() and indexing, got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = _check_int("batch_size", batch_size, 1)
        self.world_size = _check_int("world_size", world_size, 1)
        self.rank = _check_int("rank", rank, 0)
        if self.rank >= self.world_size:
            raise ValueError(f"rank must be in [0, world_size={self.world_size}), got {rank}")
        if seed is None:
            seed = 0 if self.world_size > 1 else int(np.random.SeedSequence().entropy)
        self.seed = _check_int("seed", seed, 0)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch):
        """Make the next ``iter()`` use this epoch's shuffle (later ones count up from it)."""
        self.epoch = _check_int("epoch", epoch, 0)

    def _num_samples(self):
        # Samples this rank sees per epoch, after wrap-padding to a multiple of world_size.
        return math.ceil(len(self.dataset) / self.world_size)

    def indices(self, epoch):
        """This rank's sample indices for ``epoch``, in iteration order."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(n)
        else:
            order = np.arange(n)
        total = self._num_samples() * self.world_size
        if total > n:  # wrap around (np.resize repeats), as many times as needed
            order = np.resize(order, total)
        return order[self.rank:total:self.world_size]

    def __len__(self):
        n = self._num_samples()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        # Not a generator itself: the epoch advances when iter() is called, not at the
        # first next(), so an abandoned or never-started iterator still uses up its epoch.
        order, self.epoch = self.indices(self.epoch), self.epoch + 1
        return self._batches(order)

    def _batches(self, order):
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            x, y = self.dataset[order[start:start + self.batch_size]]
            yield gpugrad.tensor(x), gpugrad.tensor(y)
