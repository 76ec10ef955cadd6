#!/usr/bin/env bash
# valgrind memcheck of `isparse linsolve` through CHOLMOD and UMFPACK, on success and on
# the error paths (not positive definite, singular), looking for leaked C objects.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
command -v valgrind >/dev/null || apt-get install -y -q valgrind
swift build --product isparse >/dev/null
dir=$(mktemp -d)
printf '%%%%MatrixMarket matrix coordinate real symmetric\n2 2 3\n1 1 1\n2 1 2\n2 2 1\n' > "$dir/indefinite.mtx"
printf '%%%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n1 2 1\n' > "$dir/singular.mtx"
run() {
    echo "== isparse $*"
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        .build/debug/isparse "$@" > /dev/null 2> "$dir/log"
    local code=$?
    grep -E "definitely lost|ERROR SUMMARY" "$dir/log"
    [ "$code" -eq 99 ] && { echo "memcheck found errors"; return 1; }
    return 0
}
status=0
run linsolve --grid 40 --method cholesky || status=1
run linsolve --grid 40 --method lu || status=1
run linsolve --grid 40 --method cg --precond amg || status=1
run linsolve "$dir/indefinite.mtx" --method cholesky || status=1
run linsolve "$dir/singular.mtx" --method lu || status=1
exit $status
