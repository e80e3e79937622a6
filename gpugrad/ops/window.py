"""Sliding windows over the last two axes: the im2col behind Conv2d and MaxPool2d."""
from .. import backend
from ..autograd import Function


class Unfold(Function):
    """(N, C, H, W) -> (N, C, OH, OW, kh, kw) windows, a strided view (no copy in forward)."""

    def forward(self, x, kernel, stride):
        (kh, kw), (sh, sw) = kernel, stride
        n, c, h, w = x.shape
        if h < kh or w < kw:
            raise ValueError(f"unfold: kernel {kernel} is larger than the input's spatial size {(h, w)}")
        self.in_shape, self.kernel, self.stride = x.shape, kernel, stride
        out_h, out_w = (h - kh) // sh + 1, (w - kw) // sw + 1
        xp = backend.get_array_module(x.data)
        data = xp.ascontiguousarray(x.data)
        s = data.strides
        return xp.lib.stride_tricks.as_strided(
            data, (n, c, out_h, out_w, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]))

    def backward(self, grad):
        return (Fold.apply(grad, shape=self.in_shape, stride=self.stride),)


class Fold(Function):
    """The adjoint of Unfold: add each window back where it came from."""

    def forward(self, windows, shape, stride):
        self.kernel, self.stride = windows.shape[4:], stride
        xp = backend.get_array_module(windows.data)
        out = xp.zeros(shape, dtype=windows.dtype)
        (sh, sw), (out_h, out_w) = stride, windows.shape[2:4]
        # A loop over the kh*kw kernel offsets (9 for 3x3), each a strided add over all pixels.
        for i in range(self.kernel[0]):
            for j in range(self.kernel[1]):
                out[:, :, i:i + sh * out_h:sh, j:j + sw * out_w:sw] += windows.data[:, :, :, :, i, j]
        return out

    def backward(self, grad):
        return (Unfold.apply(grad, kernel=self.kernel, stride=self.stride),)
