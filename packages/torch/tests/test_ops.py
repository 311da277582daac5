"""The PyTorch op against the float64 oracle of @elementwise/math (outputs, final state, gradients)."""

import math

import pytest
import torch
from conftest import assert_close, skip_loudly

from elementwise_torch import elementwise_attention, elementwise_attention_step, zero_state

# Relative RMS bounds per dtype: outputs and state, then gradients.
TOLERANCE = {torch.float64: (1e-11, 1e-10), torch.float32: (2e-6, 2e-5)}
DTYPES = [torch.float64, torch.float32]


def cases_of(oracle_cases, kind):
    return [case for case in oracle_cases if case["kind"] == kind]


def tensor(values, shape, dtype, grad=False):
    x = torch.tensor(values, dtype=torch.float64).reshape(shape).to(dtype)
    return x.requires_grad_(grad)


def series_inputs(case, dtype, grad=True):
    dims = case["dims"]
    b, lq, lk, d = dims["batch"], dims["queryLength"], dims["keyLength"], dims["channels"]
    q = tensor(case["q"], (b, lq, d), dtype, grad)
    k = tensor(case["k"], (b, lk, d), dtype, grad)
    v = tensor(case["v"], (b, lk, d), dtype, grad)
    mask = None if case["mask"] is None else tensor(case["mask"], (b, lk), dtype)
    state = None
    if "initialState" in case:
        rows = case["initialState"]["s"]
        t = len(rows) // (b * d)
        zrows = len(case["initialState"]["z"]) // (b * t)
        state = (
            tensor(case["initialState"]["s"], (b, t, d), dtype, grad),
            tensor(case["initialState"]["z"], (b, t, zrows), dtype, grad),
        )
    return q, k, v, mask, state


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_series_and_exact_forms_match_the_oracle(oracle_cases, dtype):
    tol_y, tol_g = TOLERANCE[dtype]
    cases = cases_of(oracle_cases, "series")
    assert len(cases) >= 15
    for case in cases:
        name = case["name"]
        tol_y, tol_g = TOLERANCE[dtype]
        if dtype == torch.float32 and name.startswith("far keys"):
            # Terms of size |k|^t ~ 1e7 cancel to O(1): float32 keeps fewer digits (DESIGN's
            # float32 target for outputs is 1e-5).
            tol_y, tol_g = 1e-5, 1e-3
        q, k, v, mask, state = series_inputs(case, dtype)
        series = case["order"] != "exact"
        out = elementwise_attention(
            q, k, v, order=case["order"], causal=case["causal"], mask=mask,
            initial_state=state, return_final_state=series,
        )
        y, final = out if series else (out, None)
        assert y.dtype == dtype
        assert_close(f"{name} y", case["y"], y, tol_y)
        dy = tensor(case["dy"], y.shape, dtype)
        loss = (y * dy).sum()
        if series:
            assert_close(f"{name} final s", case["finalState"]["s"], final[0], tol_y)
            assert_close(f"{name} final z", case["finalState"]["z"], final[1], tol_y)
            ds = tensor(case["dFinalState"]["s"], final[0].shape, dtype)
            dz = tensor(case["dFinalState"]["z"], final[1].shape, dtype)
            loss = loss + (final[0] * ds).sum() + (final[1] * dz).sum()
        loss.backward()
        assert_close(f"{name} dq", case["dq"], q.grad, tol_g)
        assert_close(f"{name} dk", case["dk"], k.grad, tol_g)
        assert_close(f"{name} dv", case["dv"], v.grad, tol_g)
        if state is not None:
            assert_close(f"{name} d initial s", case["dInitialState"]["s"], state[0].grad, tol_g)
            assert_close(f"{name} d initial z", case["dInitialState"]["z"], state[1].grad, tol_g)


