// Host implementation of element-wise attention, multi-threaded over (batch × channel).
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include "ea.h"
#include "ea_math.h"

namespace ew {

unsigned hostThreads() {
  if (const char* env = std::getenv("EW_THREADS")) {
    const long n = std::strtol(env, nullptr, 10);
    if (n > 0) return static_cast<unsigned>(n);
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

namespace {

// Runs body(item) for item in [0, items) on up to hostThreads() threads, each with its own
// contiguous range. Small jobs stay on the calling thread.
void parallelFor(int64_t items, int64_t workPerItem, const std::function<void(int64_t)>& body) {
  const int64_t minWorkPerThread = 1 << 16;
  int64_t threads = std::min<int64_t>(hostThreads(), items);
  threads = std::min<int64_t>(threads, std::max<int64_t>(1, items * workPerItem / minWorkPerThread));
  if (threads <= 1) {
    for (int64_t item = 0; item < items; ++item) body(item);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int64_t t = 0; t < threads; ++t) {
    const int64_t begin = items * t / threads;
    const int64_t end = items * (t + 1) / threads;
    pool.emplace_back([begin, end, &body] {
      for (int64_t item = begin; item < end; ++item) body(item);
    });
  }
  for (std::thread& thread : pool) thread.join();
}

// Strided access to channel c of sequence b: element i of a [B, N, D] array.
struct Channel {
  int64_t b;
  int64_t c;
  int64_t D;
  int64_t at(int64_t rows, int64_t i) const { return (b * rows + i) * D + c; }
};

// One query's exact-EA row of channel ch over the visible keys j <= last.
ExactRow exactRowOf(const AttentionCall& args, const Channel& ch, double q, int64_t last) {
  return exactRow(args.k + ch.at(args.keys, 0), args.v + ch.at(args.keys, 0),
                  args.mask + ch.b * args.keys, args.channels, q, last);
}

void exactForward(const ForwardArgs& args) {
  const Dims& d = args;
  parallelFor(d.batch * d.channels, d.queries * d.keys, [&](int64_t item) {
    const Channel ch{item / d.channels, item % d.channels, d.channels};
    for (int64_t i = 0; i < d.queries; ++i) {
      const int64_t last = args.causal ? i : d.keys - 1;
      const ExactRow row = exactRowOf(args, ch, args.q[ch.at(d.queries, i)], last);
      args.y[ch.at(d.queries, i)] = static_cast<float>(ratioOrZero(row.weighted, row.total));
    }
  });
}

void exactBackward(const BackwardArgs& args) {
  const Dims& d = args;
  parallelFor(d.batch * d.channels, d.queries * d.keys, [&](int64_t item) {
    const Channel ch{item / d.channels, item % d.channels, d.channels};
    std::vector<double> dk(d.keys, 0.0);
    std::vector<double> dv(d.keys, 0.0);
    for (int64_t i = 0; i < d.queries; ++i) {
      const double q = args.q[ch.at(d.queries, i)];
      const double g = args.dy[ch.at(d.queries, i)];
      const int64_t last = args.causal ? i : d.keys - 1;
      const ExactRow row = exactRowOf(args, ch, q, last);
      double dq = 0.0;
      if (!isZeroDenominator(row.total)) {
        const double y = row.weighted / row.total;
        for (int64_t j = 0; j <= last; ++j) {
          if (args.mask[ch.b * d.keys + j] == 0) continue;
          const int64_t at = ch.at(d.keys, j);
          const ExactPairGradient pair = exactPairGradient(row, q, args.k[at], args.v[at], g, y);
          dv[j] += pair.dv;
          dk[j] += pair.dk;
          dq -= pair.dk;
        }
      }
      args.dq[ch.at(d.queries, i)] = static_cast<float>(dq);
    }
    for (int64_t j = 0; j < d.keys; ++j) {
      args.dk[ch.at(d.keys, j)] = static_cast<float>(dk[j]);
      args.dv[ch.at(d.keys, j)] = static_cast<float>(dv[j]);
    }
  });
}

// Series kernels run over blocks of adjacent channels: each position's block of q, k, v, y is one
// cache line, so a sequence is streamed once per block rather than once per channel (a
// channel-at-a-time walk strides D floats per step and reloads every line D/16 times).
constexpr int64_t kChannelBlock = 16;

// Channels [first, first + width) of sequence b, in a [B, N, D] array.
struct ChannelBlock {
  int64_t b;
  int64_t first;
  int64_t width;
  int64_t D;
  int64_t at(int64_t rows, int64_t i, int64_t c) const { return (b * rows + i) * D + first + c; }
};

// Runs body(block) over every (batch, channel block) pair on up to hostThreads() threads.
void forEachChannelBlock(int64_t batch, int64_t channels, int64_t workPerChannel,
                         const std::function<void(const ChannelBlock&)>& body) {
  const int64_t blocks = (channels + kChannelBlock - 1) / kChannelBlock;
  parallelFor(batch * blocks, workPerChannel * kChannelBlock, [&](int64_t item) {
    const int64_t first = (item % blocks) * kChannelBlock;
    body(ChannelBlock{item / blocks, first, std::min(kChannelBlock, channels - first), channels});
  });
}

// Per-channel moments of one block, laid out [channel][term].
struct BlockMoments {
  std::vector<double> first;
  std::vector<double> second;
  int terms;
  BlockMoments(const ChannelBlock& blk, int terms, const float* first0, const float* second0)
      : first(blk.width * terms), second(blk.width * terms), terms(terms) {
    for (int64_t c = 0; c < blk.width; ++c) {
      for (int n = 0; n < terms; ++n) {
        first[c * terms + n] = first0[blk.at(terms, n, c)];
        second[c * terms + n] = second0[blk.at(terms, n, c)];
      }
    }
  }
  double* firstOf(int64_t c) { return &first[c * terms]; }
  double* secondOf(int64_t c) { return &second[c * terms]; }
  void store(const ChannelBlock& blk, float* first0, float* second0) const {
    for (int64_t c = 0; c < blk.width; ++c) {
      for (int n = 0; n < terms; ++n) {
        first0[blk.at(terms, n, c)] = static_cast<float>(first[c * terms + n]);
        second0[blk.at(terms, n, c)] = static_cast<float>(second[c * terms + n]);
      }
    }
  }
};

// a_n for n < terms.
std::vector<double> coefficients(int terms) {
  std::vector<double> a(terms);
  taylorCoefficients(a.data(), terms);
  return a;
}

// Runs query(i) for every query i of a block, with the moments holding every visible key
// (non-causal) or the visible keys up to i (causal).
template <typename Query>
void walkQueries(const AttentionCall& args, const ChannelBlock& blk, BlockMoments& moments,
                 Query query) {
  const int terms = moments.terms;
  const auto addKeys = [&](int64_t j) {
    if (args.mask[blk.b * args.keys + j] == 0) return;
    for (int64_t c = 0; c < blk.width; ++c) {
      const int64_t at = blk.at(args.keys, j, c);
      addKey(moments.firstOf(c), moments.secondOf(c), args.k[at], args.v[at], terms);
    }
  };
  if (args.causal) {
    for (int64_t i = 0; i < args.keys; ++i) {
      addKeys(i);
      query(i);
    }
  } else {
    for (int64_t j = 0; j < args.keys; ++j) addKeys(j);
    for (int64_t i = 0; i < args.queries; ++i) query(i);
  }
}

void seriesForward(const ForwardArgs& args) {
  const Dims& d = args;
  const int terms = stateTerms(args.order);
  const std::vector<double> a = coefficients(terms);
  forEachChannelBlock(d.batch, d.channels, (d.queries + d.keys) * terms, [&](const ChannelBlock& blk) {
    BlockMoments m(blk, terms, args.initialS, args.initialZ);
    walkQueries(args, blk, m, [&](int64_t i) {
      for (int64_t c = 0; c < blk.width; ++c) {
        const int64_t at = blk.at(d.queries, i, c);
        args.y[at] = static_cast<float>(readQuery(m.firstOf(c), m.secondOf(c), a.data(), args.q[at], terms));
      }
    });
    m.store(blk, args.finalS, args.finalZ);
  });
}

void seriesBackward(const BackwardArgs& args) {
  const Dims& d = args;
  const int terms = stateTerms(args.order);
  const std::vector<double> a = coefficients(terms);
  forEachChannelBlock(d.batch, d.channels, (d.queries + 2 * d.keys) * terms, [&](const ChannelBlock& blk) {
    BlockMoments moments(blk, terms, args.initialS, args.initialZ);
    BlockMoments adjoints(blk, terms, args.dFinalS, args.dFinalZ);
    auto writeKeys = [&](int64_t j) {
      const bool visible = args.mask[blk.b * d.keys + j] != 0;
      for (int64_t c = 0; c < blk.width; ++c) {
        const int64_t at = blk.at(d.keys, j, c);
        if (!visible) {
          args.dk[at] = 0.0f;
          args.dv[at] = 0.0f;
          continue;
        }
        const KeyGradient grad =
            keyGradient(adjoints.firstOf(c), adjoints.secondOf(c), args.k[at], args.v[at], terms);
        args.dk[at] = static_cast<float>(grad.dk);
        args.dv[at] = static_cast<float>(grad.dv);
      }
    };
    // Causal: the queries' α, β (kept in float64: g/M overflows float32 when M is tiny) wait for
    // the reverse walk, whose suffix sums A(j), B(j) over queries i >= j give ∂k, ∂v.
    std::vector<double> alphas(args.causal ? d.keys * blk.width : 0);
    std::vector<double> betas(args.causal ? d.keys * blk.width : 0);
    walkQueries(args, blk, moments, [&](int64_t i) {
      for (int64_t c = 0; c < blk.width; ++c) {
        const int64_t at = blk.at(d.queries, i, c);
        const QueryGradient grad = queryGradient(moments.firstOf(c), moments.secondOf(c), a.data(),
                                                 args.q[at], args.dy[at], terms);
        args.dq[at] = static_cast<float>(grad.dq);
        if (args.causal) {
          alphas[i * blk.width + c] = grad.alpha;
          betas[i * blk.width + c] = grad.beta;
        } else {
          addQuery(adjoints.firstOf(c), adjoints.secondOf(c), a.data(), args.q[at], grad.alpha,
                   grad.beta, terms);
        }
      }
    });
    if (args.causal) {
      for (int64_t j = d.keys - 1; j >= 0; --j) {
        for (int64_t c = 0; c < blk.width; ++c) {
          addQuery(adjoints.firstOf(c), adjoints.secondOf(c), a.data(), args.q[blk.at(d.keys, j, c)],
                   alphas[j * blk.width + c], betas[j * blk.width + c], terms);
        }
        writeKeys(j);
      }
    } else {
      for (int64_t j = 0; j < d.keys; ++j) writeKeys(j);
    }
    adjoints.store(blk, args.dInitialS, args.dInitialZ);
  });
}

}  // namespace

void runOnHost(const ForwardArgs& args) {
  if (args.order == kExact) return exactForward(args);
  seriesForward(args);
}

void runOnHost(const BackwardArgs& args) {
  if (args.order == kExact) return exactBackward(args);
  seriesBackward(args);
}

void runOnHost(const StepArgs& args) {
  const int terms = stateTerms(args.order);
  const std::vector<double> a = coefficients(terms);
  const int64_t D = args.channels;
  parallelFor(args.batch * D, 4 * terms, [&](int64_t item) {
    const Channel ch{item / D, item % D, D};
    std::vector<double> S(terms);
    std::vector<double> Z(terms);
    for (int n = 0; n < terms; ++n) {
      S[n] = args.s[ch.at(terms, n)];
      Z[n] = args.z[ch.at(terms, n)];
    }
    const int64_t at = ch.b * D + ch.c;
    addKey(S.data(), Z.data(), args.k[at], args.v[at], terms);
    args.y[at] = static_cast<float>(readQuery(S.data(), Z.data(), a.data(), args.q[at], terms));
    for (int n = 0; n < terms; ++n) {
      args.nextS[ch.at(terms, n)] = static_cast<float>(S[n]);
      args.nextZ[ch.at(terms, n)] = static_cast<float>(Z[n]);
    }
  });
}

}  // namespace ew
