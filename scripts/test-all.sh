#!/usr/bin/env bash
# `npm test`: typecheck, lint, format, unit/integration (Vitest, real Postgres), the
# production build, a seeded chaos run on it and end-to-end (Playwright, real browser
# against the build), then one closing line `N passed, N failed` that counts every
# check and test.
set -uo pipefail
cd "$(dirname "$0")/.."

# Every step runs on the project's own Node (the `node` devDependency), which
# `npm test` puts first on PATH; say so if this was started some other way.
node -e 'if (+process.versions.node.split(".")[0] < 24) { console.error(`Node ${process.version}: run the tests with npm test (Node 24 from node_modules/.bin)`); process.exit(1) }' || exit 1

# One database server for the whole run: TEST_DATABASE_BASE_URL's, or the
# embedded PostgreSQL (.data/postgres-test), started here and stopped at the end.
if [ -z "${TEST_DATABASE_BASE_URL:-}" ]; then
  exec npx tsx scripts/with-postgres.ts --test bash "$0" "$@"
fi

passed=0
failed=0
mkdir -p test-results
rm -f test-results/vitest.json test-results/playwright.json

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }
count_check() { if [ "$1" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $2"; fi; }

step "typecheck"
npx tsc --noEmit -p .
count_check $? typecheck

step "lint"
npx eslint --max-warnings 0 .
count_check $? lint

step "format"
npx prettier --check . > /dev/null || npx prettier --list-different .
count_check $? "format (run npm run format)"

step "unit and integration tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
vitest_status=$?
if [ -f test-results/vitest.json ]; then
  read -r p f < <(node -e 'const r=require("./test-results/vitest.json");console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites||0) + (r.success||r.numFailedTests?0:1))')
  passed=$((passed + p)); failed=$((failed + f))
else
  count_check "$vitest_status" vitest
fi

step "build"
NEXT_TELEMETRY_DISABLED=1 npx next build
build_status=$?
count_check $build_status build

# The seeded fault-injection run (bench/chaos/, README "Chaos") on that build: its own
# stack and PostgreSQL cluster, SIGKILLs, a PostgreSQL restart, SMTP and model faults,
# then every invariant checked in SQL (1–3 minutes; bounded by --timeout). A fault every
# 3 s: a short correctness run (the p95 is not enforced below 20 jobs).
# NOTE: the bound covers an email whose sender a kill caught mid-send: it goes out once its
# claim lapses (CLAIM_LEASE_SECONDS, 120 s). With 120 s, such a run failed in CI.
if [ $build_status -eq 0 ]; then
  step "chaos (seeded fault injection)"
  npx tsx bench/chaos/main.ts --seed 1 --jobs 4 --chats 4 --faults 7 --interval-ms 3000 --timeout 240
  count_check $? "chaos (npm run chaos -- --seed 1 --jobs 4 --chats 4 --faults 7 --interval-ms 3000)"
fi

if [ $build_status -eq 0 ] && ! bash scripts/ensure-chromium.sh; then
  count_check 1 "chromium for playwright"
elif [ $build_status -eq 0 ]; then
  step "end-to-end tests (playwright)"
  npx playwright test
  e2e_status=$?
  if [ -f test-results/playwright.json ]; then
    read -r p f < <(node -e 'const s=require("./test-results/playwright.json").stats;console.log(s.expected + s.flaky, s.unexpected + (s.expected+s.flaky+s.unexpected===0?1:0))')
    passed=$((passed + p)); failed=$((failed + f))
  else
    count_check "$e2e_status" playwright
  fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
