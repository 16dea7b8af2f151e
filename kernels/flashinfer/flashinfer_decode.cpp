// FlashInferDecoder: validation, the page tables FlashInfer reads, workspace ownership and path dispatch.
// Host C++ (CUDA runtime API only); FlashInfer's templates live in the .cu units behind flashinfer_launch.hpp.
#include "kernels/flashinfer/flashinfer_decode.hpp"

#include <cuda_runtime.h>

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/flashinfer/flashinfer_launch.hpp"

namespace santa::gpu {

namespace fd = flashinfer_detail;

namespace {

void check_cuda(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess) {
    throw std::runtime_error("FlashInfer adapter: " + what + ": " + cudaGetErrorString(status));
  }
}

[[noreturn]] void reject(const std::string& what) {
  throw std::invalid_argument("FlashInfer backend: " + what);
}

// Group sizes FlashInfer's CUDA-core decode dispatch (DISPATCH_GQA_GROUP_SIZE) compiles.
constexpr std::array<int, 6> kCudaCoreGroupSizes = {1, 2, 3, 4, 6, 8};

// A device or pinned-host allocation that only grows, so that repeated plans of one shape allocate once.
class GrowableBuffer {
 public:
  enum class Where { device, pinned_host };
  explicit GrowableBuffer(Where where) : where_(where) {}
  ~GrowableBuffer() { release(); }
  GrowableBuffer(const GrowableBuffer&) = delete;
  GrowableBuffer& operator=(const GrowableBuffer&) = delete;

  void* ensure(std::size_t bytes, const char* name) {
    if (bytes > bytes_) {
      release();
      const cudaError_t status =
          where_ == Where::device ? cudaMalloc(&ptr_, bytes) : cudaMallocHost(&ptr_, bytes);
      if (status != cudaSuccess) {
        ptr_ = nullptr;
        check_cuda(status, std::string("allocating ") + std::to_string(bytes) + " bytes for " + name);
      }
      bytes_ = bytes;
    }
    return ptr_;
  }
  void* get() const { return ptr_; }
  std::size_t size() const { return bytes_; }

 private:
  void release() {
    if (ptr_ != nullptr) {
      // Errors are ignored here: this runs in destructors, and a failed free leaves nothing to recover.
      (void)(where_ == Where::device ? cudaFree(ptr_) : cudaFreeHost(ptr_));
    }
    ptr_ = nullptr;
    bytes_ = 0;
  }
  Where where_;
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

template <typename F>
decltype(auto) with_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::bf16:
      return f(std::integral_constant<DType, DType::bf16>{});
    case DType::fp16:
      return f(std::integral_constant<DType, DType::fp16>{});
  }
  reject("unknown dtype");
}

// The shape a plan was made for; run() refuses problems of another shape.
struct PlannedShape {
  int batch = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  DType dtype = DType::bf16;
  bool paged = false;
  int page_size = 0;
  int64_t max_len = 0;
  int max_pages_per_seq = 0;

  static PlannedShape of(const DecodeProblem& p) {
    return {p.batch,      p.num_heads,     p.num_kv_heads, p.head_dim,           p.dtype,
            p.kv.paged,   p.kv.page_size,  p.kv.max_len,   p.kv.max_pages_per_seq};
  }
  bool operator==(const PlannedShape&) const = default;
};

int64_t max_tokens_per_sequence(const DecodeProblem& p) {
  return p.kv.paged ? int64_t{p.kv.max_pages_per_seq} * p.kv.page_size : p.kv.max_len;
}

fd::BatchKernelOps batch_kernel_ops(FlashInferPath path, DType dtype) {
  return with_dtype(dtype, [&](auto d) {
    return path == FlashInferPath::tensor_core ? fd::batch_prefill_ops<decltype(d)::value>()
                                               : fd::batch_decode_ops<decltype(d)::value>();
  });
}

}  // namespace

// SingleDecodeWithKVCacheDispatched splits kv_len into chunks of at least 256 tokens and keeps, per chunk,
// the partial output [H, d] (16-bit output type) followed by the partial log-sum-exp [H] (float).
std::size_t fd::single_decode_tmp_bytes(int num_heads, int64_t kv_len) {
  constexpr int64_t kMinChunk = 256;
  constexpr std::size_t kOutputBytes = 2;
  const int64_t chunks = (kv_len + kMinChunk - 1) / kMinChunk;
  return static_cast<std::size_t>(chunks) * static_cast<std::size_t>(num_heads) *
         (fd::kHeadDim * kOutputBytes + sizeof(float));
}

