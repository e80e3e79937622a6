"""Differentiable ops, grouped by kind. Each op's backward sits beside its forward."""
