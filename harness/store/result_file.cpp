#include "harness/store/result_file.hpp"

#include <H5Cpp.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

namespace santa::harness::store {
namespace {

namespace fs = std::filesystem;

constexpr hsize_t kChunkRows = 256;

// HDF5 prints its error stack to stderr by default; we turn exceptions into our own messages instead.
void quiet_hdf5() { H5::Exception::dontPrint(); }

H5::StrType vlen_string() {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  t.setCset(H5T_CSET_UTF8);
  return t;
}

H5::StrType fixed_string(std::size_t size) {
  H5::StrType t(H5::PredType::C_S1, std::max<std::size_t>(size, 1));
  t.setStrpad(H5T_STR_NULLPAD);
  return t;
}

// In-memory row layout of the compound type: offsets of every column after point and param_hash.
struct RowLayout {
  std::vector<std::size_t> offset;
  std::size_t size = 0;
};

RowLayout row_layout(const TableLayout& layout) {
  RowLayout r;
  r.size = 2 * sizeof(int64_t);
  for (const auto& c : layout.columns) {
    r.offset.push_back(r.size);
    r.size += c.type == ValueType::text ? std::max<std::size_t>(c.text_size, 1) : 8;
  }
  return r;
}

H5::CompType compound(const TableLayout& layout, const RowLayout& rl) {
  H5::CompType t(rl.size);
  t.insertMember("point", 0, H5::PredType::NATIVE_INT64);
  t.insertMember("param_hash", sizeof(int64_t), H5::PredType::NATIVE_UINT64);
  for (std::size_t i = 0; i < layout.columns.size(); ++i) {
    const auto& c = layout.columns[i];
    switch (c.type) {
      case ValueType::integer:
        t.insertMember(c.name, rl.offset[i], H5::PredType::NATIVE_INT64);
        break;
      case ValueType::real:
        t.insertMember(c.name, rl.offset[i], H5::PredType::NATIVE_DOUBLE);
        break;
      case ValueType::text:
        t.insertMember(c.name, rl.offset[i], fixed_string(c.text_size));
        break;
    }
  }
  return t;
}

void write_attribute(H5::H5Object& obj, const std::string& name, const Value& v) {
  const H5::DataSpace scalar(H5S_SCALAR);
  if (const auto* i = std::get_if<int64_t>(&v)) {
    obj.createAttribute(name, H5::PredType::NATIVE_INT64, scalar).write(H5::PredType::NATIVE_INT64, i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    obj.createAttribute(name, H5::PredType::NATIVE_DOUBLE, scalar).write(H5::PredType::NATIVE_DOUBLE, d);
  } else {
    const auto t = vlen_string();
    obj.createAttribute(name, t, scalar).write(t, std::get<std::string>(v));
  }
}

Value read_attribute(const H5::Attribute& a) {
  switch (a.getTypeClass()) {
    case H5T_INTEGER: {
      int64_t x = 0;
      a.read(H5::PredType::NATIVE_INT64, &x);
      return x;
    }
    case H5T_FLOAT: {
      double x = 0;
      a.read(H5::PredType::NATIVE_DOUBLE, &x);
      return x;
    }
    case H5T_STRING: {
      std::string s;
      a.read(a.getStrType(), s);
      return s;
    }
    default:
      return std::string("(unsupported attribute type)");
  }
}

void write_columns_table(H5::H5File& f, const TableLayout& layout) {
  // Fixed-length strings sized to the longest entry: pandas/h5py read them as bytes without extra steps.
  std::size_t name = 1, unit = 1, desc = 1;
  for (const auto& c : layout.columns) {
    name = std::max(name, c.name.size());
    unit = std::max(unit, c.unit.size());
    desc = std::max(desc, c.description.size());
  }
  const std::size_t role = 9, type = 7;
  const std::size_t size = name + role + type + unit + desc;
  H5::CompType t(size);
  t.insertMember("name", 0, fixed_string(name));
  t.insertMember("role", name, fixed_string(role));
  t.insertMember("type", name + role, fixed_string(type));
  t.insertMember("unit", name + role + type, fixed_string(unit));
  t.insertMember("description", name + role + type + unit, fixed_string(desc));
  std::vector<char> buf(size * std::max<std::size_t>(layout.columns.size(), 1), 0);
  for (std::size_t i = 0; i < layout.columns.size(); ++i) {
    const auto& c = layout.columns[i];
    char* r = buf.data() + i * size;
    const std::string_view fields[] = {c.name, to_string(c.role), type_name(c.type), c.unit, c.description};
    const std::size_t offs[] = {0, name, name + role, name + role + type, name + role + type + unit};
    for (int k = 0; k < 5; ++k) std::memcpy(r + offs[k], fields[k].data(), fields[k].size());
  }
  const hsize_t dims[1] = {layout.columns.size()};
  auto ds = f.createDataSet("columns", t, H5::DataSpace(1, dims));
  if (!layout.columns.empty()) ds.write(buf.data(), t);
}

std::string read_fixed(const char* p, std::size_t n) {
  std::size_t len = 0;
  while (len < n && p[len] != '\0') ++len;
  return std::string(p, len);
}

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_file(const std::string& path, const ResultData& data) {
  H5::H5File f(path, H5F_ACC_TRUNC);
  for (const auto& [name, v] : data.attributes) write_attribute(f, name, v);

  const RowLayout rl = row_layout(data.layout);
  const H5::CompType t = compound(data.layout, rl);
  const hsize_t n = data.rows.size();
  const hsize_t dims[1] = {n}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {kChunkRows};
  H5::DSetCreatPropList plist;
  plist.setChunk(1, chunk);
  auto ds = f.createDataSet("points", t, H5::DataSpace(1, dims, maxdims), plist);
  if (n > 0) {
    std::vector<char> buf(rl.size * n, 0);
    for (std::size_t r = 0; r < n; ++r) {
      const Row& row = data.rows[r];
      char* p = buf.data() + r * rl.size;
      std::memcpy(p, &row.point, 8);
      std::memcpy(p + 8, &row.param_hash, 8);
      for (std::size_t c = 0; c < data.layout.columns.size(); ++c) {
        const Value& v = row.values.at(c).second;
        if (const auto* i = std::get_if<int64_t>(&v)) {
          std::memcpy(p + rl.offset[c], i, 8);
        } else if (const auto* d = std::get_if<double>(&v)) {
          std::memcpy(p + rl.offset[c], d, 8);
        } else {
          const auto& s = std::get<std::string>(v);
          std::memcpy(p + rl.offset[c], s.data(), std::min(s.size(), data.layout.columns[c].text_size));
        }
      }
    }
    ds.write(buf.data(), t);
  }
  write_columns_table(f, data.layout);

  auto arrays = f.createGroup("arrays");
  for (std::size_t r = 0; r < n; ++r) {
    const Row& row = data.rows[r];
    if (row.arrays.empty()) continue;
    auto g = arrays.createGroup(std::to_string(r));
    for (const auto& a : row.arrays) {
      std::vector<hsize_t> shape(a.shape.begin(), a.shape.end());
      const H5::DataSpace space = shape.empty() ? H5::DataSpace(H5S_SCALAR)
                                                : H5::DataSpace(static_cast<int>(shape.size()), shape.data());
      auto ads = g.createDataSet(a.name, H5::PredType::NATIVE_DOUBLE, space);
      if (!a.data.empty()) ads.write(a.data.data(), H5::PredType::NATIVE_DOUBLE);
    }
  }
  f.close();
}

TableLayout read_layout(H5::H5File& f, const H5::CompType& file_type) {
  TableLayout layout;
  auto cds = f.openDataSet("columns");
  const hsize_t n = cds.getSpace().getSimpleExtentNpoints();
  const H5::CompType ct = cds.getCompType();
  std::vector<char> buf(ct.getSize() * std::max<hsize_t>(n, 1));
  if (n > 0) cds.read(buf.data(), ct);
  const char* names[] = {"name", "role", "type", "unit", "description"};
  std::size_t off[5], len[5];
  for (int k = 0; k < 5; ++k) {
    const int idx = ct.getMemberIndex(names[k]);
    off[k] = ct.getMemberOffset(idx);
    len[k] = ct.getMemberDataType(idx).getSize();
  }
  for (hsize_t i = 0; i < n; ++i) {
    const char* r = buf.data() + i * ct.getSize();
    Column c;
    c.name = read_fixed(r + off[0], len[0]);
    c.role = read_fixed(r + off[1], len[1]) == "parameter" ? ColumnRole::parameter : ColumnRole::metric;
    const std::string type = read_fixed(r + off[2], len[2]);
    c.type = type == "integer" ? ValueType::integer : type == "text" ? ValueType::text : ValueType::real;
    c.unit = read_fixed(r + off[3], len[3]);
    c.description = read_fixed(r + off[4], len[4]);
    if (c.type == ValueType::text) {
      const int idx = file_type.getMemberIndex(c.name);
      c.text_size = file_type.getMemberDataType(idx).getSize();
    }
    layout.columns.push_back(std::move(c));
  }
  return layout;
}

ResultData read_file(const std::string& path) {
  H5::H5File f(path, H5F_ACC_RDONLY);
  ResultData data;
  for (int i = 0, n = f.getNumAttrs(); i < n; ++i) {
    const H5::Attribute a = f.openAttribute(static_cast<unsigned>(i));
    data.attributes.emplace_back(a.getName(), read_attribute(a));
  }
  auto ds = f.openDataSet("points");
  const H5::CompType file_type = ds.getCompType();
  data.layout = read_layout(f, file_type);
  const RowLayout rl = row_layout(data.layout);
  const H5::CompType t = compound(data.layout, rl);
  const hsize_t n = ds.getSpace().getSimpleExtentNpoints();
  std::vector<char> buf(rl.size * std::max<hsize_t>(n, 1));
  if (n > 0) ds.read(buf.data(), t);
  const bool has_arrays = H5Lexists(f.getId(), "arrays", H5P_DEFAULT) > 0;
  H5::Group arrays;
  if (has_arrays) arrays = f.openGroup("arrays");
  for (hsize_t r = 0; r < n; ++r) {
    const char* p = buf.data() + r * rl.size;
    Row row;
    std::memcpy(&row.point, p, 8);
    std::memcpy(&row.param_hash, p + 8, 8);
    for (std::size_t c = 0; c < data.layout.columns.size(); ++c) {
      const auto& col = data.layout.columns[c];
      Value v;
      if (col.type == ValueType::integer) {
        int64_t x;
        std::memcpy(&x, p + rl.offset[c], 8);
        v = x;
      } else if (col.type == ValueType::real) {
        double x;
        std::memcpy(&x, p + rl.offset[c], 8);
        v = x;
      } else {
        v = read_fixed(p + rl.offset[c], col.text_size);
      }
      row.values.emplace_back(col.name, std::move(v));
    }
    const std::string key = std::to_string(r);
    if (has_arrays && H5Lexists(arrays.getId(), key.c_str(), H5P_DEFAULT) > 0) {
      auto g = arrays.openGroup(key);
      for (hsize_t k = 0, m = g.getNumObjs(); k < m; ++k) {
        NamedArray a;
        a.name = g.getObjnameByIdx(k);
        auto ads = g.openDataSet(a.name);
        const auto space = ads.getSpace();
        const int rank = space.getSimpleExtentNdims();
        std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
        if (rank > 0) space.getSimpleExtentDims(dims.data());
        a.shape.assign(dims.begin(), dims.end());
        a.data.resize(space.getSimpleExtentNpoints());
        if (!a.data.empty()) ads.read(a.data.data(), H5::PredType::NATIVE_DOUBLE);
        row.arrays.push_back(std::move(a));
      }
    }
    data.rows.push_back(std::move(row));
  }
  std::stable_sort(data.rows.begin(), data.rows.end(), [](const Row& a, const Row& b) { return a.point < b.point; });
  return data;
}

}  // namespace

void write_result_file(const std::string& path, const ResultData& data) {
  quiet_hdf5();
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  try {
    write_file(tmp, data);
  } catch (const H5::Exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw StoreError(fmt::format("{}: cannot write the result file: {} ({})", path, e.getDetailMsg(),
                                 e.getFuncName()));
  }
  // Data on disk before the rename makes it visible, so a crash leaves the old or the new file, whole.
  fsync_path(tmp, false);
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw StoreError(fmt::format("{}: cannot replace the result file: {}", path, ec.message()));
  }
  fsync_path(target.has_parent_path() ? target.parent_path().string() : ".", true);
}

ResultData read_result_file(const std::string& path) {
  quiet_hdf5();
  if (!fs::exists(path)) throw StoreError(fmt::format("{}: no such file", path));
  try {
    return read_file(path);
  } catch (const H5::Exception& e) {
    throw StoreError(fmt::format("{}: not a readable santa result file: {} ({})", path, e.getDetailMsg(),
                                 e.getFuncName()));
  }
}

std::string hdf5_version() {
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  return fmt::format("{}.{}.{}", maj, min, rel);
}

}  // namespace santa::harness::store