std::string to_string(FlashInferPath path) {
  switch (path) {
    case FlashInferPath::cuda_core:
      return "cuda_core";
    case FlashInferPath::cuda_core_single:
      return "cuda_core_single";
    case FlashInferPath::tensor_core:
      return "tensor_core";
  }
  return "unknown";
}

FlashInferPath flashinfer_path_from_string(const std::string& name) {
  for (auto path : {FlashInferPath::cuda_core, FlashInferPath::cuda_core_single, FlashInferPath::tensor_core}) {
    if (name == to_string(path)) return path;
  }
  reject("unknown path '" + name + "' (allowed: cuda_core, cuda_core_single, tensor_core)");
}

void check_flashinfer_supported(const DecodeProblem& p, const FlashInferOptions& o) {
  const std::string path = to_string(o.path);
  if (p.batch < 1) reject("batch must be >= 1, got " + std::to_string(p.batch));
  if (p.num_heads < 1 || p.num_kv_heads < 1) {
    reject("num_heads and num_kv_heads must be >= 1, got " + std::to_string(p.num_heads) + " and " +
           std::to_string(p.num_kv_heads));
  }
  if (p.num_heads % p.num_kv_heads != 0) {
    reject("num_heads (" + std::to_string(p.num_heads) + ") must be a multiple of num_kv_heads (" +
           std::to_string(p.num_kv_heads) + ")");
  }
  if (p.head_dim != fd::kHeadDim) {
    reject("head_dim " + std::to_string(p.head_dim) + " is not instantiated (allowed: 128)");
  }
  if (p.dtype != DType::bf16 && p.dtype != DType::fp16) reject("dtype must be bf16 or fp16");
  if (!(std::isfinite(p.scale) && p.scale >= 0.0f)) {
    reject("scale must be finite and >= 0 (0 means 1/sqrt(head_dim)), got " + std::to_string(p.scale));
  }
  const int group = p.num_heads / p.num_kv_heads;
  if (o.path != FlashInferPath::tensor_core) {
    bool known = false;
    for (int g : kCudaCoreGroupSizes) known = known || g == group;
    if (!known) {
      reject("GQA group size " + std::to_string(group) + " is not compiled for path " + path +
             " (allowed: 1, 2, 3, 4, 6, 8; tensor_core takes any)");
    }
  }
  if (p.q == nullptr || p.out == nullptr) reject("q and out must be device pointers, got null");
  if (p.kv.k == nullptr || p.kv.v == nullptr || p.kv.seq_lens == nullptr) {
    reject("kv.k, kv.v and kv.seq_lens must be device pointers, got null");
  }
  if (p.kv.paged) {
    if (o.path == FlashInferPath::cuda_core_single) {
      reject("path cuda_core_single reads a contiguous cache only; use cuda_core or tensor_core for a paged one");
    }
    if (p.kv.page_size < 1 || p.kv.max_pages_per_seq < 1 || p.kv.page_table == nullptr) {
      reject("a paged cache needs page_size >= 1, max_pages_per_seq >= 1 and a page_table, got page_size " +
             std::to_string(p.kv.page_size) + ", max_pages_per_seq " + std::to_string(p.kv.max_pages_per_seq));
    }
    if (int64_t{p.kv.max_pages_per_seq} * p.batch > INT32_MAX) reject("page table larger than int32 indices allow");
  } else {
    if (p.kv.max_len < 1) reject("kv.max_len must be >= 1, got " + std::to_string(p.kv.max_len));
    if (o.path == FlashInferPath::cuda_core_single) {
      if (p.batch != 1) {
        reject("path cuda_core_single runs one request; batch is " + std::to_string(p.batch) +
               " (use cuda_core or tensor_core)");
      }
    } else {
      const int ps = o.contiguous_page_size;
      if (ps < 1) reject("contiguous_page_size must be >= 1, got " + std::to_string(ps));
      if (p.kv.max_len % ps != 0) {
        reject("kv.max_len (" + std::to_string(p.kv.max_len) + ") must be a multiple of contiguous_page_size (" +
               std::to_string(ps) + ") to read the contiguous cache as pages in place");
      }
      if (p.kv.max_len / ps * p.batch > INT32_MAX) reject("cache has more pages than int32 indices allow");
    }
  }
}

