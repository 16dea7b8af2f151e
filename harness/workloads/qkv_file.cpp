#include "harness/workloads/qkv_file.hpp"

#include <H5Cpp.h>

#include <cmath>
#include <filesystem>
#include <fmt/format.h>

namespace santa::harness::workloads {
namespace {

std::string shape_str(const std::vector<hsize_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", s[i]);
  return out + "]";
}

struct Raw {
  std::vector<hsize_t> shape;
  std::vector<double> data;
};

Raw read_dataset(H5::H5File& f, const std::string& path, const char* name, int rank, const char* layout) {
  if (H5Lexists(f.getId(), name, H5P_DEFAULT) <= 0)
    throw WorkloadError(fmt::format("{}: no dataset '{}'; a q/K/V file needs datasets q [H, d], k and v "
                                    "[n_k, H_kv, d]",
                                    path, name));
  H5::DataSet ds = f.openDataSet(name);
  const H5T_class_t cls = ds.getTypeClass();
  const std::size_t size = ds.getDataType().getSize();
  if (cls != H5T_FLOAT || (size != 4 && size != 8))
    throw WorkloadError(fmt::format("{}: dataset '{}' holds {}{} values; allowed: float32 or float64", path, name,
                                    cls == H5T_INTEGER ? "integer" : cls == H5T_FLOAT ? "float" : "non-numeric",
                                    cls == H5T_FLOAT || cls == H5T_INTEGER ? std::to_string(8 * size) : ""));
  const H5::DataSpace space = ds.getSpace();
  const int r = space.getSimpleExtentNdims();
  Raw raw;
  raw.shape.resize(static_cast<std::size_t>(std::max(r, 0)));
  if (r > 0) space.getSimpleExtentDims(raw.shape.data());
  if (r != rank)
    throw WorkloadError(fmt::format("{}: dataset '{}' has shape {} ({} dimensions); allowed: {}", path, name,
                                    shape_str(raw.shape), r, layout));
  for (hsize_t s : raw.shape) {
    if (s == 0)
      throw WorkloadError(fmt::format("{}: dataset '{}' has shape {}; allowed: {} with every size >= 1", path, name,
                                      shape_str(raw.shape), layout));
  }
  raw.data.resize(space.getSimpleExtentNpoints());
  ds.read(raw.data.data(), H5::PredType::NATIVE_DOUBLE);
  for (std::size_t i = 0; i < raw.data.size(); ++i) {
    if (!std::isfinite(raw.data[i])) {
      std::string index;
      std::size_t rest = i;
      std::vector<std::size_t> idx(raw.shape.size());
      for (std::size_t a = raw.shape.size(); a-- > 0;) {
        idx[a] = rest % raw.shape[a];
        rest /= raw.shape[a];
      }
      for (std::size_t a = 0; a < idx.size(); ++a) index += fmt::format("{}{}", a ? ", " : "", idx[a]);
      throw WorkloadError(fmt::format("{}: {}[{}] = {}; allowed: finite values only", path, name, index,
                                      raw.data[i]));
    }
  }
  return raw;
}

std::vector<MatRM> split_heads(const Raw& raw) {
  const auto n = static_cast<Eigen::Index>(raw.shape[0]), hk = static_cast<Eigen::Index>(raw.shape[1]),
             d = static_cast<Eigen::Index>(raw.shape[2]);
  std::vector<MatRM> out(static_cast<std::size_t>(hk), MatRM(n, d));
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index h = 0; h < hk; ++h) {
      for (Eigen::Index j = 0; j < d; ++j) out[h](i, j) = raw.data[(i * hk + h) * d + j];
    }
  }
  return out;
}

}  // namespace

QkvData load_qkv_file(const std::string& path) {
  H5::Exception::dontPrint();
  if (!std::filesystem::exists(path)) throw WorkloadError(fmt::format("{}: no such file", path));
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    const Raw q = read_dataset(f, path, "q", 2, "q [H, d]");
    const Raw k = read_dataset(f, path, "k", 3, "k [n_k, H_kv, d]");
    const Raw v = read_dataset(f, path, "v", 3, "v [n_k, H_kv, d]");
    if (k.shape != v.shape)
      throw WorkloadError(fmt::format("{}: k has shape {} but v has {}; allowed: equal shapes [n_k, H_kv, d]", path,
                                      shape_str(k.shape), shape_str(v.shape)));
    if (k.shape[2] != q.shape[1])
      throw WorkloadError(fmt::format("{}: q has head dimension {} but k has {}; allowed: the same d", path,
                                      q.shape[1], k.shape[2]));
    if (q.shape[0] % k.shape[1] != 0)
      throw WorkloadError(fmt::format("{}: H = {} query heads (q) are not a multiple of H_kv = {} KV heads (k); "
                                      "allowed: H divisible by H_kv",
                                      path, q.shape[0], k.shape[1]));
    QkvData out;
    out.q = Eigen::Map<const MatRM>(q.data.data(), static_cast<Eigen::Index>(q.shape[0]),
                                    static_cast<Eigen::Index>(q.shape[1]));
    out.k = split_heads(k);
    out.v = split_heads(v);
    return out;
  } catch (const H5::Exception& e) {
    throw WorkloadError(fmt::format("{}: cannot read as HDF5: {}", path, e.getDetailMsg()));
  }
}

void write_qkv_file(const std::string& path, const QkvData& data) {
  H5::Exception::dontPrint();
  try {
    H5::H5File f(path, H5F_ACC_TRUNC);
    const hsize_t qd[2] = {static_cast<hsize_t>(data.heads()), static_cast<hsize_t>(data.dim())};
    f.createDataSet("q", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(2, qd))
        .write(data.q.data(), H5::PredType::NATIVE_DOUBLE);
    const auto n = data.keys(), hk = data.kv_heads(), d = data.dim();
    const hsize_t kd[3] = {static_cast<hsize_t>(n), static_cast<hsize_t>(hk), static_cast<hsize_t>(d)};
    for (const auto& [name, mats] : {std::pair{"k", &data.k}, std::pair{"v", &data.v}}) {
      std::vector<double> buf(static_cast<std::size_t>(n * hk * d));
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t h = 0; h < hk; ++h) {
          for (int64_t j = 0; j < d; ++j) buf[static_cast<std::size_t>((i * hk + h) * d + j)] = (*mats)[h](i, j);
        }
      }
      f.createDataSet(name, H5::PredType::NATIVE_DOUBLE, H5::DataSpace(3, kd))
          .write(buf.data(), H5::PredType::NATIVE_DOUBLE);
    }
  } catch (const H5::Exception& e) {
    throw WorkloadError(fmt::format("{}: cannot write: {}", path, e.getDetailMsg()));
  }
}

}  // namespace santa::harness::workloads
