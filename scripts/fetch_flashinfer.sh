#!/usr/bin/env bash
# Fetches FlashInfer's header-only kernels for the FlashInfer baseline (issue 5) on a machine WITH internet,
# from the pinned flashinfer-python wheel on PyPI, into the git-ignored third_party/flashinfer/:
#   include/flashinfer/...          FlashInfer's C++/CUDA headers
#   cccl/{cub,libcudacxx/include,thrust}   the CCCL headers FlashInfer bundles; since FlashInfer 0.6.10 they
#                                   must come BEFORE the CUDA toolkit's on the include path (CMake does that)
#   LICENSE, VERSION                FlashInfer's Apache-2.0 licence; the pinned version and wheel sha256
# The GPU machine has no internet: run this here, then pass third_party/flashinfer in the device tool's
# `carry` (the folder is about 26 MiB).
#
# Usage: scripts/fetch_flashinfer.sh [--wheel FILE] [--dest DIR]
#   --wheel FILE  use an already downloaded wheel (its sha256 is still checked) instead of pip download
#   --dest DIR    where to unpack (default: <repo>/third_party/flashinfer)
# Idempotent: does nothing when DIR/VERSION already names the pinned version and sha256.
set -euo pipefail

# Pinned: the released version nearest to the 0.6.18-dev build that ../shared/perf/HOPPER-BASELINES.md used.
readonly FI_VERSION="0.6.18"
readonly FI_WHEEL="flashinfer_python-${FI_VERSION}-py3-none-any.whl"
readonly FI_SHA256="d5d26edb48f8def0bf28b2c94415aef7f0754e2cd9e3cb3d6e7081262d068aad"

die() { echo "fetch_flashinfer: ERROR: $*" >&2; exit 1; }

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${repo_root}/third_party/flashinfer"
wheel=""
while (($#)); do
  case "$1" in
    --wheel) [[ $# -ge 2 ]] || die "--wheel needs a file"; wheel="$2"; shift 2 ;;
    --dest) [[ $# -ge 2 ]] || die "--dest needs a directory"; dest="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (allowed: --wheel FILE, --dest DIR, --help)" ;;
  esac
done

stamp="version=${FI_VERSION} sha256=${FI_SHA256}"
if [[ -f "${dest}/VERSION" && "$(cat "${dest}/VERSION")" == "${stamp}" \
      && -f "${dest}/include/flashinfer/attention/decode.cuh" && -f "${dest}/cccl/cub/cub/cub.cuh" ]]; then
  echo "fetch_flashinfer: ${dest} already holds FlashInfer ${FI_VERSION}; nothing to do"
  exit 0
fi

for tool in unzip sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (apt-get install $tool)"
done

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

if [[ -z "${wheel}" ]]; then
  command -v python3 >/dev/null || die "python3 is not installed (needed for pip download)"
  echo "fetch_flashinfer: downloading flashinfer-python==${FI_VERSION} from PyPI"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "${work}" \
      "flashinfer-python==${FI_VERSION}" \
    || die "pip download of flashinfer-python==${FI_VERSION} failed (no internet? run this on a machine with PyPI access, or pass --wheel FILE)"
  wheel="${work}/${FI_WHEEL}"
fi
[[ -f "${wheel}" ]] || die "wheel '${wheel}' not found"

actual="$(sha256sum "${wheel}" | cut -d' ' -f1)"
[[ "${actual}" == "${FI_SHA256}" ]] \
  || die "sha256 of ${wheel} is ${actual}, expected ${FI_SHA256} (flashinfer-python ${FI_VERSION}); refusing to unpack"

echo "fetch_flashinfer: unpacking headers"
unzip -q "${wheel}" 'flashinfer/data/include/*' 'flashinfer/data/cccl/cub/cub/*' \
  'flashinfer/data/cccl/libcudacxx/include/*' 'flashinfer/data/cccl/thrust/thrust/*' \
  'flashinfer_python-*.dist-info/licenses/LICENSE' -d "${work}/x" \
  || die "unzip of ${wheel} failed or the wheel lacks the expected header folders"

# Assemble next to the destination, then swap it in, so an interrupted run never leaves a half folder.
mkdir -p "$(dirname "${dest}")"
staging="${dest}.partial.$$"
rm -rf "${staging}"
mkdir -p "${staging}/cccl/libcudacxx"
data="${work}/x/flashinfer/data"
mv "${data}/include" "${staging}/include"
mkdir -p "${staging}/cccl/cub" "${staging}/cccl/thrust"
mv "${data}/cccl/cub/cub" "${staging}/cccl/cub/cub"
mv "${data}/cccl/libcudacxx/include" "${staging}/cccl/libcudacxx/include"
mv "${data}/cccl/thrust/thrust" "${staging}/cccl/thrust/thrust"
cp "${work}"/x/flashinfer_python-*.dist-info/licenses/LICENSE "${staging}/LICENSE"
echo "${stamp}" >"${staging}/VERSION"

for f in include/flashinfer/attention/decode.cuh include/flashinfer/attention/prefill.cuh \
         cccl/cub/cub/cub.cuh cccl/libcudacxx/include/cuda/std/__cccl/version.h cccl/thrust/thrust/version.h; do
  [[ -f "${staging}/${f}" ]] || { rm -rf "${staging}"; die "unpacked tree lacks ${f}"; }
done

rm -rf "${dest}"
mv "${staging}" "${dest}"
echo "fetch_flashinfer: FlashInfer ${FI_VERSION} headers in ${dest} ($(du -sh "${dest}" | cut -f1))"