struct FlashInferDecoder::Impl {
  explicit Impl(const FlashInferOptions& o) : options(o) {}

  FlashInferOptions options;
  GrowableBuffer float_ws{GrowableBuffer::Where::device};
  GrowableBuffer int_ws{GrowableBuffer::Where::device};
  GrowableBuffer int_host{GrowableBuffer::Where::pinned_host};
  GrowableBuffer tables{GrowableBuffer::Where::device};  // indptr | last_page_len | qo_indptr | indices

  bool planned = false;
  PlannedShape shape;
  fd::BatchKernelOps ops{};
  fd::PlanInfo plan_info;
  fd::PagedView view;
  int64_t single_kv_len = 0;
  bool enable_pdl = false;
  bool split_kv = false;

  fd::Workspace workspace() {
    return {float_ws.get(), float_ws.size(), int_ws.get(), int_host.get(), int_ws.size()};
  }

  std::vector<int32_t> read_lengths(const DecodeProblem& p, cudaStream_t stream) const {
    std::vector<int32_t> lens(static_cast<std::size_t>(p.batch));
    check_cuda(cudaMemcpyAsync(lens.data(), p.kv.seq_lens, lens.size() * sizeof(int32_t),
                               cudaMemcpyDeviceToHost, stream),
               "reading kv.seq_lens");
    check_cuda(cudaStreamSynchronize(stream), "reading kv.seq_lens");
    const int64_t limit = max_tokens_per_sequence(p);
    for (std::size_t b = 0; b < lens.size(); ++b) {
      if (lens[b] < 1 || lens[b] > limit) {
        reject("kv.seq_lens[" + std::to_string(b) + "] = " + std::to_string(lens[b]) + " is outside [1, " +
               std::to_string(limit) + "]");
      }
    }
    return lens;
  }

  // Builds FlashInfer's CSR page tables on the device and returns the host page indptr (and qo indptr).
  void build_tables(const DecodeProblem& p, const std::vector<int32_t>& lens, int page_size,
                    std::vector<int32_t>& indptr, std::vector<int32_t>& qo_indptr, cudaStream_t stream) {
    const std::size_t batch = lens.size();
    indptr.assign(batch + 1, 0);
    qo_indptr.assign(batch + 1, 0);
    std::vector<int32_t> last(batch);
    for (std::size_t b = 0; b < batch; ++b) {
      const int32_t pages = (lens[b] + page_size - 1) / page_size;
      indptr[b + 1] = indptr[b] + pages;
      last[b] = lens[b] - (pages - 1) * page_size;
      qo_indptr[b + 1] = static_cast<int32_t>(b + 1);
    }
    const std::size_t total_pages = static_cast<std::size_t>(indptr[batch]);
    const std::size_t words = (batch + 1) + batch + (batch + 1) + total_pages;
    auto* base = static_cast<int32_t*>(tables.ensure(words * sizeof(int32_t), "page tables"));
    view.page_indptr = base;
    view.last_page_len = base + (batch + 1);
    view.qo_indptr = view.last_page_len + batch;
    view.page_indices = view.qo_indptr + (batch + 1);
    view.page_size = page_size;

    std::vector<int32_t> head;  // indptr | last_page_len | qo_indptr (| indices for a contiguous cache)
    head.reserve(words);
    head.insert(head.end(), indptr.begin(), indptr.end());
    head.insert(head.end(), last.begin(), last.end());
    head.insert(head.end(), qo_indptr.begin(), qo_indptr.end());
    if (!p.kv.paged) {
      // Sequence b's j-th page is page b * pages_per_seq + j of the contiguous cache.
      const int64_t pages_per_seq = p.kv.max_len / page_size;
      for (std::size_t b = 0; b < batch; ++b) {
        for (int32_t j = 0; j < indptr[b + 1] - indptr[b]; ++j) {
          head.push_back(static_cast<int32_t>(static_cast<int64_t>(b) * pages_per_seq + j));
        }
      }
    }
    check_cuda(cudaMemcpyAsync(base, head.data(), head.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream),
               "uploading page tables");
    if (p.kv.paged) {
      // FlashInfer wants the used pages of all sequences back to back; our table has a fixed stride.
      for (std::size_t b = 0; b < batch; ++b) {
        const std::size_t pages = static_cast<std::size_t>(indptr[b + 1] - indptr[b]);
        check_cuda(cudaMemcpyAsync(view.page_indices + indptr[b], p.kv.page_table + b * p.kv.max_pages_per_seq,
                                   pages * sizeof(int32_t), cudaMemcpyDeviceToDevice, stream),
                   "compacting the page table");
      }
    }
    // `head` is pageable host memory: the copy must finish before it goes out of scope.
    check_cuda(cudaStreamSynchronize(stream), "uploading page tables");
  }

