// Vocabulary types of the CPU reference estimators.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

namespace santa {

using Vec = Eigen::VectorXd;
using MatRM = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatRef = Eigen::Ref<const MatRM>;
using VecRef = Eigen::Ref<const Vec>;

// A sparse value-stage estimate: y_hat = sum_j weight[j] * v.row(row[j]).
// Rows are distinct and ascending; a row drawn c times appears once with count c (read once, added c times).
struct RowDraw {
  std::vector<int64_t> row;
  std::vector<int32_t> count;
  std::vector<double> weight;  // the row's total coefficient in the estimate (count already folded in)
  int64_t samples = 0;         // real number of draws, sum of count

  std::size_t unique_rows() const { return row.size(); }
};

}  // namespace santa
