#!/usr/bin/env bash
# Installs the system packages santa-bench needs, but only those that are absent, so it also works on a
# machine without a package registry that already has them (the GPU machine).
# Usage: scripts/install_deps.sh [--with-python]   (--with-python adds h5py/numpy/matplotlib for plots)
set -euo pipefail
pkgs=(cmake g++ make pkg-config libeigen3-dev libfmt-dev libyaml-cpp-dev libhdf5-dev libbenchmark-dev
      libgtest-dev libcli11-dev)
if [[ "${1:-}" == "--with-python" ]]; then pkgs+=(python3-h5py python3-numpy python3-matplotlib); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if ((${#missing[@]} == 0)); then
  echo "install_deps: all system packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
if ! { "${sudo_cmd[@]}" apt-get update -q && "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; }; then
  # No registry (GPU machine): the libraries may be installed without dpkg records; CMake will say what is missing.
  echo "install_deps: WARNING: could not install ${missing[*]}; continuing, CMake reports what is really absent" >&2
fi