def test_causal_output_ignores_the_future_and_non_causal_ignores_key_order():
    torch.manual_seed(3)
    q, k, v = (torch.randn(2, 9, 4, dtype=torch.float64) for _ in range(3))
    y = elementwise_attention(q, k, v, order=6, causal=True)
    k2, v2 = k.clone(), v.clone()
    k2[:, 5:] = torch.randn(2, 4, 4, dtype=torch.float64)
    v2[:, 5:] = 100.0
    changed = elementwise_attention(q, k2, v2, order=6, causal=True)
    assert torch.equal(y[:, :5], changed[:, :5])
    assert not torch.allclose(y[:, 5:], changed[:, 5:])
    permutation = torch.randperm(9)
    for order in (4, "exact"):
        plain = elementwise_attention(q[:, :3], k, v, order=order)
        permuted = elementwise_attention(q[:, :3], k[:, permutation], v[:, permutation], order=order)
        assert torch.allclose(plain, permuted, rtol=1e-12, atol=1e-12)


def test_series_converges_to_exact_as_the_order_grows():
    torch.manual_seed(4)
    q, k, v = (torch.randn(1, 16, 3, dtype=torch.float64) * 0.5 for _ in range(3))
    exact = elementwise_attention(q, k, v, order="exact", causal=True)
    errors = [
        (elementwise_attention(q, k, v, order=t, causal=True) - exact).norm().item() / exact.norm().item()
        for t in (2, 6, 10, 20)
    ]
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-9, errors


