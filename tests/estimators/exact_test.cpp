// Exact decode attention: scores, softmax, output, tr(Sigma), GQA mapping, apply_draw.
#include "estimators/exact.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.hpp"

namespace santa {
namespace {

TEST(AttentionScores, ScaledDotProducts) {
  PhiloxStream rng(RngSite{.seed = 1});
  const MatRM k = testing::normal_matrix(50, 16, rng);
  const Vec q = testing::normal_vector(16, rng);
  const Vec s = attention_scores(q, k, 0.25);
  ASSERT_EQ(s.size(), 50);
  for (int i = 0; i < 50; ++i) {
    double dot = 0.0;
    for (int j = 0; j < 16; ++j) dot += q[j] * k(i, j);
    EXPECT_NEAR(s[i], 0.25 * dot, 1e-12);
  }
}

TEST(Softmax, NormalisedShiftInvariantAndStableForLargeScores) {
  const Vec s = (Vec(4) << 1.0, 2.0, 3.0, 4.0).finished();
  const Vec p = softmax(s);
  EXPECT_NEAR(p.sum(), 1.0, 1e-15);
  EXPECT_NEAR(p[3] / p[2], std::exp(1.0), 1e-12);
  const Vec shifted = softmax((s.array() + 1000.0).matrix());  // exp(1004) overflows without the max shift
  EXPECT_LT((shifted - p).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_NEAR(softmax((Vec(1) << -5000.0).finished())[0], 1.0, 0.0);
}

TEST(ExactFromProbabilities, OutputAndTraceMatchTheDefinitions) {
  const Vec p = testing::make_distribution(testing::Dist::peaked, 400, 2);
  const MatRM v = testing::gaussian_values(400, 12, 3);
  const ExactHead e = exact_from_probabilities(p, v);
  Vec y = Vec::Zero(12);
  double second = 0.0;
  for (int i = 0; i < 400; ++i) {
    y += p[i] * v.row(i).transpose();
    second += p[i] * v.row(i).squaredNorm();
  }
  EXPECT_LT((e.y - y).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_NEAR(e.trace_cov, second - y.squaredNorm(), 1e-12);  // tr(Sigma) = sum p ||v||^2 - ||y||^2
  // A point mass has no spread.
  Vec one = Vec::Zero(400);
  one[17] = 1.0;
  EXPECT_EQ(exact_from_probabilities(one, v).trace_cov, 0.0);
}

TEST(ExactFromScores, IsSoftmaxThenOutput) {
  PhiloxStream rng(RngSite{.seed = 4});
  const Vec s = testing::normal_vector(100, rng);
  const MatRM v = testing::gaussian_values(100, 8, 5);
  const ExactHead a = exact_from_scores(s, v);
  const ExactHead b = exact_from_probabilities(softmax(s), v);
  EXPECT_EQ(a.y, b.y);
  EXPECT_EQ(a.trace_cov, b.trace_cov);
}

// GQA: query head h reads KV head h / G. Each output row must equal the single-head computation on the
// right KV head, and differ from the computation on a wrong one.
TEST(ExactDecode, GqaMapsQueryHeadsToTheirKvHead) {
  constexpr int H = 8, H_kv = 2, d = 16, n = 64;
  PhiloxStream rng(RngSite{.seed = 6});
  const MatRM q = testing::normal_matrix(H, d, rng);
  std::vector<MatRM> k, v;
  for (int j = 0; j < H_kv; ++j) {
    k.push_back(testing::normal_matrix(n, d, rng));
    v.push_back(testing::normal_matrix(n, d, rng));
  }
  const double scale = 1.0 / std::sqrt(d);
  const MatRM out = exact_decode(q, k, v, scale);
  ASSERT_EQ(out.rows(), H);
  ASSERT_EQ(out.cols(), d);
  for (int h = 0; h < H; ++h) {
    const int kv = h / (H / H_kv);
    const Vec expect = exact_from_scores(attention_scores(q.row(h).transpose(), k[kv], scale), v[kv]).y;
    const Vec wrong = exact_from_scores(attention_scores(q.row(h).transpose(), k[1 - kv], scale), v[1 - kv]).y;
    EXPECT_LT((out.row(h).transpose() - expect).cwiseAbs().maxCoeff(), 1e-14) << "head " << h;
    EXPECT_GT((out.row(h).transpose() - wrong).cwiseAbs().maxCoeff(), 1e-3) << "head " << h;
  }
}

TEST(ApplyDraw, WeightedSumOfRows) {
  const MatRM v = (MatRM(3, 2) << 1, 2, 3, 4, 5, 6).finished();
  RowDraw d;
  d.row = {0, 2};
  d.count = {1, 3};
  d.weight = {0.25, 0.75};
  const Vec y = apply_draw(d, v);
  EXPECT_DOUBLE_EQ(y[0], 0.25 * 1 + 0.75 * 5);
  EXPECT_DOUBLE_EQ(y[1], 0.25 * 2 + 0.75 * 6);
  EXPECT_EQ(apply_draw(RowDraw{}, v), Vec::Zero(2));
}

TEST(ExactBadInput, EmptyNonFiniteShapesAndGqa) {
  const MatRM k = MatRM::Ones(5, 4);
  const Vec q = Vec::Ones(4);
  SANTA_EXPECT_INVALID(attention_scores(q, MatRM(0, 4), 1.0), "empty");
  SANTA_EXPECT_INVALID(attention_scores(Vec::Ones(3), k, 1.0), "q.size()");
  SANTA_EXPECT_INVALID(attention_scores(q, k, NAN), "scale");
  Vec bad_q = q;
  bad_q[1] = NAN;
  SANTA_EXPECT_INVALID(attention_scores(bad_q, k, 1.0), "score");
  SANTA_EXPECT_INVALID(softmax(Vec(0)), "empty");
  SANTA_EXPECT_INVALID(softmax((Vec(3) << 1.0, NAN, 2.0).finished()), "scores[1]");
  SANTA_EXPECT_INVALID(softmax((Vec(3) << 1.0, INFINITY, 2.0).finished()), "scores[1]");
  SANTA_EXPECT_INVALID(softmax((Vec(3) << 1.0, 0.0, -INFINITY).finished()), "scores[2]");
  SANTA_EXPECT_INVALID(validate_probabilities((Vec(2) << 0.5, 0.6).finished()), "sums to");
  SANTA_EXPECT_INVALID(validate_probabilities((Vec(2) << 1.5, -0.5).finished()), "p[1]");
  SANTA_EXPECT_INVALID(validate_probabilities(Vec(0)), "empty");
  EXPECT_NO_THROW(validate_probabilities((Vec(2) << 0.5, 0.5 + 1e-10).finished()));
  SANTA_EXPECT_INVALID(validate_probabilities((Vec(2) << 0.5, 0.5 + 1e-8).finished()), "sums to");
  const Vec p = Vec::Constant(5, 0.2);
  SANTA_EXPECT_INVALID(exact_from_probabilities(p, MatRM::Ones(4, 3)), "v.rows()");
  SANTA_EXPECT_INVALID(exact_from_probabilities(p, MatRM::Ones(5, 0)), "v's columns");
  SANTA_EXPECT_INVALID(exact_from_scores(Vec(0), MatRM::Ones(0, 3)), "empty");

  const std::vector<MatRM> k3(3, k), v3(3, k), v2(2, k);
  SANTA_EXPECT_INVALID(exact_decode(MatRM::Ones(4, 4), k3, v3, 1.0), "H = 4");
  SANTA_EXPECT_INVALID(exact_decode(MatRM::Ones(6, 4), k3, v2, 1.0), "v.size()");
  SANTA_EXPECT_INVALID(exact_decode(MatRM::Ones(6, 4), {}, {}, 1.0), "KV heads");
  SANTA_EXPECT_INVALID(exact_decode(MatRM::Ones(0, 4), k3, v3, 1.0), "query heads");
  const std::vector<MatRM> short_v{k, MatRM::Ones(4, 4), k};
  SANTA_EXPECT_INVALID(exact_decode(MatRM::Ones(3, 4), k3, short_v, 1.0), "v[1].rows()");
  SANTA_EXPECT_INVALID(exact_decode(MatRM::Ones(3, 5), k3, v3, 1.0), "q.size()");

  RowDraw d;
  d.row = {7};
  d.count = {1};
  d.weight = {1.0};
  SANTA_EXPECT_INVALID(apply_draw(d, MatRM::Ones(5, 2)), "draw.row[0] = 7");
  d.weight.clear();
  SANTA_EXPECT_INVALID(apply_draw(d, MatRM::Ones(5, 2)), "draw.weight.size()");
}

}  // namespace
}  // namespace santa