  bool gpu_supports_pdl() const {
    int device = 0;
    int major = 0;
    check_cuda(cudaGetDevice(&device), "cudaGetDevice");
    check_cuda(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "reading compute capability");
    return major >= 9;
  }
};

FlashInferDecoder::FlashInferDecoder(const FlashInferOptions& options) : impl_(std::make_unique<Impl>(options)) {}
FlashInferDecoder::~FlashInferDecoder() = default;
FlashInferDecoder::FlashInferDecoder(FlashInferDecoder&&) noexcept = default;
FlashInferDecoder& FlashInferDecoder::operator=(FlashInferDecoder&&) noexcept = default;

const FlashInferOptions& FlashInferDecoder::options() const { return impl_->options; }
bool FlashInferDecoder::split_kv() const { return impl_->split_kv; }

void FlashInferDecoder::plan(const DecodeProblem& p, void* stream_ptr) {
  Impl& s = *impl_;
  const FlashInferPath path = s.options.path;
  check_flashinfer_supported(p, s.options);
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  s.planned = false;

  const std::vector<int32_t> lens = s.read_lengths(p, stream);
  s.enable_pdl = s.options.enable_pdl && s.gpu_supports_pdl();

  if (path == FlashInferPath::cuda_core_single) {
    s.single_kv_len = lens[0];
    s.float_ws.ensure(fd::single_decode_tmp_bytes(p.num_heads, s.single_kv_len), "single-decode scratch");
    s.split_kv = s.single_kv_len > 256;  // FlashInfer's own threshold for partitioning one request
  } else {
    const int page_size = p.kv.paged ? p.kv.page_size : s.options.contiguous_page_size;
    std::vector<int32_t> indptr;
    std::vector<int32_t> qo_indptr;
    s.build_tables(p, lens, page_size, indptr, qo_indptr, stream);
    const fd::Schedule sched{indptr.data(), qo_indptr.data(), p.batch, p.num_heads, p.num_kv_heads, page_size};
    s.ops = batch_kernel_ops(path, p.dtype);
    const fd::WorkspaceBytes bytes = s.ops.workspace(sched);
    s.float_ws.ensure(bytes.float_bytes, "FlashInfer float workspace");
    s.int_ws.ensure(bytes.int_bytes, "FlashInfer int workspace");
    s.int_host.ensure(bytes.int_bytes, "FlashInfer pinned int workspace");
    s.plan_info = s.ops.plan(sched, s.workspace(), stream);
    // The plan copies its work lists from the pinned buffer asynchronously; a later plan rewrites it.
    check_cuda(cudaStreamSynchronize(stream), "FlashInfer plan");
    s.split_kv = s.ops.split_kv(s.plan_info);
  }
  s.shape = PlannedShape::of(p);
  s.planned = true;
}

void FlashInferDecoder::run(const DecodeProblem& p, void* stream) {
  Impl& s = *impl_;
  if (!s.planned) throw std::logic_error("FlashInferDecoder::run: plan() has not succeeded yet");
  if (!(PlannedShape::of(p) == s.shape)) {
    throw std::logic_error("FlashInferDecoder::run: the problem's shape differs from the planned one; call plan() again");
  }
  check_flashinfer_supported(p, s.options);
  const fd::Launch launch{p.scale > 0.0f ? p.scale : 1.0f / std::sqrt(static_cast<float>(p.head_dim)),
                          s.enable_pdl, stream};
  switch (s.options.path) {
    case FlashInferPath::cuda_core_single:
      with_dtype(p.dtype, [&](auto d) {
        fd::single_decode_run<decltype(d)::value>(p, s.single_kv_len, s.float_ws.get(), launch);
      });
      return;
    case FlashInferPath::cuda_core:
    case FlashInferPath::tensor_core:
      s.view.k = p.kv.k;
      s.view.v = p.kv.v;
      s.ops.run(p, s.view, s.plan_info, s.workspace(), launch);
      return;
  }
}

}  // namespace santa::gpu