def test_zero_denominator_outputs_zero_and_passes_no_gradient(oracle_cases):
    case = next(c for c in oracle_cases if c["name"].startswith("masked non-causal"))
    q, k, v, mask, _ = series_inputs(case, torch.float32)
    y = elementwise_attention(q, k, v, order=6, mask=mask)
    assert torch.all(y[-1] == 0), "a batch element that sees no key outputs 0"
    y.sum().backward()
    assert torch.all(q.grad[-1] == 0) and torch.all(k.grad[-1] == 0) and torch.all(v.grad[-1] == 0)
    # A key that underflowed everywhere (|k| = 40 in float32, e^{-1600}) also yields 0, not NaN.
    far = torch.full((1, 3, 2), 40.0, requires_grad=True)
    y = elementwise_attention(torch.zeros(1, 3, 2), far, torch.ones(1, 3, 2), order=6, causal=True)
    assert torch.isfinite(y).all()
    y.sum().backward()
    assert torch.isfinite(far.grad).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_step_matches_the_oracle(oracle_cases, dtype):
    tol_y, tol_g = TOLERANCE[dtype]
    for case in cases_of(oracle_cases, "step"):
        b, d, t = case["batch"], case["channels"], case["order"] + 1
        q, k, v = (tensor(case[n], (b, d), dtype, True) for n in ("q", "k", "v"))
        s = tensor(case["state"]["s"], (b, t, d), dtype, True)
        z = tensor(case["state"]["z"], (b, t, d), dtype, True)
        y, (s2, z2) = elementwise_attention_step(q, k, v, (s, z), order=case["order"])
        assert_close(f"{case['name']} y", case["y"], y, tol_y)
        assert_close(f"{case['name']} s'", case["next"]["s"], s2, tol_y)
        assert_close(f"{case['name']} z'", case["next"]["z"], z2, tol_y)
        loss = (y * tensor(case["dy"], (b, d), dtype)).sum()
        loss = loss + (s2 * tensor(case["dState"]["s"], (b, t, d), dtype)).sum()
        loss = loss + (z2 * tensor(case["dState"]["z"], (b, t, d), dtype)).sum()
        loss.backward()
        for name, got in (("dq", q.grad), ("dk", k.grad), ("dv", v.grad)):
            assert_close(f"{case['name']} {name}", case[name], got, tol_g)
        assert_close(f"{case['name']} ds", case["dStateIn"]["s"], s.grad, tol_g)
        assert_close(f"{case['name']} dz", case["dStateIn"]["z"], z.grad, tol_g)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_chunked_and_step_loop_equal_the_full_causal_oracle(oracle_cases, dtype):
    tol_y, tol_g = TOLERANCE[dtype]
    case = next(c for c in oracle_cases if c["name"] == "state in/out causal order 6")
    q, k, v, _, state = series_inputs(case, dtype)
    order, length = case["order"], q.shape[1]
    # Chunks of 2, 2, 1 positions, each continuing from the previous chunk's final state.
    outputs, current = [], state
    for start, end in ((0, 2), (2, 4), (4, length)):
        y, current = elementwise_attention(
            q[:, start:end], k[:, start:end], v[:, start:end], order=order, causal=True,
            initial_state=current, return_final_state=True,
        )
        outputs.append(y)
    y = torch.cat(outputs, 1)
    assert_close("chunked y", case["y"], y, tol_y)
    assert_close("chunked final s", case["finalState"]["s"], current[0], tol_y)
    loss = (y * tensor(case["dy"], y.shape, dtype)).sum()
    loss = loss + (current[0] * tensor(case["dFinalState"]["s"], current[0].shape, dtype)).sum()
    loss = loss + (current[1] * tensor(case["dFinalState"]["z"], current[1].shape, dtype)).sum()
    loss.backward()
    assert_close("chunked dq", case["dq"], q.grad, tol_g)
    assert_close("chunked dk", case["dk"], k.grad, tol_g)
    assert_close("chunked dv", case["dv"], v.grad, tol_g)
    assert_close("chunked d initial s", case["dInitialState"]["s"], state[0].grad, tol_g)
    # The recurrent loop, token by token.
    with torch.no_grad():
        current = (state[0].detach(), state[1].detach())
        steps = []
        for i in range(length):
            yi, current = elementwise_attention_step(q[:, i], k[:, i], v[:, i], current, order=order)
            steps.append(yi)
        assert_close("step loop y", case["y"], torch.stack(steps, 1), tol_y)
        assert_close("step loop final z", case["finalState"]["z"], current[1], tol_y)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_grouped_matches_the_oracle(oracle_cases, dtype):
    tol_y = TOLERANCE[dtype][0] * 10
    # Gradients are compared with central differences of the oracle (error ~1e-9).
    tol_g = 1e-7 if dtype == torch.float64 else 3e-5
    cases = cases_of(oracle_cases, "grouped")
    assert len(cases) >= 4
    for case in cases:
        q, k, v, mask, state = series_inputs(case, dtype)
        series = case["order"] != "exact"
        out = elementwise_attention(
            q, k, v, order=case["order"], causal=case["causal"], mask=mask, initial_state=state,
            return_final_state=series, group_size=case["groupSize"],
        )
        y, final = out if series else (out, None)
        assert_close(f"{case['name']} y", case["y"], y, tol_y)
        if series:
            assert_close(f"{case['name']} final s", case["finalState"]["s"], final[0], tol_y)
            assert_close(f"{case['name']} final z", case["finalState"]["z"], final[1], tol_y)
        (y * tensor(case["dy"], y.shape, dtype)).sum().backward()
        assert_close(f"{case['name']} dq", case["dq"], q.grad, tol_g)
        assert_close(f"{case['name']} dk", case["dk"], k.grad, tol_g)
        assert_close(f"{case['name']} dv", case["dv"], v.grad, tol_g)
    for case in cases_of(oracle_cases, "grouped-step"):
        b, d, g = case["batch"], case["channels"], case["groupSize"]
        f = math.comb(g + case["order"], case["order"])
        q, k, v = (tensor(case[n], (b, d), dtype) for n in ("q", "k", "v"))
        state = (tensor(case["state"]["s"], (b, f, d), dtype), tensor(case["state"]["z"], (b, f, d // g), dtype))
        y, (s2, z2) = elementwise_attention_step(q, k, v, state, order=case["order"], group_size=g)
        assert_close(f"{case['name']} y", case["y"], y, tol_y)
        assert_close(f"{case['name']} s'", case["next"]["s"], s2, tol_y)
        assert_close(f"{case['name']} z'", case["next"]["z"], z2, tol_y)


def test_series_backward_passes_gradcheck():
    torch.manual_seed(0)
    q = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    s0 = torch.randn(2, 5, 3, dtype=torch.float64).mul(0.1).requires_grad_()
    z0 = torch.rand(2, 5, 3, dtype=torch.float64).add(0.5).requires_grad_()

    def f(q, k, v, s0, z0):
        y, (s, z) = elementwise_attention(q, k, v, order=4, causal=True, initial_state=(s0, z0), return_final_state=True)
        return y, s, z

    assert torch.autograd.gradcheck(f, (q, k, v, s0, z0))


def test_backward_memory_is_linear_in_length():
    """The autograd graph saves the inputs only, not the [B, L, t+1, D] series intermediates."""
    q, k, v = (torch.randn(1, 64, 4, requires_grad=True) for _ in range(3))
    y = elementwise_attention(q, k, v, order=6, causal=True)
    saved = y.grad_fn.saved_tensors
    assert all(t.numel() <= q.numel() * 1 or t.dim() < 3 for t in saved), [t.shape for t in saved]


def test_bad_arguments_get_clear_errors():
    x = torch.randn(1, 3, 2)
    with pytest.raises(ValueError, match="order must be an even integer"):
        elementwise_attention(x, x, x, order=3)
    with pytest.raises(ValueError, match="order must be an even integer"):
        elementwise_attention(x, x, x, order=-2)
    with pytest.raises(ValueError, match="causal attention needs as many queries as keys"):
        elementwise_attention(x[:, :2], x, x, causal=True)
    with pytest.raises(ValueError, match="k must have shape"):
        elementwise_attention(x, torch.randn(1, 3, 5), torch.randn(1, 3, 5))
    with pytest.raises(ValueError, match="mask must have shape"):
        elementwise_attention(x, x, x, mask=torch.ones(1, 4))
    with pytest.raises(TypeError, match="floating-point"):
        elementwise_attention(x.long(), x.long(), x.long())
    with pytest.raises(ValueError, match="initial_state\\[0\\] \\(s\\) must have shape"):
        elementwise_attention(x, x, x, order=2, initial_state=zero_state(4, 1, 2))
    with pytest.raises(ValueError, match="no finite state"):
        elementwise_attention(x, x, x, order="exact", return_final_state=True)
    with pytest.raises(ValueError, match="non-empty"):
        elementwise_attention(x[:, :0], x, x)
    with pytest.raises(ValueError, match="group_size"):
        elementwise_attention(x, x, x, group_size=3)


def test_cuda_matches_cpu():
    if not torch.cuda.is_available():
        skip_loudly("no CUDA device: the op's CUDA run (same code, device-agnostic) was not tested here")
    torch.manual_seed(1)
    tensors = [torch.randn(2, 300, 16, dtype=torch.float64) for _ in range(3)]
    mask = (torch.rand(2, 300) > 0.2).double()
    for causal in (False, True):
        cpu = [t.clone().requires_grad_() for t in tensors]
        gpu = [t.cuda().requires_grad_() for t in tensors]
        y_cpu = elementwise_attention(*cpu, order=6, causal=causal, mask=mask)
        y_gpu = elementwise_attention(*gpu, order=6, causal=causal, mask=mask.cuda())
        assert_close(f"cuda y causal={causal}", y_cpu.detach(), y_gpu, 1e-12)
        y_cpu.square().sum().backward()
        y_gpu.square().sum().backward()
        for a, b in zip(cpu, gpu):
            assert_close(f"cuda grad causal={causal}", a.grad, b.grad, 1e-11)
    y32 = elementwise_attention(*(t.float().cuda() for t in tensors), order=6, causal=True)
    assert_close("cuda float32 y", elementwise_attention(*tensors, order=6, causal=True), y32, 2e-6)


def test_blocked_scan_keeps_small_early_blocks_in_float32():
    """Block totals are scanned exclusively: a later block whose total dwarfs the earlier ones
    (keys near 0 from position 65 on, after keys at 6.5, e^{-42} apart) must not cancel the prefix
    that position 64 (the second block's first) reads."""
    length = 150
    k = torch.where(torch.arange(length) <= 64, torch.tensor(6.5), torch.tensor(0.1)).view(1, -1, 1)
    q = torch.full((1, length, 1), 0.5)
    v = torch.linspace(-1, 1, length).view(1, -1, 1)
    y32 = elementwise_attention(q, k, v, order=6, causal=True)
    y64 = elementwise_attention(q.double(), k.double(), v.double(), order=6, causal=True)
    assert_close("blocked scan", y64, y32, 2e-6)
