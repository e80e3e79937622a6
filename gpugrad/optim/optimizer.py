"""Optimizer base class: parameters packed into flat buffers so a step is a few whole-buffer ops.

Each param group's parameters are copied into one contiguous buffer per (array module, dtype,
device), and every ``p.data`` is re-pointed to a reshaped view of it. A step then gathers the
gradients into a matching flat buffer and updates all parameters with a handful of in-place
``xp`` ops (the composite, which is the reference) or with one fused kernel launch from
``gpugrad.kernels.optim_update`` when ``gpugrad.kernels.use_fused`` says so.
"""

import importlib

from .. import backend
from ..backend import get_array_module
from ..tensor import Tensor


class _FlatBucket:
    """Parameters of one group sharing array module, dtype and device, packed into one buffer."""

    def __init__(self, params):
        first = params[0].data
        self.xp = xp = get_array_module(first)
        self.params = params
        self.slices, offset = [], 0
        for p in params:
            self.slices.append(slice(offset, offset + p.data.size))
            offset += p.data.size
        self.flat = xp.empty(offset, dtype=first.dtype)
        self.views = []
        for p, part in zip(params, self.slices):
            view = self.flat[part].reshape(p.data.shape)
            view[...] = p.data
            p.data = view
            self.views.append(view)
        self.grad = xp.zeros_like(self.flat)
        self.steps = [0] * len(params)  # per parameter: a param whose grad was None is not stepped
        self.buffers = {}               # state name -> flat array, allocated (zeros) on first use
        self._scratch = None

    def is_current(self):
        """False once someone re-pointed a ``p.data`` (e.g. ``Module.to``) after packing."""
        return all(p.data is view for p, view in zip(self.params, self.views))

    def buffer(self, name):
        if name not in self.buffers:
            self.buffers[name] = self.xp.zeros_like(self.flat)
        return self.buffers[name]

    @property
    def scratch(self):
        if self._scratch is None:
            self._scratch = self.xp.empty_like(self.flat)
        return self._scratch

    def param_state(self, i, copy):
        """State of parameter ``i`` as ``{"step": n, name: array of the param's shape}``."""
        if self.steps[i] == 0:
            return None
        shape = self.views[i].shape
        state = {"step": self.steps[i]}
        for name, flat in self.buffers.items():
            value = flat[self.slices[i]].reshape(shape)
            state[name] = value.copy() if copy else value
        return state

    def load_param_states(self, states):
        """Replace all state; ``states[i]`` is a param_state-like dict or None (fresh state)."""
        self.buffers, self.steps = {}, [0] * len(self.params)
        for i, state in enumerate(states):
            if not state:
                continue
            step = state.get("step", 1)  # PyTorch's SGD keeps no step: any state means stepped
            self.steps[i] = int(step.item() if hasattr(step, "item") else step)
            for name, value in state.items():
                if name != "step":
                    self.buffer(name)[self.slices[i]] = _to_array(value, self.flat).reshape(-1)


def _pack(params):
    """Split params into buckets of one array module, dtype and device, keeping their order."""
    by_key = {}
    for p in params:
        a = p.data
        key = (get_array_module(a).__name__, a.dtype.str, str(getattr(a, "device", "")))
        by_key.setdefault(key, []).append(p)
    return [_FlatBucket(ps) for ps in by_key.values()]


def _to_array(value, like):
    """``value`` (array, Tensor or number) as an array on ``like``'s device, of its dtype."""
    if isinstance(value, Tensor):
        value = value.data
    if hasattr(value, "shape"):
        value = backend.to_device(value, backend.device_of(like))
    return get_array_module(like).asarray(value, dtype=like.dtype)


_modules = {}  # module name -> module, or None if absent (a failed import searches the disk)


def _find_module(name):
    if name not in _modules:
        try:
            _modules[name] = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise  # the module is there but broken: say so rather than silently run slower
            _modules[name] = None
    return _modules[name]


def fused_kernels(array):
    """``gpugrad.kernels.optim_update`` if a fused update should run on ``array``, else None.

    The kernels take flat float32 arrays; importing them (which builds Numba kernels) happens
    only once ``use_fused`` says yes.
    """
    if array.dtype != "float32":
        return None
    kernels = _find_module("gpugrad.kernels")
    if kernels is None or not kernels.use_fused(array):
        return None
    return _find_module("gpugrad.kernels.optim_update")


def axpy(y, a, x, scratch):
    """``y += a * x`` in place, through ``scratch`` so that no temporary array is allocated."""
    xp = get_array_module(y)
    xp.multiply(x, a, out=scratch)
    y += scratch


