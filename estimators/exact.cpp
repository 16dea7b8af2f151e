#include "estimators/exact.hpp"

#include <cmath>

#include "estimators/validation.hpp"

namespace santa {

Vec attention_scores(VecRef q, MatRef k, double scale) {
  constexpr std::string_view where = "attention_scores";
  check::nonempty(where, k.rows(), "k (the context)");
  check::nonempty(where, q.size(), "q");
  check::same_size(where, q.size(), "q.size() (head dim)", k.cols(), "k.cols()");
  if (!std::isfinite(scale)) check::fail(where, "scale = ", scale, "; the softmax scale must be finite");
  Vec s = scale * (k * q);
  // NaN/inf in q or k shows up here; report it instead of letting softmax turn it into NaN outputs.
  check::finite(where, s, "score (q and k must be finite)");
  return s;
}

Vec softmax(VecRef scores) {
  constexpr std::string_view where = "softmax";
  check::nonempty(where, scores.size(), "scores (the context)");
  check::finite(where, scores, "scores");
  const double m = scores.maxCoeff();
  Vec p = (scores.array() - m).exp().matrix();
  double total = 0.0;  // >= 1 because the max entry contributes exp(0)
  for (Eigen::Index i = 0; i < p.size(); ++i) total += p[i];
  p /= total;
  return p;
}

void validate_probabilities(VecRef p, double tol) {
  if (!(tol >= 0.0)) check::fail("validate_probabilities", "tol = ", tol, "; the tolerance must be >= 0");
  check::probability_total("validate_probabilities", p, tol);
}

ExactHead exact_from_probabilities(VecRef p, MatRef v) {
  constexpr std::string_view where = "exact_from_probabilities";
  const double total = check::probability_total(where, p);
  check::same_size(where, p.size(), "p.size() (keys)", v.rows(), "v.rows()");
  check::nonempty(where, v.cols(), "v's columns (head dim)");
  check::finite_matrix(where, v, "v");
  ExactHead out;
  out.p = p / total;  // the samplers sample p / sum(p), so the target is normalised the same way
  out.y = v.transpose() * out.p;
  // Two-pass form sum p_i ||v_i - y||^2: equal to sum p_i ||v_i||^2 - ||y||^2 but without its cancellation.
  double trace = 0.0;
  for (Eigen::Index i = 0; i < v.rows(); ++i) {
    if (out.p[i] != 0.0) trace += out.p[i] * (v.row(i).transpose() - out.y).squaredNorm();
  }
  out.trace_cov = trace;
  return out;
}

ExactHead exact_from_scores(VecRef scores, MatRef v) { return exact_from_probabilities(softmax(scores), v); }

MatRM exact_decode(MatRef q, const std::vector<MatRM>& k, const std::vector<MatRM>& v, double scale) {
  constexpr std::string_view where = "exact_decode";
  const auto H = static_cast<int64_t>(q.rows());
  const auto H_kv = static_cast<int64_t>(k.size());
  check::nonempty(where, H, "q (query heads)");
  check::nonempty(where, H_kv, "k (KV heads)");
  check::same_size(where, H_kv, "k.size() (KV heads)", static_cast<int64_t>(v.size()), "v.size()");
  if (H % H_kv != 0) {
    check::fail(where, "H = ", H, " query heads over H_kv = ", H_kv,
                " KV heads; H must be a multiple of H_kv (GQA group size G = H / H_kv)");
  }
  const int64_t d_v = v[0].cols();
  for (int64_t j = 0; j < H_kv; ++j) {
    check::same_size(where, k[j].rows(), "k[" + std::to_string(j) + "].rows()", v[j].rows(),
                     "v[" + std::to_string(j) + "].rows()");
    check::same_size(where, v[j].cols(), "v[" + std::to_string(j) + "].cols()", d_v, "v[0].cols()");
  }
  const int64_t G = H / H_kv;
  MatRM out(H, d_v);
  for (int64_t h = 0; h < H; ++h) {
    const int64_t kv = h / G;
    out.row(h) = exact_from_scores(attention_scores(q.row(h).transpose(), k[kv], scale), v[kv]).y.transpose();
  }
  return out;
}

Vec apply_draw(const RowDraw& draw, MatRef v) {
  constexpr std::string_view where = "apply_draw";
  const auto rows = static_cast<int64_t>(draw.row.size());
  check::same_size(where, rows, "draw.row.size()", static_cast<int64_t>(draw.weight.size()), "draw.weight.size()");
  check::same_size(where, rows, "draw.row.size()", static_cast<int64_t>(draw.count.size()), "draw.count.size()");
  Vec y = Vec::Zero(v.cols());
  for (int64_t j = 0; j < rows; ++j) {
    const int64_t r = draw.row[j];
    if (r < 0 || r >= v.rows()) {
      check::fail(where, "draw.row[", j, "] = ", r, "; rows must be in [0, v.rows() = ", v.rows(), ")");
    }
    y.noalias() += draw.weight[j] * v.row(r).transpose();
  }
  return y;
}

}  // namespace santa
