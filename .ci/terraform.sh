#!/usr/bin/env bash
# Checks of the Terraform module in terraform/ (examples included), runnable in CI without
# Docker, Terraform providers or network beyond the npm and PyPI registries:
#   1. HCL syntax, with HashiCorp's own parser (Go hcl/v2 as wasm, npm @cdktf/hcl2json);
#   2. checkov's Terraform checks, with no failures (skips are justified in the .tf files);
#   3. terraform fmt -check, when terraform is on PATH (optional);
#   4. proof that the checks can fail: a copy of the module with an unbalanced brace must fail
#      (1), and a copy whose task role grants actions = ["*"] must fail (2) and, with cargo on
#      PATH, tests/iam.rs.
# Tools install under target/ (pinned versions) and are reused by the next run;
# `bash .ci/terraform.sh install` installs them and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

HCL2JSON_VERSION=0.21.0
CHECKOV_VERSION=3.3.30

step() { printf '\n==> %s (%ss elapsed)\n' "$*" "$SECONDS"; }
fail() { printf 'terraform.sh: %s\n' "$*" >&2; exit 1; }

mkdir -p target
scratch=$(mktemp -d "${TMPDIR:-/tmp}/trimtab-tf.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

step "installing @cdktf/hcl2json@$HCL2JSON_VERSION into target/hcl2json"
hcl2json_pkg=target/hcl2json/node_modules/@cdktf/hcl2json/package.json
if [[ ! -f $hcl2json_pkg ]] || ! grep -q "\"version\": \"$HCL2JSON_VERSION\"" "$hcl2json_pkg"; then
  npm install --prefix target/hcl2json --no-audit --no-fund --loglevel=error \
    "@cdktf/hcl2json@$HCL2JSON_VERSION" >/dev/null
fi
export HCL2JSON_MODULES="$PWD/target/hcl2json/node_modules"

step "installing checkov==$CHECKOV_VERSION into target/checkov"
if [[ ! -x target/checkov/bin/checkov ]] || [[ $(target/checkov/bin/checkov --version 2>/dev/null) != "$CHECKOV_VERSION" ]]; then
  rm -rf target/checkov
  python3 -m venv target/checkov
  target/checkov/bin/pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
target/checkov/bin/checkov --version
# `terraform.sh install` only installs the tools (CI does that in the background, early).
[[ ${1:-} == install ]] && exit 0

# --skip-download: no calls to the Prisma Cloud API (guidelines, severities); the checks are local.
checkov() {
  target/checkov/bin/checkov -d "$1" --quiet --compact --framework terraform --skip-download
}

step "HCL syntax of every .tf under terraform/ (hcl2json)"
node tests/terraform/hcl2json.mjs terraform

step "checkov -d terraform --quiet --compact --framework terraform"
checkov terraform | tee target/checkov-terraform.txt
grep -E 'Passed checks: [0-9]+, Failed checks: 0, Skipped checks: [0-9]+' target/checkov-terraform.txt >/dev/null \
  || fail "checkov reported no result line with 0 failures"

step "terraform fmt -check -recursive terraform"
if command -v terraform >/dev/null; then
  terraform fmt -check -recursive -diff terraform
  echo "formatted"
else
  echo "terraform is not on PATH: skipped (optional)"
fi

step "a module with an unbalanced brace fails the HCL check"
cp -r terraform "$scratch/brace"
printf '\nresource "aws_sns_topic" "unclosed" {\n  name = "x"\n' >>"$scratch/brace/main.tf"
if node tests/terraform/hcl2json.mjs "$scratch/brace" >"$scratch/brace.log" 2>&1; then
  cat "$scratch/brace.log"
  fail "hcl2json accepted a main.tf with an unclosed block"
fi
grep -q 'FAIL .*brace/main.tf: .*Unclosed configuration block' "$scratch/brace.log" \
  || { cat "$scratch/brace.log"; fail "hcl2json failed, but not on main.tf's unclosed block"; }
grep 'FAIL' "$scratch/brace.log"

step "a task role that grants actions = [\"*\"] fails checkov (and tests/iam.rs)"
cp -r terraform "$scratch/wildcard"
awk '{ print }
  /^data "aws_iam_policy_document" "task" \{/ {
    print "  statement {"
    print "    sid       = \"Everything\""
    print "    actions   = [\"*\"]"
    print "    resources = [\"*\"]"
    print "  }"
  }' terraform/main.tf >"$scratch/wildcard/main.tf"
grep -q 'actions   = \["\*"\]' "$scratch/wildcard/main.tf" || fail "could not insert the wildcard statement"
if checkov "$scratch/wildcard" >"$scratch/wildcard.log" 2>&1; then
  cat "$scratch/wildcard.log"
  fail "checkov passed a task role with actions = [\"*\"]"
fi
grep -Eq '^Check: CKV_AWS_(1|49):' "$scratch/wildcard.log" \
  || { cat "$scratch/wildcard.log"; fail "checkov failed, but not on the wildcard action (CKV_AWS_1/CKV_AWS_49)"; }
grep -E '^Check: CKV_AWS_(1|49):' "$scratch/wildcard.log" | sort -u
if command -v cargo >/dev/null; then
  if TRIMTAB_TERRAFORM_DIR="$scratch/wildcard" cargo test -q --locked --test iam >"$scratch/iam.log" 2>&1; then
    cat "$scratch/iam.log"
    fail "tests/iam.rs passed a task role with actions = [\"*\"]"
  fi
  grep -q 'IAM actions with a wildcard' "$scratch/iam.log" \
    || { cat "$scratch/iam.log"; fail "tests/iam.rs failed, but not on the wildcard action"; }
  echo "tests/iam.rs fails on it too"
else
  echo "cargo is not on PATH: tests/iam.rs part skipped"
fi

step "terraform checks done"
