"""Grouped element-wise attention (``groupSize`` of the TypeScript op), groups of d channels.

A group weighs key j for query i by the mean squared distance of its d channels::

    y_ic = sum_j w_ij v_jc / sum_j w_ij,   w_ij = exp(-(1/d) sum_{c' in group} (q_ic' - k_jc')^2)

With q^ = q / sqrt(d), k^ = k / sqrt(d), the series of order t replaces e^{2 q^.k^} by its Taylor
polynomial T_t. The parallel form here is quadratic in L like the TypeScript composite
(``log w = log T_t(2 q^.k^) - |k^|^2``, shifted per query so the largest visible weight is 1),
differentiated by autograd: memory O(B (D/d) Lq L). The state is the C(d + t, t) monomial features
``f_a(k) = k^^a e^{-|k^|^2}`` (``@elementwise/math`` group_features.ts, same order of monomials):
``s`` [B, F, D], ``z`` [B, F, D / d].
"""

from __future__ import annotations

import functools
import math

import torch

from .ops import _check_state, _ratio, state_features


@functools.lru_cache(maxsize=None)
def group_features(group_size: int, order: int):
    """(parent, variable, degree, coefficient) of each monomial, in ``groupFeatures`` order."""
    parent = [-1]
    variable = [-1]
    degree = [0]
    coefficient = [1.0]
    exponents = [[0] * group_size]
    level_start = 0
    for n in range(1, order + 1):
        level_end = len(parent)
        for p in range(level_start, level_end):
            last = max(variable[p], 0)
            for c in range(last, group_size):
                alpha = list(exponents[p])
                alpha[c] += 1
                exponents.append(alpha)
                parent.append(p)
                variable.append(c)
                degree.append(n)
                coefficient.append(coefficient[p] * 2.0 / alpha[c])
        level_start = level_end
    assert len(parent) == state_features(order, group_size)
    return tuple(parent), tuple(variable), tuple(degree), tuple(coefficient)


@functools.lru_cache(maxsize=None)
def _levels(group_size: int, order: int):
    """Per degree n >= 1: the parent and variable of each monomial of degree n."""
    parent, variable, degree, _ = group_features(group_size, order)
    levels = []
    for n in range(1, order + 1):
        members = [f for f in range(len(parent)) if degree[f] == n]
        assert members == list(range(members[0], members[-1] + 1))
        levels.append(([parent[f] for f in members], [variable[f] for f in members]))
    return levels


def monomials(x: torch.Tensor, group_size: int, order: int) -> torch.Tensor:
    """Every monomial x^a of the last axis (size d), [..., F]: one gather and product per degree."""
    everything = torch.ones_like(x[..., :1])
    for parents, variables in _levels(group_size, order):
        index = lambda i: torch.tensor(i, dtype=torch.long, device=x.device)  # noqa: E731
        level = everything.index_select(-1, index(parents)) * x.index_select(-1, index(variables))
        everything = torch.cat([everything, level], -1)
    return everything


def _log_taylor(x: torch.Tensor, order: int) -> torch.Tensor:
    """log T_t(x) (positive for even t), by Horner: 1 + x(1 + x/2(1 + ...))."""
    total = torch.ones_like(x)
    for n in range(order, 0, -1):
        total = 1 + (x / n) * total
    return torch.log(total)


def _by_group(x: torch.Tensor, d: int) -> torch.Tensor:
    batch, length, channels = x.shape
    return x.reshape(batch, length, channels // d, d).transpose(1, 2)  # [B, G, L, d]


def grouped_attention(q, k, v, order, causal, mask, initial_state, return_final_state, d):
    batch, queries, channels = q.shape
    keys = k.shape[1]
    groups = channels // d
    scale = 1 / math.sqrt(d)
    visible_keys = (mask != 0)  # [B, L]
    hide = visible_keys.unsqueeze(-1)
    k = torch.where(hide, k, torch.zeros_like(k))
    v = torch.where(hide, v, torch.zeros_like(v))
    qg = _by_group(q, d) * scale
    kg = _by_group(k, d) * scale
    vg = _by_group(v, d)
    products = 2 * qg @ kg.transpose(-1, -2)  # [B, G, Lq, L]
    similarity = products if order == "exact" else _log_taylor(products, order)
    log_w = similarity - (kg * kg).sum(-1).unsqueeze(2)
    visible = visible_keys[:, None, None, :].expand(log_w.shape)
    if causal:
        tri = torch.ones(queries, keys, dtype=torch.bool, device=q.device).tril()
        visible = visible & tri
    hidden = torch.where(visible, log_w, torch.full_like(log_w, -math.inf))
    largest = hidden.amax(-1, keepdim=True).detach()
    has_state = initial_state is not None
    # The shift cancels in the ratio; with a state the moments hold unshifted features, so none.
    shift = torch.where(torch.isfinite(largest) & (not has_state), largest, torch.zeros_like(largest))
    w = torch.where(visible, torch.exp(torch.where(visible, log_w, torch.zeros_like(log_w)) - shift), torch.zeros_like(log_w))
    numerator = w @ vg  # [B, G, Lq, d]
    total = w.sum(-1, keepdim=True)  # [B, G, Lq, 1]
    if order != "exact":
        features = state_features(order, d)
        coeff = torch.tensor(group_features(d, order)[3], dtype=q.dtype, device=q.device)
    if has_state:
        s0, z0 = _check_state("initial_state", initial_state, batch, features, channels, q, channels // d)
        s0g = s0.reshape(batch, features, groups, d).permute(0, 2, 1, 3)  # [B, G, F, d]
        z0g = z0.permute(0, 2, 1).unsqueeze(-1)  # [B, G, F, 1]
        cq = monomials(qg, d, order) * coeff  # [B, G, Lq, F]
        numerator = numerator + cq @ s0g
        total = total + cq @ z0g
    y, _, _ = _ratio(numerator, total.expand_as(numerator))
    y = y.transpose(1, 2).reshape(batch, queries, channels)
    if not return_final_state:
        return y
    fk = monomials(kg, d, order) * torch.exp(-(kg * kg).sum(-1, keepdim=True))
    fk = fk * visible_keys[:, None, :, None]  # [B, G, L, F]
    s = fk.transpose(-1, -2) @ vg  # [B, G, F, d]
    z = fk.sum(2)  # [B, G, F]
    s = s.permute(0, 2, 1, 3).reshape(batch, features, channels)
    z = z.transpose(1, 2)
    if has_state:
        s = s + s0
        z = z + z0
    return y, (s, z)