class Optimizer:
    """Base class. Subclasses set ``_state_names`` and implement ``_check`` and ``_update``.

    ``params`` is an iterable of Parameters, or of dicts ``{"params": [...], **hyperparameters}``
    (param groups); hyperparameters missing from a group come from ``defaults``.
    """

    _state_names = ()  # every per-parameter state buffer this optimizer may keep

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors or dicts, got a Tensor")
        _check_ordered(params)
        self.defaults = dict(defaults)
        self.param_groups = []
        self._buckets = []  # parallel to param_groups: list of _FlatBucket
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Add a dict ``{"params": [...], **hyperparameters}``; unset ones come from defaults."""
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        _check_ordered(params)
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError("a parameter appears twice in one parameter group")
        if any(id(p) in ids for g in self.param_groups for p in g["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check(group)
        group["params"] = params
        self.param_groups.append(group)
        self._buckets.append(_pack(params))

    def _check(self, group):
        """Raise ValueError for an invalid hyperparameter in ``group``."""
        raise NotImplementedError

    def _update(self, group, param, grad, state, scratch, step):
        """Update the flat arrays ``param`` and ``state`` in place from ``grad`` (which may be
        overwritten). ``step`` counts from 1. Uses a fused kernel when one applies."""
        raise NotImplementedError

    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (or fill it with zeros if ``set_to_none=False``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data.fill(0)

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        loss = closure() if closure is not None else None
        for group_index, group in enumerate(self.param_groups):
            for bucket in self._current_buckets(group_index):
                self._step_bucket(group, bucket)
        return loss

    def _current_buckets(self, group_index):
        buckets = self._buckets[group_index]
        if all(b.is_current() for b in buckets):
            return buckets
        # Some p.data was re-pointed (e.g. moved to another device): repack from the current
        # values and carry the state over, converted to each parameter's new array module.
        states = {id(p): b.param_state(i, copy=False)
                  for b in buckets for i, p in enumerate(b.params)}
        buckets = _pack(self.param_groups[group_index]["params"])
        for b in buckets:
            b.load_param_states([states[id(p)] for p in b.params])
        self._buckets[group_index] = buckets
        return buckets

    def _step_bucket(self, group, bucket):
        present = [i for i, p in enumerate(bucket.params) if p.grad is not None]
        if not present:
            return
        grad = bucket.grad
        for i in present:
            grad[bucket.slices[i]] = bucket.params[i].grad.data.reshape(-1)
        if group.get("maximize", False):
            bucket.xp.negative(grad, out=grad)
        names = self._buffer_names(group)
        steps = bucket.steps
        if len(present) == len(steps) and len(set(steps)) == 1:
            # The common case: one update over the whole flat buffer.
            bucket.steps = [steps[0] + 1] * len(steps)
            state = {name: bucket.buffer(name) for name in names}
            self._update(group, bucket.flat, grad, state, bucket.scratch, steps[0] + 1)
        else:
            # PyTorch skips params whose grad is None, so their state must not move either.
            for i in present:
                part = bucket.slices[i]
                steps[i] += 1
                state = {name: bucket.buffer(name)[part] for name in names}
                self._update(group, bucket.flat[part], grad[part], state,
                             bucket.scratch[part], steps[i])
        for i in present:
            bucket.params[i]._version += 1  # lets autograd detect tensors saved before the step

    def _buffer_names(self, group):
        """State buffers that ``_update`` needs for this group's hyperparameters."""
        return self._state_names

    def state_dict(self):
        """``{"state": {index: {"step": n, name: array}}, "param_groups": [{..., "params":
        [indices]}]}`` with parameters numbered in group order, as in PyTorch. Arrays are copies."""
        state, groups, index = {}, [], 0
        for group, buckets in zip(self.param_groups, self._buckets):
            where = {id(p): (b, i) for b in buckets for i, p in enumerate(b.params)}
            for p in group["params"]:
                bucket, i = where[id(p)]
                param_state = bucket.param_state(i, copy=True)
                if param_state is not None:
                    state[index] = param_state
                index += 1
            first = index - len(group["params"])
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": list(range(first, index))})
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a ``state_dict()``; raises ValueError, changing nothing, if it does not fit."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        params = {}
        for n, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"parameter group {n} has {len(saved['params'])} parameters in "
                                 f"the loaded state dict, {len(group['params'])} here")
            params.update(zip(saved["params"], group["params"]))
        states = {}
        for index, param_state in state_dict["state"].items():
            p = params.get(int(index))
            if p is None:
                raise ValueError(f"loaded state dict has state for unknown parameter {index}")
            for name, value in param_state.items():
                if name == "step":
                    continue
                if name not in self._state_names:
                    raise ValueError(f"state {name!r} of parameter {index} is not used by "
                                     f"{type(self).__name__} (expected {self._state_names})")
                shape = tuple(getattr(value, "shape", ()))
                if shape != tuple(p.shape):
                    raise ValueError(f"state {name!r} of parameter {index} has shape {shape}, "
                                     f"the parameter {tuple(p.shape)}")
            states[id(p)] = param_state
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = {**group, **saved, "params": group["params"]}
            self._check(new_group)
            new_groups.append(new_group)
        # Everything fits: commit.
        self.param_groups[:] = new_groups
        for group_index in range(len(self.param_groups)):
            for b in self._current_buckets(group_index):
                b.load_param_states([states.get(id(p)) for p in b.params])


def _check_ordered(params):
    if isinstance(params, (set, frozenset)):
        raise TypeError("params must be an ordered collection (state_dict numbers parameters in "
                        "order), got a set")


def check_nonnegative(group, *names):
    """Raise ValueError unless ``group[name] >= 0`` for each name."""
    for name in names:
        if not group[name] >= 0:
            raise ValueError(f"invalid {name}: {group[name]} (must be >= 0)")
