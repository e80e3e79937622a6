import gzip

import numpy as np
import pytest

import gpugrad
from gpugrad.data import ArrayDataset, DataLoader, load_digits, load_mnist, read_idx


# ----------------------------------------------------------------------------- digits

def test_digits_shapes_dtypes_and_range():
    train, test = load_digits()
    assert len(train) + len(test) == 1797
    for ds in (train, test):
        assert ds.x.dtype == np.float32 and ds.x.shape[1:] == (64,)
        assert ds.y.dtype == np.int64
        assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    assert train.x.max() == 1.0
    assert set(np.unique(train.y)) == set(np.unique(test.y)) == set(range(10))
    x, y = train[0]
    assert x.shape == (64,) and y.dtype == np.int64


def test_digits_image_layout_and_raw_values():
    test = load_digits("test", flatten=False, normalize=False)
    assert test.x.shape[1:] == (1, 8, 8)
    assert test.x.max() == 16.0 and np.all(test.x == np.round(test.x))


def test_digits_split_is_deterministic_disjoint_and_complete():
    # Rows are distinct enough to identify samples: compare them as bytes.
    def rows(ds):
        return [r.tobytes() + bytes([int(c)]) for r, c in zip(ds.x, ds.y)]

    train, test = load_digits(seed=3)
    train2, test2 = load_digits(seed=3)
    assert np.array_equal(train.x, train2.x) and np.array_equal(test.y, test2.y)
    assert len(test) == pytest.approx(0.2 * 1797, abs=10)
    half = load_digits("train", test_fraction=0.5, seed=3)
    assert len(half) == pytest.approx(1797 / 2, abs=10)
    # Disjoint and covering: the multiset union of both sides is the full data set.
    full = load_digits("train", test_fraction=0.0001)  # rounds to zero test samples per class
    assert len(full) == 1797
    assert sorted(rows(train) + rows(test)) == sorted(rows(full))
    other_train, _ = load_digits(seed=4)
    assert not np.array_equal(train.y, other_train.y)


