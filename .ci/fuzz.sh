#!/usr/bin/env bash
# Builds and runs every cargo-fuzz (libFuzzer) target for a bounded time; exits non-zero on a
# crash (libFuzzer leaves the input in fuzz/artifacts/<target>/).
#
#   bash .ci/fuzz.sh                 # 45 s per target
#   FUZZ_SECS=300 bash .ci/fuzz.sh   # longer local session
#   bash .ci/fuzz.sh normalize       # only some targets
#
# Toolchain: a nightly toolchain when rustup has one; otherwise the stable one with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags); FUZZ_STABLE=1 forces the latter. The seed corpora are copied at run time
# from tests/fixtures and ../shared/fixtures into fuzz/corpus/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${FUZZ_SECS:-45}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(signature_header normalize handle_webhook apply_snapshot)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
toolchain=()
if [ "${FUZZ_STABLE:-0}" != 1 ] && rustup run nightly rustc --version >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi
# Address sanitizer needs nightly's std; the core is #![forbid(unsafe_code)], so without a
# nightly we run with coverage instrumentation only.
sanitizer=(--sanitizer none)
[ ${#toolchain[@]} -gt 0 ] && sanitizer=(--sanitizer address)

# Seed corpora: every JSON fixture, as each target's input format expects it.
shared=""
for d in "$root/../shared/fixtures/stripe" "/work/shared/fixtures/stripe"; do
  [ -d "$d" ] && { shared=$d; break; }
done
seed() { # target, prefix-bytes-as-printf-format
  local dir="fuzz/corpus/$1" n=0
  mkdir -p "$dir"
  while IFS= read -r -d '' f; do
    n=$((n + 1))
    { printf "$2"; cat "$f"; } >"$dir/seed_$n"
  done < <(find tests/fixtures ${shared:+"$shared"} -name '*.json' -size -60k -print0 2>/dev/null)
}
seed normalize ''
seed signature_header 't=1700000000,v1=0000000000000000000000000000000000000000000000000000000000000000\0'
seed handle_webhook '\0'
# apply_snapshot wants bare objects: data.object of each event, plus the objects/ fixtures.
mkdir -p fuzz/corpus/apply_snapshot
python3 - "$shared" <<'PY'
import json, pathlib, sys
roots = [pathlib.Path("tests/fixtures")] + ([pathlib.Path(sys.argv[1])] if sys.argv[1] else [])
n = 0
for r in roots:
    for f in sorted(r.rglob("*.json")):
        try:
            doc = json.loads(f.read_bytes())
        except Exception:
            continue
        obj = doc.get("data", {}).get("object", doc) if isinstance(doc, dict) else None
        if isinstance(obj, dict):
            n += 1
            pathlib.Path(f"fuzz/corpus/apply_snapshot/seed_{n}").write_bytes(b"\x05" + json.dumps(obj).encode())
PY
echo "seeded: $(for t in "${targets[@]}"; do printf '%s=%s ' "$t" "$(ls fuzz/corpus/$t 2>/dev/null | wc -l)"; done)"

status=0
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${secs}s"
  log="fuzz/artifacts/$t.log"
  mkdir -p fuzz/artifacts
  if cargo "${toolchain[@]}" fuzz run "${sanitizer[@]}" --fuzz-dir fuzz \
      ${FUZZ_TARGET_DIR:+--target-dir "$FUZZ_TARGET_DIR"} "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" | tr '\n' ' '; echo
  else
    status=1
    echo "!! $t FAILED (crash or build error); last lines of $log:"
    tail -n 40 "$log"
  fi
done
exit $status
