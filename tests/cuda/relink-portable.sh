#!/bin/bash
# Relinks the GPU tests and the GPU benchmark runner for a GPU machine that
# has the CUDA toolkit but none of Debian's libraries: netlib CBLAS (small)
# instead of OpenBLAS, static gfortran, and libonnx_proto, libprotobuf and
# libz copied beside them. Writes OUT/bin and OUT/lib; run the programs there
# with LD_LIBRARY_PATH=OUT/lib:/usr/local/cuda/lib64. Needs libblas-dev.
#   tests/cuda/relink-portable.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
build=$(realpath "${1:-build}")
out=$(realpath -m "${2:-portable-gpu}")
mkdir -p "$out/bin" "$out/lib"
shim=$(mktemp -d)
# The core calls openblas_set_num_threads when built against OpenBLAS.
echo 'extern "C" void openblas_set_num_threads(int) {}' > "$shim/blas_shim.cpp"
g++ -c -O2 -o "$shim/blas_shim.o" "$shim/blas_shim.cpp"
gcc_lib=$(dirname "$(gcc -print-libgcc-file-name)")
cd "$build"
for target in tests/cuda/test_cuda_kernels tests/cuda/test_cuda_engine tests/bench/sparseinfer-cuda-bench; do
  cmd=$(ninja -t commands "$target" | tail -1)
  openblas=$(echo "$cmd" | grep -o -- '-Xlinker=[^ ]*libopenblas.so' || true)
  [ -n "$openblas" ] || { echo "relink-portable: $target does not link OpenBLAS as expected" >&2; exit 1; }
  cmd=${cmd//$openblas/-Xlinker=$shim/blas_shim.o -Xlinker=/usr/lib/x86_64-linux-gnu/blas/libblas.a -Xlinker=$gcc_lib/libgfortran.a -Xlinker=$gcc_lib/libquadmath.a}
  cmd=${cmd/-o $target /-o $out/bin/$(basename "$target") }
  eval "$cmd"
  strip "$out/bin/$(basename "$target")"
done
cp -L /usr/lib/x86_64-linux-gnu/libonnx_proto.so.1 /usr/lib/x86_64-linux-gnu/libprotobuf.so.32 \
  /lib/x86_64-linux-gnu/libz.so.1 "$out/lib/"
rm -rf "$shim"
echo "relink-portable: $(du -sh "$out" | cut -f1) in $out"
