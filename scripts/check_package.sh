#!/usr/bin/env bash
# The package as a user installs it: build a wheel of this checkout, install it into a fresh
# virtual environment, and, from a folder outside the checkout, check that `uotviz` serves the
# embedded demo (its health check answers ok) and that `uotviz stats` writes the demo's table.
#
#   bash scripts/check_package.sh        (run by .ci/run after the tests)
set -euo pipefail

checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

python3 -m pip wheel --disable-pip-version-check --quiet --no-deps --wheel-dir "$work/dist" "$checkout"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --disable-pip-version-check --quiet "$work"/dist/uotviz-*.whl

cd "$work"  # nothing of the checkout is reachable from here
python="$work/venv/bin/python"
demo="$("$python" -c 'from uotviz.data.demo import DEMO_DIR; print(DEMO_DIR)')"
case "$demo" in
    "$work/venv/"*) ;;
    *) echo "the demo is not installed with the package: $demo" >&2; exit 1 ;;
esac

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
STREAMLIT_SERVER_PORT="$port" STREAMLIT_SERVER_ADDRESS=127.0.0.1 STREAMLIT_SERVER_HEADLESS=true \
    "$work/venv/bin/uotviz" >"$work/server.log" 2>&1 &
server=$!
"$python" - "$port" <<'EOF'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/_stcore/health"
for _ in range(240):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if response.read().decode().strip() == "ok":
                sys.exit(0)
    except OSError:
        time.sleep(0.5)
sys.exit(f"uotviz did not answer {url}")
EOF
# The page itself, in Chromium (with the tests' Python, which has Playwright): the demo's plan.
PYTHONPATH="$checkout" python3 - "$port" <<'EOF'
import sys
from playwright.sync_api import sync_playwright
from tests.streamlit_harness import CHROMIUM_ARGS, chromium_path
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{sys.argv[1]}/")
    page.locator(".gtitle", has_text="Plan N·P̂ at ε = 0.05").first.wait_for(timeout=120_000)
    assert page.locator("[data-testid=stException]").count() == 0, "an exception box"
    browser.close()
EOF
echo "uotviz serves the demo from $work: health ok, the plan drawn in Chromium"

"$work/venv/bin/uotviz" stats --annotations "$demo/instances.json" \
    --predictions "$demo/predictions.json" --out "$work/stats.csv" --quiet
rows="$(($(wc -l <"$work/stats.csv") - 1))"
if [ "$rows" -ne 7 ]; then
    echo "uotviz stats wrote $rows rows for the demo's 7 images" >&2
    exit 1
fi
echo "uotviz stats wrote the demo's 7 rows"
