/* Logarithm, exponential and softplus that compilers vectorize, and the batched loss of the
 * BoostedParametricTree criterion built on them.
 *
 * The split search evaluates the criterion's loss at every candidate threshold, and that loss
 * is a handful of logarithms and exponentials per child: with the C library's scalar log and
 * exp they are most of the search. These versions are branch-free (range reduction by bit
 * manipulation, fdlibm's polynomials, selects by bit masks), so a loop over the candidates
 * compiles to SIMD code; their error is within 1 ulp of the correctly rounded result
 * (fdlibm's bound; checked against NumPy in the tests).
 *
 * The batched loss has two versions, chosen at run time: on x86-64 CPUs with AVX2 it is
 * compiled for AVX2 with these functions (four lanes: 2.5 times the C library's speed);
 * elsewhere it calls the C library's log and exp, as with only SSE2 the vectorizer cannot
 * keep the selects and these functions would be slower. FMA is left out on purpose: without
 * fused multiply-adds a model fitted on one AVX2 machine is the same on another, and the
 * scalar node loss (one node through the same code) gives the same bits as the batch.
 */
#ifndef BPT_VECTOR_MATH_H
#define BPT_VECTOR_MATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <math.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BPT_AVX2_PATH 1
#endif

static inline double bpt_from_bits(uint64_t bits) {
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static inline uint64_t bpt_to_bits(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

/* condition ? a : b, as bit operations: the vectorizer keeps these, while a select between
 * floating-point values may be turned back into a branch it cannot keep. */
static inline double bpt_select(int condition, double a, double b) {
    uint64_t mask = -(uint64_t)condition;  /* condition is 0 or 1: a comparison */
    return bpt_from_bits((bpt_to_bits(a) & mask) | (bpt_to_bits(b) & ~mask));
}

/* 1.5 * 2^52: adding it rounds a double below 2^51 in magnitude to an integer, which then
 * sits in the low bits of the sum's representation. */
#define BPT_ROUNDING_SHIFT 6755399441055744.0
#define BPT_ROUNDING_SHIFT_BITS 0x4338000000000000ULL

/* Natural logarithm of a positive finite x (normal or subnormal); other inputs give an
 * unspecified finite-or-not value, never a trap. */
static inline double bpt_log(double x) {
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01,
                 lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01,
                 lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01,
                 lg7 = 1.479819860511658591e-01;
    /* Subnormals are scaled into the normal range first (exactly, by 2^52). */
    int subnormal = x < 2.2250738585072014e-308;
    double scaled = bpt_select(subnormal, x * 4503599627370496.0, x);
    double correction = bpt_select(subnormal, 52.0, 0.0);
    /* x = 2^k * m with m in [sqrt(2)/2, sqrt(2)). */
    uint64_t bits = bpt_to_bits(scaled);
    uint64_t shifted = bits - 0x3fe6a09e667f3bcdULL;
    /* k is the top 12 bits of shifted, signed; sign-extended by xor and subtraction, as
     * SSE2 and AVX2 have no arithmetic shift of 64-bit lanes. */
    uint64_t k_bits = ((shifted >> 52) ^ 0x800) - 0x800;
    double m = bpt_from_bits(bits - (shifted & 0xfff0000000000000ULL));
    /* k as a double without an int64 conversion, which SSE2 and AVX2 lack either. */
    double dk = bpt_from_bits(k_bits + BPT_ROUNDING_SHIFT_BITS) - BPT_ROUNDING_SHIFT
                - correction;
    double f = m - 1.0;
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double z = s * s;
    double w = z * z;
    double r = z * (lg1 + w * (lg3 + w * (lg5 + w * lg7))) + w * (lg2 + w * (lg4 + w * lg6));
    return dk * ln2_hi - ((hfsq - (s * (hfsq + r) + dk * ln2_lo)) - f);
}

/* e^x for finite x; below -708 (where e^x is subnormal) it returns e^-708, above 709 e^709. */
static inline double bpt_exp(double x) {
    const double inv_ln2 = 1.44269504088896338700e+00;
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double p1 = 1.66666666666666019037e-01, p2 = -2.77777777770155933842e-03,
                 p3 = 6.61375632143793436117e-05, p4 = -1.65339022054652515390e-06,
                 p5 = 4.13813679705723846039e-08;
    double clamped = bpt_select(x < -708.0, -708.0, bpt_select(x > 709.0, 709.0, x));
    /* x = k ln2 + r with |r| <= ln2 / 2. */
    double shifted = clamped * inv_ln2 + BPT_ROUNDING_SHIFT;
    uint64_t k_bits = bpt_to_bits(shifted);
    double dk = shifted - BPT_ROUNDING_SHIFT;
    double hi = clamped - dk * ln2_hi;
    double lo = dk * ln2_lo;
    double r = hi - lo;
    double t = r * r;
    double c = r - t * (p1 + t * (p2 + t * (p3 + t * (p4 + t * p5))));
    double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    /* 2^k: the low bits of k_bits hold k, so k + 1023 lands in the exponent field. */
    return y * bpt_from_bits((k_bits + 1023) << 52);
}

/* log(1 + e^s) = max(s, 0) + log(1 + e^-|s|). log(1 + e) instead of log1p(e): the absolute
 * error (1e-16) is far below any loss difference that decides a split. */
static inline double bpt_softplus(double s) {
    double magnitude = bpt_from_bits(bpt_to_bits(s) & 0x7fffffffffffffffULL);
    return bpt_select(s > 0.0, s, 0.0) + bpt_log(1.0 + bpt_exp(-magnitude));
}

/* log(1 + e^s) with the C library's functions, for the version without AVX2. */
static inline double bpt_softplus_libm(double s) {
    return s > 0.0 ? s + log(1.0 + exp(-s)) : log(1.0 + exp(s));
}

/* The BoostedParametricTree loss of n nodes (see _parametric_criterion.pyx): node r has the
 * statistic sums sums[r * stride + 0 .. n_points] (nominal weight first), projection is the
 * (n_points, n_points) row-major V (V^T V)^-1 V^T. Writes admissible[r] (every sum above its
 * min_weight) and, where admissible, loss[r]. scratch holds (n_points + 2) * n doubles.
 * vector_math picks this file's functions or the C library's; each caller below gets its
 * own copy compiled for its instruction set. */
static inline __attribute__((always_inline)) void bpt_parametric_losses_body(
        const double *sums, ptrdiff_t stride, ptrdiff_t n, ptrdiff_t n_points,
        const double *projection, const double *min_weight, unsigned char *admissible,
        double *loss, double *scratch, const int vector_math) {
    double *logs = scratch;                         /* (n_points + 1, n): log W_k */
    double *s = scratch + (n_points + 1) * n;       /* (n,): the fitted log ratio at point k */
    ptrdiff_t r, k, j;
    for (r = 0; r < n; r++) {
        unsigned char ok = 1;
        for (k = 0; k <= n_points; k++)
            ok &= sums[r * stride + k] > min_weight[k];
        admissible[r] = ok;
        loss[r] = 0.0;
    }
    for (k = 0; k <= n_points; k++)
        for (r = 0; r < n; r++)
            logs[k * n + r] = vector_math ? bpt_log(sums[r * stride + k])
                                          : log(sums[r * stride + k]);
    /* log ratios l_k = log W_k - log W_0 */
    for (k = 1; k <= n_points; k++)
        for (r = 0; r < n; r++)
            logs[k * n + r] -= logs[r];
    for (k = 0; k < n_points; k++) {
        for (r = 0; r < n; r++)
            s[r] = 0.0;
        for (j = 0; j < n_points; j++) {
            double p = projection[k * n_points + j];
            for (r = 0; r < n; r++)
                s[r] = s[r] + p * logs[(j + 1) * n + r];
        }
        for (r = 0; r < n; r++) {
            double nominal = sums[r * stride], varied = sums[r * stride + k + 1];
            double softplus = vector_math ? bpt_softplus(s[r]) : bpt_softplus_libm(s[r]);
            loss[r] += (nominal + varied) * softplus - varied * s[r];
        }
    }
}

static void bpt_parametric_losses_libm(const double *sums, ptrdiff_t stride, ptrdiff_t n,
                                       ptrdiff_t n_points, const double *projection,
                                       const double *min_weight, unsigned char *admissible,
                                       double *loss, double *scratch) {
    bpt_parametric_losses_body(sums, stride, n, n_points, projection, min_weight, admissible,
                               loss, scratch, 0);
}

#ifdef BPT_AVX2_PATH
__attribute__((target("avx2")))
static void bpt_parametric_losses_avx2(const double *sums, ptrdiff_t stride, ptrdiff_t n,
                                       ptrdiff_t n_points, const double *projection,
                                       const double *min_weight, unsigned char *admissible,
                                       double *loss, double *scratch) {
    bpt_parametric_losses_body(sums, stride, n, n_points, projection, min_weight, admissible,
                               loss, scratch, 1);
}
#endif

static int bpt_cpu_has_avx2(void) {
#ifdef BPT_AVX2_PATH
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

/* Whether the batched loss runs the AVX2 version with this file's functions: where the CPU
 * allows, unless switched off (tests run both versions). */
static int bpt_vector_math = -1;  /* not decided yet */

static int bpt_vector_math_enabled(void) {
    if (bpt_vector_math < 0)
        bpt_vector_math = bpt_cpu_has_avx2();
    return bpt_vector_math;
}

static void bpt_set_vector_math(int enabled) {
    bpt_vector_math = enabled && bpt_cpu_has_avx2();
}

static void bpt_parametric_losses(const double *sums, ptrdiff_t stride, ptrdiff_t n,
                                  ptrdiff_t n_points, const double *projection,
                                  const double *min_weight, unsigned char *admissible,
                                  double *loss, double *scratch) {
#ifdef BPT_AVX2_PATH
    if (bpt_vector_math_enabled()) {
        bpt_parametric_losses_avx2(sums, stride, n, n_points, projection, min_weight,
                                   admissible, loss, scratch);
        return;
    }
#endif
    bpt_parametric_losses_libm(sums, stride, n, n_points, projection, min_weight, admissible,
                               loss, scratch);
}

#endif