def test_digits_split_is_stratified():
    train, test = load_digits()
    counts = np.bincount(test.y, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 37  # 20% of 174..183 per class


@pytest.mark.parametrize("kwargs", [{"split": "val"}, {"test_fraction": 0.0},
                                    {"test_fraction": 1.0}])
def test_digits_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        load_digits(**kwargs)


# ----------------------------------------------------------------------------- IDX / MNIST

def idx_bytes(array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(folder, prefix="train", n=5, gz=False, images=None, labels=None):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if images is None else images
    labels = rng.integers(0, 10, n, dtype=np.uint8) if labels is None else labels
    suffix = ".gz" if gz else ""
    opener = gzip.open if gz else open
    paths = []
    for name, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
        path = folder / f"{prefix}-{name}{suffix}"
        with opener(path, "wb") as f:
            f.write(idx_bytes(array))
        paths.append(path)
    return images, labels, paths


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_plain_and_gzip(tmp_path, gz):
    images, labels, _ = write_mnist(tmp_path, "t10k", n=7, gz=gz)
    ds = load_mnist(tmp_path, split="test")
    assert ds.x.shape == (7, 784) and ds.x.dtype == np.float32
    np.testing.assert_allclose(ds.x, images.reshape(7, -1) / 255.0, rtol=1e-6)
    assert ds.y.dtype == np.int64 and np.array_equal(ds.y, labels)
    assert load_mnist(tmp_path, "test", flatten=False).x.shape == (7, 1, 28, 28)


def test_read_idx_other_types(tmp_path):
    a = np.arange(12, dtype=np.int32).reshape(3, 4) - 5
    (tmp_path / "a.idx").write_bytes(idx_bytes(a, magic_type=0x0C))
    out = read_idx(tmp_path / "a.idx")
    assert out.dtype == np.int32 and np.array_equal(out, a)


def test_mnist_bad_magic(tmp_path):
    _, _, (images_path, _) = write_mnist(tmp_path)
    raw = bytearray(images_path.read_bytes())
    raw[0] = 0x1F
    images_path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*magic"):
        load_mnist(tmp_path)


def test_mnist_wrong_magic_for_role(tmp_path):
    # A labels file where the images should be: a valid IDX file of the wrong rank.
    _, labels, (images_path, _) = write_mnist(tmp_path)
    images_path.write_bytes(idx_bytes(labels))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.*rank 3"):
        load_mnist(tmp_path)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_truncated(tmp_path, gz):
    _, _, (images_path, _) = write_mnist(tmp_path, gz=gz)
    raw = images_path.read_bytes()
    images_path.write_bytes(raw[:len(raw) - 100])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_mnist_truncated_header(tmp_path):
    _, _, (_, labels_path) = write_mnist(tmp_path)
    labels_path.write_bytes(labels_path.read_bytes()[:6])
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*truncated"):
        load_mnist(tmp_path)


def test_mnist_count_mismatch(tmp_path):
    write_mnist(tmp_path, labels=np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="mismatch.*5 images.*4 labels"):
        load_mnist(tmp_path)


def test_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="directory"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, split="val")


# ----------------------------------------------------------------------------- DataLoader

def numbered(n):
    # x holds the sample's own index, so batches reveal which samples they contain.
    return ArrayDataset(np.arange(n, dtype=np.float32).reshape(n, 1), np.arange(n))


def seen(loader):
    return [int(v) for _, y in loader for v in y.numpy()]


@pytest.mark.parametrize("drop_last, expected", [(False, 4), (True, 3)])
def test_loader_batch_count(drop_last, expected):
    loader = DataLoader(numbered(10), batch_size=3, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == expected
    assert [len(y.numpy()) for _, y in batches] == [3, 3, 3, 1][:expected]
    assert len(DataLoader(numbered(9), batch_size=3, drop_last=drop_last)) == 3


def test_loader_yields_tensors_in_order():
    x, y = next(iter(DataLoader(numbered(10), batch_size=4)))
    assert isinstance(x, gpugrad.Tensor) and isinstance(y, gpugrad.Tensor)
    assert x.shape == (4, 1) and x.dtype == np.float32
    assert y.dtype == np.int64
    assert np.array_equal(y.numpy(), [0, 1, 2, 3])
    assert np.array_equal(x.numpy()[:, 0], [0, 1, 2, 3])


def test_loader_shuffle_is_reproducible_and_epochs_differ():
    a = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=1)
    b = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=1)
    a0, a1, b0, b1 = seen(a), seen(a), seen(b), seen(b)
    assert a0 == b0 and a1 == b1
    assert a0 != a1 and a0 != list(range(50))
    assert sorted(a0) == sorted(a1) == list(range(50))  # every sample once per epoch
    b.set_epoch(1)
    assert seen(b) == a1
    c = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=2)
    assert seen(c) != a0


def test_loader_batches_are_one_fancy_index():
    class Recording(ArrayDataset):
        calls = []

        def __getitem__(self, index):
            self.calls.append(np.asarray(index).shape)
            return super().__getitem__(index)

    ds = Recording(np.zeros((10, 2), np.float32), np.zeros(10, np.int64))
    list(DataLoader(ds, batch_size=4))
    assert Recording.calls == [(4,), (4,), (2,)]


@pytest.mark.parametrize("n, world_size", [(12, 3), (10, 4), (3, 5)])
def test_loader_distributed_shards(n, world_size):
    shards = [seen(DataLoader(numbered(n), batch_size=2, shuffle=True, seed=7,
                              rank=r, world_size=world_size)) for r in range(world_size)]
    sizes = {len(s) for s in shards}
    assert sizes == {-(-n // world_size)}  # equal sizes, padded up
    everything = sum(shards, [])
    assert set(everything) == set(range(n))  # covering
    if n % world_size == 0:
        assert len(everything) == n  # disjoint when no padding is needed


def test_loader_distributed_len():
    loader = DataLoader(numbered(10), batch_size=2, rank=1, world_size=4, drop_last=True)
    assert len(loader) == 1 and len(list(loader)) == 1  # 3 samples per rank


@pytest.mark.parametrize("kwargs", [
    {"batch_size": 0}, {"batch_size": 2.5}, {"batch_size": True},
    {"world_size": 0}, {"rank": -1}, {"rank": 2, "world_size": 2}, {"seed": -3},
])
def test_loader_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        DataLoader(numbered(4), **kwargs)


def test_loader_rejects_non_dataset():
    with pytest.raises(TypeError):
        DataLoader(42)
    with pytest.raises(ValueError, match="epoch"):
        DataLoader(numbered(4)).set_epoch(-1)


def test_array_dataset_length_mismatch():
    with pytest.raises(ValueError, match="first dimension"):
        ArrayDataset(np.zeros((3, 2)), np.zeros(4))
