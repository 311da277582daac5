// Per-element maths of element-wise attention (DESIGN.md §2), shared by the host and CUDA code.
//
// Per channel c, with T = t + 1 moments:
//   f_n(k) = k^n e^{-k²}        a_n = 2^n / n!
//   S_n += f_n(k) v             Z_n += f_n(k)
//   y = N / M,  N = Σ a_n q^n S_n,  M = Σ a_n q^n Z_n
// Moments and adjoints are float64 arrays of T numbers (stride 1). A denominator with
// |M| < 2^-1022 is zero: the query outputs 0 and passes no gradient.
//
// Large queries: where |q|^t > 2^800, every query term is divided by q^t (Horner in r = 1/q), so
// a_n q^n S_n cannot overflow float64 for any float32 input (q^8 alone overflows near 1e38).
// y and every gradient are homogeneous in the query terms, so the common factor cancels. The
// choice depends on q alone, so the adjoint pass makes the same one without storing a flag.
#ifndef EW_MATH_H
#define EW_MATH_H

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define EW_HD __host__ __device__
#else
#define EW_HD
#endif

namespace ew {

// 2^-1022, the smallest normal float64.
constexpr double kMinNormal = 2.2250738585072014e-308;

// Moments the CUDA kernels keep in registers/local memory; larger orders run on the host.
constexpr int kMaxDeviceTerms = 32;

// The zero-denominator rule of the kernel contract. NaN is not zero: it comes from a non-finite
// input and propagates (attention README, "Non-finite inputs").
EW_HD inline bool isZeroDenominator(double m) { return fabs(m) < kMinNormal; }

// An output under the zero-denominator rule: 0 where no key weighs in, never 0/0.
EW_HD inline double ratioOrZero(double numerator, double denominator) {
  return isZeroDenominator(denominator) ? 0.0 : numerator / denominator;
}

// log2 of the largest |q|^t read with the plain terms: 2^800 times float32-sized moments (and
// L up to 2^40 keys) stays below the float64 maximum.
constexpr double kPlainExponent = 800.0;

// Whether query q is read with the terms divided by q^t. A non-finite q is read plainly, so it
// propagates.
EW_HD inline bool readScaled(double q, int terms) {
  const double magnitude = fabs(q);
  return magnitude > 1.0 && magnitude <= 1.7976931348623157e308 &&
         (terms - 1) * log2(magnitude) > kPlainExponent;
}

// a_n = a_{n-1} * 2 / n, never forming 2^n or n! on its own.
EW_HD inline void taylorCoefficients(double* a, int terms) {
  a[0] = 1.0;
  for (int n = 1; n < terms; ++n) a[n] = a[n - 1] * 2.0 / n;
}

// S_n += w f_n(k) v, Z_n += w f_n(k) (w = 1 adds a key; the scans also use it for sums).
EW_HD inline void addKey(double* S, double* Z, double k, double v, int terms) {
  double f = exp(-k * k);
  double fv = f * v;
  for (int n = 0; n < terms; ++n) {
    S[n] += fv;
    Z[n] += f;
    f *= k;
    fv *= k;
  }
}

// N / M at query q (Horner in q, or in 1/q when readScaled), or 0 under the zero-denominator
// rule.
EW_HD inline double readQuery(const double* S, const double* Z, const double* a, double q,
                              int terms) {
  double numerator = 0.0;
  double denominator = 0.0;
  if (readScaled(q, terms)) {
    const double r = 1.0 / q;
    for (int n = 0; n < terms; ++n) {
      numerator = numerator * r + a[n] * S[n];
      denominator = denominator * r + a[n] * Z[n];
    }
  } else {
    for (int n = terms - 1; n >= 0; --n) {
      numerator = numerator * q + a[n] * S[n];
      denominator = denominator * q + a[n] * Z[n];
    }
  }
  return ratioOrZero(numerator, denominator);
}

struct QueryGradient {
  double dq;
  double alpha;
  double beta;
};

// α = g/M, β = -g y/M and ∂q = Σ_n n a_n q^{n-1} (α S_n + β Z_n) = α N' + β M' (all 0 when M = 0).
// When readScaled, N, M, N', M' are divided by q^t, and N'/q^t = -r Σ (t-n) a_n r^{t-n} S_n
// (from ∂q = -r² ∂/∂r): it has no n = t term, which would cancel against y M' and lose |q| ulps.
EW_HD inline QueryGradient queryGradient(const double* S, const double* Z, const double* a,
                                         double q, double g, int terms) {
  double numerator = 0.0;
  double denominator = 0.0;
  double numeratorSlope = 0.0;
  double denominatorSlope = 0.0;
  if (readScaled(q, terms)) {
    const double r = 1.0 / q;
    for (int n = 0; n < terms; ++n) {
      const double weight = (terms - 1 - n) * a[n];
      numeratorSlope = numeratorSlope * r + weight * S[n];
      denominatorSlope = denominatorSlope * r + weight * Z[n];
      numerator = numerator * r + a[n] * S[n];
      denominator = denominator * r + a[n] * Z[n];
    }
    numeratorSlope *= -r;
    denominatorSlope *= -r;
  } else {
    for (int n = terms - 1; n >= 0; --n) {
      numeratorSlope = numeratorSlope * q + numerator;
      denominatorSlope = denominatorSlope * q + denominator;
      numerator = numerator * q + a[n] * S[n];
      denominator = denominator * q + a[n] * Z[n];
    }
  }
  QueryGradient result{0.0, 0.0, 0.0};
  if (isZeroDenominator(denominator)) return result;
  const double alpha = g / denominator;
  const double beta = -alpha * numerator / denominator;
  result.dq = alpha * numeratorSlope + beta * denominatorSlope;
  result.alpha = alpha;
  result.beta = beta;
  return result;
}

// A_n += α a_n q^n, B_n += β a_n q^n; with a_n q^{n-t} when readScaled (α, β then came from
// N/q^t and M/q^t, so the products are the same).
EW_HD inline void addQuery(double* A, double* B, const double* a, double q, double alpha,
                           double beta, int terms) {
  if (readScaled(q, terms)) {
    const double r = 1.0 / q;
    // a_{n-1} r^{t-n+1} = a_n r^{t-n} · r · n/2, from a_t down.
    double weight = a[terms - 1];
    for (int n = terms - 1; n >= 0; --n) {
      A[n] += alpha * weight;
      B[n] += beta * weight;
      weight *= r * n / 2.0;
    }
    return;
  }
  // α a_n q^n and β a_n q^n as running products: a_n q^n alone can overflow where they do not.
  double weightedAlpha = alpha;
  double weightedBeta = beta;
  for (int n = 0; n < terms; ++n) {
    A[n] += weightedAlpha;
    B[n] += weightedBeta;
    const double w = 2.0 * q / (n + 1);
    weightedAlpha *= w;
    weightedBeta *= w;
  }
}

struct KeyGradient {
  double dk;
  double dv;
};

// ∂v = Σ_n f_n(k) A_n, ∂k = Σ_n f_n'(k) (v A_n + B_n), f_n' = n f_{n-1} - 2 f_{n+1}.
EW_HD inline KeyGradient keyGradient(const double* A, const double* B, double k, double v,
                                     int terms) {
  double below = 0.0;
  double f = exp(-k * k);
  KeyGradient result{0.0, 0.0};
  for (int n = 0; n < terms; ++n) {
    const double above = f * k;
    const double slope = n * below - 2.0 * above;
    result.dv += f * A[n];
    result.dk += slope * (v * A[n] + B[n]);
    below = f;
    f = above;
  }
  return result;
}

// Exact EA: the stabilised weight exp(shift - (q - k)²), shift = smallest visible (q - k)².
EW_HD inline double exactDistance(double q, double k) {
  const double d = q - k;
  return d * d;
}

EW_HD inline double exactWeight(double shift, double q, double k) {
  return exp(shift - exactDistance(q, k));
}

// One query's exact-EA row over the visible keys j <= last of one channel (k[j·stride],
// v[j·stride], mask[j]): the stabilising shift, and the sums of the shifted weights and of
// weights times values.
struct ExactRow {
  double shift;
  double total;
  double weighted;
};

EW_HD inline ExactRow exactRow(const float* k, const float* v, const float* mask, int64_t stride,
                               double q, int64_t last) {
  ExactRow row{INFINITY, 0.0, 0.0};
  for (int64_t j = 0; j <= last; ++j) {
    if (mask[j] == 0.0f) continue;
    row.shift = fmin(row.shift, exactDistance(q, k[j * stride]));
  }
  for (int64_t j = 0; j <= last; ++j) {
    if (mask[j] == 0.0f) continue;
    const double w = exactWeight(row.shift, q, k[j * stride]);
    row.total += w;
    row.weighted += w * v[j * stride];
  }
  return row;
}

// What one visible key (k, v) of a row with a nonzero total adds to the gradients, for upstream
// gradient g and output y: ∂v += dv, ∂k += dk, ∂q -= dk.
struct ExactPairGradient {
  double dk;
  double dv;
};

EW_HD inline ExactPairGradient exactPairGradient(const ExactRow& row, double q, double k, double v,
                                                 double g, double y) {
  const double gp = g * exactWeight(row.shift, q, k) / row.total;
  return ExactPairGradient{2.0 * (q - k) * gp * (v - y), gp};
}

}  // namespace ew

#endif  // EW_MATH_H
