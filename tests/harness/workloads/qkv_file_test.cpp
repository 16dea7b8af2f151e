// The `file` workload: a valid file loads (float32 or float64); every malformed one is refused with a message
// naming the file, the dataset and what is allowed; a point that does not fit the file names the parameter.
#include <gtest/gtest.h>

#include <H5Cpp.h>

#include <cmath>

#include "harness/workloads/decode_problem.hpp"
#include "harness/workloads/head_problem.hpp"
#include "harness/workloads/qkv_file.hpp"
#include "../harness_test_support.hpp"

namespace santa::harness::workloads {
namespace {

using harness::testing::TempDir;

template <class T>
void put(H5::H5File& f, const char* name, std::vector<hsize_t> shape, const H5::PredType& type, T fill = T(0.5)) {
  std::size_t n = 1;
  for (hsize_t s : shape) n *= s;
  std::vector<T> data(n);
  for (std::size_t i = 0; i < n; ++i) data[i] = fill + T(i % 7);
  f.createDataSet(name, type, H5::DataSpace(int(shape.size()), shape.data())).write(data.data(), type);
}

// A file with H = 4, H_kv = 2, n = 10, d = 3, optionally broken by `mutate`.
std::string make_file(const TempDir& dir, const std::string& name,
                      const std::function<void(H5::H5File&)>& extra = {}, bool with_v = true) {
  const std::string path = dir.file(name);
  H5::H5File f(path, H5F_ACC_TRUNC);
  put<float>(f, "q", {4, 3}, H5::PredType::NATIVE_FLOAT);
  put<double>(f, "k", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
  if (with_v) put<double>(f, "v", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
  if (extra) extra(f);
  return path;
}

void expect_load_error(const std::string& path, const std::string& part) {
  try {
    load_qkv_file(path);
    ADD_FAILURE() << "loaded " << path;
  } catch (const WorkloadError& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(QkvFile, LoadsFloat32AndFloat64AndRoundTrips) {
  TempDir dir;
  const QkvData d = load_qkv_file(make_file(dir, "ok.h5"));
  EXPECT_EQ(d.heads(), 4);
  EXPECT_EQ(d.kv_heads(), 2);
  EXPECT_EQ(d.keys(), 10);
  EXPECT_EQ(d.dim(), 3);
  EXPECT_FLOAT_EQ(float(d.q(1, 2)), 0.5f + 5);            // element 5 of q
  EXPECT_DOUBLE_EQ(d.k[1](2, 0), 0.5 + double((2 * 2 + 1) * 3 % 7));  // k[2, 1, 0] = element 15
  write_qkv_file(dir.file("copy.h5"), d);
  const QkvData back = load_qkv_file(dir.file("copy.h5"));
  EXPECT_EQ(back.q, d.q);
  EXPECT_EQ(back.k[1], d.k[1]);
  EXPECT_EQ(back.v[0], d.v[0]);
}

TEST(QkvFile, MalformedFilesAreRefusedClearly) {
  TempDir dir;
  expect_load_error(dir.file("none.h5"), "no such file");
  harness::testing::write_text(dir.file("text.h5"), "hello");
  expect_load_error(dir.file("text.h5"), "cannot read as HDF5");
  expect_load_error(make_file(dir, "nov.h5", {}, false), "no dataset 'v'");
  expect_load_error(make_file(dir, "int.h5", [](H5::H5File& f) {
                      put<int32_t>(f, "v", {10, 2, 3}, H5::PredType::NATIVE_INT32, 1);
                    }, false),
                    "dataset 'v' holds integer32 values; allowed: float32 or float64");
  {
    const std::string path = dir.file("rank.h5");
    H5::H5File f(path, H5F_ACC_TRUNC);
    put<double>(f, "q", {12}, H5::PredType::NATIVE_DOUBLE);
    put<double>(f, "k", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
    put<double>(f, "v", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
    f.close();
    expect_load_error(path, "dataset 'q' has shape [12] (1 dimensions); allowed: q [H, d]");
  }
  expect_load_error(make_file(dir, "kv.h5", [](H5::H5File& f) {
                      put<double>(f, "v", {9, 2, 3}, H5::PredType::NATIVE_DOUBLE);
                    }, false),
                    "k has shape [10, 2, 3] but v has [9, 2, 3]");
  {
    const std::string path = dir.file("d.h5");
    H5::H5File f(path, H5F_ACC_TRUNC);
    put<double>(f, "q", {4, 5}, H5::PredType::NATIVE_DOUBLE);
    put<double>(f, "k", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
    put<double>(f, "v", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
    f.close();
    expect_load_error(path, "q has head dimension 5 but k has 3");
  }
  {
    const std::string path = dir.file("gqa.h5");
    H5::H5File f(path, H5F_ACC_TRUNC);
    put<double>(f, "q", {3, 3}, H5::PredType::NATIVE_DOUBLE);
    put<double>(f, "k", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
    put<double>(f, "v", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
    f.close();
    expect_load_error(path, "H = 3 query heads (q) are not a multiple of H_kv = 2");
  }
  {
    const std::string path = dir.file("nan.h5");
    H5::H5File f(path, H5F_ACC_TRUNC);
    put<double>(f, "q", {4, 3}, H5::PredType::NATIVE_DOUBLE);
    std::vector<double> k(60, 1.0);
    k[1 * 6 + 0 * 3 + 2] = std::nan("");  // k[1, 0, 2]
    const hsize_t shape[3] = {10, 2, 3};
    f.createDataSet("k", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(3, shape)).write(k.data(), H5::PredType::NATIVE_DOUBLE);
    put<double>(f, "v", {10, 2, 3}, H5::PredType::NATIVE_DOUBLE);
    f.close();
    expect_load_error(path, "k[1, 0, 2] = nan; allowed: finite values only");
  }
}

TEST(QkvFile, HeadProblemFromFileAndPointChecks) {
  TempDir dir;
  const std::string path = make_file(dir, "ok.h5");
  WorkloadCache cache;
  HeadSpec s;
  s.dist.name = "file";
  s.dist.file = path;
  s.n = 8;
  s.d = 3;
  s.head = 3;  // KV head 1
  const auto hp = head_problem(s, cache);
  const QkvData f = load_qkv_file(path);
  const Vec logits = f.k[1].topRows(8) * f.q.row(3).transpose() / std::sqrt(3.0);
  const Vec want = (logits.array() - logits.maxCoeff()).exp().matrix();
  EXPECT_LT((hp->p - want / want.sum()).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_EQ(*hp->v, f.v[1].topRows(8));

  const auto blamed = [&](HeadSpec bad) {
    try {
      check_head_spec(bad, cache);
    } catch (const PointError& e) {
      return e.param;
    }
    return std::string("(accepted)");
  };
  HeadSpec b = s;
  b.head = 4;
  EXPECT_EQ(blamed(b), "head");
  b = s;
  b.d = 4;
  EXPECT_EQ(blamed(b), "d");
  b = s;
  b.n = 11;
  EXPECT_EQ(blamed(b), "n_k");
  b = s;
  b.dist.file = dir.file("missing.h5");
  EXPECT_EQ(blamed(b), "file");
  EXPECT_EQ(blamed(s), "(accepted)");

  DecodeSpec ds;
  ds.dist = s.dist;
  ds.n = 10;
  ds.H = 4;
  ds.H_kv = 1;
  ds.d = 3;
  try {
    check_decode_spec(ds, cache);
    ADD_FAILURE();
  } catch (const PointError& e) {
    EXPECT_EQ(e.param, "H_kv");
  }
  ds.H_kv = 2;
  EXPECT_NO_THROW(check_decode_spec(ds, cache));
  EXPECT_EQ(make_decode_problem(ds, cache).q, f.q);
}

}  // namespace
}  // namespace santa::harness::workloads
