"""Reverse-mode autograd: Function nodes, grad mode, and the backward graph walk.

A Function's ``forward`` works on backend arrays (fast); its ``backward`` is written with
gpugrad's own Tensor ops, so ``create_graph=True`` differentiates the backward pass itself.
Without ``create_graph`` the backward runs in no-grad mode and records nothing.

The graph holds no reference cycles: a node points at its inputs (parent nodes or leaf
tensors), never at its own output; an op that needs its output saves the array and rebuilds
a tensor pointing at the node when backward asks for it.
"""
import functools

from .backend import get_array_module

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad recording on or off."""

    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)
        return wrapper


def no_grad():
    """Ops inside record no graph: ``with gg.no_grad(): ...`` or ``@gg.no_grad()``."""
    return _GradMode(False)


def enable_grad():
    return _GradMode(True)


class Function:
    """One differentiable op with a single output.

    Subclasses define ``forward(self, *tensors, **params) -> array`` and
    ``backward(self, grad_output: Tensor) -> tuple of Tensor|None`` (one per tensor input).
    ``save_for_backward`` keeps inputs; ``saves_output = True`` keeps the output.
    Gradients are summed back to each input's shape by the engine, so a backward may
    return a broadcast-shaped gradient.
    """
    saves_output = False
    is_view = False     # output may share memory with the first input (reshape, transpose, slicing)
    __slots__ = ("parents", "needs_input_grad", "out_shape", "_saved", "_saved_versions",
                 "_out_data", "_out_version", "hooks", "released")

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on Tensor inputs and, when grad is on, link the output into the graph."""
        fn = cls.__new__(cls)
        fn._saved = None
        try:
            out_data = fn.forward(*inputs, **params)
        except (ValueError, TypeError) as exc:
            raise _explain(cls, inputs, exc) from None
        requires_grad = False
        if _grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    requires_grad = True
                    break
        out = Tensor._make(out_data, requires_grad)
        if cls.is_view and out_data.base is not None:
            out._vc = inputs[0]._vc    # in place through a view changes the base too
        if requires_grad:
            fn.parents = tuple(t._node if t._node is not None else (t if t.requires_grad else None)
                               for t in inputs)
            fn.needs_input_grad = tuple(t.requires_grad for t in inputs)
            fn.out_shape = out_data.shape
            fn.hooks = None
            fn.released = False
            if cls.saves_output:
                fn._out_data, fn._out_version = out_data, (out._vc, out._vc[0])
            out._node = fn
        return out

    def save_for_backward(self, *tensors):
        if not _grad_enabled:     # nothing will be recorded (e.g. a backward without create_graph)
            return
        self._saved = tensors
        self._saved_versions = tuple(t._vc[0] for t in tensors)

    @property
    def saved_tensors(self):
        if self.released:
            raise RuntimeError(_RELEASED_MESSAGE.format(op=type(self).__name__))
        for t, version in zip(self._saved, self._saved_versions):
            if t._vc[0] != version:
                raise RuntimeError(_MODIFIED_MESSAGE.format(op=type(self).__name__, shape=t.shape,
                                                            now=t._vc[0], then=version))
        return self._saved

    @property
    def output(self):
        """The op's output as a Tensor that points back at this node (for create_graph)."""
        if self.released:
            raise RuntimeError(_RELEASED_MESSAGE.format(op=type(self).__name__))
        cell, version = self._out_version
        if cell[0] != version:
            raise RuntimeError(_MODIFIED_MESSAGE.format(op=type(self).__name__, shape=self.out_shape,
                                                        now=cell[0], then=version))
        out = Tensor._make(self._out_data, True)
        out._node, out._vc = self, cell
        return out

    def release(self):
        self._saved = self._out_data = None
        self.released = True


_RELEASED_MESSAGE = (
    "{op}: trying to backward through the graph a second time, but its saved buffers were already "
    "freed; call backward(retain_graph=True) the first time if you need to backward twice")
_MODIFIED_MESSAGE = (
    "{op}: a tensor of shape {shape} that this op saved for backward was modified in place "
    "(version {now}, expected {then}); clone it before the in-place op, or do the in-place op "
    "before using the tensor")


def _explain(cls, inputs, exc):
    """Turn a backend's error into one that names the op, and the shapes or devices."""
    name = cls.__name__.lower()
    devices = [t.device for t in inputs]
    if len(set(devices)) > 1:   # checked only on failure: the hot path pays nothing for it
        return ValueError(f"{name}: tensors are on different devices ({', '.join(devices)}); move them with .to()")
    if isinstance(exc, TypeError):
        return exc
    shapes = " and ".join(str(t.shape) for t in inputs)
    return ValueError(f"{name}: incompatible shapes {shapes}: {exc}")


