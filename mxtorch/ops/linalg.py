"""MXNet's ``_linalg_*`` inference ops (issue 17), on batches of matrices (the last two axes; leading axes
are the batch).

MXNet's conventions that matter here:

* gemm/gemm2 take the matrix rows on ``axis`` (default -2) and the columns on the last axis: a non-default
  axis is a swap with -2 around the product. gemm is ``alpha*op(A)op(B) + beta*C``.
* potrf gives the lower Cholesky factor L (A = L L^T; only A's lower triangle is read), potri takes such an
  L and gives (L L^T)^-1; trmm/trsm use only the ``lower`` (or upper) triangle of A, ``transpose`` means
  op(A) = A^T, ``rightside`` multiplies/solves from the right.
* extracttrian/maketrian pack a triangle as: the lower triangle row by row (offset <= 0, ``lower`` when 0),
  or the upper one column by column (offset > 0, or offset 0 with ``lower=False``) - the transpose's lower
  triangle row by row. maketrian's matrix side is m + |offset| for m(m+1)/2 packed values.
* gelqf: A (m x n, m <= n) = L Q with LAPACK's Householder signs (computed as the QR of A^T, whose LAPACK
  signs are the same); outputs (Q, L).
* syevd: A = U^T diag(L) U, eigenvalues ascending, the eigenvectors as U's rows, each row's sign chosen so
  its entry of largest magnitude (the first such) is positive (only A's lower triangle is read).
* det/slogdet/inverse as usual; slogdet's outputs are (sign, log|det|).
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register, unsupported


def _rows_last(x: Tensor, axis: int) -> Tensor:
    ax = axis % x.dim()
    return x if ax == x.dim() - 2 else x.transpose(ax, -2)


def _t(x: Tensor, flag: bool) -> Tensor:
    return x.transpose(-1, -2) if flag else x


def gemm(a: Tensor, b: Tensor, c: Tensor, *, transpose_a: bool, transpose_b: bool, alpha: float, beta: float,
         axis: int) -> Tensor:
    """``_linalg_gemm``: ``alpha * op(A) op(B) + beta * C`` with rows on ``axis``."""
    a, b, c = _rows_last(a, axis), _rows_last(b, axis), _rows_last(c, axis)
    out = alpha * torch.matmul(_t(a, transpose_a), _t(b, transpose_b)) + beta * c
    return _rows_last(out, axis)


def gemm2(a: Tensor, b: Tensor, *, transpose_a: bool, transpose_b: bool, alpha: float, axis: int) -> Tensor:
    """``_linalg_gemm2``: ``alpha * op(A) op(B)`` with rows on ``axis``."""
    a, b = _rows_last(a, axis), _rows_last(b, axis)
    return _rows_last(alpha * torch.matmul(_t(a, transpose_a), _t(b, transpose_b)), axis)


def _mult_kw(node: Node, with_beta: bool) -> dict:
    axis = A.req_int(node, "axis", -2)
    if axis == -1:
        raise unsupported(node, f"axis={axis}", ["a row axis other than the last (MXNet refuses -1)"])
    kw = {"transpose_a": A.flag(node, "transpose_a"), "transpose_b": A.flag(node, "transpose_b"),
          "alpha": A.num(node, "alpha", 1.0), "axis": axis}
    if with_beta:
        kw["beta"] = A.num(node, "beta", 1.0)
    return kw


@register("_linalg_gemm")
def _gemm(node: Node) -> Lowered:
    return Lowered(gemm, _mult_kw(node, True))


@register("_linalg_gemm2")
def _gemm2(node: Node) -> Lowered:
    return Lowered(gemm2, _mult_kw(node, False))


# ---- factorisations -------------------------------------------------------------------------------------------
def potrf(a: Tensor) -> Tensor:
    """``_linalg_potrf``: the lower Cholesky factor (from A's lower triangle)."""
    return torch.linalg.cholesky(a)


def potri(l_: Tensor) -> Tensor:
    """``_linalg_potri``: ``(L L^T)^-1`` from a lower Cholesky factor L (its upper triangle unread)."""
    return torch.cholesky_inverse(torch.tril(l_))


def _householder_qr(a: Tensor) -> tuple[Tensor, Tensor]:
    """Reduced QR of ``a`` (..., n, m), n >= m, by LAPACK's Householder rule (dlarfg): step i reflects
    column i onto ``beta = -sign(alpha) * norm`` (no reflection, ``beta = alpha``, when the column below the
    diagonal is zero), so R's signs are LAPACK's (torch.linalg.qr's backend may pick others)."""
    n, m = a.shape[-2], a.shape[-1]
    r = a.clone()
    vs, taus = [], []
    for i in range(m):
        x = r[..., i:, i]
        alpha = x[..., 0]
        xnorm = torch.linalg.vector_norm(x[..., 1:], dim=-1)
        flat = xnorm == 0
        beta = torch.where(flat, alpha, -torch.copysign(torch.hypot(alpha, xnorm), alpha))
        safe = torch.where(flat, torch.ones_like(beta), beta)
        tau = torch.where(flat, torch.zeros_like(beta), (beta - alpha) / safe)
        scale = torch.where(flat, torch.zeros_like(beta), 1 / torch.where(flat, torch.ones_like(beta), alpha - beta))
        v = torch.cat([torch.ones_like(x[..., :1]), x[..., 1:] * scale.unsqueeze(-1)], -1)
        sub = r[..., i:, i:]
        sub = sub - tau[..., None, None] * v.unsqueeze(-1) * (v.unsqueeze(-2) @ sub)
        r = torch.cat([r[..., :i, :], torch.cat([r[..., i:, :i], sub], -1)], -2)
        vs.append(v)
        taus.append(tau)
    q = torch.eye(n, m, dtype=a.dtype, device=a.device).expand(*a.shape[:-2], n, m)
    for i in reversed(range(m)):
        v, tau = vs[i], taus[i]
        sub = q[..., i:, :]
        sub = sub - tau[..., None, None] * v.unsqueeze(-1) * (v.unsqueeze(-2) @ sub)
        q = torch.cat([q[..., :i, :], sub], -2)
    return q, torch.triu(r[..., :m, :])


def gelqf(a: Tensor) -> tuple[Tensor, Tensor]:
    """``_linalg_gelqf``: (Q, L) with A = L Q, Q's rows orthonormal, LAPACK's signs (the QR of A^T)."""
    if a.shape[-2] > a.shape[-1]:
        raise ValueError(f"_linalg_gelqf needs rows <= columns, got a {tuple(a.shape)} input")
    q, r = _householder_qr(a.transpose(-1, -2))
    return q.transpose(-1, -2), r.transpose(-1, -2)


def syevd(a: Tensor) -> tuple[Tensor, Tensor]:
    """``_linalg_syevd``: (U, L) with A = U^T diag(L) U; each eigenvector row signed so its largest-magnitude
    (first on ties) entry is positive."""
    w, v = torch.linalg.eigh(a, UPLO="L")
    u = v.transpose(-1, -2)
    k = u.abs().argmax(dim=-1, keepdim=True)  # first index of the largest magnitude
    sign = torch.where(torch.gather(u, -1, k) < 0, -1.0, 1.0).to(u.dtype)
    return u * sign, w


def inverse(a: Tensor) -> Tensor:
    """``_linalg_inverse``."""
    return torch.linalg.inv(a)


def det(a: Tensor) -> Tensor:
    """``_linalg_det``."""
    return torch.linalg.det(a)


def slogdet(a: Tensor) -> tuple[Tensor, Tensor]:
    """``_linalg_slogdet``: (sign, log|det|)."""
    sign, logabs = torch.linalg.slogdet(a)
    return sign, logabs


@register("_linalg_potrf")
def _potrf(node: Node) -> Lowered:
    return Lowered(potrf)


@register("_linalg_potri")
def _potri(node: Node) -> Lowered:
    return Lowered(potri)


@register("_linalg_gelqf")
def _gelqf(node: Node) -> Lowered:
    return Lowered(gelqf, num_outputs=2)


@register("_linalg_syevd")
def _syevd(node: Node) -> Lowered:
    return Lowered(syevd, num_outputs=2)


@register("_linalg_inverse")
def _inverse(node: Node) -> Lowered:
    return Lowered(inverse)


@register("_linalg_det")
def _det(node: Node) -> Lowered:
    return Lowered(det)


@register("_linalg_slogdet")
def _slogdet(node: Node) -> Lowered:
    return Lowered(slogdet, num_outputs=2)


# ---- triangular products and solves -------------------------------------------------------------------------------
def _tri(a: Tensor, lower: bool) -> Tensor:
    return torch.tril(a) if lower else torch.triu(a)


def trmm(a: Tensor, b: Tensor, *, transpose: bool, rightside: bool, lower: bool, alpha: float) -> Tensor:
    """``_linalg_trmm``: ``alpha * op(A) B`` (``B op(A)`` with rightside), A's ``lower``/upper triangle."""
    t = _t(_tri(a, lower), transpose)
    return alpha * (torch.matmul(b, t) if rightside else torch.matmul(t, b))


def trsm(a: Tensor, b: Tensor, *, transpose: bool, rightside: bool, lower: bool, alpha: float) -> Tensor:
    """``_linalg_trsm``: X with ``op(A) X = alpha B`` (``X op(A) = alpha B`` with rightside)."""
    t = _t(_tri(a, lower), transpose)
    upper = lower == transpose  # op(A) is upper triangular
    return torch.linalg.solve_triangular(t, alpha * b, upper=upper, left=not rightside)


def _tri_kw(node: Node) -> dict:
    return {"transpose": A.flag(node, "transpose"), "rightside": A.flag(node, "rightside"),
            "lower": A.flag(node, "lower", True), "alpha": A.num(node, "alpha", 1.0)}


@register("_linalg_trmm")
def _trmm(node: Node) -> Lowered:
    return Lowered(trmm, _tri_kw(node))


@register("_linalg_trsm")
def _trsm(node: Node) -> Lowered:
    return Lowered(trsm, _tri_kw(node))


def syrk(a: Tensor, *, transpose: bool, alpha: float) -> Tensor:
    """``_linalg_syrk``: ``alpha * A A^T`` (``alpha * A^T A`` with transpose)."""
    at = a.transpose(-1, -2)
    return alpha * (torch.matmul(at, a) if transpose else torch.matmul(a, at))


@register("_linalg_syrk")
def _syrk(node: Node) -> Lowered:
    return Lowered(syrk, {"transpose": A.flag(node, "transpose"), "alpha": A.num(node, "alpha", 1.0)})


def sumlogdiag(a: Tensor) -> Tensor:
    """``_linalg_sumlogdiag``: the sum of the logs of the diagonal."""
    return torch.log(torch.diagonal(a, dim1=-2, dim2=-1)).sum(-1)


@register("_linalg_sumlogdiag")
def _sumlogdiag(node: Node) -> Lowered:
    return Lowered(sumlogdiag)


# ---- diagonals and packed triangles --------------------------------------------------------------------------------
def extractdiag(a: Tensor, *, offset: int) -> Tensor:
    """``_linalg_extractdiag``: the diagonal at ``offset`` (above the main one when positive)."""
    return torch.diagonal(a, offset=offset, dim1=-2, dim2=-1)


def makediag(a: Tensor, *, offset: int) -> Tensor:
    """``_linalg_makediag``: square matrices (side n + |offset|) with ``a`` on the diagonal at ``offset``."""
    return torch.diag_embed(a, offset=offset, dim1=-2, dim2=-1)


@register("_linalg_extractdiag")
def _extractdiag(node: Node) -> Lowered:
    return Lowered(extractdiag, {"offset": A.req_int(node, "offset", 0)})


@register("_linalg_makediag")
def _makediag(node: Node) -> Lowered:
    return Lowered(makediag, {"offset": A.req_int(node, "offset", 0)})


def _upper(offset: int, lower: bool) -> bool:
    return offset > 0 or (offset == 0 and not lower)


def extracttrian(a: Tensor, *, offset: int, lower: bool) -> Tensor:
    """``_linalg_extracttrian``: the triangle at ``offset`` packed into the last axis (see the module doc)."""
    n = a.shape[-1]
    if _upper(offset, lower):
        a = a.transpose(-1, -2)
    rows, cols = torch.tril_indices(n, n, -abs(offset), device=a.device)
    return a[..., rows, cols]


def maketrian(a: Tensor, *, offset: int, lower: bool, m: int) -> Tensor:
    """``_linalg_maketrian``: the inverse of extracttrian, zeros elsewhere; ``m`` is the triangle's side."""
    n = m + abs(offset)
    rows, cols = torch.tril_indices(n, n, -abs(offset), device=a.device)
    out = a.new_zeros((*a.shape[:-1], n, n))
    out[..., rows, cols] = a
    return out.transpose(-1, -2) if _upper(offset, lower) else out


@register("_linalg_extracttrian")
def _extracttrian(node: Node) -> Lowered:
    return Lowered(extracttrian, {"offset": A.req_int(node, "offset", 0), "lower": A.flag(node, "lower", True)})


@register("_linalg_maketrian")
def _maketrian(node: Node) -> Lowered:
    return Lowered(maketrian_packed, {"offset": A.req_int(node, "offset", 0), "lower": A.flag(node, "lower", True)})


def maketrian_packed(a: Tensor, *, offset: int, lower: bool) -> Tensor:
    """``_linalg_maketrian`` on ``(..., k)``: the side m of the triangle from k = m(m+1)/2."""
    k = int(a.shape[-1])
    m = int(round(((8 * k + 1) ** 0.5 - 1) / 2))
    if m * (m + 1) // 2 != k:
        raise ValueError(f"_linalg_maketrian: the last axis ({k}) is not a triangular number m(m+1)/2")
    return maketrian(a, offset=offset, lower=lower, m=m)
