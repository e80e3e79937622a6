"""Checkpoints: nested state dicts saved as one safetensors file, written atomically.

Layout of a file:
  * every array (Tensor, NumPy or CuPy array, NumPy scalar) is a safetensors tensor
    under its path in the state, e.g. ``model/fc1.weight``, ``optimizer/state/0/exp_avg``;
  * everything else goes in the header metadata as JSON: a skeleton of the whole state
    that records dict key types (int vs str) and order, list vs tuple, the python
    scalars (int, float, bool, None, str) and, for each array, its tensor's name.
The skeleton, not the tensor names, is authoritative, so names only have to be unique.
"""
import json
import os
import struct
import tempfile

import numpy as np
import safetensors.numpy

__all__ = ["save", "load"]

# Marks a file as written by gpugrad; the value is the layout version.
_MARKER_KEY, _MARKER_VERSION = "gpugrad.checkpoint", "1"
_SKELETON_KEY = "gpugrad.skeleton"


def _host_array(value):
    """A host NumPy array for an array-like leaf, or None for anything else."""
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.split(".")[0] == "cupy":
        from .backend import to_numpy
        return to_numpy(value)
    from .tensor import Tensor  # late import: the core imports this module's exporter
    if isinstance(value, Tensor):
        return value.numpy()
    return None


def _flatten(value, path, tensors):
    """Return the JSON skeleton node for ``value``; put its arrays into ``tensors``."""
    where = "/".join(map(str, path)) or "<root>"
    # NumPy scalars first: np.float64 subclasses float but should keep its dtype,
    # so it is stored as a 0-d tensor and comes back as a NumPy scalar.
    if isinstance(value, np.generic):
        node = _flatten(np.asarray(value), path, tensors)
        node["scalar"] = True
        return node
    if value is None or isinstance(value, (bool, int, float, str)):
        return value  # JSON keeps bool, int and float apart
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                raise TypeError(f"checkpoint: dict key {key!r} at {where} must be str or int")
            items.append([key, _flatten(item, path + [key], tensors)])
        return {"dict": items}  # a list of pairs keeps order and int-vs-str keys
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [_flatten(item, path + [i], tensors) for i, item in enumerate(value)]}
    array = _host_array(value)
    if array is None:
        raise TypeError(f"checkpoint: cannot save {type(value).__name__} at {where}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"checkpoint: array dtype {array.dtype} at {where} is not supported")
    name, n = where, 1
    while name in tensors:  # e.g. a str key "a/b" next to nested keys "a" -> "b"
        name, n = f"{where}#{n}", n + 1
    tensors[name] = array
    return {"array": name}


def _unflatten(node, tensors):
    if not isinstance(node, dict):
        return node
    if "array" in node:
        array = tensors[node["array"]]
        return array[()] if node.get("scalar") else array
    if "dict" in node:
        return {key: _unflatten(item, tensors) for key, item in node["dict"]}
    if "list" in node:
        return [_unflatten(item, tensors) for item in node["list"]]
    return tuple(_unflatten(item, tensors) for item in node["tuple"])


def save(state, path):
    """Save a nested state (dicts with str/int keys, lists, tuples, arrays, scalars) to ``path``.

    Arrays may be gpugrad Tensors, NumPy or CuPy arrays (bool, int, uint, float
    dtypes); other leaves must be int, float, bool, None or str. The file is written
    to a temporary file in the same folder, fsynced and renamed over ``path``, so a
    crash leaves either the old file or the new one, never a partial one.
    """
    path = os.fspath(path)
    tensors = {}
    skeleton = _flatten(state, [], tensors)
    metadata = {_MARKER_KEY: _MARKER_VERSION, _SKELETON_KEY: json.dumps(skeleton)}
    payload = safetensors.numpy.save(tensors, metadata=metadata)

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"checkpoint folder does not exist: {folder}")
    tmp = tempfile.NamedTemporaryFile(dir=folder, prefix=".tmp-", suffix=".safetensors",
                                      delete=False)
    try:
        with tmp:
            tmp.write(payload)
            tmp.flush()
            os.fsync(tmp.fileno())  # data on disk before the rename makes it visible
        os.chmod(tmp.name, 0o666 & ~_UMASK)  # NamedTemporaryFile creates it 0600
        os.replace(tmp.name, path)
    except BaseException:  # includes KeyboardInterrupt: never leave the temp file behind
        try:
            os.unlink(tmp.name)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def load(path):
    """Load a state written by ``save``, with the same nesting, key types and scalars.

    Arrays come back as host NumPy arrays whatever device they were saved from;
    move them with ``gg.tensor(a, device=...)`` or let ``Module.load_state_dict`` /
    ``Optimizer.load_state_dict`` do it. Raises FileNotFoundError for a missing file
    and ValueError, naming the path, for a truncated or foreign file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    with open(path, "rb") as f:
        raw = f.read()
    metadata = _read_metadata(raw, path)
    if metadata.get(_MARKER_KEY) != _MARKER_VERSION or _SKELETON_KEY not in metadata:
        raise ValueError(f"{path}: a safetensors file, but not a gpugrad checkpoint "
                         f"(no {_MARKER_KEY}={_MARKER_VERSION} metadata)")
    try:
        tensors = safetensors.numpy.load(raw)
        return _unflatten(json.loads(metadata[_SKELETON_KEY]), tensors)
    except Exception as err:  # SafetensorError is not exported under a stable name
        raise ValueError(f"{path}: corrupt or truncated checkpoint ({err})") from None


def _read_metadata(raw, path):
    # safetensors' Python API does not return the metadata of an in-memory file, and
    # parsing the header ourselves lets us say precisely what is wrong.
    # Header: little-endian u64 length, then that many bytes of JSON.
    if len(raw) < 8:
        raise ValueError(f"{path}: not a safetensors file (only {len(raw)} bytes)")
    (header_len,) = struct.unpack("<Q", raw[:8])
    if header_len > len(raw) - 8:
        raise ValueError(f"{path}: not a safetensors file or truncated "
                         f"(header of {header_len} bytes, file has {len(raw)})")
    try:
        header = json.loads(raw[8:8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{path}: not a safetensors file (header is not JSON)") from None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _fsync_folder(folder):
    # Make the rename itself durable. POSIX only; elsewhere opening a folder fails.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _current_umask():
    mask = os.umask(0)  # the only portable way to read it is to set it and restore it
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once at import, before any threads are likely