def _topological_order(root):
    """Nodes reachable from root, each after every node that consumes its output.

    Iterative, so a chain of 100,000 ops needs no recursion.
    """
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node.parents:
            if isinstance(parent, Function) and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()
    return order


def backward(root, grad_output=None, retain_graph=False, create_graph=False):
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
    grad_output = _check_root(root, grad_output)
    leaf_grads = _run_backward(root, grad_output, retain_graph, create_graph)
    # A leaf must never share its .grad array with another leaf or with the caller's gradient,
    # since grads may later be changed in place (zero_(), clipping); track arrays handed out.
    handed_out = {id(grad_output.data)}
    for leaf, grad in leaf_grads.values():
        if leaf._hooks:
            grad = _run_hooks(leaf._hooks, grad)
        if grad.requires_grad and not create_graph:
            grad = grad.detach()
        if id(grad.data) in handed_out or grad.data.base is not None:   # shared, or a (broadcast) view
            grad = Tensor._make(grad.data.copy()) if not create_graph else grad + 0
        handed_out.add(id(grad.data))
        with _GradMode(create_graph):
            leaf.grad = grad if leaf.grad is None else leaf.grad + grad


def grad(output, inputs, grad_output=None, retain_graph=False, create_graph=False):
    """Gradients of ``output`` with respect to ``inputs`` (a list), returned, not accumulated.

    With ``create_graph=True`` the results are themselves differentiable (higher-order gradients).
    """
    grad_output = _check_root(output, grad_output)
    wanted = [t._node if t._node is not None else t for t in inputs]
    found = _run_backward(output, grad_output, retain_graph or create_graph, create_graph,
                          capture={id(w) for w in wanted})
    results = []
    for t, w in zip(inputs, wanted):
        g = found.get(id(w))
        g = None if g is None else g[1]
        if g is not None and not create_graph:
            g = g.detach()
        results.append(g)
    return results


def _check_root(root, grad_output):
    if not root.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn; "
                           "create its inputs with requires_grad=True")
    if grad_output is None:
        if root.size != 1:
            raise RuntimeError(f"backward: grad can be implicitly created only for scalar outputs, "
                               f"but the output has shape {root.shape}; pass a gradient of that shape")
        return Tensor._make(_ones_like(root.data))
    if not isinstance(grad_output, Tensor):
        grad_output = Tensor._make(root.xp.asarray(grad_output, dtype=root.dtype))
    if grad_output.shape != root.shape:
        raise ValueError(f"backward: gradient has shape {grad_output.shape} but the output has "
                         f"shape {root.shape}")
    return grad_output


def _run_backward(root, grad_output, retain_graph, create_graph, capture=None):
    """Walk the graph from root; returns {id: [leaf, grad]} (plus captured nodes' grads)."""
    leaf_grads = {}
    if root._node is None:
        leaf_grads[id(root)] = [root, grad_output]
        return leaf_grads
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, create_graph
    try:
        grads = {id(root._node): grad_output}
        for node in _topological_order(root._node):
            grad = grads.pop(id(node), None)
            if grad is None:
                continue
            if node.released:
                raise RuntimeError(_RELEASED_MESSAGE.format(op=type(node).__name__))
            if node.hooks:
                grad = _run_hooks(node.hooks, grad)
            if capture is not None and id(node) in capture:
                leaf_grads[id(node)] = [node, grad]
            input_grads = node.backward(grad)
            if not retain_graph:
                node.release()
            for parent, input_grad in zip(node.parents, input_grads):
                if parent is None or input_grad is None:
                    continue
                is_node = isinstance(parent, Function)
                shape = parent.out_shape if is_node else parent.shape
                if input_grad.shape != shape:
                    input_grad = input_grad.sum_to(shape)
                key = id(parent)
                if is_node:
                    previous_grad = grads.get(key)
                    grads[key] = input_grad if previous_grad is None else previous_grad + input_grad
                elif capture is not None and key not in capture:
                    continue
                elif key in leaf_grads:
                    leaf_grads[key][1] = leaf_grads[key][1] + input_grad
                else:
                    leaf_grads[key] = [parent, input_grad]
    finally:
        _grad_enabled = previous
    return leaf_grads


def _run_hooks(hooks, grad):
    for hook in hooks:
        replaced = hook(grad)
        if replaced is not None:
            grad = replaced
    return grad


def _ones_like(array):
    return get_array_module(array).ones_like(array)


from .tensor import Tensor  # noqa: E402  (tensor.py imports this module; gpugrad/__init__ imports us first)
