"""Element-wise attention (EA, arXiv 2501.05730) as a PyTorch op.

The same maths and semantics as ``elementwiseAttention`` of ``@elementwise/attention`` (whose
float64 oracle is ``@elementwise/math``), per channel c of ``q [B, Lq, D]``, ``k, v [B, L, D]``::

    f_n(k) = k^n e^{-k^2}      a_n = 2^n / n!      n = 0..t
    S_n = s0_n + sum_j m_j f_n(k_j) v_j     Z_n = z0_n + sum_j m_j f_n(k_j)
    y_i = sum_n a_n q_i^n S_n / sum_n a_n q_i^n Z_n

with prefix sums over j <= i when causal. ``order='exact'`` is the quadratic
``sum_j w_ij v_j / sum_j w_ij``, ``w_ij = exp(-(q_i - k_j)^2)``.

Rules shared with the TypeScript op:

- **zero denominator**: a query whose denominator is below the smallest normal number of the
  dtype (no visible key, or every visible ``e^{-k^2}`` underflowed) outputs 0 and passes no
  gradient;
- **mask** ``[B, L]``: nonzero = visible; a hidden key contributes nothing whatever it holds;
- **state**: ``initial_state = (s, z)`` each ``[B, t+1, D]`` is added to the moments before the
  first key; ``return_final_state=True`` also returns the state after the last key, so a prompt
  is prefilled in parallel and continued with :func:`elementwise_attention_step`, and long
  sequences run in chunks;
- **feature scaling**: per batch element and channel, every feature and the initial state are
  multiplied by the same power of two ``2^E`` (E from the nearest visible key), which leaves y and
  every gradient unchanged but keeps far keys (|k| up to ~11 in float32) representable.

The series' backward is a ``torch.autograd.Function`` with the analytic gradients of DESIGN.md
section 2 (those of ``eaBackward``), recomputing the moments from the saved inputs: memory is
O(t L D), not the autograd graph of the series' intermediates.

``group_size=d > 1`` weighs keys by the mean squared distance over groups of d channels (the
``groupSize`` option of the TypeScript op); see :mod:`elementwise_torch.grouped`.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import torch
from torch.autograd.function import once_differentiable

Order = Union[int, str]
State = Tuple[torch.Tensor, torch.Tensor]

#: Highest series order accepted (as ``MAX_ORDER`` of ``@elementwise/math``).
MAX_ORDER = 40
#: Causal prefix sums run in blocks of this many positions, then across blocks, so float32
#: rounding grows with L / BLOCK + BLOCK rather than with L.
SCAN_BLOCK = 64


def check_order(order: Order) -> Order:
    """Returns ``order`` if it is an even integer in [0, MAX_ORDER] or ``'exact'``, else raises."""
    if order == "exact":
        return order
    if isinstance(order, bool) or not isinstance(order, int) or order < 0 or order % 2 != 0 or order > MAX_ORDER:
        raise ValueError(
            f"order must be an even integer from 0 to MAX_ORDER = {MAX_ORDER} or 'exact' "
            f"(an even-degree Taylor polynomial of exp is positive, so weights stay positive), got {order!r}"
        )
    return order


def taylor_coefficients(order: int) -> list:
    """``a_n = 2^n / n!`` for n = 0..order, as ``taylorCoefficients`` computes them."""
    a = [1.0]
    for n in range(1, order + 1):
        a.append(a[-1] * 2.0 / n)
    return a


def _tiny(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).tiny


def prefix_sum(x: torch.Tensor, dim: int, reverse: bool = False) -> torch.Tensor:
    """Inclusive prefix sum along ``dim`` (suffix sum with ``reverse``), blocked for accuracy."""
    if reverse:
        return prefix_sum(x.flip(dim), dim).flip(dim)
    length = x.shape[dim]
    if length <= SCAN_BLOCK:
        return torch.cumsum(x, dim)
    x = x.movedim(dim, -1)
    blocks = -(-length // SCAN_BLOCK)
    pad = blocks * SCAN_BLOCK - length
    padded = torch.nn.functional.pad(x, (0, pad)) if pad else x
    shaped = padded.reshape(*x.shape[:-1], blocks, SCAN_BLOCK)
    inner = torch.cumsum(shaped, -1)
    totals = inner[..., -1]
    # Exclusive scan of the block totals (not cumsum - totals, which cancels when a later block's
    # total dwarfs the earlier ones).
    before = torch.nn.functional.pad(torch.cumsum(totals, -1)[..., :-1], (1, 0))
    out = (inner + before.unsqueeze(-1)).reshape(*x.shape[:-1], blocks * SCAN_BLOCK)
    return out[..., :length].movedim(-1, dim)


def _feature_exponent(k: torch.Tensor, visible: torch.Tensor, s0: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
    """E [B, 1, D] (integers >= 0): the nearest visible key's feature e^{-k^2} 2^E is about 1.

    At most MAX_EXPONENT, and low enough that a nonzero initial state times 2^E stays finite in
    the dtype. One E per batch element and channel, from the whole sequence (as the TypeScript
    op): see the README's "Known float32 limitation".
    """
    finfo = torch.finfo(k.dtype)
    max_log2 = math.floor(math.log2(finfo.max))
    # As the TypeScript op: E <= 1022 - 126, so a denominator below the oracle's zero threshold
    # (2^-1022) stays below float32's (2^-126) after scaling.
    cap = MAX_EXPONENT
    squares = torch.where(visible, k * k, torch.full_like(k, math.inf))
    nearest = torch.floor(squares.amin(dim=1, keepdim=True) * (1 / math.log(2)))
    from_keys = torch.where(torch.isfinite(nearest), nearest.clamp(max=cap), torch.zeros_like(nearest))
    largest = torch.maximum(s0.abs().amax(dim=1, keepdim=True), z0.abs().amax(dim=1, keepdim=True))
    headroom = (max_log2 - 3) - torch.ceil(torch.log2(largest.clamp(min=finfo.tiny)))
    bound = torch.where(largest > 0, headroom, torch.full_like(headroom, cap))
    bound = torch.where(torch.isnan(bound), torch.zeros_like(bound), bound)
    return torch.minimum(from_keys, bound).clamp(min=0)


MAX_EXPONENT = 1022 - 126


def _scale(x: torch.Tensor, exponent: torch.Tensor, sign: int) -> torch.Tensor:
    """x * 2^(sign E) in two halves, so neither factor overflows; 0 stays 0."""
    half = torch.floor(exponent * 0.5)
    y = x * torch.exp2(sign * half) * torch.exp2(sign * (exponent - half))
    return torch.where(x == 0, torch.zeros_like(y), y) if sign > 0 else y


class _Prepared:
    """Masked, feature-scaled inputs in the [B, L, T, D] layout shared by forward and backward."""

    def __init__(self, q, k, v, mask, s0, z0, order, causal):
        self.order = order
        self.causal = causal
        visible = (mask != 0).unsqueeze(-1)  # [B, L, 1]
        # Hidden keys are absent whatever they hold (a NaN there must not reach the moments).
        self.k = torch.where(visible, k, torch.zeros_like(k))
        self.v = torch.where(visible, v, torch.zeros_like(v))
        self.q = q
        self.exponent = _feature_exponent(self.k, visible, s0, z0)  # [B, 1, D]
        log_f0 = self.exponent * math.log(2) - self.k * self.k
        f0 = torch.exp(torch.where(visible, log_f0, torch.full_like(log_f0, -math.inf)))
        powers = [torch.ones_like(self.k)]
        for _ in range(order + 1):
            powers.append(powers[-1] * self.k)
        kp = torch.stack(powers, dim=2)  # [B, L, T+1, D]: k^0 .. k^{t+1}
        self.f_ext = f0.unsqueeze(2) * kp  # f_0 .. f_{t+1}
        self.f = self.f_ext[:, :, : order + 1]
        # A nonzero state bounds E (it stays finite scaled); a zero one stays exactly 0.
        self.s0 = _scale(s0, self.exponent, 1)  # [B, T, D]
        self.z0 = _scale(z0, self.exponent, 1)
        a = torch.tensor(taylor_coefficients(order), dtype=q.dtype, device=q.device)
        qp = [torch.ones_like(q)]
        for _ in range(order):
            qp.append(qp[-1] * q)
        self.c = torch.stack(qp, dim=2) * a.view(1, 1, -1, 1)  # [B, Lq, T, D]

    def moments(self):
        fv = self.f * self.v.unsqueeze(2)
        if self.causal:
            S = prefix_sum(fv, 1) + self.s0.unsqueeze(1)
            Z = prefix_sum(self.f, 1) + self.z0.unsqueeze(1)
            return S, Z, S[:, -1], Z[:, -1]
        S = fv.sum(1, keepdim=True) + self.s0.unsqueeze(1)
        Z = self.f.sum(1, keepdim=True) + self.z0.unsqueeze(1)
        return S, Z, S[:, 0], Z[:, 0]


def _read(p: "_Prepared", S: torch.Tensor, Z: torch.Tensor):
    """N, M and the query terms c used, per query: plain ``a_n q^n``, or ``a_n q^{n-t}`` (the same
    divided by q^t) where the plain N or M overflowed or the scaled M is nearer 1 in magnitude
    (|q| > 1 only), as the TypeScript op reads large queries. y and every gradient are homogeneous
    of degree 0 in c, so both readings give the same answer where both are finite."""
    N = (p.c * S).sum(2)
    M = (p.c * Z).sum(2)
    q = p.q
    large = torch.isfinite(q) & (q.abs() > 1)
    if p.order == 0 or not bool(large.any()):
        return N, M, p.c, None
    r = 1 / torch.where(large, q, torch.ones_like(q))
    t = p.order
    a = taylor_coefficients(t)
    # c_n / q^t = a_n r^{t-n}, built from c_t = a_t downwards: c_{n-1} = c_n r n / 2.
    terms = [None] * (t + 1)
    terms[t] = torch.full_like(q, a[t])
    for n in range(t, 0, -1):
        terms[n - 1] = terms[n] * r * (n / 2)
    scaled_c = torch.stack(terms, dim=2)
    scaled_N = (scaled_c * S).sum(2)
    scaled_M = (scaled_c * Z).sum(2)
    distance = lambda x: torch.log(x.abs()).abs()  # noqa: E731
    better = ~(torch.isfinite(N) & torch.isfinite(M)) | (distance(scaled_M) < distance(M))
    scaled = large & better
    c = torch.where(scaled.unsqueeze(2), scaled_c, p.c)
    return torch.where(scaled, scaled_N, N), torch.where(scaled, scaled_M, M), c, scaled


def _ratio(N: torch.Tensor, M: torch.Tensor):
    zero = M.abs() < _tiny(M.dtype)
    safe = torch.where(zero, torch.ones_like(M), M)
    y = torch.where(zero, torch.zeros_like(N), N / safe)
    return y, zero, safe


class SeriesAttention(torch.autograd.Function):
    """EA-series forward and analytic O(t L D) backward: (q, k, v, mask, s0, z0) -> (y, sT, zT)."""

    @staticmethod
    def forward(ctx, q, k, v, mask, s0, z0, order, causal):
        p = _Prepared(q, k, v, mask, s0, z0, order, causal)
        S, Z, sT, zT = p.moments()
        N, M, _, _ = _read(p, S, Z)
        y, _, _ = _ratio(N, M)
        ctx.save_for_backward(q, k, v, mask, s0, z0)
        ctx.order = order
        ctx.causal = causal
        return y, _scale(sT, p.exponent, -1), _scale(zT, p.exponent, -1)

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, dsT, dzT):
        q, k, v, mask, s0, z0 = ctx.saved_tensors
        order, causal = ctx.order, ctx.causal
        with torch.no_grad():
            p = _Prepared(q, k, v, mask, s0, z0, order, causal)
            S, Z, _, _ = p.moments()
            N, M, c, scaled = _read(p, S, Z)
            y, zero, safe = _ratio(N, M)
            g = torch.zeros_like(y) if dy is None else torch.where(zero, torch.zeros_like(dy), dy)
            alpha = g / safe  # [B, Lq, D]
            beta = -alpha * y
            # dq_i = sum_n n a_n q^{n-1} (alpha S_n + beta Z_n) = sum_n 2 c_{n-1} (...); for the
            # scaled terms (c_n = a_n r^{t-n}) the factor is -(t - n) c_n / q, which has no n = t
            # term and so loses no digits to the cancellation against y M'.
            inner = alpha.unsqueeze(2) * S + beta.unsqueeze(2) * Z  # [B, Lq, T, D]
            dq = (2 * c[:, :, :-1] * inner[:, :, 1:]).sum(2)
            if scaled is not None:
                n = torch.arange(order + 1, dtype=q.dtype, device=q.device).view(1, 1, -1, 1)
                safe_q = torch.where(scaled, q, torch.ones_like(q)).unsqueeze(2)
                scaled_dq = (-(order - n) * c / safe_q * inner).sum(2)
                dq = torch.where(scaled, scaled_dq, dq)
            seed_s = torch.zeros_like(p.s0) if dsT is None else _scale(dsT, p.exponent, -1)
            seed_z = torch.zeros_like(p.z0) if dzT is None else _scale(dzT, p.exponent, -1)
            at = alpha.unsqueeze(2) * c
            bt = beta.unsqueeze(2) * c
            if causal:
                A = prefix_sum(at, 1, reverse=True) + seed_s.unsqueeze(1)
                B = prefix_sum(bt, 1, reverse=True) + seed_z.unsqueeze(1)
                A0, B0 = A[:, 0], B[:, 0]
            else:
                A = at.sum(1, keepdim=True) + seed_s.unsqueeze(1)
                B = bt.sum(1, keepdim=True) + seed_z.unsqueeze(1)
                A0, B0 = A[:, 0], B[:, 0]
            f = p.f
            dv = (f * A).sum(2)
            # f_n' = n f_{n-1} - 2 f_{n+1}
            n = torch.arange(order + 1, dtype=q.dtype, device=q.device).view(1, 1, -1, 1)
            f_below = torch.cat([torch.zeros_like(f[:, :, :1]), f[:, :, :-1]], dim=2)
            df = n * f_below - 2 * p.f_ext[:, :, 1:]
            dk = (df * (p.v.unsqueeze(2) * A + B)).sum(2)
            visible = (mask != 0).unsqueeze(-1)
            dv = torch.where(visible, dv, torch.zeros_like(dv))
            dk = torch.where(visible, dk, torch.zeros_like(dk))
            # State adjoints: the moments carry 2^E, the adjoints 2^-E; 0 stays 0.
            ds0 = _scale(A0, p.exponent, 1)
            dz0 = _scale(B0, p.exponent, 1)
        return dq, dk, dv, None, ds0, dz0, None, None


def _exact(q, k, v, mask, causal):
    """Quadratic exact EA through autograd (reference form, small L)."""
    d2 = (q.unsqueeze(2) - k.unsqueeze(1)) ** 2  # [B, Lq, L, D]
    visible = (mask != 0)[:, None, :, None].expand(d2.shape)
    if causal:
        length = k.shape[1]
        tri = torch.ones(length, length, dtype=torch.bool, device=q.device).tril()
        visible = visible & tri[None, :, :, None]
    hidden = torch.where(visible, d2, torch.full_like(d2, math.inf))
    nearest = hidden.amin(dim=2, keepdim=True).detach()  # the ratio does not depend on it
    seen = torch.isfinite(nearest)
    shift = torch.where(seen, nearest, torch.zeros_like(nearest))
    w = torch.where(visible, torch.exp(-(torch.where(visible, d2, torch.zeros_like(d2)) - shift)), torch.zeros_like(d2))
    total = w.sum(2)
    numerator = (w * v.unsqueeze(1)).sum(2)
    y, _, _ = _ratio(numerator, total)
    return y


def _float_tensor(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def state_features(order: int, group_size: int = 1) -> int:
    """Rows of the state: t + 1 per channel, or C(d + t, t) for groups of d channels."""
    return math.comb(group_size + order, order)


def zero_state(order: int, batch: int, channels: int, group_size: int = 1, *, dtype=torch.float32, device=None) -> State:
    """The state before any key: ``s`` [B, F, D] and ``z`` [B, F, D / d] of zeros."""
    check_order(order)
    if order == "exact":
        raise ValueError("order 'exact' has no state")
    features = state_features(order, group_size)
    s = torch.zeros(batch, features, channels, dtype=dtype, device=device)
    z = torch.zeros(batch, features, channels // group_size, dtype=dtype, device=device)
    return s, z


def elementwise_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    order: Order = 6,
    causal: bool = False,
    mask: Optional[torch.Tensor] = None,
    initial_state: Optional[State] = None,
    return_final_state: bool = False,
    group_size: int = 1,
):
    """Element-wise attention of ``q [B, Lq, D]`` over ``k, v [B, L, D]``.

    Returns ``y [B, Lq, D]``, or ``(y, (s, z))`` with ``return_final_state=True``. Differentiable
    with respect to q, k, v and the initial state; the mask is a constant.
    """
    order = check_order(order)
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be a bool, got {causal!r}")
    q, k, v = (_float_tensor(n, x) for n, x in (("q", q), ("k", k), ("v", v)))
    if q.dim() != 3:
        raise ValueError(f"q must have shape [B, Lq, D], got {list(q.shape)}")
    batch, queries, channels = q.shape
    if k.dim() != 3 or k.shape[0] != batch or k.shape[2] != channels:
        raise ValueError(f"k must have shape [{batch}, L, {channels}] to match q {list(q.shape)}, got {list(k.shape)}")
    if v.shape != k.shape:
        raise ValueError(f"v must have the shape of k {list(k.shape)}, got {list(v.shape)}")
    if k.dtype != q.dtype or v.dtype != q.dtype:
        raise TypeError(f"q, k and v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    keys = k.shape[1]
    if queries == 0 or keys == 0 or channels == 0:
        raise ValueError(f"sequences must be non-empty, got q {list(q.shape)} and k {list(k.shape)}")
    if causal and queries != keys:
        raise ValueError(f"causal attention needs as many queries as keys, got Lq = {queries} and L = {keys}")
    if not isinstance(group_size, int) or group_size < 1 or channels % group_size != 0:
        raise ValueError(f"group_size must be an integer >= 1 dividing D = {channels}, got {group_size!r}")
    if mask is None:
        mask = torch.ones(batch, keys, dtype=q.dtype, device=q.device)
    else:
        if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != (batch, keys):
            shape = list(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"mask must have shape [B, L] = [{batch}, {keys}], got {shape}")
        mask = mask.to(device=q.device, dtype=q.dtype)
    if order == "exact":
        if initial_state is not None or return_final_state:
            raise ValueError("order 'exact' has no finite state: initial_state and return_final_state need a series order")
    if group_size > 1:
        from .grouped import grouped_attention

        return grouped_attention(q, k, v, order, causal, mask, initial_state, return_final_state, group_size)
    if order == "exact":
        return _exact(q, k, v, mask, causal)
    terms = order + 1
    if initial_state is None:
        s0 = torch.zeros(batch, terms, channels, dtype=q.dtype, device=q.device)
        z0 = torch.zeros_like(s0)
    else:
        s0, z0 = _check_state("initial_state", initial_state, batch, terms, channels, q)
    y, sT, zT = SeriesAttention.apply(q, k, v, mask, s0, z0, order, causal)
    if return_final_state:
        return y, (sT, zT)
    return y


def _check_state(name, state, batch, rows, channels, like, z_channels=None):
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"{name} must be a pair (s, z) of tensors")
    s, z = state
    z_channels = channels if z_channels is None else z_channels
    if not isinstance(s, torch.Tensor) or tuple(s.shape) != (batch, rows, channels):
        raise ValueError(f"{name}[0] (s) must have shape [{batch}, {rows}, {channels}], got {getattr(s, 'shape', s)}")
    if not isinstance(z, torch.Tensor) or tuple(z.shape) != (batch, rows, z_channels):
        raise ValueError(f"{name}[1] (z) must have shape [{batch}, {rows}, {z_channels}], got {getattr(z, 'shape', z)}")
    return s.to(like.dtype), z.to(like.dtype)


def elementwise_attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: State,
    order: int = 6,
    group_size: int = 1,
):
    """One token of causal EA as an RNN: q, k, v ``[B, D]``; returns ``(y [B, D], (s, z))``.

    ``s += f(k) v``, ``z += f(k)``, then y is read from the new state (a token attends to itself),
    exactly causal attention over one key with ``state`` as its initial state.
    """
    order = check_order(order)
    if order == "exact":
        raise ValueError("order 'exact' has no recurrent form; use an even series order such as 6")
    for name, x in (("q", q), ("k", k), ("v", v)):
        _float_tensor(name, x)
        if x.dim() != 2 or x.shape != q.shape:
            raise ValueError(f"{name} must have shape [B, D] like q {list(q.shape)}, got {list(x.shape)}")
    y, next_state = elementwise_attention(
        q.unsqueeze(1),
        k.unsqueeze(1),
        v.unsqueeze(1),
        order=order,
        causal=True,
        initial_state=state,
        return_final_state=True,
        group_size=group_size,
    )
    return y.squeeze(1), next_state
