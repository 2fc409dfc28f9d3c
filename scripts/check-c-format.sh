#!/usr/bin/env bash
# The C and C++ of bpf/ and native/ as clang-format writes them (bpf/.clang-format,
# native/cni/.clang-format, native/src/.clang-format). Fails naming each file and line that differs;
# fix with: clang-format -i <file>.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "clang-format missing; install it with: apt-get install -y clang-format" >&2; exit 1; }
mapfile -t files < <(git ls-files -- 'bpf/*.c' 'bpf/*.h' 'native/*.c' 'native/*.h' 'native/*.cc' 'native/*.hh')
((${#files[@]} > 0)) || { echo "no C files found under bpf/ and native/" >&2; exit 1; }
clang-format --dry-run -Werror "${files[@]}"
